package io.tidebox.flink;

import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import org.apache.flink.connector.kafka.sink.KafkaPartitioner;

/**
 * Routes a Flink Kafka sink's records to shards as Kinesis does, so that a job's output lands
 * on the shard every other tidebox writer picks for the same partition key.
 *
 * <p>A stream of {@code n} shards is a topic of {@code n} partitions, and shard {@code i} owns
 * the hash keys {@code [i * (2^128 / n), (i + 1) * (2^128 / n) - 1]}, the last shard running to
 * {@code 2^128 - 1}. A record's hash key is the MD5 digest of its Kafka key (the partition key's
 * UTF-8 bytes, as the SQL connector's {@code raw} key format writes a STRING) read as an
 * unsigned 128-bit integer: the same rule as {@code tidebox/streams/shards.py}'s {@code
 * shard_of_hash(hash_key_of(key), n)}. The connector hands over the topic's partitions sorted
 * by number, so shard {@code i} is {@code partitions[i]}.
 *
 * <p>A record without a key (a null key column) has no shard of its own: each parallel
 * instance sends such records round robin over the partitions, starting at its own index, so
 * they spread evenly and never pile onto one shard.
 *
 * <p>Used from SQL as {@code 'sink.partitioner' = 'io.tidebox.flink.KinesisPartitioner'}.
 */
public final class KinesisPartitioner<T> implements KafkaPartitioner<T> {
    private static final long serialVersionUID = 1L;
    private static final BigInteger HASH_KEY_SPACE = BigInteger.ONE.shiftLeft(128);

    private int nextKeyless;
    private transient MessageDigest md5;

    @Override
    public void open(int parallelInstanceId, int parallelInstances) {
        nextKeyless = parallelInstanceId;
    }

    @Override
    public int partition(
            T record, byte[] key, byte[] value, String targetTopic, int[] partitions) {
        if (partitions.length == 0) {
            throw new IllegalArgumentException("topic '" + targetTopic + "' has no partitions");
        }
        if (key == null) {
            int index = Math.floorMod(nextKeyless, partitions.length);
            nextKeyless = index + 1;
            return partitions[index];
        }
        if (md5 == null) {
            md5 = newMd5();
        }
        return partitions[shardOf(md5.digest(key), partitions.length)];
    }

    /** The shard of {@code shards} whose hash-key range holds the key's MD5 digest. */
    static int shardOf(byte[] digest, int shards) {
        BigInteger hashKey = new BigInteger(1, digest);
        BigInteger width = HASH_KEY_SPACE.divide(BigInteger.valueOf(shards));
        return hashKey.divide(width).min(BigInteger.valueOf(shards - 1L)).intValueExact();
    }

    private static MessageDigest newMd5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM has no MD5, which every Java SE has", e);
        }
    }
}
