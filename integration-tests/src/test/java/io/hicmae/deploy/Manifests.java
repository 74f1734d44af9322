package io.hicmae.deploy;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Reads the repository's deployment files: YAML documents, and a kustomization rendered the way kustomize renders
 * the features these overlays use (resources, namespace, patches by kind and name applied as JSON merge patches,
 * which is what kustomize does for custom resources). Any other kustomization key is refused, so the rendering here
 * cannot silently differ from kustomize's.
 */
final class Manifests {

    /** The repository root: the parent of the integration-tests module the tests run in. */
    static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    static final Path K8S = ROOT.resolve("k8s");

    private static final Set<String> KUSTOMIZATION_KEYS = Set.of("apiVersion", "kind", "namespace", "resources", "patches");

    private Manifests() {}

    static List<Path> yamlFiles() throws IOException {
        try (Stream<Path> files = Files.walk(K8S)) {
            return files.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
                    .sorted().collect(Collectors.toList());
        }
    }

    /** Every document of a YAML file, each a map; throws naming the file when one is not. */
    static List<Map<String, Object>> load(Path file) throws IOException {
        List<Map<String, Object>> docs = new ArrayList<>();
        try (Reader in = Files.newBufferedReader(file)) {
            for (Object doc : new Yaml(new SafeConstructor(new LoaderOptions())).loadAll(in)) {
                if (doc == null) {
                    continue;
                }
                if (!(doc instanceof Map)) {
                    throw new IllegalArgumentException(ROOT.relativize(file) + ": a document is not a mapping: " + doc);
                }
                docs.add(map(doc));
            }
        }
        return docs;
    }

    /** The resources a kustomization directory produces, in order. */
    static List<Map<String, Object>> render(Path dir) throws IOException {
        Path file = dir.resolve("kustomization.yaml");
        Map<String, Object> k = load(file).get(0);
        for (String key : k.keySet()) {
            if (!KUSTOMIZATION_KEYS.contains(key)) {
                throw new IllegalArgumentException(ROOT.relativize(file) + ": key '" + key + "' is not rendered by this test");
            }
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object r : list(k.getOrDefault("resources", List.of()))) {
            Path p = dir.resolve((String) r).normalize();
            out.addAll(Files.isDirectory(p) ? render(p) : load(p));
        }
        for (Object patch : list(k.getOrDefault("patches", List.of()))) {
            Map<String, Object> spec = map(patch);
            if (!spec.keySet().equals(Set.of("path"))) {
                throw new IllegalArgumentException(ROOT.relativize(file) + ": only patches with a path are rendered: " + spec);
            }
            Path p = dir.resolve((String) spec.get("path"));
            for (Map<String, Object> doc : load(p)) {
                List<Map<String, Object>> targets = out.stream()
                        .filter(t -> t.get("kind").equals(doc.get("kind")) && name(t).equals(name(doc)))
                        .collect(Collectors.toList());
                if (targets.size() != 1) {
                    throw new IllegalArgumentException(ROOT.relativize(p) + ": patch for " + doc.get("kind") + " "
                            + name(doc) + " matches " + targets.size() + " resources");
                }
                mergePatch(targets.get(0), doc);
            }
        }
        Object namespace = k.get("namespace");
        if (namespace != null) {
            for (Map<String, Object> doc : out) {
                if (!"Namespace".equals(doc.get("kind"))) {
                    map(doc.get("metadata")).put("namespace", namespace);
                }
                if ("RoleBinding".equals(doc.get("kind"))) {
                    for (Object s : list(doc.get("subjects"))) {
                        if ("ServiceAccount".equals(map(s).get("kind"))) {
                            map(s).put("namespace", namespace);
                        }
                    }
                }
            }
        }
        return out;
    }

    /** RFC 7386: maps merge, null removes, anything else (lists included) replaces. */
    static void mergePatch(Map<String, Object> target, Map<String, Object> patch) {
        for (Map.Entry<String, Object> e : patch.entrySet()) {
            Object value = e.getValue();
            if (value == null) {
                target.remove(e.getKey());
            } else if (value instanceof Map && target.get(e.getKey()) instanceof Map) {
                mergePatch(map(target.get(e.getKey())), map(value));
            } else {
                target.put(e.getKey(), value);
            }
        }
    }

    static String name(Map<String, Object> doc) {
        return (String) map(doc.get("metadata")).get("name");
    }

    /** The SparkApplication spec of a SparkApplication, or the template of a ScheduledSparkApplication. */
    static Map<String, Object> appSpec(Map<String, Object> doc) {
        Map<String, Object> spec = map(doc.get("spec"));
        return "ScheduledSparkApplication".equals(doc.get("kind")) ? map(spec.get("template")) : spec;
    }

    static boolean isApp(Map<String, Object> doc) {
        return "SparkApplication".equals(doc.get("kind")) || "ScheduledSparkApplication".equals(doc.get("kind"));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        if (!(o instanceof Map)) {
            throw new IllegalArgumentException("expected a mapping, got " + o);
        }
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o) {
        if (!(o instanceof List)) {
            throw new IllegalArgumentException("expected a list, got " + o);
        }
        return (List<Object>) o;
    }

    /** Base and overlays, rendered, by directory relative to k8s/. */
    static Map<String, List<Map<String, Object>>> renderedTrees() throws IOException {
        Map<String, List<Map<String, Object>>> trees = new LinkedHashMap<>();
        trees.put("base", render(K8S.resolve("base")));
        try (Stream<Path> overlays = Files.list(K8S.resolve("overlays"))) {
            for (Path o : overlays.sorted().collect(Collectors.toList())) {
                trees.put("overlays/" + o.getFileName(), render(o));
            }
        }
        return trees;
    }
}
