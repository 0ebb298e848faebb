package io.tidebox.flink;

import org.apache.flink.table.api.dataview.ListView;
import org.apache.flink.table.api.dataview.MapView;
import org.apache.flink.types.ColumnList;
import org.apache.flink.types.Row;

/**
 * RANDOM_CUT_FOREST_WITH_EXPLANATION: {@link RandomCutForestFunction} plus ANOMALY_EXPLANATION,
 * Kinesis Analytics' JSON of each scored column's share of the score ({@code
 * ATTRIBUTION_SCORE}) and, with {@code with_directionality => TRUE}, its {@code DIRECTION} and
 * {@code STRENGTH}.
 */
public class RandomCutForestWithExplanationFunction extends ForestFunction {
    private static final long serialVersionUID = 1L;

    public RandomCutForestWithExplanationFunction() {
        super(true);
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
            Boolean withDirectionality,
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
                        withDirectionality,
                        columns,
                        grade,
                        seed,
                        true);
        scorer.add(ctx, progress, about, pending, input, call);
    }
}
