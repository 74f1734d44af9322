package io.hicmae.deploy;

import com.google.gson.JsonObject;
import io.hicmae.runtime.train.MallocTuning;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static io.hicmae.deploy.Manifests.ROOT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docker/ and the scripts, as far as this machine can check them: it has no Docker engine, so the images are not
 * built; what their COPY lines read must exist after {@code mvn package} and pass .dockerignore.
 */
class DockerTest {

    private static final Path DISCOVERY = ROOT.resolve("docker/gpu-discovery.sh");

    @Test
    void everyCopySourceExistsAfterPackageAndIsInTheBuildContext() throws IOException {
        List<String> ignore = Files.readAllLines(ROOT.resolve(".dockerignore")).stream()
                .map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).collect(Collectors.toList());
        assertEquals("*", ignore.get(0), ".dockerignore must start by excluding everything");
        List<String> allowed = new ArrayList<>();
        for (String line : ignore.subList(1, ignore.size())) {
            assertTrue(line.startsWith("!") && !line.contains("*"), ".dockerignore: only exact re-inclusions: " + line);
            allowed.add(line.substring(1));
        }
        for (String dockerfile : List.of("docker/Dockerfile.cpu", "docker/Dockerfile.cuda")) {
            List<String> sources = copySources(ROOT.resolve(dockerfile));
            assertTrue(sources.contains("driver/target/hicmae-app.jar"), dockerfile + " must copy the app jar");
            for (String source : sources) {
                assertTrue(Files.isRegularFile(ROOT.resolve(source)),
                        dockerfile + ": COPY source " + source + " does not exist (build context: the repository root)");
                assertTrue(allowed.contains(source), dockerfile + ": COPY source " + source + " is excluded by .dockerignore");
            }
        }
    }

    @Test
    void imagesPinTheirBasesAndRunAsTheSparkUser() throws IOException {
        for (String dockerfile : List.of("docker/Dockerfile.cpu", "docker/Dockerfile.cuda")) {
            List<String> lines = Files.readAllLines(ROOT.resolve(dockerfile));
            for (String line : lines) {
                if (line.matches("ARG \\w+_IMAGE=.*")) {
                    assertTrue(line.matches("ARG \\w+_IMAGE=[\\w./-]+:[0-9][\\w.-]*"), dockerfile + ": unpinned base " + line);
                }
            }
            List<String> users = lines.stream().filter(l -> l.startsWith("USER ")).collect(Collectors.toList());
            assertEquals("USER 185", users.get(users.size() - 1), dockerfile + ": the image must end as the non-root user");
            String text = String.join("\n", lines);
            // Pods run with a read-only root file system (k8s/): caches go to the /tmp emptyDir.
            for (String env : List.of("PYTORCH_LIBRARY_PATH=/opt/libtorch/lib", "PYTORCH_VERSION=2.7.1",
                    "JAVA_TOOL_OPTIONS=\"-Dai.djl.offline=true", "-Dorg.bytedeco.javacpp.cachedir=/tmp/javacpp",
                    "DJL_CACHE_DIR=/tmp/djl", "MALLOC_ARENA_MAX=" + MallocTuning.ARENA_MAX,
                    "GLIBC_TUNABLES=" + MallocTuning.TUNABLES)) {
                assertTrue(text.contains(env), dockerfile + " must set " + env);
            }
            String flavor = dockerfile.endsWith("cuda") ? "cu128" : "cpu";
            assertTrue(text.contains("PYTORCH_FLAVOR=" + flavor), dockerfile + " must set PYTORCH_FLAVOR=" + flavor);
            assertTrue(text.contains("/opt/hicmae/engines/pytorch/2.7.1-" + flavor + "-linux-x86_64/0.36.0-libdjl_torch.so"),
                    dockerfile + " must place the " + flavor + " JNI where DJL looks for it");
        }
    }

    @Test
    void discoveryScriptListsTheGpusNvidiaSmiReports(@TempDir Path bin) throws Exception {
        fakeNvidiaSmi(bin, "printf '0\\n1\\n 3 \\n'\n");
        Result r = run(bin, List.of("bash", DISCOVERY.toString()), Map.of());
        assertEquals(0, r.code, r.err);
        JsonObject json = JsonParser.parseString(r.out).getAsJsonObject();
        assertEquals("gpu", json.get("name").getAsString());
        assertEquals("[\"0\",\"1\",\"3\"]", json.get("addresses").toString());
    }

    @Test
    void discoveryScriptFailsClearlyWithoutNvidiaSmi(@TempDir Path bin) throws Exception {
        Result r = run(bin, List.of("bash", DISCOVERY.toString()), Map.of());
        assertNotEquals(0, r.code);
        assertTrue(r.err.contains("nvidia-smi is not on the PATH"), r.err);
        assertEquals("", r.out);
    }

    @Test
    void discoveryScriptFailsClearlyWhenNvidiaSmiFails(@TempDir Path bin) throws Exception {
        fakeNvidiaSmi(bin, "echo 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.'\nexit 9\n");
        Result r = run(bin, List.of("bash", DISCOVERY.toString()), Map.of());
        assertNotEquals(0, r.code);
        assertTrue(r.err.contains("could not communicate with the NVIDIA driver"), r.err);
        assertEquals("", r.out);
    }

    @Test
    void submitScriptSendsGpuSettingsAndPassesApplicationArgumentsThrough(@TempDir Path sparkHome) throws Exception {
        Path bin = Files.createDirectories(sparkHome.resolve("bin"));
        Path submit = bin.resolve("spark-submit");
        Files.writeString(submit, "#!/bin/bash\nprintf '%s\\n' \"$@\"\n");
        assertTrue(submit.toFile().setExecutable(true));
        List<String> app = List.of("pretrain", "--data", "s3a://b/clips with space", "--run-id", "r1");
        List<String> command = new ArrayList<>(List.of("bash", ROOT.resolve("k8s/spark-submit-k8s.sh").toString(), "--gpu", "--"));
        command.addAll(app);
        Result r = run(bin, command, Map.of("SPARK_HOME", sparkHome.toString(), "K8S_API", "https://kube-api:6443"));
        assertEquals(0, r.code, r.err);
        List<String> argv = List.of(r.out.split("\n"));
        int jar = argv.indexOf("local:///opt/hicmae/hicmae-app.jar");
        assertTrue(jar > 0, "no application jar in " + argv);
        assertEquals(app, argv.subList(jar + 1, argv.size()));
        for (String conf : List.of("spark.executor.resource.gpu.amount=1", "spark.task.resource.gpu.amount=1",
                "spark.executor.resource.gpu.discoveryScript=/opt/hicmae/gpu-discovery.sh",
                "spark.kubernetes.executor.limit.cores=8", "spark.kubernetes.namespace=hicmae-prod",
                "spark.kubernetes.executor.secretKeyRef.AWS_SECRET_ACCESS_KEY=hicmae-s3:AWS_SECRET_ACCESS_KEY")) {
            assertTrue(argv.contains(conf), "missing --conf " + conf + " in " + argv);
        }
        assertEquals("k8s://https://kube-api:6443", argv.get(argv.indexOf("--master") + 1));
    }

    /** Sources of COPY lines that read the build context (not another stage), options skipped. */
    private static List<String> copySources(Path dockerfile) throws IOException {
        List<String> sources = new ArrayList<>();
        for (String line : Files.readAllLines(dockerfile)) {
            if (!line.startsWith("COPY ") || line.contains("--from=")) {
                continue;
            }
            List<String> words = new ArrayList<>(List.of(line.substring(5).trim().split("\\s+")));
            words.removeIf(w -> w.startsWith("--"));
            sources.addAll(words.subList(0, words.size() - 1));
        }
        return sources;
    }

    private static void fakeNvidiaSmi(Path bin, String body) throws IOException {
        Path smi = bin.resolve("nvidia-smi");
        Files.writeString(smi, "#!/bin/sh\n[ \"$1\" = --query-gpu=index ] || { echo \"unexpected: $*\" >&2; exit 2; }\n" + body);
        assertTrue(smi.toFile().setExecutable(true));
    }

    private record Result(int code, String out, String err) {}

    /** Runs a command with PATH = {@code bin} only (bash itself is found through /bin). */
    private static Result run(Path bin, List<String> command, Map<String, String> env) throws Exception {
        List<String> cmd = new ArrayList<>(command);
        cmd.set(0, "/bin/" + cmd.get(0));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("PATH", bin.toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "timed out: " + cmd);
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8).strip(),
                new String(err, StandardCharsets.UTF_8));
    }
}
