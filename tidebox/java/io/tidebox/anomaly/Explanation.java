package io.tidebox.anomaly;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * One row's explanation in RANDOM_CUT_FOREST_WITH_EXPLANATION's shape, written as tidebox's
 * Python {@code scoring.explain} writes it: per column {@code {"DIRECTION": "HIGH"|"LOW",
 * "STRENGTH": ..., "ATTRIBUTION_SCORE": ...}}, where ATTRIBUTION_SCORE is the column's share
 * of the score (high + low, rounded to 6 decimals) and STRENGTH the share of it lying in
 * DIRECTION (rounded to 4 decimals; 0.0 when the share is 0).
 *
 * <p>The numbers equal Python's: Python's {@code round(x, n)} rounds the exact binary value
 * half to even and returns the double nearest that decimal, which {@link BigDecimal} does too.
 * They are written as Python's {@code repr} writes a float (the shortest decimal that reads
 * back to the same double; "0.0", not "0"; an exponent only below 1e-4 or from 1e16), and
 * the JSON as {@code json.dumps} writes it (", " and ": " separators, non-ASCII escaped).
 */
public final class Explanation {
    private static final int MAX_PLAIN_DIGITS = 15; // any such decimal is its double's repr

    private Explanation() {}

    /** The explanation of one row: {@code high[i]}/{@code low[i]} are column i's shares. */
    public static String explain(String[] columns, double[] high, double[] low) {
        return explain(columns, high, low, true);
    }

    /**
     * As {@link #explain(String[], double[], double[])}; without {@code directionality} each
     * column has only its ATTRIBUTION_SCORE, as RANDOM_CUT_FOREST_WITH_EXPLANATION writes it
     * when withDirectionality is false.
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
                json.append(", ");
            }
            first = false;
            quote(json, columns[i]);
            if (!directionality) {
                json.append(": {\"ATTRIBUTION_SCORE\": ").append(rounded(total, 6)).append('}');
                continue;
            }
            json.append(": {\"DIRECTION\": \"").append(up >= down ? "HIGH" : "LOW");
            json.append("\", \"STRENGTH\": ");
            if (total > 0) {
                json.append(rounded(Thresholder.max(up, down) / total, 4));
            } else {
                json.append("0.0");
            }
            json.append(", \"ATTRIBUTION_SCORE\": ").append(rounded(total, 6)).append('}');
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

    /** Python's {@code repr(round(x, digits))}. */
    static String rounded(double x, int digits) {
        if (!Double.isFinite(x)) {
            return repr(x);
        }
        BigDecimal decimal = new BigDecimal(x).setScale(digits, RoundingMode.HALF_EVEN);
        if (decimal.signum() == 0) {
            return repr(Math.copySign(0.0, x)); // Python keeps the sign: round(-1e-9, 6) is -0.0
        }
        BigDecimal plain = decimal.stripTrailingZeros();
        if (plain.precision() <= MAX_PLAIN_DIGITS) {
            return format(plain.signum() < 0, plain.abs());
        }
        return repr(decimal.doubleValue());
    }

    /** Python's {@code repr} of a float (as {@code json.dumps} writes it). */
    static String repr(double x) {
        if (Double.isNaN(x)) {
            return "NaN";
        }
        if (Double.isInfinite(x)) {
            return x > 0 ? "Infinity" : "-Infinity";
        }
        if (x == 0.0) {
            return (Double.doubleToRawLongBits(x) < 0) ? "-0.0" : "0.0";
        }
        BigDecimal exact = new BigDecimal(Math.abs(x));
        for (int precision = 1; precision <= 17; precision++) {
            BigDecimal nearest = exact.round(new MathContext(precision, RoundingMode.HALF_EVEN));
            BigDecimal shortest = readsBack(nearest, Math.abs(x))
                    ? nearest
                    : readsBackEither(exact, precision, Math.abs(x));
            if (shortest != null) {
                return format(x < 0, shortest.stripTrailingZeros());
            }
        }
        return format(x < 0, exact.round(MathContext.DECIMAL64).stripTrailingZeros());
    }

    private static boolean readsBack(BigDecimal decimal, double x) {
        return decimal.doubleValue() == x;
    }

    /** Near a power of two the nearest decimal can miss while its other neighbour reads back. */
    private static BigDecimal readsBackEither(BigDecimal exact, int precision, double x) {
        BigDecimal up = exact.round(new MathContext(precision, RoundingMode.UP));
        if (readsBack(up, x)) {
            return up;
        }
        BigDecimal down = exact.round(new MathContext(precision, RoundingMode.DOWN));
        return readsBack(down, x) ? down : null;
    }

    /** Python's float repr layout of a positive decimal without trailing zeros. */
    private static String format(boolean negative, BigDecimal decimal) {
        String digits = decimal.unscaledValue().toString();
        int point = digits.length() - decimal.scale(); // value = 0.digits * 10**point
        StringBuilder text = new StringBuilder(digits.length() + 8);
        if (negative) {
            text.append('-');
        }
        if (point <= -4 || point > 16) {
            text.append(digits.charAt(0));
            if (digits.length() > 1) {
                text.append('.').append(digits, 1, digits.length());
            }
            int exponent = point - 1;
            text.append(exponent < 0 ? "e-" : "e+");
            int magnitude = Math.abs(exponent);
            if (magnitude < 10) {
                text.append('0');
            }
            text.append(magnitude);
        } else if (point <= 0) {
            text.append("0.");
            for (int k = 0; k < -point; k++) {
                text.append('0');
            }
            text.append(digits);
        } else if (point >= digits.length()) {
            text.append(digits);
            for (int k = digits.length(); k < point; k++) {
                text.append('0');
            }
            text.append(".0");
        } else {
            text.append(digits, 0, point).append('.').append(digits, point, digits.length());
        }
        return text.toString();
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
