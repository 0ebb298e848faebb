package io.tidebox.flink;

import org.apache.flink.table.functions.FunctionContext;

/** The job parameters that tune RANDOM_CUT_FOREST's memory, read once per function instance. */
final class Settings {
    /** Memory for live forests per parallel instance, in MB (state keeps the rest). */
    static final String CACHE_MB = "tidebox.rcf.cache-mb";
    /** Learned rows between two saved copies of a key's forest in state. */
    static final String SNAPSHOT_ROWS = "tidebox.rcf.snapshot-rows";

    /**
     * Benchmarks only: score every row 0 without a forest, keeping the ordering, timers and
     * state traffic, to measure what the plumbing around the forest costs.
     */
    static final String NO_OP = "tidebox.rcf.no-op-scorer";

    private Settings() {}

    static ForestScorer scorer(FunctionContext context, boolean explains) {
        long cacheMb = Long.parseLong(context.getJobParameter(CACHE_MB, "512"));
        int snapshotRows = Integer.parseInt(context.getJobParameter(SNAPSHOT_ROWS, "4096"));
        boolean noOp = Boolean.parseBoolean(context.getJobParameter(NO_OP, "false"));
        return new ForestScorer(explains, cacheMb << 20, Math.max(1, snapshotRows), noOp);
    }
}
