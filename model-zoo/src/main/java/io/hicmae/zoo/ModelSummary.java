package io.hicmae.zoo;

import java.util.List;
import java.util.Map;

/**
 * One model of a zoo listing.
 *
 * @param name the model name
 * @param versions how many committed versions it has
 * @param latest the newest version id, or {@code null} when none is committed
 * @param aliases alias to version id, sorted by alias (readable aliases only)
 * @param corrupt its versions and aliases that cannot be read, with the reason
 */
public record ModelSummary(String name, int versions, String latest, Map<String, String> aliases,
        List<CorruptEntry> corrupt) {
    public ModelSummary {
        aliases = Map.copyOf(aliases);
        corrupt = List.copyOf(corrupt);
    }
}
