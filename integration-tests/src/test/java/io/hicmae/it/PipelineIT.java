package io.hicmae.it;

import ai.djl.inference.Predictor;
import ai.djl.repository.zoo.ZooModel;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.hicmae.prep.SyntheticVideoGenerator;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.GeneratedClips;
import io.hicmae.zoo.ModelRef;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.VersionInfo;
import io.hicmae.zoo.djl.HicmaeClip;
import io.hicmae.zoo.djl.HicmaeZooModels;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pipeline on a two-worker standalone cluster with the zoo and the clips on HDFS: synthetic videos plus broken
 * files, all listed in synth's labelled manifest, go through the prep job, pre-training runs with two ranks in
 * executors of different workers, one executor is killed mid-run (the driver resubmits the barrier stage, which
 * resumes from the last checkpoint), the published version verifies and loads through DJL's Criteria, and a
 * fine-tuned version of it is published and evaluated.
 */
class PipelineIT extends ClusterAndHdfs {

    @Test
    void prepPretrainWithAKilledExecutorPublishLoadFineTuneAndEvaluate() throws Exception {
        Path videos = cluster.runDir().resolve("videos");
        new SyntheticVideoGenerator(4).generate(videos, 4, SyntheticVideoGenerator.Spec.talkingFace(8));
        Files.write(videos.resolve("empty.mp4"), new byte[0]);
        Files.writeString(videos.resolve("notes.mp4"), "not a video", StandardCharsets.UTF_8);
        // synth's labelled manifest, with the broken files listed too: one labelled dataset serves pre-training
        // (which ignores the labels), fine-tuning and evaluation.
        Path manifest = videos.resolve(SyntheticVideoGenerator.LABELS_FILE);
        Files.writeString(manifest, "empty.mp4,low,train,1\nnotes.mp4,mid,train,2\n", StandardCharsets.UTF_8,
                StandardOpenOption.APPEND);
        URI clips = hdfs.uri().resolve("/data/clips");
        URI zooRoot = hdfs.uri().resolve("/zoo");

        long t0 = System.nanoTime();
        Submission.Result prep = new SparkSubmitter(cluster).run("prep", Application.hicmae(cluster.paths()),
                Map.of(), List.of("prep", "--manifest", manifest.toString(), "--output", clips.toString()),
                Duration.ofMinutes(6));
        assertEquals(0, prep.exitCode(), prep.describe());
        assertTrue(prep.output().contains("videos_seen=6 = videos_with_clips=4 + videos_quarantined=2"),
                prep.describe());
        System.out.printf("PipelineIT prep: %d ms%n", (System.nanoTime() - t0) / 1_000_000);

        long t1 = System.nanoTime();
        Submission.Result train;
        try (Submission job = new SparkSubmitter(cluster).start("pretrain", Application.hicmae(cluster.paths()),
                Map.of(), List.of("pretrain", "--data", clips.toString(), "--zoo", zooRoot.toString(),
                        "--model", "pipeline", "--preset", "tiny", "--world-size", "2", "--batch-size", "2",
                        "--epochs", "4", "--checkpoint-every", "2", "--lr", "3e-3", "--warmup-epochs", "1",
                        "--run-id", "pipeline-run", "--retry-backoff-ms", "1000", "--connect-timeout-s", "60",
                        "--io-timeout-s", "120"))) {
            job.awaitLine("step 5", l -> l.startsWith("step 5/"), Duration.ofMinutes(6));
            List<SparkCluster.Executor> executors = cluster.executors();
            assertEquals(2, executors.size(), "executors: " + executors);
            cluster.killExecutor(executors.get(1).pid());
            train = job.awaitExit(Duration.ofMinutes(8));
        }
        assertEquals(0, train.exitCode(), train.describe());
        String out = train.output();
        assertTrue(out.contains("attempt 1 of 3 failed"), train.describe());
        assertTrue(out.contains("resuming from step 4") || out.contains("resuming from step 2"), train.describe());
        assertTrue(out.contains("step 12/12"), train.describe());
        assertTrue(out.contains("pretrain: published pipeline:v000001"), train.describe());
        System.out.printf("PipelineIT pretrain with a killed executor: %d ms%n", (System.nanoTime() - t1) / 1_000_000);

        try (ModelZoo zoo = ModelZoo.open(zooRoot, hdfs.conf())) {
            VersionInfo v = zoo.verify(ModelRef.parse("pipeline@latest"));
            assertEquals(1, v.number());
            assertEquals(12, zoo.checkpoints().latest("pipeline-run").orElseThrow().step());
            HicmaeConfig tiny = HicmaeConfig.tiny();
            GeneratedClips.Clip clip = new GeneratedClips(HicmaeConfig.demo(), 9, 4).clip(0);
            short[] pcm = java.util.Arrays.copyOf(clip.pcm(), 40_960);
            try (ZooModel<HicmaeClip, float[]> model = HicmaeZooModels.criteria(zoo, "pipeline@latest").loadModel();
                    Predictor<HicmaeClip, float[]> predictor = model.newPredictor()) {
                float[] embedding = predictor.predict(new HicmaeClip(downscale(clip.frames(), tiny.imgSize()), pcm));
                assertEquals(4 * tiny.embedDim(), embedding.length);
                for (float f : embedding) {
                    assertTrue(Float.isFinite(f), "embedding " + java.util.Arrays.toString(embedding));
                }
            }
        }

        fineTuneAndEvaluate(clips, zooRoot, manifest);
    }

    /**
     * Fine-tunes the published version on the labelled clips (folds 1-3 are split train, fold 0 val), then evaluates
     * the result on the val split: one video, two clips averaged.
     */
    private static void fineTuneAndEvaluate(URI clips, URI zooRoot, Path manifest) throws IOException {
        long t0 = System.nanoTime();
        Submission.Result ft = new SparkSubmitter(cluster).run("finetune", Application.hicmae(cluster.paths()),
                Map.of(), List.of("finetune", "--zoo", zooRoot.toString(), "--from", "pipeline@latest",
                        "--train", clips.toString(), "--world-size", "2", "--batch-size", "2", "--epochs", "1",
                        "--run-id", "pipeline-ft-run"),
                Duration.ofMinutes(6));
        assertEquals(0, ft.exitCode(), ft.describe());
        assertTrue(ft.output().contains("finetune: published pipeline-ft:v000001"), ft.describe());
        System.out.printf("PipelineIT finetune: %d ms%n", (System.nanoTime() - t0) / 1_000_000);

        long t1 = System.nanoTime();
        Path json = cluster.runDir().resolve("evaluate.json");
        Submission.Result ev = new SparkSubmitter(cluster).run("evaluate", Application.hicmae(cluster.paths()),
                Map.of(), List.of("evaluate", "--zoo", zooRoot.toString(), "--model", "pipeline-ft",
                        "--data", clips.toString(), "--split", "val", "--json", json.toString()),
                Duration.ofMinutes(4));
        assertEquals(0, ev.exitCode(), ev.describe());
        assertTrue(ev.output().contains("evaluate: pipeline-ft:v000001 on 1 videos (2 clips), split val"),
                ev.describe());
        JsonObject report = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        assertEquals("classification", report.get("task").getAsString(), report.toString());
        List<String> classes = Files.readAllLines(manifest).stream().skip(1).map(l -> l.split(",")[1]).distinct()
                .sorted().toList();
        assertEquals(classes, report.getAsJsonArray("classes").asList().stream().map(JsonElement::getAsString)
                .toList(), report.toString());
        long videos = 0;
        for (JsonElement row : report.getAsJsonArray("confusion_matrix")) {
            for (JsonElement count : row.getAsJsonArray()) {
                videos += count.getAsLong();
            }
        }
        assertEquals(1, videos, "the confusion matrix counts the one val video: " + report);
        try (ModelZoo zoo = ModelZoo.open(zooRoot, hdfs.conf())) {
            assertEquals(1, zoo.verify(ModelRef.parse("pipeline-ft@latest")).number());
        }
        System.out.printf("PipelineIT evaluate: %d ms%n", (System.nanoTime() - t1) / 1_000_000);
    }

    /** Nearest-neighbour downscale of (16, 160, 160, 3) frames to the tiny preset's side. */
    private static byte[] downscale(byte[] frames, int side) {
        int t = 16;
        int src = 160;
        byte[] out = new byte[t * side * side * 3];
        for (int f = 0; f < t; f++) {
            for (int y = 0; y < side; y++) {
                for (int x = 0; x < side; x++) {
                    int sy = y * src / side;
                    int sx = x * src / side;
                    System.arraycopy(frames, ((f * src + sy) * src + sx) * 3, out, ((f * side + y) * side + x) * 3, 3);
                }
            }
        }
        return out;
    }
}
