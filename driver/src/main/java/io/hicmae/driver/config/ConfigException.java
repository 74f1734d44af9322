package io.hicmae.driver.config;

/** A bad configuration value, always in one shape: "Invalid value V for configuration K: reason". */
public final class ConfigException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    public ConfigException(String key, Object value, String reason) {
        super("Invalid value " + value + " for configuration " + key + ": " + reason);
    }

    public ConfigException(String message) {
        super(message);
    }
}
