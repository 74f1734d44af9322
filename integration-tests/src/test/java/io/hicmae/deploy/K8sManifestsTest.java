package io.hicmae.deploy;

import io.hicmae.driver.HicmaeCli;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.hicmae.deploy.Manifests.K8S;
import static io.hicmae.deploy.Manifests.ROOT;
import static io.hicmae.deploy.Manifests.appSpec;
import static io.hicmae.deploy.Manifests.isApp;
import static io.hicmae.deploy.Manifests.list;
import static io.hicmae.deploy.Manifests.map;
import static io.hicmae.deploy.Manifests.name;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The Kubernetes manifests under k8s/: base and overlays rendered, checked field by field and against the CLI. */
class K8sManifestsTest {

    private static final String APP_JAR = "local:///opt/hicmae/hicmae-app.jar";
    private static final String RUN_ID_LABEL = "metadata.labels['sparkoperator.k8s.io/app-name']";
    /** The operator names each scheduled run {@code <name>-<schedule time in ns>}: 19 digits until 2286. */
    private static final String NANOS = "9999999999999999999";
    private static final Pattern ENV_REF = Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)");

    private static Map<String, List<Map<String, Object>>> trees;

    @BeforeAll
    static void render() throws IOException {
        trees = Manifests.renderedTrees();
    }

    @Test
    void everyYamlFileParsesAndIsUsedByAKustomization() throws IOException {
        Set<Path> referenced = new HashSet<>();
        for (Path file : Manifests.yamlFiles()) {
            assertFalse(Manifests.load(file).isEmpty(), ROOT.relativize(file) + " holds no document");
            if (file.getFileName().toString().equals("kustomization.yaml")) {
                referenced.add(file);
                Map<String, Object> k = Manifests.load(file).get(0);
                for (Object r : list(k.getOrDefault("resources", List.of()))) {
                    referenced.add(file.getParent().resolve((String) r).normalize());
                }
                for (Object p : list(k.getOrDefault("patches", List.of()))) {
                    referenced.add(file.getParent().resolve((String) map(p).get("path")).normalize());
                }
            }
        }
        for (Path file : Manifests.yamlFiles()) {
            assertTrue(referenced.contains(file), ROOT.relativize(file) + " is in no kustomization");
        }
        assertEquals(Set.of("base", "overlays/dev-cpu", "overlays/prod-gpu"), trees.keySet());
    }

    @Test
    void applicationsHaveImageEntryPointAccountAndResources() {
        forEachApp((where, doc, spec) -> {
            assertEquals("Java", spec.get("type"), where);
            assertEquals("cluster", spec.get("mode"), where);
            assertTrue(String.valueOf(spec.get("image")).matches("[^:\\s]+/[^:\\s]+:[0-9][^:\\s]*"),
                    where + ": image must name a registry, repository and version tag: " + spec.get("image"));
            assertEquals("io.hicmae.driver.HicmaeCli", spec.get("mainClass"), where);
            assertEquals(APP_JAR, spec.get("mainApplicationFile"), where);
            assertEquals("hicmae-spark", map(spec.get("driver")).get("serviceAccount"), where);
            for (String role : List.of("driver", "executor")) {
                Map<String, Object> pod = map(spec.get(role));
                for (String key : List.of("cores", "coreLimit", "memory", "memoryOverhead")) {
                    assertNotNull(pod.get(key), where + ": " + role + "." + key + " is missing");
                }
                double cores = Double.parseDouble(pod.get("cores").toString());
                double limit = Double.parseDouble(pod.get("coreLimit").toString());
                assertTrue(limit >= cores, where + ": " + role + " coreLimit " + limit + " is below cores " + cores);
            }
            assertTrue(Integer.parseInt(map(spec.get("executor")).get("instances").toString()) >= 1, where);
        });
    }

    @Test
    void pretrainRunsOneRankPerExecutorAllAtOnce() {
        forEachApp((where, doc, spec) -> {
            List<String> args = args(spec);
            if (!args.get(0).equals("pretrain")) {
                return;
            }
            Map<String, Object> executor = map(spec.get("executor"));
            Map<String, Object> conf = map(spec.get("sparkConf"));
            assertEquals(executor.get("instances").toString(), option(args, "--world-size"),
                    where + ": --world-size must equal executor.instances (one barrier task per executor)");
            assertEquals(executor.get("cores").toString(), conf.get("spark.task.cpus"),
                    where + ": spark.task.cpus must equal executor.cores so each executor runs one rank");
            assertEquals("false", conf.get("spark.dynamicAllocation.enabled"), where);
        });
    }

    @Test
    void nightlyRunIsScheduledForbidsOverlapAndResumesItsNight() {
        for (Map.Entry<String, List<Map<String, Object>>> tree : trees.entrySet()) {
            Map<String, Object> nightly = tree.getValue().stream()
                    .filter(d -> "ScheduledSparkApplication".equals(d.get("kind"))).findFirst()
                    .orElseThrow(() -> new AssertionError(tree.getKey() + ": no ScheduledSparkApplication"));
            String where = tree.getKey() + " " + name(nightly);
            Map<String, Object> spec = map(nightly.get("spec"));
            assertTrue(String.valueOf(spec.get("schedule")).matches("\\S+( \\S+){4}"),
                    where + ": schedule must be a five-field cron line: " + spec.get("schedule"));
            assertEquals("Forbid", spec.get("concurrencyPolicy"), where);
            Map<String, Object> template = appSpec(nightly);
            List<String> args = args(template);
            assertEquals("pretrain", args.get(0), where);
            assertEquals("nightly", option(args, "--alias"), where + ": a successful night must move the nightly alias");
            assertEquals("$(HICMAE_RUN_ID)", option(args, "--run-id"), where);
            assertEquals(RUN_ID_LABEL, fieldRef(template, "HICMAE_RUN_ID"),
                    where + ": the run id must be the night's SparkApplication name, which the operator's retries keep");
            Map<String, Object> restart = map(template.get("restartPolicy"));
            assertEquals("OnFailure", restart.get("type"), where);
            assertTrue(((Number) restart.get("onFailureRetries")).intValue() >= 1, where);
        }
    }

    @Test
    void prodGpuExecutorsGetOneGpuAndSparkKnowsIt() throws IOException {
        String discovery = "/opt/hicmae/gpu-discovery.sh";
        assertTrue(Files.readString(ROOT.resolve("docker/Dockerfile.cuda")).contains(" " + discovery + "\n"),
                "docker/Dockerfile.cuda must install the discovery script at " + discovery);
        int pretrainApps = 0;
        for (Map<String, Object> doc : trees.get("overlays/prod-gpu")) {
            if (!isApp(doc) || !args(appSpec(doc)).get(0).equals("pretrain")) {
                continue;
            }
            pretrainApps++;
            String where = "prod-gpu " + name(doc);
            Map<String, Object> spec = appSpec(doc);
            assertTrue(spec.get("image").toString().contains("hicmae-cuda:"), where + ": needs the CUDA image");
            Map<String, Object> gpu = map(map(spec.get("executor")).get("gpu"));
            assertEquals("nvidia.com/gpu", gpu.get("name"), where);
            assertEquals(1, gpu.get("quantity"), where);
            Map<String, Object> conf = map(spec.get("sparkConf"));
            assertEquals("1", conf.get("spark.executor.resource.gpu.amount"), where);
            assertEquals("1", conf.get("spark.task.resource.gpu.amount"), where);
            assertEquals("nvidia.com", conf.get("spark.executor.resource.gpu.vendor"), where);
            assertEquals(discovery, conf.get("spark.executor.resource.gpu.discoveryScript"), where);
            assertEquals("gpu", option(args(spec), "--device"), where);
        }
        assertEquals(2, pretrainApps, "prod-gpu: the on-demand and the nightly pre-training");
    }

    @Test
    void s3CredentialsComeOnlyFromTheSecret() throws IOException {
        Pattern accessKey = Pattern.compile("(AKIA|ASIA)[0-9A-Z]{16}");
        Pattern secretValue = Pattern.compile("(?i)(secret|password|access[_-]?key)[\\w.-]*\\s*[:=]\\s*[\"']?(?!/)[A-Za-z0-9/+]{20,}");
        // A file path (spark.authenticate.secret.file) names where a secret is mounted: it is not one.
        for (Path file : Manifests.yamlFiles()) {
            String text = Files.readString(file);
            assertFalse(accessKey.matcher(text).find(), ROOT.relativize(file) + " holds an AWS access key id");
            assertFalse(secretValue.matcher(text).find(), ROOT.relativize(file) + " holds what looks like a secret");
            for (Map<String, Object> doc : Manifests.load(file)) {
                assertFalse("Secret".equals(doc.get("kind")), ROOT.relativize(file) + " defines a Secret");
            }
        }
        forEachApp((where, doc, spec) -> {
            if (!String.join(" ", args(spec)).contains("s3a://")) {
                return;
            }
            assertEquals("software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider",
                    map(spec.get("sparkConf")).get("spark.hadoop.fs.s3a.aws.credentials.provider"), where);
            for (String role : List.of("driver", "executor")) {
                Object envFrom = map(spec.get(role)).get("envFrom");
                assertEquals(List.of(Map.of("secretRef", Map.of("name", "hicmae-s3"))), envFrom,
                        where + ": " + role + " must take the S3 credentials from the hicmae-s3 Secret");
            }
        });
    }

    @Test
    void driverRoleGrantsOnlyItsNamespacesPodsServicesConfigMapsAndClaims() {
        for (Map.Entry<String, List<Map<String, Object>>> tree : trees.entrySet()) {
            List<Map<String, Object>> docs = tree.getValue();
            for (Map<String, Object> doc : docs) {
                assertFalse(String.valueOf(doc.get("kind")).startsWith("Cluster"), tree.getKey() + ": " + doc.get("kind"));
            }
            Map<String, Object> role = only(docs, "Role");
            for (Object r : list(role.get("rules"))) {
                Map<String, Object> rule = map(r);
                assertEquals(List.of(""), rule.get("apiGroups"), tree.getKey() + ": core API group only");
                assertTrue(Set.of("pods", "services", "configmaps", "persistentvolumeclaims")
                        .containsAll(list(rule.get("resources"))), tree.getKey() + ": " + rule.get("resources"));
                assertFalse(list(rule.get("verbs")).contains("*"), tree.getKey() + ": no wildcard verbs");
            }
            Map<String, Object> binding = only(docs, "RoleBinding");
            Map<String, Object> account = only(docs, "ServiceAccount");
            assertEquals(name(role), map(binding.get("roleRef")).get("name"), tree.getKey());
            Map<String, Object> subject = map(list(binding.get("subjects")).get(0));
            assertEquals(name(account), subject.get("name"), tree.getKey());
            assertEquals(map(account.get("metadata")).get("namespace"), subject.get("namespace"), tree.getKey());
        }
        assertEquals("hicmae-dev", map(only(trees.get("overlays/dev-cpu"), "Role").get("metadata")).get("namespace"));
        assertEquals("hicmae-prod", map(only(trees.get("overlays/prod-gpu"), "Role").get("metadata")).get("namespace"));
    }


    /** Closed pods: no root, no privilege escalation, no capabilities, a read-only root with /tmp on an emptyDir. */
    @Test
    void everyPodRunsAsNonRootWithoutPrivilegesOnAReadOnlyRoot() {
        forEachApp((where, doc, spec) -> {
            Set<String> emptyDirs = new HashSet<>();
            for (Object v : list(spec.getOrDefault("volumes", List.of()))) {
                if (map(v).containsKey("emptyDir")) {
                    emptyDirs.add((String) map(v).get("name"));
                }
            }
            for (String role : List.of("driver", "executor")) {
                Map<String, Object> pod = map(spec.get(role));
                Map<String, Object> container = map(pod.get("securityContext"));
                assertEquals(true, container.get("runAsNonRoot"), where + ": " + role + " runAsNonRoot");
                assertEquals(false, container.get("allowPrivilegeEscalation"), where + ": " + role);
                assertEquals(true, container.get("readOnlyRootFilesystem"), where + ": " + role);
                assertEquals(List.of("ALL"), map(container.get("capabilities")).get("drop"), where + ": " + role);
                Map<String, Object> podContext = map(pod.get("podSecurityContext"));
                assertEquals(true, podContext.get("runAsNonRoot"), where + ": " + role);
                assertEquals(185, podContext.get("runAsUser"), where + ": " + role + " runs as the image's spark user");
                assertEquals("RuntimeDefault", map(podContext.get("seccompProfile")).get("type"), where + ": " + role);
                boolean tmp = list(pod.getOrDefault("volumeMounts", List.of())).stream().map(Manifests::map)
                        .anyMatch(m -> "/tmp".equals(m.get("mountPath")) && emptyDirs.contains(m.get("name")));
                assertTrue(tmp, where + ": " + role + " needs a writable /tmp (an emptyDir) on its read-only root");
            }
        });
    }

    @Test
    void everyPodRequestsAndCapsItsLocalDisk() {
        forEachApp((where, doc, spec) -> {
            for (String role : List.of("driver", "executor")) {
                Map<String, Object> template = map(map(map(spec.get(role)).get("template")).get("spec"));
                Map<String, Object> container = list(template.get("containers")).stream().map(Manifests::map)
                        .filter(c -> ("spark-kubernetes-" + role).equals(c.get("name"))).findFirst()
                        .orElseThrow(() -> new AssertionError(where + ": no spark-kubernetes-" + role + " container"));
                Map<String, Object> resources = map(container.get("resources"));
                long request = gibibytes(map(resources.get("requests")).get("ephemeral-storage"), where);
                long limit = gibibytes(map(resources.get("limits")).get("ephemeral-storage"), where);
                assertTrue(request >= 1 && limit >= request, where + ": " + role + " ephemeral-storage " + request
                        + "Gi requested, " + limit + "Gi limit");
            }
        });
    }

    private static long gibibytes(Object quantity, String where) {
        assertNotNull(quantity, where + ": ephemeral-storage missing");
        Matcher m = Pattern.compile("([0-9]+)Gi").matcher(quantity.toString());
        assertTrue(m.matches(), where + ": ephemeral-storage must be in Gi: " + quantity);
        return Long.parseLong(m.group(1));
    }

    /** Spark RPC is authenticated and encrypted with a secret mounted from a Secret in both pods, on fixed ports. */
    @Test
    void applicationsAuthenticateAndEncryptSparkRpcWithTheMountedSecret() {
        forEachApp((where, doc, spec) -> {
            Map<String, Object> conf = map(spec.get("sparkConf"));
            assertEquals("true", conf.get("spark.authenticate"), where);
            assertEquals("true", conf.get("spark.network.crypto.enabled"), where);
            String secretFile = (String) conf.get("spark.authenticate.secret.file");
            assertNotNull(secretFile, where + ": spark.authenticate.secret.file");
            for (String role : List.of("driver", "executor")) {
                boolean mounted = list(map(spec.get(role)).getOrDefault("secrets", List.of())).stream()
                        .map(Manifests::map)
                        .anyMatch(sec -> "hicmae-spark-auth".equals(sec.get("name"))
                                && secretFile.startsWith(sec.get("path") + "/"));
                assertTrue(mounted, where + ": " + role + " must mount the hicmae-spark-auth Secret at "
                        + secretFile.substring(0, secretFile.lastIndexOf('/')));
            }
            for (String port : List.of("spark.driver.port", "spark.driver.blockManager.port", "spark.blockManager.port")) {
                assertTrue(String.valueOf(conf.get(port)).matches("[0-9]+"), where + ": " + port + " must be fixed");
            }
        });
    }

    /**
     * Each application's pods admit only its own pods, on the driver's RPC and block manager ports and the ranks'
     * ring ports; the UI only from the monitoring namespace.
     */
    @Test
    void networkPoliciesAdmitOnlyTheApplicationsOwnPodsOnItsPorts() {
        for (Map.Entry<String, List<Map<String, Object>>> tree : trees.entrySet()) {
            List<Map<String, Object>> policies = tree.getValue().stream()
                    .filter(d -> "NetworkPolicy".equals(d.get("kind"))).toList();
            forEachAppIn(tree, (where, doc, spec) -> {
                Object label = map(map(spec.get("driver")).get("labels")).get("hicmae.io/app");
                assertNotNull(label, where + ": driver needs the hicmae.io/app label");
                assertEquals(label, map(map(spec.get("executor")).get("labels")).get("hicmae.io/app"), where);
                Map<String, Object> policy = policies.stream()
                        .filter(p -> label.equals(map(map(map(p.get("spec")).get("podSelector")).get("matchLabels"))
                                .get("hicmae.io/app")))
                        .findFirst().orElseThrow(() -> new AssertionError(where + ": no NetworkPolicy for " + label));
                Map<String, Object> pspec = map(policy.get("spec"));
                assertEquals(List.of("Ingress"), pspec.get("policyTypes"), where);
                Set<Integer> fromOwnPods = new HashSet<>();
                List<int[]> ranges = new ArrayList<>();
                for (Object r : list(pspec.get("ingress"))) {
                    Map<String, Object> rule = map(r);
                    List<Object> from = list(rule.getOrDefault("from", List.of()));
                    assertFalse(from.isEmpty(), where + ": an ingress rule without 'from' admits every pod");
                    assertFalse(list(rule.getOrDefault("ports", List.of())).isEmpty(), where + ": a rule admits all ports");
                    boolean own = from.stream().map(Manifests::map).allMatch(f -> f.containsKey("podSelector")
                            && label.equals(map(map(f.get("podSelector")).get("matchLabels")).get("hicmae.io/app")));
                    for (Object p : list(rule.get("ports"))) {
                        Map<String, Object> port = map(p);
                        int low = (Integer) port.get("port");
                        int high = (Integer) port.getOrDefault("endPort", low);
                        if (own) {
                            ranges.add(new int[] {low, high});
                            fromOwnPods.add(low);
                        } else {
                            assertEquals(4040, low, where + ": only the UI is admitted from outside the application");
                        }
                    }
                }
                Map<String, Object> conf = map(spec.get("sparkConf"));
                for (String key : List.of("spark.driver.port", "spark.driver.blockManager.port", "spark.blockManager.port")) {
                    assertTrue(fromOwnPods.contains(Integer.parseInt(conf.get(key).toString())), where + ": " + key);
                }
                List<String> args = args(spec);
                if (args.get(0).equals("pretrain")) {
                    String[] ring = option(args, "--ring-ports").split("-");
                    int low = Integer.parseInt(ring[0]);
                    int high = Integer.parseInt(ring[ring.length - 1]);
                    assertTrue(ranges.stream().anyMatch(r -> r[0] <= low && high <= r[1]),
                            where + ": the NetworkPolicy must admit the ring ports " + low + "-" + high);
                }
            });
        }
    }

    /**
     * Every application's arguments, with Kubernetes' $(VAR) expansion done as the driver pod would, are accepted by
     * the driver's own CLI with --dry-run: the whole config is validated, no Spark is started.
     */
    @Test
    void everyApplicationsArgumentsPassTheCliDryRun() {
        List<String> failures = new ArrayList<>();
        forEachApp((where, doc, spec) -> {
            List<String> args = expand(where, doc, spec, args(spec));
            CommandLine cli = HicmaeCli.newCommandLine();
            if (!cli.getSubcommands().containsKey(args.get(0))) {
                failures.add(where + ": command '" + args.get(0) + "' is not registered in HicmaeCli");
                return;
            }
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            cli.setOut(new PrintWriter(out));
            cli.setErr(new PrintWriter(err));
            List<String> run = new ArrayList<>(args);
            run.add("--dry-run");
            int code = cli.execute(run.toArray(new String[0]));
            if (code != 0) {
                failures.add(where + ": hicmae " + String.join(" ", run) + " exited " + code + ": " + err + out);
            }
        });
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    private static List<String> expand(String where, Map<String, Object> doc, Map<String, Object> spec, List<String> args) {
        List<String> out = new ArrayList<>();
        for (String arg : args) {
            Matcher m = ENV_REF.matcher(arg);
            StringBuilder sb = new StringBuilder();
            while (m.find()) {
                String ref = fieldRef(spec, m.group(1));
                assertEquals(RUN_ID_LABEL, ref,
                        where + ": $(" + m.group(1) + ") must be a driver env var from the app-name label");
                String appName = "ScheduledSparkApplication".equals(doc.get("kind")) ? name(doc) + "-" + NANOS : name(doc);
                m.appendReplacement(sb, Matcher.quoteReplacement(appName));
            }
            m.appendTail(sb);
            out.add(sb.toString());
        }
        return out;
    }

    /** The fieldRef path of a driver env var, or null when the driver has no such variable. */
    private static String fieldRef(Map<String, Object> spec, String var) {
        for (Object e : list(map(spec.get("driver")).getOrDefault("env", List.of()))) {
            Map<String, Object> env = map(e);
            if (var.equals(env.get("name"))) {
                return (String) map(map(env.get("valueFrom")).get("fieldRef")).get("fieldPath");
            }
        }
        return null;
    }

    private static List<String> args(Map<String, Object> spec) {
        List<String> args = new ArrayList<>();
        for (Object a : list(spec.get("arguments"))) {
            assertTrue(a instanceof String, "arguments must be strings (quote numbers): " + a);
            args.add((String) a);
        }
        return args;
    }

    private static String option(List<String> args, String name) {
        int i = args.indexOf(name);
        assertTrue(i >= 0 && i + 1 < args.size(), "no " + name + " in " + args);
        return args.get(i + 1);
    }

    private static Map<String, Object> only(List<Map<String, Object>> docs, String kind) {
        List<Map<String, Object>> found = docs.stream().filter(d -> kind.equals(d.get("kind"))).toList();
        assertEquals(1, found.size(), "expected one " + kind);
        return found.get(0);
    }

    private interface AppCheck {
        void check(String where, Map<String, Object> doc, Map<String, Object> spec);
    }

    /** Runs a check on every (Scheduled)SparkApplication of base and every overlay; there must be three in each. */
    private static void forEachApp(AppCheck check) {
        for (Map.Entry<String, List<Map<String, Object>>> tree : trees.entrySet()) {
            forEachAppIn(tree, check);
        }
    }

    private static void forEachAppIn(Map.Entry<String, List<Map<String, Object>>> tree, AppCheck check) {
        {
            int apps = 0;
            for (Map<String, Object> doc : tree.getValue()) {
                if (isApp(doc)) {
                    apps++;
                    check.check(K8S.getFileName() + "/" + tree.getKey() + " " + doc.get("kind") + " " + name(doc), doc,
                            appSpec(doc));
                }
            }
            if (apps != 3) {
                fail(tree.getKey() + ": expected prep, pretrain and nightly, found " + apps + " applications");
            }
        }
    }
}
