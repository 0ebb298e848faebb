package io.tidebox.flink;

import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.api.dataview.ListView;
import org.apache.flink.table.catalog.DataTypeFactory;
import org.apache.flink.table.functions.ProcessTableFunction;
import org.apache.flink.table.functions.TableSemantics;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.inference.CallContext;
import org.apache.flink.table.types.inference.StateTypeStrategy;
import org.apache.flink.table.types.inference.StaticArgument;
import org.apache.flink.table.types.inference.StaticArgumentTrait;
import org.apache.flink.table.types.inference.TypeInference;
import org.apache.flink.table.types.logical.LocalZonedTimestampType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.TimestampKind;
import org.apache.flink.table.types.logical.TimestampType;
import org.apache.flink.types.Row;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The rows of Kinesis Data Analytics' stagger windows ({@code WINDOWED BY STAGGER(PARTITION BY
 * keys RANGE INTERVAL ...)}), each row released when its window closes, for a window
 * aggregation downstream to fold into one row per window.
 *
 * <pre>{@code
 * SELECT * FROM KDA_STAGGER(
 *     input => TABLE ticks PARTITION BY (ticker, minute),
 *     on_time => DESCRIPTOR(ROWTIME),
 *     window_length => INTERVAL '1' MINUTE)
 * }</pre>
 *
 * <p>Per PARTITION BY key a window opens at the time of the key's first row, takes the key's
 * rows whose time is before open + range, and closes at open + range; the key's next row after
 * that opens the next window. When the watermark passes a window's close, the window's rows come
 * out, in arrival order, with {@code rowtime} = the close time: the time KDA stamps on the
 * window's row. The output holds the keys (Flink puts them first), then the input's other
 * columns, its time column as a plain timestamp (the row's own arrival; {@code rowtime}, the
 * close, is the time attribute). A key's windows never share a close time, so the keys and
 * {@code rowtime} name a window.
 *
 * <p>A row whose time is earlier than its key's open window (Kafka partitions can interleave
 * out of order) joins that window: KDA's ROWTIME never goes back, so it says nothing of them.
 * Flink 2.2 drops a row at or behind the watermark before eval() sees it (late rows), as the
 * windows of its own SQL do.
 */
public class KdaStaggerFunction extends ProcessTableFunction<Row> {
    private static final long serialVersionUID = 1L;
    private static final String NAME = "KDA_STAGGER";
    private static final Duration NO_TTL = Duration.ZERO;

    /** The input's columns the output carries, by position (computed on the first row). */
    private transient int[] carried;

    @Override
    public TypeInference getTypeInference(DataTypeFactory factory) {
        List<StaticArgument> arguments = new ArrayList<>();
        arguments.add(
                StaticArgument.table(
                        "input",
                        Row.class,
                        false,
                        EnumSet.of(
                                StaticArgumentTrait.TABLE,
                                StaticArgumentTrait.SET_SEMANTIC_TABLE,
                                StaticArgumentTrait.REQUIRE_ON_TIME)));
        arguments.add(
                StaticArgument.scalar(
                        "window_length",
                        DataTypes.INTERVAL(DataTypes.SECOND(3)).bridgedTo(Duration.class),
                        false));
        LinkedHashMap<String, StateTypeStrategy> state = new LinkedHashMap<>();
        state.put(
                "window",
                StateTypeStrategy.of(
                        call ->
                                Optional.of(
                                        DataTypes.ROW(
                                                DataTypes.FIELD("close", DataTypes.BIGINT()))),
                        NO_TTL));
        state.put(
                "pending",
                StateTypeStrategy.of(
                        call -> Optional.of(ListView.newListViewDataType(pendingType(call))),
                        NO_TTL));
        return TypeInference.newBuilder()
                .staticArguments(arguments)
                .stateTypeStrategies(state)
                .outputTypeStrategy(call -> Optional.of(output(call)))
                .build();
    }

    /** A row arrives: it joins its key's open window, or opens the next one. */
    public void eval(Context ctx, Row window, ListView<Row> pending, Row input, Duration range)
            throws Exception {
        if (range == null || range.toMillis() <= 0) {
            throw new IllegalArgumentException(NAME + ": window_length must be a positive interval");
        }
        if (carried == null) {
            carried = carried(ctx.tableSemanticsFor("input"));
        }
        TimeContext<Long> time = ctx.timeContext(Long.class);
        long at = time.time();
        Long close = (Long) window.getField("close");
        if (close == null || at >= close) {
            close = at + range.toMillis();
            window.setField("close", close);
            time.registerOnTime(close);
        }
        Object[] values = new Object[carried.length + 1];
        for (int i = 0; i < carried.length; i++) {
            values[i] = input.getField(carried[i]);
        }
        values[carried.length] = close;
        pending.add(Row.of(values));
    }

    /** A window closes: its rows come out stamped with the close time. */
    public void onTimer(OnTimerContext ctx, Row window, ListView<Row> pending) throws Exception {
        long at = ctx.timeContext(Long.class).time();
        List<Row> later = new ArrayList<>();
        for (Row row : pending.get()) {
            int last = row.getArity() - 1;
            if (((Long) row.getField(last)) == at) {
                Object[] values = new Object[last];
                for (int i = 0; i < last; i++) {
                    values[i] = row.getField(i);
                }
                collect(Row.of(values));
            } else {
                later.add(row);
            }
        }
        if (later.isEmpty() && Long.valueOf(at).equals(window.getField("close"))) {
            ctx.clearAllState(); // the key is idle: nothing of it stays in state
        } else {
            pending.clear();
            pending.addAll(later);
        }
    }

    private static TableSemantics input(CallContext call) {
        return call.getTableSemantics(0)
                .orElseThrow(
                        () ->
                                new ValidationException(
                                        NAME + ": the first argument must be a table,"
                                                + " e.g. input => TABLE t PARTITION BY k"));
    }

    /** Positions of the input's columns that are not keys. */
    private static int[] carried(TableSemantics table) {
        Set<Integer> left = new HashSet<>();
        for (int key : table.partitionByColumns()) {
            left.add(key);
        }
        int count = table.dataType().getChildren().size();
        List<Integer> kept = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            if (!left.contains(i)) {
                kept.add(i);
            }
        }
        return kept.stream().mapToInt(Integer::intValue).toArray();
    }

    private static List<DataTypes.Field> carriedFields(CallContext call) {
        TableSemantics table = input(call);
        if (table.partitionByColumns().length == 0) {
            throw new ValidationException(NAME + ": the input table needs PARTITION BY keys");
        }
        RowType type = (RowType) table.dataType().getLogicalType();
        List<DataType> children = table.dataType().getChildren();
        List<DataTypes.Field> fields = new ArrayList<>();
        for (int i : carried(table)) {
            fields.add(DataTypes.FIELD(type.getFieldNames().get(i), plainTime(children.get(i))));
        }
        return fields;
    }

    /** A time attribute becomes a plain timestamp: only Flink's rowtime column stays one. */
    private static DataType plainTime(DataType type) {
        LogicalType logical = type.getLogicalType();
        if (logical instanceof TimestampType
                && ((TimestampType) logical).getKind() != TimestampKind.REGULAR) {
            DataType plain = DataTypes.TIMESTAMP(((TimestampType) logical).getPrecision());
            return (logical.isNullable() ? plain : plain.notNull())
                    .bridgedTo(type.getConversionClass());
        }
        if (logical instanceof LocalZonedTimestampType
                && ((LocalZonedTimestampType) logical).getKind() != TimestampKind.REGULAR) {
            DataType plain =
                    DataTypes.TIMESTAMP_LTZ(((LocalZonedTimestampType) logical).getPrecision());
            return (logical.isNullable() ? plain : plain.notNull())
                    .bridgedTo(type.getConversionClass());
        }
        return type;
    }

    private static DataType output(CallContext call) {
        return DataTypes.ROW(carriedFields(call).toArray(new DataTypes.Field[0]));
    }

    /** A pending row: the output's columns, then the close time of its window. */
    private static DataType pendingType(CallContext call) {
        List<DataTypes.Field> fields = carriedFields(call);
        fields.add(DataTypes.FIELD("$stagger_close", DataTypes.BIGINT()));
        return DataTypes.ROW(fields.toArray(new DataTypes.Field[0]));
    }
}
