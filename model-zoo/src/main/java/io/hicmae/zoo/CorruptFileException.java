package io.hicmae.zoo;

/**
 * A store file (commit marker, metadata, alias record, run lease) that exists but cannot be parsed or is missing from
 * a committed directory. The message names the file's URI and the reason.
 */
public final class CorruptFileException extends ZooException {
    private final String location;
    private final String reason;

    public CorruptFileException(String what, String location, String reason) {
        super("Corrupt " + what + " " + location + ": " + reason);
        this.location = location;
        this.reason = reason;
    }

    /** A short reason for a parse failure: "not valid JSON at line 1 column 6", else the exception's first line. */
    static String describe(RuntimeException e) {
        String message = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
        if (e instanceof com.google.gson.JsonParseException) {
            var at = java.util.regex.Pattern.compile("at line \\d+ column \\d+").matcher(message);
            return "not valid JSON" + (at.find() ? " " + at.group() : "");
        }
        return e.getClass().getSimpleName() + ": " + message;
    }

    /** The URI of the unreadable file. */
    public String location() {
        return location;
    }

    /** Why it cannot be read, without the location. */
    public String reason() {
        return reason;
    }
}
