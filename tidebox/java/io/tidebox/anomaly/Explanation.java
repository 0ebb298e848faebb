package io.tidebox.anomaly;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * One row's explanation in RANDOM_CUT_FOREST_WITH_EXPLANATION's shape as Kinesis Analytics
 * writes it, and as tidebox's Python {@code scoring.explain} does: per column {@code
 * {"DIRECTION":"HIGH"|"LOW","STRENGTH":"0.9200","ATTRIBUTION_SCORE":"1.7447"}}, numbers as
 * strings with 4 decimals and no spaces (the developer guide's example output), where
 * ATTRIBUTION_SCORE is the column's share of the score (high + low) and STRENGTH the share of it
 * lying in DIRECTION ("0.0000" when the share is 0).
 *
 * <p>The decimals equal Python's {@code f"{x:.4f}"}: the exact binary value rounded half to even,
 * which {@link BigDecimal} does too; the JSON is {@code json.dumps} with {@code (",", ":")}
 * separators (non-ASCII escaped).
 */
public final class Explanation {
    private Explanation() {}

    /** The explanation of one row: {@code high[i]}/{@code low[i]} are column i's shares. */
    public static String explain(String[] columns, double[] high, double[] low) {
        return explain(columns, high, low, true);
    }

    /**
     * As {@link #explain(String[], double[], double[])}; without {@code directionality} each
     * column has only its ATTRIBUTION_SCORE (tidebox's reading of withDirectionality false).
     */
    public static String explain(
            String[] columns, double[] high, double[] low, boolean directionality) {
        StringBuilder json = new StringBuilder(64 * columns.length);
        json.append('{');
        boolean first = true;
        for (int i = 0; i < columns.length; i++) {
            if (firstIndexOf(columns, i) != i) {
                continue; // a repeated name: Python's dict keeps its first place, last value
            }
            int last = lastIndexOf(columns, i);
            double up = high[last];
            double down = low[last];
            double total = up + down;
            if (!first) {
                json.append(',');
            }
            first = false;
            quote(json, columns[i]);
            if (!directionality) {
                json.append(":{\"ATTRIBUTION_SCORE\":\"").append(decimals(total)).append("\"}");
                continue;
            }
            json.append(":{\"DIRECTION\":\"").append(up >= down ? "HIGH" : "LOW");
            double strength = total > 0 ? Thresholder.max(up, down) / total : 0.0;
            json.append("\",\"STRENGTH\":\"").append(decimals(strength));
            json.append("\",\"ATTRIBUTION_SCORE\":\"").append(decimals(total)).append("\"}");
        }
        return json.append('}').toString();
    }

    private static int firstIndexOf(String[] columns, int i) {
        for (int j = 0; j < i; j++) {
            if (columns[j].equals(columns[i])) {
                return j;
            }
        }
        return i;
    }

    private static int lastIndexOf(String[] columns, int i) {
        for (int j = columns.length - 1; j > i; j--) {
            if (columns[j].equals(columns[i])) {
                return j;
            }
        }
        return i;
    }

    /** Python's {@code f"{x:.4f}"}. */
    static String decimals(double x) {
        if (Double.isNaN(x)) {
            return "nan";
        }
        if (Double.isInfinite(x)) {
            return x > 0 ? "inf" : "-inf";
        }
        String text = new BigDecimal(x).setScale(4, RoundingMode.HALF_EVEN).toPlainString();
        boolean negative = Double.doubleToRawLongBits(x) < 0;
        return negative && !text.startsWith("-") ? "-" + text : text; // Python keeps -0.0000
    }

    /** A JSON string as {@code json.dumps} writes it (ensure_ascii). */
    private static void quote(StringBuilder json, String text) {
        json.append('"');
        for (int k = 0; k < text.length(); k++) {
            char c = text.charAt(k);
            switch (c) {
                case '"' -> json.append("\\\"");
                case '\\' -> json.append("\\\\");
                case '\n' -> json.append("\\n");
                case '\r' -> json.append("\\r");
                case '\t' -> json.append("\\t");
                case '\b' -> json.append("\\b");
                case '\f' -> json.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        json.append(String.format("\\u%04x", (int) c));
                    } else {
                        json.append(c);
                    }
                }
            }
        }
        json.append('"');
    }
}
