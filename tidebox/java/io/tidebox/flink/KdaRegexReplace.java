package io.tidebox.flink;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * KDA SQL's REGEX_REPLACE(original, regex, replacement, startPosition, occurrence): Java's
 * {@code replaceAll} semantics (groups as {@code $1}, escapes with a backslash), matching from
 * the 1-based startPosition on (the characters before it are kept, and the pattern still sees
 * them: lookbehind and word boundaries work, {@code ^} does not match there); occurrence 0
 * replaces every match, n only the n-th. A start past the end gives the original; a null
 * argument, or a start below 1 (KDA sends the row to its error stream), gives null.
 */
public final class KdaRegexReplace extends ScalarFunction {
    private transient String lastRegex;
    private transient Pattern lastPattern;

    @Override
    public void open(FunctionContext context) {
        lastRegex = null;
    }

    public String eval(
            String original, String regex, String replacement, Integer start, Integer occurrence) {
        if (original == null || regex == null || replacement == null || start == null
                || occurrence == null || start < 1 || occurrence < 0) {
            return null;
        }
        if (start > original.length()) {
            return original;
        }
        if (!regex.equals(lastRegex)) {
            lastPattern = Pattern.compile(regex);
            lastRegex = regex;
        }
        Matcher matcher = lastPattern.matcher(original);
        matcher.useTransparentBounds(true).useAnchoringBounds(false);
        matcher.region(start - 1, original.length());
        StringBuilder out = new StringBuilder(original.length());
        int seen = 0;
        while (matcher.find()) {  // appendReplacement copies the text since its last call
            seen++;
            if (occurrence == 0 || seen == occurrence) {
                matcher.appendReplacement(out, replacement);
                if (occurrence != 0) {
                    break;
                }
            }
        }
        matcher.appendTail(out);
        return out.toString();
    }
}
