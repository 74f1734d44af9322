package io.hicmae.driver;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code hicmae quickstart}: the whole pipeline on embedded defaults, in order: synthetic talking-face videos,
 * the prep job to Parquet clips, distributed pre-training in Spark local mode with two ranks, and the published
 * version in a local-directory zoo. Each step is the same command a user would run by hand, printed first.
 */
@Command(
        name = "quickstart",
        mixinStandardHelpOptions = true,
        showDefaultValues = true,
        description = {
            "Runs the whole pipeline locally: synth videos, prep to clips, pretrain (2 ranks), publish to the zoo.",
            "Each step is printed as the hicmae command it runs, so it can be repeated or changed by hand."
        })
public final class QuickstartCommand implements Callable<Integer> {

    @Option(names = "--dir", defaultValue = "quickstart", description = "Working directory for videos and clips.")
    Path dir;

    @Option(names = "--zoo", defaultValue = "./zoo", description = "Model zoo the result is published to.")
    String zoo;

    @Option(names = "--videos", defaultValue = "8", description = "Synthetic videos to make.")
    int videos;

    @Option(names = "--seconds", defaultValue = "8", description = "Length of each video (3 clips per 8 s).")
    int seconds;

    @Option(names = "--world-size", defaultValue = "2", description = "Training ranks (Spark local mode).")
    int worldSize;

    @Option(names = "--epochs", defaultValue = "10", description = "Pre-training epochs.")
    int epochs;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the videos and of the training.")
    long seed;

    @Override
    public Integer call() {
        Path videosDir = dir.resolve("videos");
        Path clipsDir = dir.resolve("clips");
        List<String[]> steps = new ArrayList<>();
        steps.add(new String[] {"synth", "--out", videosDir.toString(), "--videos", Integer.toString(videos),
            "--seconds", Integer.toString(seconds), "--seed", Long.toString(seed)});
        steps.add(new String[] {"prep", "--input", videosDir.toString(), "--output", clipsDir.toString()});
        steps.add(new String[] {"pretrain", "--data", clipsDir.toString(), "--zoo", zoo, "--model", "quickstart",
            "--preset", "demo", "--world-size", Integer.toString(worldSize), "--batch-size", "2", "--epochs",
            Integer.toString(epochs), "--lr", "0.05", "--min-lr", "0.002", "--warmup-epochs", "1",
            "--checkpoint-every", "20", "--seed", Long.toString(seed)});
        steps.add(new String[] {"zoo", "list", "--zoo", zoo});
        for (String[] step : steps) {
            System.out.println("\n$ hicmae " + String.join(" ", step));
            int rc = HicmaeCli.newCommandLine().execute(step);
            if (rc != 0) {
                System.err.println("hicmae quickstart: step 'hicmae " + step[0] + "' failed with exit code " + rc);
                return rc;
            }
        }
        return 0;
    }

}
