package io.tidebox.anomaly;

/**
 * The forests of tidebox's presets, as {@code tidebox.anomaly.scoring.PRESETS} has them: what
 * a preset changes of RANDOM_CUT_FOREST's defaults (its grading is {@link
 * Thresholder#forPreset}). A test keeps the two in step.
 */
public final class Presets {
    /** Kinesis Analytics' default timeDecay. */
    public static final int KINESIS_TIME_DECAY = 100_000;

    /** The tuned preset's forest forgets faster: its sample spans about the last 5000 rows. */
    public static final int TUNED_TIME_DECAY = 5000;

    private Presets() {}

    /** The timeDecay of a preset's forest. */
    public static int timeDecay(String preset) {
        if ("tuned".equals(preset)) {
            return TUNED_TIME_DECAY;
        }
        if ("kinesis".equals(preset)) {
            return KINESIS_TIME_DECAY;
        }
        throw new IllegalArgumentException("unknown preset '" + preset + "': use kinesis, tuned");
    }
}
