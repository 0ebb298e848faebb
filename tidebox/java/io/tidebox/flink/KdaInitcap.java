package io.tidebox.flink;

import org.apache.flink.table.functions.ScalarFunction;

/**
 * KDA SQL's INITCAP: the first character of each space-delimited word upper-cased, every other
 * character lower-cased (Flink's own INITCAP also starts a word after any character that is not
 * a letter or digit). Null gives null.
 */
public final class KdaInitcap extends ScalarFunction {
    public String eval(String text) {
        if (text == null) {
            return null;
        }
        StringBuilder out = new StringBuilder(text.length());
        boolean wordStart = true;
        for (int i = 0; i < text.length(); ) {
            int point = text.codePointAt(i);
            out.appendCodePoint(
                    wordStart ? Character.toUpperCase(point) : Character.toLowerCase(point));
            wordStart = point == ' ';
            i += Character.charCount(point);
        }
        return out.toString();
    }
}
