package io.tidebox.anomaly;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Scores rows from stdin with one forest and one thresholder, writing every result as raw
 * bits: what the tests compare with the Python forest, and what the benchmarks time.
 *
 * <p>Input: a header line of {@code key=value} words, then one row per line ({@code columns}
 * numbers separated by spaces or commas). Header keys: {@code numberOfTrees subSampleSize
 * timeDecay shingleSize columns seed} (Kinesis' defaults when left out), {@code preset}
 * (kinesis or tuned), {@code attribution} (true/false), {@code explain} (the column names,
 * comma-separated: adds the explanation JSON, and implies attribution) and {@code
 * snapshotAfter} (after that many rows, save forest and thresholder to bytes and continue
 * with copies restored from them; 0: never).
 *
 * <p>Output, a line per row: the score and the grade as 16 hex digits of their raw bits, with
 * attribution the columns' high then low shares likewise, with explain a tab and the JSON.
 * On stderr a line of figures: rows, nanoseconds spent scoring (the forest) and grading,
 * the snapshot's size, whether a restored forest saves to the same bytes, the final state's
 * size. A parameter out of range ends it with exit code 2 and the message on stderr.
 */
public final class Replay {
    private Replay() {}

    public static void main(String[] args) throws IOException {
        BufferedReader in =
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try {
            run(in);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(2);
        }
    }

    private static void run(BufferedReader in) throws IOException {
        String header = in.readLine();
        if (header == null) {
            throw new IllegalArgumentException("no header line");
        }
        long trees = 100;
        long sample = 256;
        long decay = 100_000;
        long shingle = 1;
        long columns = 1;
        long seed = 0;
        String preset = "kinesis";
        boolean attribution = false;
        String[] names = null;
        long snapshotAfter = 0;
        for (String word : header.trim().split("\\s+")) {
            if (word.isEmpty()) {
                continue;
            }
            int equals = word.indexOf('=');
            if (equals < 0) {
                throw new IllegalArgumentException("header word without '=': " + word);
            }
            String key = word.substring(0, equals);
            String value = word.substring(equals + 1);
            switch (key) {
                case "numberOfTrees" -> trees = Long.parseLong(value);
                case "subSampleSize" -> sample = Long.parseLong(value);
                case "timeDecay" -> decay = Long.parseLong(value);
                case "shingleSize" -> shingle = Long.parseLong(value);
                case "columns" -> columns = Long.parseLong(value);
                case "seed" -> seed = Long.parseLong(value);
                case "preset" -> preset = value;
                case "attribution" -> attribution = Boolean.parseBoolean(value);
                case "explain" -> names = value.split(",", -1);
                case "snapshotAfter" -> snapshotAfter = Long.parseLong(value);
                default -> throw new IllegalArgumentException("unknown header key: " + key);
            }
        }
        ForestParams params = new ForestParams(trees, sample, decay, shingle, columns, seed);
        RandomCutForest forest = new RandomCutForest(params);
        Thresholder thresholder = Thresholder.forPreset(preset, params.subSampleSize());
        int width = params.columns();
        if (names != null) {
            attribution = true;
            if (names.length != width) {
                throw new IllegalArgumentException(
                        "explain names " + names.length + " column(s), not " + width);
            }
        }

        List<double[]> rows = readRows(in, width);
        int n = rows.size();
        double[] scores = new double[n];
        double[] grades = new double[n];
        double[] highs = attribution ? new double[n * width] : null;
        double[] lows = attribution ? new double[n * width] : null;
        double[] high = new double[width];
        double[] low = new double[width];
        long scoreNanos = 0;
        long gradeNanos = 0;
        int snapshotBytes = 0;
        boolean stable = true;
        for (int r = 0; r < n; r++) {
            double[] row = rows.get(r);
            long started = System.nanoTime();
            double score = attribution
                    ? forest.scoreAndUpdate(row, high, low)
                    : forest.scoreAndUpdate(row);
            long scored = System.nanoTime();
            grades[r] = thresholder.gradeAndUpdate(score);
            gradeNanos += System.nanoTime() - scored;
            scoreNanos += scored - started;
            scores[r] = score;
            if (attribution) {
                System.arraycopy(high, 0, highs, r * width, width);
                System.arraycopy(low, 0, lows, r * width, width);
            }
            if (r + 1 == snapshotAfter) {
                byte[] saved = forest.toBytes();
                snapshotBytes = saved.length;
                forest = RandomCutForest.fromBytes(saved);
                stable = Arrays.equals(saved, forest.toBytes());
                byte[] savedGrades = thresholder.toBytes();
                thresholder = Thresholder.fromBytes(savedGrades);
                stable &= Arrays.equals(savedGrades, thresholder.toBytes());
            }
        }

        Writer out = new BufferedWriter(
                new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16);
        StringBuilder line = new StringBuilder(34 * (1 + width) + 64);
        for (int r = 0; r < n; r++) {
            line.setLength(0);
            hex(line, scores[r]);
            line.append(' ');
            hex(line, grades[r]);
            if (attribution) {
                for (int c = 0; c < width; c++) {
                    line.append(' ');
                    hex(line, highs[r * width + c]);
                }
                for (int c = 0; c < width; c++) {
                    line.append(' ');
                    hex(line, lows[r * width + c]);
                }
            }
            if (names != null) {
                line.append('\t').append(Explanation.explain(
                        names,
                        Arrays.copyOfRange(highs, r * width, (r + 1) * width),
                        Arrays.copyOfRange(lows, r * width, (r + 1) * width)));
            }
            out.append(line).append('\n');
        }
        out.flush();
        long before = System.nanoTime();
        byte[] state = forest.toBytes();
        long saved = System.nanoTime();
        RandomCutForest.fromBytes(state);
        long restored = System.nanoTime();
        System.err.printf(
                "rows=%d score_ns=%d grade_ns=%d snapshot_bytes=%d snapshot_stable=%s"
                        + " state_bytes=%d to_bytes_ns=%d from_bytes_ns=%d%n",
                n, scoreNanos, gradeNanos, snapshotBytes, stable, state.length,
                saved - before, restored - saved);
    }

    private static List<double[]> readRows(BufferedReader in, int width) throws IOException {
        List<double[]> rows = new ArrayList<>();
        String text;
        while ((text = in.readLine()) != null) {
            text = text.trim();
            if (text.isEmpty()) {
                continue;
            }
            String[] fields = text.split("[\\s,]+");
            if (fields.length != width) {
                throw new IllegalArgumentException("row " + rows.size() + " has "
                        + fields.length + " value(s), not " + width);
            }
            double[] row = new double[width];
            for (int c = 0; c < width; c++) {
                row[c] = Double.parseDouble(fields[c]);
            }
            rows.add(row);
        }
        return rows;
    }

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private static void hex(StringBuilder line, double value) {
        long bits = Double.doubleToRawLongBits(value);
        for (int shift = 60; shift >= 0; shift -= 4) {
            line.append(HEX[(int) (bits >>> shift) & 0xF]);
        }
    }
}
