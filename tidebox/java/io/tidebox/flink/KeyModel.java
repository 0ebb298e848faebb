package io.tidebox.flink;

import io.tidebox.anomaly.Explanation;
import io.tidebox.anomaly.RandomCutForest;
import io.tidebox.anomaly.Thresholder;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * One key's detector: its forest, its grade's threshold, and how many rows it has learned.
 *
 * <p>Scoring is deterministic, so a model is fully described by a saved copy plus the rows
 * learned since: that is how it is kept in Flink state (see {@link ForestScorer}).
 */
final class KeyModel {
    private static final int FORMAT = 1;

    final RandomCutForest forest;
    final Thresholder thresholder; // null: the call asked for no grade
    long learned;
    final double[] high;
    final double[] low;

    private KeyModel(RandomCutForest forest, Thresholder thresholder, long learned, int columns) {
        this.forest = forest;
        this.thresholder = thresholder;
        this.learned = learned;
        this.high = new double[columns];
        this.low = new double[columns];
    }

    static KeyModel fresh(ForestCall call, int columns) {
        Thresholder thresholder =
                call.grade == null ? null : Thresholder.forPreset(call.grade, call.sampleSize);
        return new KeyModel(new RandomCutForest(call.params(columns)), thresholder, 0, columns);
    }

    /** Score a row, then learn it; with {@code explain}, fill {@link #high} and {@link #low}. */
    double scoreAndLearn(double[] values, boolean explain) {
        double score =
                explain ? forest.scoreAndUpdate(values, high, low) : forest.scoreAndUpdate(values);
        learned++;
        return score;
    }

    /** The grade of a score just computed, then learn it (0 before the threshold warms up). */
    double grade(double score) {
        return thresholder.gradeAndUpdate(score);
    }

    String explanation(String[] names, boolean directionality) {
        return Explanation.explain(names, high, low, directionality);
    }

    byte[] toBytes() {
        try {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream(1 << 20);
            DataOutputStream out = new DataOutputStream(buffer);
            out.writeInt(FORMAT);
            out.writeLong(learned);
            byte[] forestBytes = forest.toBytes();
            out.writeInt(forestBytes.length);
            out.write(forestBytes);
            byte[] thresholdBytes = thresholder == null ? new byte[0] : thresholder.toBytes();
            out.writeInt(thresholdBytes.length);
            out.write(thresholdBytes);
            out.flush();
            return buffer.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static KeyModel fromBytes(byte[] bytes, int columns) {
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
            int format = in.readInt();
            if (format != FORMAT) {
                throw new IllegalStateException(
                        "saved forest state has format " + format + ", not " + FORMAT);
            }
            long learned = in.readLong();
            byte[] forestBytes = new byte[in.readInt()];
            in.readFully(forestBytes);
            byte[] thresholdBytes = new byte[in.readInt()];
            in.readFully(thresholdBytes);
            Thresholder thresholder =
                    thresholdBytes.length == 0 ? null : Thresholder.fromBytes(thresholdBytes);
            return new KeyModel(
                    RandomCutForest.fromBytes(forestBytes), thresholder, learned, columns);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** About how many bytes a model of this shape holds in memory (for the cache's budget):
     * the forest's arrays, and the tuned grade's score history (kept twice: in order, ranked). */
    static long footprint(ForestCall call, int columns) {
        long dims = (long) columns * call.shingleSize;
        long nodes = 2L * call.sampleSize;
        long perTree = nodes * (5 * 4 + 8 + 2 * dims * 8 + 4) + call.sampleSize * (dims * 8 + 8);
        long grading = "tuned".equals(call.grade) ? 2L * Thresholder.TUNED_RARITY * 8 : 0L;
        return call.trees * perTree + grading;
    }
}
