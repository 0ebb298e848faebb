package io.tidebox.anomaly;

/**
 * RANDOM_CUT_FOREST's parameters, with Kinesis Data Analytics' defaults and ranges: the Java
 * twin of {@code tidebox.anomaly.forest.ForestParams}, refusing the same values with the same
 * messages (each naming the KDA parameter), so that a SQL function reports what the Python
 * tools report.
 */
public final class ForestParams {
    /** The most input columns a forest takes, as in Python's {@code MAX_COLUMNS}. */
    public static final int MAX_COLUMNS = 30;

    private final int numberOfTrees;
    private final int subSampleSize;
    private final int timeDecay;
    private final int shingleSize;
    private final int columns;
    private final long seed;

    /**
     * Checked parameters. The counts are taken as {@code long} so that an out-of-range value
     * (say a timeDecay above {@code Integer.MAX_VALUE}) is reported as it was given.
     *
     * @throws IllegalArgumentException naming the first parameter out of range
     */
    public ForestParams(
            long numberOfTrees,
            long subSampleSize,
            long timeDecay,
            long shingleSize,
            long columns,
            long seed) {
        check("numberOfTrees", numberOfTrees, 1, 1000);
        check("subSampleSize", subSampleSize, 10, 1000);
        check("timeDecay", timeDecay, 1, 2_147_483_647L);
        check("shingleSize", shingleSize, 1, 30);
        check("columns", columns, 1, MAX_COLUMNS);
        if (subSampleSize >= timeDecay) {
            throw new IllegalArgumentException(
                    "subSampleSize (" + subSampleSize + ") must be below timeDecay ("
                            + timeDecay + ")");
        }
        this.numberOfTrees = (int) numberOfTrees;
        this.subSampleSize = (int) subSampleSize;
        this.timeDecay = (int) timeDecay;
        this.shingleSize = (int) shingleSize;
        this.columns = (int) columns;
        this.seed = seed;
    }

    /** Kinesis' defaults (100 trees of 256 points, timeDecay 100000, no shingling), seed 0. */
    public static ForestParams defaults(int columns) {
        return new ForestParams(100, 256, 100_000, 1, columns, 0);
    }

    private static void check(String name, long value, long low, long high) {
        if (value < low || value > high) {
            throw new IllegalArgumentException(
                    name + " must be between " + low + " and " + high + ", got " + value);
        }
    }

    public int numberOfTrees() {
        return numberOfTrees;
    }

    public int subSampleSize() {
        return subSampleSize;
    }

    public int timeDecay() {
        return timeDecay;
    }

    public int shingleSize() {
        return shingleSize;
    }

    public int columns() {
        return columns;
    }

    public long seed() {
        return seed;
    }

    /** The dimensions of a shingled point: columns times shingleSize. */
    public int dimensions() {
        return columns * shingleSize;
    }

    @Override
    public String toString() {
        return "ForestParams(numberOfTrees=" + numberOfTrees + ", subSampleSize=" + subSampleSize
                + ", timeDecay=" + timeDecay + ", shingleSize=" + shingleSize + ", columns="
                + columns + ", seed=" + seed + ")";
    }
}
