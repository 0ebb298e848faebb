package io.tidebox.anomaly;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.Arrays;

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
 * n rows. With a rarity of n scores, the grade is further multiplied by the square of the
 * score's rarity among the last n scores: {@code log((held + 1) / (above + 1)) / log(n + 1)}
 * with {@code above} of the {@code held} scores at least as high (fdlibm's logarithm, {@link
 * StrictMath#log}, as Python's). Python's {@code min}/{@code max} keep their first argument on
 * ties; so do {@link #min} and {@link #max} here. Not thread-safe: one instance per key.
 */
public final class Thresholder {
    private static final int MAGIC = 0x54425448; // "TBTH"
    private static final byte FORMAT_VERSION = 2; // 1: without rarity, still read
    private static final int TUNED_SUPPRESSION = 50;
    /** Scores the tuned grade ranks a score among. */
    public static final int TUNED_RARITY = 8640;

    private final double zFactor;
    private final double horizon;
    private final double floor;
    private final int warmup;
    private final int suppression;
    private final double scale; // NaN: no scale, the z-width ramp grades
    private final int rarity; // 0: grades ignore rarity
    private long count;
    private double mean;
    private double second; // discounted mean of squared scores
    private final double[] recent; // the last `suppression` scores, a ring from `start`
    private int start;
    private int held;
    private final double[] history; // the last `rarity` scores, a ring from `historyStart`
    private final double[] ranked; // the same scores in increasing order, `kept` of them
    private int historyStart;
    private int kept;

    /**
     * Python's defaults: z 3, horizon 256, floor 1, warm-up 32, no suppression, no scale, no
     * rarity.
     */
    public Thresholder() {
        this(3.0, 256.0, 1.0, 32, 0, Double.NaN, 0);
    }

    /**
     * A thresholder with the given settings; {@code scale} NaN for none, {@code rarity} 0 for
     * none.
     *
     * @throws IllegalArgumentException as Python's refuses the same settings
     */
    public Thresholder(
            double zFactor,
            double horizon,
            double floor,
            int warmup,
            int suppression,
            double scale,
            int rarity) {
        if (zFactor <= 0 || horizon < 1 || warmup < 0 || suppression < 0) {
            throw new IllegalArgumentException(
                    "z_factor must be positive, horizon at least 1, warmup and suppression >= 0");
        }
        if (!Double.isNaN(scale) && scale <= 0) {
            throw new IllegalArgumentException("scale must be positive");
        }
        if (rarity < 0) {
            throw new IllegalArgumentException(
                    "rarity must be >= 0 and hold at most that many scores");
        }
        this.zFactor = zFactor;
        this.horizon = horizon;
        this.floor = floor;
        this.warmup = warmup;
        this.suppression = suppression;
        this.scale = scale;
        this.rarity = rarity;
        this.recent = new double[suppression];
        this.history = new double[rarity];
        this.ranked = new double[rarity];
    }

    /**
     * The grading of a preset, as Python's {@code scoring.thresholder_for}: "kinesis" the plain
     * adaptive threshold; "tuned" suppression 50, scale log2(subSampleSize), the same double as
     * Python's (fdlibm's log over LN2: see {@link RandomCutForest#log2}), and rarity among the
     * last 8640 scores. (The tuned preset's forest also forgets faster, timeDecay 5000: that is
     * the forest's parameter, not the grade's.)
     */
    public static Thresholder forPreset(String preset, int subSampleSize) {
        if ("tuned".equals(preset)) {
            return new Thresholder(
                    3.0,
                    256.0,
                    1.0,
                    32,
                    TUNED_SUPPRESSION,
                    RandomCutForest.log2(subSampleSize),
                    TUNED_RARITY);
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

    /**
     * How rare a score is among the history: 0 if every kept score is as high, 1 if it tops a
     * full history of {@code rarity} scores.
     */
    public double rarityOf(double score) {
        int above = kept - firstAtLeast(score);
        return StrictMath.log((kept + 1.0) / (above + 1.0)) / StrictMath.log(rarity + 1.0);
    }

    /** The first index of {@link #ranked} holding a score >= {@code score} (Python's bisect_left). */
    private int firstAtLeast(double score) {
        int lo = 0;
        int hi = kept;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (ranked[mid] < score) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** The grade of a score against the statistics so far (0: not anomalous). */
    public double grade(double score) {
        if (count < warmup || score <= threshold()) {
            return 0.0;
        }
        if (held > 0 && score < recentMax()) {
            return 0.0; // not above what the last `suppression` rows already reached
        }
        double grade;
        if (!Double.isNaN(scale)) {
            grade = min(1.0, score / scale);
        } else {
            double width = max(zFactor * deviation(), 1e-9);
            grade = min(1.0, (score - threshold()) / width);
        }
        if (rarity > 0) {
            double r = rarityOf(score);
            grade = grade * (r * r);
        }
        return grade;
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
        if (rarity > 0) {
            remember(score);
        }
        if (count >= warmup) {
            score = min(score, threshold());
        }
        count += 1;
        double weight = max(1.0 / count, 1.0 / horizon);
        mean += weight * (score - mean);
        second += weight * (score * score - second);
    }

    /** Add a score to the history (and its ranking), forgetting the oldest beyond `rarity`. */
    private void remember(double score) {
        if (kept == rarity) {
            double oldest = history[historyStart];
            int at = firstAtLeast(oldest);
            System.arraycopy(ranked, at + 1, ranked, at, kept - at - 1);
            kept -= 1;
            history[historyStart] = score;
            historyStart = (historyStart + 1) % rarity;
        } else {
            history[(historyStart + kept) % rarity] = score;
        }
        int at = firstAtLeast(score);
        // insort: after any equal scores, as Python's insort_right (equal doubles are alike)
        while (at < kept && ranked[at] == score) {
            at++;
        }
        System.arraycopy(ranked, at, ranked, at + 1, kept - at);
        ranked[at] = score;
        kept += 1;
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
     * z, horizon, floor, warm-up, suppression, scale (NaN: none), rarity, count, mean, second
     * moment, the recent scores oldest first, and the history oldest first (its ranking is
     * rebuilt on reading). Version 1, without rarity and history, is still read.
     */
    public byte[] toBytes() {
        ByteBuffer out = ByteBuffer.allocate(
                4 + 1 + 3 * 8 + 2 * 4 + 8 + 4 + 8 + 2 * 8 + 4 + held * 8 + 4 + kept * 8);
        out.putInt(MAGIC).put(FORMAT_VERSION);
        out.putDouble(zFactor).putDouble(horizon).putDouble(floor);
        out.putInt(warmup).putInt(suppression).putDouble(scale).putInt(rarity);
        out.putLong(count).putDouble(mean).putDouble(second);
        out.putInt(held);
        for (int k = 0; k < held; k++) {
            out.putDouble(recent[(start + k) % suppression]);
        }
        out.putInt(kept);
        for (int k = 0; k < kept; k++) {
            out.putDouble(history[(historyStart + k) % rarity]);
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
            if (version != FORMAT_VERSION && version != 1) {
                throw new IllegalArgumentException(
                        "saved thresholder has format " + version + ", not " + FORMAT_VERSION);
            }
            double zFactor = in.getDouble();
            double horizon = in.getDouble();
            double floor = in.getDouble();
            int warmup = in.getInt();
            int suppression = in.getInt();
            double scale = in.getDouble();
            int rarity = version == 1 ? 0 : in.getInt();
            Thresholder t =
                    new Thresholder(zFactor, horizon, floor, warmup, suppression, scale, rarity);
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
            int kept = version == 1 ? 0 : in.getInt();
            if (kept < 0 || kept > t.rarity) {
                throw new IllegalArgumentException("not a saved thresholder: bad history");
            }
            for (int k = 0; k < kept; k++) {
                t.history[k] = in.getDouble();
            }
            System.arraycopy(t.history, 0, t.ranked, 0, kept);
            Arrays.sort(t.ranked, 0, kept);
            t.kept = kept;
            if (in.hasRemaining()) {
                throw new IllegalArgumentException("not a saved thresholder: trailing bytes");
            }
            return t;
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("not a saved thresholder: truncated", e);
        }
    }
}
