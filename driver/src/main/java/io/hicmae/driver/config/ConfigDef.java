package io.hicmae.driver.config;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A job's configuration keys: each with its type, default, validator and documentation in one place. The same
 * definition parses and validates values (errors name the key and value), renders {@code --help}, and lists the
 * values in force.
 */
public final class ConfigDef {

    /** Checks a parsed value; throws {@link ConfigException} naming the key. */
    public interface Validator {
        void check(String key, Object value);
    }

    /** One key. {@code defaultValue} null with {@code required} means the user must give it. */
    public record Key(String name, Class<?> type, Object defaultValue, boolean required, Validator validator,
            String doc) {}

    private final Map<String, Key> keys = new LinkedHashMap<>();

    public ConfigDef define(String name, Class<?> type, Object defaultValue, Validator validator, String doc) {
        keys.put(name, new Key(name, type, defaultValue, false, validator, doc));
        return this;
    }

    public ConfigDef defineRequired(String name, Class<?> type, Validator validator, String doc) {
        keys.put(name, new Key(name, type, null, true, validator, doc));
        return this;
    }

    public Map<String, Key> keys() {
        return Collections.unmodifiableMap(keys);
    }

    /** Parses and validates raw string values; unknown keys and missing required keys are errors. */
    public Map<String, Object> parse(Map<String, String> raw) {
        for (String k : raw.keySet()) {
            if (!keys.containsKey(k)) {
                throw new ConfigException("Unknown configuration " + k + "; known: " + keys.keySet());
            }
        }
        Map<String, Object> values = new LinkedHashMap<>();
        for (Key k : keys.values()) {
            String text = raw.get(k.name());
            Object v;
            if (text == null) {
                if (k.required()) {
                    throw new ConfigException("Missing required configuration " + k.name() + ": " + k.doc());
                }
                v = k.defaultValue();
            } else {
                v = convert(k, text);
            }
            if (v != null && k.validator() != null) {
                k.validator().check(k.name(), v);
            }
            values.put(k.name(), v);
        }
        return values;
    }

    private static Object convert(Key k, String text) {
        String t = text.trim();
        try {
            if (k.type() == Integer.class) {
                return Integer.valueOf(t);
            }
            if (k.type() == Long.class) {
                return Long.valueOf(t);
            }
            if (k.type() == Double.class) {
                return Double.valueOf(t);
            }
            if (k.type() == Boolean.class) {
                if (!t.equalsIgnoreCase("true") && !t.equalsIgnoreCase("false")) {
                    throw new ConfigException(k.name(), text, "must be true or false");
                }
                return Boolean.valueOf(t);
            }
            return t;
        } catch (NumberFormatException e) {
            throw new ConfigException(k.name(), text, "must be " + (k.type() == Integer.class ? "an integer" : k.type() == Long.class ? "an integer" : "a number"));
        }
    }

    /** Adds one {@code --name} option per key to a picocli command, with the doc and default in its help. */
    public void addOptions(CommandSpec spec) {
        for (Key k : keys.values()) {
            String def = k.required() ? "required" : "default: " + (k.defaultValue() == null ? "none" : k.defaultValue());
            OptionSpec.Builder o = OptionSpec.builder("--" + k.name())
                    .paramLabel(k.type() == String.class ? "<" + k.name() + ">" : "<" + k.type().getSimpleName().toLowerCase() + ">")
                    .type(String.class)
                    .description(k.doc() + " (" + def + ")");
            if (k.type() == Boolean.class) {
                o.arity("0..1").fallbackValue("true"); // a bare --flag means true
            }
            spec.addOption(o.build());
        }
    }

    /** The raw values the user gave on the command line, by key. */
    public Map<String, String> given(CommandSpec spec) {
        Map<String, String> raw = new LinkedHashMap<>();
        for (Key k : keys.values()) {
            OptionSpec o = spec.findOption("--" + k.name());
            if (o != null && spec.commandLine().getParseResult().hasMatchedOption(o)) {
                raw.put(k.name(), o.getValue());
            }
        }
        return raw;
    }

    /** The values in force, sorted by key, for the log and the run's metadata; secrets shown as [hidden]. */
    public static List<String> describe(Map<String, Object> values) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Object> e : new TreeMap<>(values).entrySet()) {
            out.add(e.getKey() + " = " + e.getValue());
        }
        return out;
    }

    // Validators, declared with the key.

    public static Validator atLeast(double min) {
        return (key, v) -> {
            if (((Number) v).doubleValue() < min) {
                throw new ConfigException(key, v, "must be at least " + fmt(min));
            }
        };
    }

    public static Validator between(double min, double max) {
        return (key, v) -> {
            double d = ((Number) v).doubleValue();
            if (!(d >= min && d <= max)) {
                throw new ConfigException(key, v, "must be between " + fmt(min) + " and " + fmt(max));
            }
        };
    }

    public static Validator in(String... allowed) {
        return (key, v) -> {
            for (String a : allowed) {
                if (a.equals(v)) {
                    return;
                }
            }
            throw new ConfigException(key, v, "must be one of " + String.join(", ", allowed));
        };
    }

    public static Validator matches(String regex, String what) {
        return (key, v) -> {
            if (!v.toString().matches(regex)) {
                throw new ConfigException(key, v, what);
            }
        };
    }

    public static Validator nonEmpty() {
        return (key, v) -> {
            if (v.toString().isBlank()) {
                throw new ConfigException(key, "\"" + v + "\"", "must not be empty");
            }
        };
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

}
