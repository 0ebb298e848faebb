package io.tidebox.anomaly;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;

/**
 * Turns anomaly scores into grades in [0, 1] with an adaptive threshold: the Java twin of
 * {@code tidebox.anomaly.threshold.Thresholder}, with the same arithmetic in the same order so
 * that its grades equal Python's bit for bit.
 *
 * <p>It keeps a discounted mean and second moment of the scores; a score above {@code mean + z
 * * deviation} (and above an absolute floor) is an anomaly, graded by how far above it lies,
 * reaching 1 at one more {@code z * deviation} beyond (or, with a scale, graded {@code score /
 * scale} capped at 1). An anomalous score enters the statistics clipped to the threshold. With
 * a suppression of n rows, a score is only an anomaly if it also tops every score of the last
 * n rows. Python's {@code min}/{@code max} keep their first argument on ties; so do {@link
 * #min} and {@link #max} here. Not thread-safe: one instance per key.
 */
public final class Thresholder {
    private static final int MAGIC = 0x54425448; // "TBTH"
    private static final byte FORMAT_VERSION = 1;
    private static final int TUNED_SUPPRESSION = 500;

    private final double zFactor;
    private final double horizon;
    private final double floor;
    private final int warmup;
    private final int suppression;
    private final double scale; // NaN: no scale, the z-width ramp grades
    private long count;
    private double mean;
    private double second; // discounted mean of squared scores
    private final double[] recent; // the last `suppression` scores, a ring from `start`
    private int start;
    private int held;

    /** Python's defaults: z 3, horizon 256, floor 1, warm-up 32, no suppression, no scale. */
    public Thresholder() {
        this(3.0, 256.0, 1.0, 32, 0, Double.NaN);
    }

    /**
     * A thresholder with the given settings; {@code scale} NaN for none.
     *
     * @throws IllegalArgumentException as Python's refuses the same settings
     */
    public Thresholder(
            double zFactor,
            double horizon,
            double floor,
            int warmup,
            int suppression,
            double scale) {
        if (zFactor <= 0 || horizon < 1 || warmup < 0 || suppression < 0) {
            throw new IllegalArgumentException(
                    "z_factor must be positive, horizon at least 1, warmup and suppression >= 0");
        }
        if (!Double.isNaN(scale) && scale <= 0) {
            throw new IllegalArgumentException("scale must be positive");
        }
        this.zFactor = zFactor;
        this.horizon = horizon;
        this.floor = floor;
        this.warmup = warmup;
        this.suppression = suppression;
        this.scale = scale;
        this.recent = new double[suppression];
    }

    /**
     * The grading of a preset, as Python's {@code scoring.thresholder_for}: "kinesis" the plain
     * adaptive threshold; "tuned" suppression 500 and scale log2(subSampleSize), the same
     * double as Python's (fdlibm's log over LN2: see {@link RandomCutForest#log2}).
     */
    public static Thresholder forPreset(String preset, int subSampleSize) {
        if ("tuned".equals(preset)) {
            return new Thresholder(
                    3.0, 256.0, 1.0, 32, TUNED_SUPPRESSION, RandomCutForest.log2(subSampleSize));
        }
        if ("kinesis".equals(preset)) {
            return new Thresholder();
        }
        throw new IllegalArgumentException("unknown preset '" + preset + "': use kinesis, tuned");
    }

    /** Python's {@code min(a, b)}: b only when strictly smaller. */
    static double min(double a, double b) {
        return b < a ? b : a;
    }

    /** Python's {@code max(a, b)}: b only when strictly larger. */
    static double max(double a, double b) {
        return b > a ? b : a;
    }

    public double deviation() {
        return Math.sqrt(max(second - mean * mean, 0.0));
    }

    public double threshold() {
        return max(floor, mean + zFactor * deviation());
    }

    /** The grade of a score against the statistics so far (0: not anomalous). */
    public double grade(double score) {
        if (count < warmup || score <= threshold()) {
            return 0.0;
        }
        if (held > 0 && score < recentMax()) {
            return 0.0; // not above what the last `suppression` rows already reached
        }
        if (!Double.isNaN(scale)) {
            return min(1.0, score / scale);
        }
        double width = max(zFactor * deviation(), 1e-9);
        return min(1.0, (score - threshold()) / width);
    }

    private double recentMax() {
        double best = recent[start];
        for (int k = 1; k < held; k++) {
            double value = recent[(start + k) % suppression];
            if (value > best) {
                best = value;
            }
        }
        return best;
    }

    /** Learn a score; zero scores (the forest's warm-up) are not learned. */
    public void update(double score) {
        if (score <= 0.0) {
            return;
        }
        if (suppression > 0) {
            if (held < suppression) {
                recent[(start + held) % suppression] = score;
                held += 1;
            } else {
                recent[start] = score;
                start = (start + 1) % suppression;
            }
        }
        if (count >= warmup) {
            score = min(score, threshold());
        }
        count += 1;
        double weight = max(1.0 / count, 1.0 / horizon);
        mean += weight * (score - mean);
        second += weight * (score * score - second);
    }

    public double gradeAndUpdate(double score) {
        double grade = grade(score);
        update(score);
        return grade;
    }

    /** Scores learned so far. */
    public long count() {
        return count;
    }

    /**
     * The settings and the running state, exactly (big-endian): magic "TBTH", version byte,
     * z, horizon, floor, warm-up, suppression, scale (NaN: none), count, mean, second moment,
     * and the recent scores oldest first.
     */
    public byte[] toBytes() {
        ByteBuffer out = ByteBuffer.allocate(4 + 1 + 3 * 8 + 2 * 4 + 8 + 8 + 2 * 8 + 4 + held * 8);
        out.putInt(MAGIC).put(FORMAT_VERSION);
        out.putDouble(zFactor).putDouble(horizon).putDouble(floor);
        out.putInt(warmup).putInt(suppression).putDouble(scale);
        out.putLong(count).putDouble(mean).putDouble(second);
        out.putInt(held);
        for (int k = 0; k < held; k++) {
            out.putDouble(recent[(start + k) % suppression]);
        }
        return out.array();
    }

    /**
     * A thresholder restored from {@link #toBytes()}.
     *
     * @throws IllegalArgumentException if the bytes are not a saved thresholder
     */
    public static Thresholder fromBytes(byte[] data) {
        try {
            ByteBuffer in = ByteBuffer.wrap(data);
            if (in.getInt() != MAGIC) {
                throw new IllegalArgumentException("not a saved thresholder: wrong magic number");
            }
            byte version = in.get();
            if (version != FORMAT_VERSION) {
                throw new IllegalArgumentException(
                        "saved thresholder has format " + version + ", not " + FORMAT_VERSION);
            }
            Thresholder t = new Thresholder(
                    in.getDouble(), in.getDouble(), in.getDouble(), in.getInt(), in.getInt(),
                    in.getDouble());
            t.count = in.getLong();
            t.mean = in.getDouble();
            t.second = in.getDouble();
            int held = in.getInt();
            if (held < 0 || held > t.suppression) {
                throw new IllegalArgumentException("not a saved thresholder: bad recent scores");
            }
            for (int k = 0; k < held; k++) {
                t.recent[k] = in.getDouble();
            }
            t.held = held;
            if (in.hasRemaining()) {
                throw new IllegalArgumentException("not a saved thresholder: trailing bytes");
            }
            return t;
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("not a saved thresholder: truncated", e);
        }
    }
}
