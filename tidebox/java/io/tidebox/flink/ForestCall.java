package io.tidebox.flink;

import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.types.inference.CallContext;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.types.ColumnList;

import io.tidebox.anomaly.ForestParams;
import io.tidebox.anomaly.Presets;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The arguments of one RANDOM_CUT_FOREST call, checked once while Flink plans the query.
 *
 * <p>Every argument must be a literal: the forest's shape is fixed for the life of the job, and
 * checking it at planning time turns a bad value into one error line before anything runs. The
 * same values are read again at runtime from the eval() arguments ({@link #of}) and kept in
 * state ({@link #encode}), because a timer can fire after a restore before any row arrives.
 */
final class ForestCall implements Serializable {
    private static final long serialVersionUID = 1L;

    private static final String FIELD = "\u001f"; // separators no column name holds
    private static final String COLUMN = "\u001e";

    /** Kinesis Analytics scores at most this many columns. */
    static final int MAX_COLUMNS = 30;

    final int trees;
    final int sampleSize;
    final int timeDecay;
    final int shingleSize;
    final boolean directionality;
    final List<String> columns; // empty: every numeric column that is not a key
    final String grade; // null: no ANOMALY_GRADE column
    final int seed;
    final boolean explains;

    ForestCall(
            int trees,
            int sampleSize,
            int timeDecay,
            int shingleSize,
            boolean directionality,
            List<String> columns,
            String grade,
            int seed,
            boolean explains) {
        this.trees = trees;
        this.sampleSize = sampleSize;
        this.timeDecay = timeDecay;
        this.shingleSize = shingleSize;
        this.directionality = directionality;
        this.columns = columns;
        this.grade = grade;
        this.seed = seed;
        this.explains = explains;
    }

    /**
     * The call as Flink passes it to eval(): nulls are the defaults of Kinesis Analytics, or of
     * the grade's preset.
     */
    static ForestCall of(
            Integer trees,
            Integer sampleSize,
            Integer timeDecay,
            Integer shingleSize,
            Boolean directionality,
            ColumnList columns,
            String grade,
            Integer seed,
            boolean explains) {
        String preset = grade == null ? null : grade.toLowerCase();
        return new ForestCall(
                trees == null ? 100 : trees,
                sampleSize == null ? 256 : sampleSize,
                timeDecay == null ? presetTimeDecay(preset) : timeDecay,
                shingleSize == null ? 1 : shingleSize,
                directionality != null && directionality,
                columns == null ? List.of() : List.copyOf(columns.getNames()),
                preset,
                seed == null ? 0 : seed,
                explains);
    }

    /** A graded call brings its preset's forest (the tuned one forgets faster), unless the
     * call names its own timeDecay. */
    private static int presetTimeDecay(String preset) {
        if (preset == null || !(preset.equals("kinesis") || preset.equals("tuned"))) {
            return Presets.KINESIS_TIME_DECAY; // an unknown grade is refused by check()
        }
        return Presets.timeDecay(preset);
    }

    /** The call as the planner sees it, with every argument checked; errors name the argument. */
    static ForestCall check(CallContext call, Arguments positions, boolean explains) {
        Integer trees = literal(call, positions.trees, Integer.class, "number_of_trees");
        Integer sample = literal(call, positions.sampleSize, Integer.class, "sub_sample_size");
        Integer decay = literal(call, positions.timeDecay, Integer.class, "time_decay");
        Integer shingle = literal(call, positions.shingleSize, Integer.class, "shingle_size");
        Boolean directionality =
                positions.directionality < 0
                        ? null
                        : literal(call, positions.directionality, Boolean.class, "with_directionality");
        ColumnList columns = literal(call, positions.columns, ColumnList.class, "columns");
        String grade = literal(call, positions.grade, String.class, "grade");
        Integer seed = literal(call, positions.seed, Integer.class, "seed");
        ForestCall parsed =
                of(trees, sample, decay, shingle, directionality, columns, grade, seed, explains);
        parsed.checkParams(1);
        if (parsed.grade != null && !parsed.grade.equals("kinesis") && !parsed.grade.equals("tuned")) {
            throw new ValidationException(
                    "RANDOM_CUT_FOREST: grade must be 'kinesis' or 'tuned', got '" + grade + "'");
        }
        return parsed;
    }

    private static <T> T literal(CallContext call, int position, Class<T> type, String name) {
        if (position >= call.getArgumentDataTypes().size() || call.isArgumentNull(position)) {
            return null;
        }
        if (!call.isArgumentLiteral(position)) {
            throw new ValidationException(
                    "RANDOM_CUT_FOREST: " + name + " must be a literal value");
        }
        return call.getArgumentValue(position, type)
                .orElseThrow(
                        () ->
                                new ValidationException(
                                        "RANDOM_CUT_FOREST: "
                                                + name
                                                + " must be a "
                                                + type.getSimpleName()
                                                + " literal"));
    }

    /** Kinesis Analytics' ranges, in its own parameter names (the forest's own check). */
    void checkParams(int columnCount) {
        try {
            params(columnCount);
        } catch (IllegalArgumentException e) {
            throw new ValidationException("RANDOM_CUT_FOREST: " + e.getMessage());
        }
    }

    ForestParams params(int columnCount) {
        return new ForestParams(trees, sampleSize, timeDecay, shingleSize, columnCount, seed);
    }

    /**
     * The input positions to score: the named columns, or every numeric column that is not a
     * partition key. Errors name the column.
     */
    int[] scoredPositions(RowType type, int[] keys) {
        List<String> names = type.getFieldNames();
        List<Integer> chosen = new ArrayList<>();
        if (!columns.isEmpty()) {
            for (String column : columns) {
                int position = names.indexOf(column);
                if (position < 0) {
                    throw new ValidationException(
                            "RANDOM_CUT_FOREST: columns names '"
                                    + column
                                    + "', which the input does not have (it has "
                                    + String.join(", ", names)
                                    + ")");
                }
                LogicalType columnType = type.getTypeAt(position);
                if (!isNumber(columnType)) {
                    String hint =
                            columnType.getTypeRoot() == LogicalTypeRoot.DECIMAL
                                    ? " (DECIMAL is not scored, as in Kinesis Analytics: CAST it to DOUBLE)"
                                    : "";
                    throw new ValidationException(
                            "RANDOM_CUT_FOREST: column '"
                                    + column
                                    + "' is "
                                    + columnType.asSummaryString()
                                    + ", not a number"
                                    + hint);
                }
                chosen.add(position);
            }
        } else {
            List<Integer> keyList = new ArrayList<>();
            for (int key : keys) {
                keyList.add(key);
            }
            for (int i = 0; i < names.size(); i++) {
                if (!keyList.contains(i) && isNumber(type.getTypeAt(i))) {
                    chosen.add(i);
                }
            }
            if (chosen.isEmpty()) {
                throw new ValidationException(
                        "RANDOM_CUT_FOREST: the input has no numeric column to score (it has "
                                + String.join(", ", names)
                                + ")");
            }
        }
        if (chosen.size() > MAX_COLUMNS) {
            throw new ValidationException(
                    "RANDOM_CUT_FOREST: at most "
                            + MAX_COLUMNS
                            + " columns can be scored, got "
                            + chosen.size()
                            + (columns.isEmpty() ? " numeric columns: choose some with columns => DESCRIPTOR(...)" : ""));
        }
        checkParams(chosen.size());
        return chosen.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The types Kinesis Analytics scores: DOUBLE, REAL/FLOAT, BIGINT, INTEGER, SMALLINT, TINYINT. */
    static boolean isNumber(LogicalType type) {
        switch (type.getTypeRoot()) {
            case TINYINT:
            case SMALLINT:
            case INTEGER:
            case BIGINT:
            case FLOAT:
            case DOUBLE:
                return true;
            default:
                return false;
        }
    }

    /** A compact text form kept in each key's state, so that timers can fire after a restore. */
    String encode() {
        return String.join(
                FIELD,
                Integer.toString(trees),
                Integer.toString(sampleSize),
                Integer.toString(timeDecay),
                Integer.toString(shingleSize),
                Boolean.toString(directionality),
                String.join(COLUMN, columns),
                grade == null ? "" : grade,
                Integer.toString(seed),
                Boolean.toString(explains));
    }

    static ForestCall decode(String text) {
        String[] parts = text.split(FIELD, -1);
        List<String> columns =
                parts[5].isEmpty() ? List.of() : Arrays.asList(parts[5].split(COLUMN, -1));
        return new ForestCall(
                Integer.parseInt(parts[0]),
                Integer.parseInt(parts[1]),
                Integer.parseInt(parts[2]),
                Integer.parseInt(parts[3]),
                Boolean.parseBoolean(parts[4]),
                columns,
                parts[6].isEmpty() ? null : parts[6],
                Integer.parseInt(parts[7]),
                Boolean.parseBoolean(parts[8]));
    }

    /** Where each named argument sits in the call (after the table argument at 0). */
    static final class Arguments {
        final int trees = 1;
        final int sampleSize = 2;
        final int timeDecay = 3;
        final int shingleSize = 4;
        final int directionality;
        final int columns;
        final int grade;
        final int seed;

        Arguments(boolean explains) {
            int next = 5;
            directionality = explains ? next++ : -1;
            columns = next++;
            grade = next++;
            seed = next;
        }
    }
}
