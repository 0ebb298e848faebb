package io.tidebox.flink;

import org.apache.flink.table.api.dataview.ListView;
import org.apache.flink.table.api.dataview.MapView;
import org.apache.flink.table.functions.ProcessTableFunction;
import org.apache.flink.table.functions.TableSemantics;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.types.Row;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * What RANDOM_CUT_FOREST does with each row, shared by both functions.
 *
 * <p><b>Order.</b> Rows wait in state until the watermark passes their time, then each key's
 * rows are scored in event-time order, so the scores do not depend on how partitions interleave
 * and a restored job scores exactly as an uninterrupted one. Rows of one key at the same time
 * keep the order they arrived in: for a stream keyed by that key (one shard per key) it is the
 * order they were written in, as ``tidebox anomaly score`` keeps a file's order for equal times. A timer per distinct time emits them, so each output
 * row keeps its own time as {@code rowtime}; the key's first timer of a watermark scores all
 * the key's rows that watermark passed in one go (see {@link #fire}).
 *
 * <p><b>State.</b> A forest of 100 trees x 256 points is megabytes; reading and writing that in
 * Flink state for every row would cost more than the scoring. So each key's live model stays in
 * memory (a cache bounded by {@code tidebox.rcf.cache-mb}), and Flink state holds what is needed
 * to rebuild it exactly: a saved copy ({@code snapshot}, rewritten every {@code
 * tidebox.rcf.snapshot-rows} learned rows) and the values of the rows learned since ({@code
 * journal}). A model missing from the cache, after a restore or an eviction, is the saved copy
 * with the journal replayed; {@code progress.learned} tells whether a cached model is current.
 */
final class ForestScorer {
    private static final int CHUNK = 1 << 20; // snapshot bytes per state entry
    static final int CALL = 0; // entries of the key's "about" state
    static final int KEY = 1;

    private final boolean explains;
    private final long cacheBytes;
    private final int snapshotRows;
    private final boolean noOp;
    private ForestCall call;
    private int[] scored;
    private String[] scoredNames;
    private int[] keys;
    private boolean[] isKey;
    private Map<String, KeyModel> models;
    private final Map<String, TreeMap<Long, List<Row>>> ready = new HashMap<>(); // scored, unsent
    private double[] values;

    ForestScorer(boolean explains, long cacheBytes, int snapshotRows, boolean noOp) {
        this.noOp = noOp;
        this.explains = explains;
        this.cacheBytes = cacheBytes;
        this.snapshotRows = snapshotRows;
    }

    /** A row arrives: keep it until the watermark passes its time. */
    void add(
            ProcessTableFunction.Context ctx,
            Row progress,
            MapView<Integer, String> about,
            MapView<Long, Row[]> pending,
            Row input,
            ForestCall arguments)
            throws Exception {
        if (call == null) {
            prepare(arguments, ctx.tableSemanticsFor("input"));
        }
        if (progress.getField("learned") == null) { // the key's first row
            about.put(CALL, call.encode());
            about.put(KEY, keyOf(input));
            progress.setField("learned", 0L);
            progress.setField("journaled", 0);
            progress.setField("chunks", 0);
        }
        ProcessTableFunction.TimeContext<Long> time = ctx.timeContext(Long.class);
        long at = time.time();
        Row[] waiting = pending.get(at);
        Row[] now;
        if (waiting == null) {
            now = new Row[] {input};
            time.registerOnTime(at);
        } else {
            now = Arrays.copyOf(waiting, waiting.length + 1);
            now[waiting.length] = input;
        }
        pending.put(at, now);
    }

    /**
     * The watermark passed a time some rows of this key have. The first such timer of a
     * watermark scores every row of the key the watermark passed, in order (one forest at a
     * time stays in the CPU's caches; switching forests on every row made scoring several times
     * slower), and emits those of its own time; the key's later timers of the same watermark
     * emit theirs, so every row keeps its own time as {@code rowtime}. All timers up to a
     * watermark fire before Flink takes a checkpoint, so no row is ever scored but unsent when
     * state is saved.
     */
    void fire(
            ProcessTableFunction.OnTimerContext ctx,
            Row progress,
            MapView<Integer, String> about,
            MapView<Long, Row[]> pending,
            MapView<Integer, byte[]> snapshot,
            ListView<byte[]> journal,
            Consumer<Row> out)
            throws Exception {
        ProcessTableFunction.TimeContext<Long> time = ctx.timeContext(Long.class);
        long at = time.time();
        if (call == null) {
            prepare(ForestCall.decode(about.get(CALL)), ctx.tableSemanticsFor("input"));
        }
        String key = about.get(KEY);
        TreeMap<Long, List<Row>> scored = ready.get(key);
        if (scored == null || !scored.containsKey(at)) {
            Long watermark = time.currentWatermark();
            long until = watermark == null ? at : Math.max(at, watermark);
            scored = score(key, until, progress, pending, snapshot, journal);
        }
        List<Row> rows = scored.remove(at);
        if (rows != null) {
            rows.forEach(out);
        }
        if (scored.isEmpty()) {
            ready.remove(key);
        }
    }

    /** Score the key's rows up to {@code until}, in order; their outputs by time. */
    private TreeMap<Long, List<Row>> score(
            String key,
            long until,
            Row progress,
            MapView<Long, Row[]> pending,
            MapView<Integer, byte[]> snapshot,
            ListView<byte[]> journal)
            throws Exception {
        TreeMap<Long, Row[]> due = new TreeMap<>();
        for (Map.Entry<Long, Row[]> entry : pending.entries()) {
            if (entry.getKey() <= until) {
                due.put(entry.getKey(), entry.getValue());
            }
        }
        for (Long at : due.keySet()) {
            pending.remove(at);
        }
        TreeMap<Long, List<Row>> scored = new TreeMap<>();
        ready.put(key, scored);
        KeyModel model = noOp ? null : model(key, progress, snapshot, journal);
        int journaled = progress.<Integer>getFieldAs("journaled");
        for (Map.Entry<Long, Row[]> entry : due.entrySet()) {
            Row[] rows = entry.getValue();
            List<Row> outputs = new ArrayList<>(rows.length);
            for (Row row : rows) {
                if (!read(row)) {
                    outputs.add(output(row, null, null, null));
                } else if (model == null) {
                    outputs.add(output(row, 0.0, null, null));
                } else {
                    double score = model.scoreAndLearn(values, explains);
                    Double grade = model.thresholder == null ? null : model.grade(score);
                    String explanation =
                            explains ? model.explanation(scoredNames, call.directionality) : null;
                    journal.add(pack(values));
                    journaled++;
                    outputs.add(output(row, score, grade, explanation));
                }
            }
            scored.put(entry.getKey(), outputs);
        }
        if (model != null) {
            if (journaled >= snapshotRows) {
                progress.setField("chunks", save(model.toBytes(), snapshot, progress));
                journal.clear();
                journaled = 0;
            }
            progress.setField("learned", model.learned);
            progress.setField("journaled", journaled);
        }
        return scored;
    }

    private void prepare(ForestCall arguments, TableSemantics semantics) {
        call = arguments;
        RowType type = (RowType) semantics.dataType().getLogicalType();
        keys = semantics.partitionByColumns();
        isKey = new boolean[type.getFieldCount()];
        for (int key : keys) {
            isKey[key] = true;
        }
        scored = call.scoredPositions(type, keys);
        scoredNames = new String[scored.length];
        for (int i = 0; i < scored.length; i++) {
            scoredNames[i] = type.getFieldNames().get(scored[i]);
        }
        values = new double[scored.length];
        long each = Math.max(1, KeyModel.footprint(call, scored.length));
        int capacity = (int) Math.max(1, Math.min(Integer.MAX_VALUE, cacheBytes / each));
        models =
                new LinkedHashMap<>(16, 0.75f, true) {
                    @Override
                    protected boolean removeEldestEntry(Map.Entry<String, KeyModel> eldest) {
                        return size() > capacity;
                    }
                };
    }

    /** The key's live model: from the cache if current, else rebuilt from state. */
    private KeyModel model(
            String key,
            Row progress,
            MapView<Integer, byte[]> snapshot,
            ListView<byte[]> journal)
            throws Exception {
        long learned = progress.<Long>getFieldAs("learned");
        KeyModel cached = models.get(key);
        if (cached != null && cached.learned == learned) {
            return cached;
        }
        int chunks = progress.<Integer>getFieldAs("chunks");
        KeyModel model =
                chunks == 0
                        ? KeyModel.fresh(call, scored.length)
                        : KeyModel.fromBytes(load(snapshot, chunks), scored.length);
        double[] replayed = new double[scored.length];
        for (byte[] entry : journal.get()) {
            ByteBuffer.wrap(entry).asDoubleBuffer().get(replayed);
            double score = model.scoreAndLearn(replayed, false);
            if (model.thresholder != null) {
                model.grade(score);
            }
        }
        if (model.learned != learned) {
            throw new IllegalStateException(
                    "RANDOM_CUT_FOREST state of key '" + key + "' holds " + model.learned
                            + " rows, not " + learned);
        }
        models.put(key, model);
        return model;
    }

    private static int save(byte[] bytes, MapView<Integer, byte[]> snapshot, Row progress)
            throws Exception {
        int chunks = (bytes.length + CHUNK - 1) / CHUNK;
        for (int i = 0; i < chunks; i++) {
            snapshot.put(i, Arrays.copyOfRange(bytes, i * CHUNK, Math.min(bytes.length, (i + 1) * CHUNK)));
        }
        int before = progress.<Integer>getFieldAs("chunks");
        for (int i = chunks; i < before; i++) {
            snapshot.remove(i);
        }
        return chunks;
    }

    private static byte[] load(MapView<Integer, byte[]> snapshot, int chunks) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(chunks * CHUNK);
        for (int i = 0; i < chunks; i++) {
            bytes.write(snapshot.get(i));
        }
        return bytes.toByteArray();
    }

    /** Read the scored columns into {@link #values}; false when one is NULL or not finite. */
    private boolean read(Row row) {
        for (int i = 0; i < scored.length; i++) {
            Object value = row.getField(scored[i]);
            if (value == null) {
                return false;
            }
            double number = ((Number) value).doubleValue();
            if (!Double.isFinite(number)) {
                return false;
            }
            values[i] = number;
        }
        return true;
    }

    private static byte[] pack(double[] values) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * 8);
        buffer.asDoubleBuffer().put(values);
        return buffer.array();
    }

    private Row output(Row row, Double score, Double grade, String explanation) {
        int extra = 1 + (call.grade != null ? 1 : 0) + (explains ? 1 : 0);
        Object[] fields = new Object[row.getArity() - keys.length + extra];
        int next = 0;
        for (int i = 0; i < row.getArity(); i++) {
            if (!isKey[i]) {
                fields[next++] = row.getField(i);
            }
        }
        fields[next++] = score;
        if (call.grade != null) {
            fields[next++] = grade;
        }
        if (explains) {
            fields[next] = explanation;
        }
        return Row.of(fields);
    }

    private String keyOf(Row row) {
        StringBuilder key = new StringBuilder();
        for (int position : keys) {
            key.append(row.getField(position)).append('\u001f');
        }
        return key.toString();
    }
}
