package io.tidebox.flink;

import org.apache.flink.table.api.dataview.ListView;
import org.apache.flink.table.api.dataview.MapView;
import org.apache.flink.table.catalog.DataTypeFactory;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ProcessTableFunction;
import org.apache.flink.table.types.inference.TypeInference;
import org.apache.flink.types.Row;

/**
 * What both forest functions share: their signature (with or without the explanation), the
 * scorer they open, and the timer that scores. Only eval() differs, as the explaining one takes
 * with_directionality: Flink reads each function's arguments from its own eval().
 */
public abstract class ForestFunction extends ProcessTableFunction<Row> {
    private static final long serialVersionUID = 1L;

    private final boolean explains;
    protected transient ForestScorer scorer;

    ForestFunction(boolean explains) {
        this.explains = explains;
    }

    @Override
    public TypeInference getTypeInference(DataTypeFactory factory) {
        return ForestTypes.inference(explains);
    }

    @Override
    public void open(FunctionContext context) {
        scorer = Settings.scorer(context, explains);
    }

    public void onTimer(
            OnTimerContext ctx,
            Row progress,
            MapView<Integer, String> about,
            MapView<Long, Row[]> pending,
            MapView<Integer, byte[]> snapshot,
            ListView<byte[]> journal)
            throws Exception {
        scorer.fire(ctx, progress, about, pending, snapshot, journal, this::collect);
    }
}
