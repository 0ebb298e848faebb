package io.tidebox.flink;

import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.api.dataview.ListView;
import org.apache.flink.table.api.dataview.MapView;
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
 * The signature of RANDOM_CUT_FOREST for Flink's planner: its arguments, its state, and an output
 * type that depends on the input table (polymorphic, as in Kinesis Analytics).
 *
 * <p>The output holds the input's columns (the PARTITION BY columns come first: Flink puts them
 * there), then ANOMALY_SCORE, then ANOMALY_GRADE when a grade is asked for and
 * ANOMALY_EXPLANATION for the explaining variant; Flink appends {@code rowtime}. The input's time
 * column is passed through as a plain timestamp: {@code rowtime} is the time attribute.
 */
final class ForestTypes {
    static final String SCORE = "ANOMALY_SCORE";
    static final String GRADE = "ANOMALY_GRADE";
    static final String EXPLANATION = "ANOMALY_EXPLANATION";
    private static final Duration NO_TTL = Duration.ZERO;

    private ForestTypes() {}

    static TypeInference inference(boolean explains) {
        List<StaticArgument> arguments = new ArrayList<>();
        arguments.add(
                StaticArgument.table(
                        "input",
                        Row.class,
                        false,
                        EnumSet.of(
                                StaticArgumentTrait.TABLE,
                                StaticArgumentTrait.SET_SEMANTIC_TABLE,
                                StaticArgumentTrait.OPTIONAL_PARTITION_BY,
                                StaticArgumentTrait.REQUIRE_ON_TIME)));
        arguments.add(StaticArgument.scalar("number_of_trees", DataTypes.INT(), true));
        arguments.add(StaticArgument.scalar("sub_sample_size", DataTypes.INT(), true));
        arguments.add(StaticArgument.scalar("time_decay", DataTypes.INT(), true));
        arguments.add(StaticArgument.scalar("shingle_size", DataTypes.INT(), true));
        if (explains) {
            arguments.add(StaticArgument.scalar("with_directionality", DataTypes.BOOLEAN(), true));
        }
        arguments.add(StaticArgument.scalar("columns", DataTypes.DESCRIPTOR(), true));
        arguments.add(StaticArgument.scalar("grade", DataTypes.STRING(), true));
        arguments.add(StaticArgument.scalar("seed", DataTypes.INT(), true));

        // Every entry declares a time-to-live of 0, i.e. none: without a declaration Flink gives
        // PTF state an endless TTL (so that one can be set later), whose bookkeeping on every
        // access cost this function a third of its time.
        LinkedHashMap<String, StateTypeStrategy> state = new LinkedHashMap<>();
        state.put("progress", StateTypeStrategy.of(call -> Optional.of(Progress.TYPE), NO_TTL));
        state.put(
                "about",
                StateTypeStrategy.of(
                        call ->
                                Optional.of(
                                        MapView.newMapViewDataType(
                                                DataTypes.INT().notNull(), DataTypes.STRING())),
                        NO_TTL));
        state.put(
                "pending",
                StateTypeStrategy.of(
                        call ->
                                Optional.of(
                                        MapView.newMapViewDataType(
                                                DataTypes.BIGINT().notNull(),
                                                DataTypes.ARRAY(input(call).dataType())
                                                        .bridgedTo(Row[].class))),
                        NO_TTL));
        state.put(
                "snapshot",
                StateTypeStrategy.of(
                        call ->
                                Optional.of(
                                        MapView.newMapViewDataType(
                                                DataTypes.INT().notNull(), DataTypes.BYTES())),
                        NO_TTL));
        state.put(
                "journal",
                StateTypeStrategy.of(
                        call -> Optional.of(ListView.newListViewDataType(DataTypes.BYTES())),
                        NO_TTL));

        ForestCall.Arguments positions = new ForestCall.Arguments(explains);
        return TypeInference.newBuilder()
                .staticArguments(arguments)
                .stateTypeStrategies(state)
                .outputTypeStrategy(call -> Optional.of(output(call, positions, explains)))
                .build();
    }

    private static TableSemantics input(CallContext call) {
        return call.getTableSemantics(0)
                .orElseThrow(
                        () ->
                                new ValidationException(
                                        "RANDOM_CUT_FOREST: the first argument must be a table,"
                                                + " e.g. input => TABLE readings"));
    }

    private static DataType output(
            CallContext call, ForestCall.Arguments positions, boolean explains) {
        TableSemantics table = input(call);
        ForestCall options = ForestCall.check(call, positions, explains);
        RowType type = (RowType) table.dataType().getLogicalType();
        options.scoredPositions(type, table.partitionByColumns());
        Set<Integer> keys = new HashSet<>();
        for (int key : table.partitionByColumns()) {
            keys.add(key);
        }
        List<DataType> children = table.dataType().getChildren();
        List<DataTypes.Field> fields = new ArrayList<>();
        for (int i = 0; i < type.getFieldCount(); i++) {
            String name = type.getFieldNames().get(i);
            if (name.equals(SCORE) || name.equals(GRADE) || name.equals(EXPLANATION)) {
                throw new ValidationException(
                        "RANDOM_CUT_FOREST: the input already has a column " + name
                                + ": rename it in the query");
            }
            if (!keys.contains(i)) {
                fields.add(DataTypes.FIELD(name, plainTime(children.get(i))));
            }
        }
        fields.add(DataTypes.FIELD(SCORE, DataTypes.DOUBLE()));
        if (options.grade != null) {
            fields.add(DataTypes.FIELD(GRADE, DataTypes.DOUBLE()));
        }
        if (explains) {
            fields.add(DataTypes.FIELD(EXPLANATION, DataTypes.STRING()));
        }
        return DataTypes.ROW(fields.toArray(new DataTypes.Field[0]));
    }

    /** A time attribute becomes a plain timestamp: only Flink's rowtime column stays one. */
    private static DataType plainTime(DataType type) {
        LogicalType logical = type.getLogicalType();
        if (logical instanceof TimestampType
                && ((TimestampType) logical).getKind() != TimestampKind.REGULAR) {
            int precision = ((TimestampType) logical).getPrecision();
            return nullable(DataTypes.TIMESTAMP(precision), logical)
                    .bridgedTo(type.getConversionClass());
        }
        if (logical instanceof LocalZonedTimestampType
                && ((LocalZonedTimestampType) logical).getKind() != TimestampKind.REGULAR) {
            int precision = ((LocalZonedTimestampType) logical).getPrecision();
            return nullable(DataTypes.TIMESTAMP_LTZ(precision), logical)
                    .bridgedTo(type.getConversionClass());
        }
        return type;
    }

    private static DataType nullable(DataType type, LogicalType like) {
        return like.isNullable() ? type : type.notNull();
    }

    /**
     * The small per-key state Flink reads and writes around every call: numbers only (the call
     * and the key, text, sit in the "about" map, read only when needed).
     */
    static final class Progress {
        static final DataType TYPE =
                DataTypes.ROW(
                        DataTypes.FIELD("learned", DataTypes.BIGINT()),
                        DataTypes.FIELD("journaled", DataTypes.INT()),
                        DataTypes.FIELD("chunks", DataTypes.INT()));

        private Progress() {}
    }
}
