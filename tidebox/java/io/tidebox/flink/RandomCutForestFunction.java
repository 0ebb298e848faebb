package io.tidebox.flink;

import org.apache.flink.table.api.dataview.ListView;
import org.apache.flink.table.api.dataview.MapView;
import org.apache.flink.types.ColumnList;
import org.apache.flink.types.Row;

/**
 * RANDOM_CUT_FOREST as a Flink process table function: Kinesis Data Analytics' anomaly score for
 * every row of a table, from one forest for the whole table or one per PARTITION BY key.
 *
 * <pre>{@code
 * SELECT * FROM RANDOM_CUT_FOREST(
 *     input => TABLE sensor_readings PARTITION BY device_id,
 *     on_time => DESCRIPTOR(event_time),
 *     columns => DESCRIPTOR(temperature, vibration),   -- default: every numeric column
 *     number_of_trees => 100, sub_sample_size => 256, time_decay => 100000, shingle_size => 1,
 *     grade => 'tuned',                                  -- adds ANOMALY_GRADE
 *     seed => 0)
 * }</pre>
 *
 * <p>tidebox registers it in every job and also accepts Kinesis Analytics' own form, {@code
 * TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM ...), 100, 256, 100000, 1))}, which it rewrites
 * into this one.
 */
public class RandomCutForestFunction extends ForestFunction {
    private static final long serialVersionUID = 1L;

    public RandomCutForestFunction() {
        super(false);
    }

    public void eval(
            Context ctx,
            Row progress,
            MapView<Integer, String> about,
            MapView<Long, Row[]> pending,
            MapView<Integer, byte[]> snapshot,
            ListView<byte[]> journal,
            Row input,
            Integer numberOfTrees,
            Integer subSampleSize,
            Integer timeDecay,
            Integer shingleSize,
            ColumnList columns,
            String grade,
            Integer seed)
            throws Exception {
        ForestCall call =
                ForestCall.of(
                        numberOfTrees,
                        subSampleSize,
                        timeDecay,
                        shingleSize,
                        false,
                        columns,
                        grade,
                        seed,
                        false);
        scorer.add(ctx, progress, about, pending, input, call);
    }
}
