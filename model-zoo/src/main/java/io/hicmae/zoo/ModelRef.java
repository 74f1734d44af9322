package io.hicmae.zoo;

/**
 * A reference to a published model: {@code name} (its newest version), {@code name:version} ({@code name:3} or
 * {@code name:v000003}) or {@code name@alias}. {@code name@latest} is the newest version, like a bare name.
 *
 * @param model the model name
 * @param version the version number, or {@code null}
 * @param alias the alias, or {@code null}; at most one of version and alias is set
 */
public record ModelRef(String model, Integer version, String alias) {
    /** The alias that always means the newest committed version; it is computed, never stored. */
    public static final String LATEST = "latest";

    public ModelRef {
        Names.model(model);
        if (version != null && alias != null) {
            throw new IllegalArgumentException(
                    "Invalid value " + Names.quote(model + ":" + version + "@" + alias)
                            + " for model reference: give a version or an alias, not both");
        }
        if (version != null) {
            Names.versionId(version);
        }
        if (alias != null) {
            Names.alias(alias);
        }
    }

    /** Parses {@code name}, {@code name:version} or {@code name@alias}; throws naming the bad part. */
    public static ModelRef parse(String text) {
        if (text == null || text.isEmpty()) {
            throw Names.invalid(text, "model reference", "use name, name:version or name@alias");
        }
        int at = text.indexOf('@');
        int colon = text.indexOf(':');
        if (at >= 0 && colon >= 0) {
            throw Names.invalid(text, "model reference", "give a version or an alias, not both");
        }
        if (at >= 0) {
            return new ModelRef(text.substring(0, at), null, text.substring(at + 1));
        }
        if (colon >= 0) {
            return new ModelRef(text.substring(0, colon), Names.version(text.substring(colon + 1)), null);
        }
        return new ModelRef(text, null, null);
    }

    public static ModelRef of(String model) {
        return new ModelRef(model, null, null);
    }

    public static ModelRef ofVersion(String model, int version) {
        return new ModelRef(model, version, null);
    }

    public static ModelRef ofAlias(String model, String alias) {
        return new ModelRef(model, null, alias);
    }

    /** True for a bare name and for {@code name@latest}. */
    public boolean isLatest() {
        return version == null && (alias == null || LATEST.equals(alias));
    }

    @Override
    public String toString() {
        if (version != null) {
            return model + ":" + Names.versionId(version);
        }
        return alias != null ? model + "@" + alias : model;
    }
}
