package io.hicmae.zoo;

import java.util.regex.Pattern;

/**
 * The charsets of everything a user types that becomes a path segment under the zoo root. Each pattern starts with a
 * letter or digit, so no name can be {@code .}, {@code ..}, hidden, or one of the store's own {@code _}/{@code .}
 * entries, and none holds a separator, so nothing a user types can address a path outside the root.
 */
final class Names {
    static final int MAX_NAME = 64;
    static final int MAX_RUN_ID = 128;
    static final int MAX_VERSION = 999_999_999;

    private static final Pattern MODEL = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");
    private static final Pattern ALIAS = Pattern.compile("[a-z][a-z0-9_-]{0,63}");
    private static final Pattern RUN_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final Pattern FILE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final Pattern VERSION = Pattern.compile("v?([0-9]{1,9})");
    /** A version directory's own name: {@code v} and at least six digits. */
    static final Pattern VERSION_DIR = Pattern.compile("v([0-9]{6,9})");

    private Names() {}

    static String model(String value) {
        return check(value, MODEL, "model name", "use 1 to 64 of a-z 0-9 . _ -, starting with a letter or digit");
    }

    /** Whether {@code value} is a valid model name (listing skips everything else). */
    static boolean isModel(String value) {
        return value != null && MODEL.matcher(value).matches();
    }

    /** Whether {@code value} is a valid alias name. */
    static boolean isAlias(String value) {
        return value != null && ALIAS.matcher(value).matches();
    }

    static String alias(String value) {
        return check(value, ALIAS, "alias", "use 1 to 64 of a-z 0-9 _ -, starting with a letter");
    }

    static String runId(String value) {
        return check(value, RUN_ID, "run id", "use 1 to 128 of A-Z a-z 0-9 . _ -, starting with a letter or digit");
    }

    static String file(String value) {
        return check(value, FILE, "file name", "use 1 to 128 of A-Z a-z 0-9 . _ -, starting with a letter or digit");
    }

    /** Parses {@code 3}, {@code v3} or {@code v000003} to 3. */
    static int version(String value) {
        var m = value == null ? null : VERSION.matcher(value);
        if (m == null || !m.matches() || Integer.parseInt(m.group(1)) < 1) {
            throw invalid(value, "version", "use a number from 1 to " + MAX_VERSION + ", optionally as v000001");
        }
        return Integer.parseInt(m.group(1));
    }

    /** The canonical directory name of version {@code n}. */
    static String versionId(int n) {
        if (n < 1 || n > MAX_VERSION) {
            throw invalid(Integer.toString(n), "version", "must be between 1 and " + MAX_VERSION);
        }
        return String.format("v%06d", n);
    }

    static String step(long step) {
        if (step < 0) {
            throw invalid(Long.toString(step), "checkpoint step", "must be at least 0");
        }
        return String.format("step-%012d", step);
    }

    private static String check(String value, Pattern pattern, String what, String rule) {
        if (value == null || !pattern.matcher(value).matches()) {
            throw invalid(value, what, rule);
        }
        return value;
    }

    /** "Invalid value V for K: reason", with V quoted, escaped to ASCII and cut to 80 characters. */
    static IllegalArgumentException invalid(String value, String what, String reason) {
        return new IllegalArgumentException("Invalid value " + quote(value) + " for " + what + ": " + reason);
    }

    static String quote(String value) {
        if (value == null) {
            return "null";
        }
        StringBuilder sb = new StringBuilder("\"");
        int shown = Math.min(value.length(), 80);
        for (int i = 0; i < shown; i++) {
            char c = value.charAt(i);
            if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
                sb.append(c);
            } else {
                sb.append(String.format("\\u%04x", (int) c));
            }
        }
        if (shown < value.length()) {
            sb.append("...(").append(value.length()).append(" chars)");
        }
        return sb.append('"').toString();
    }
}
