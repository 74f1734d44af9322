package io.hicmae.driver.prep;

import io.hicmae.prep.SyntheticVideoGenerator;
import io.hicmae.prep.SyntheticVideoGenerator.Spec;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code hicmae synth}: writes talking-face-like demo videos, their labelled manifest and their metadata. */
@Command(
        name = "synth",
        mixinStandardHelpOptions = true,
        description = "Write synthetic talking-face videos (224x224, 25 fps, H.264 + AAC mp4) whose mouth follows the"
                + " voice, plus labels.csv, a manifest for 'hicmae prep --manifest' (path,label,split,fold; label = the"
                + " speaker's voice pitch class low/mid/high; video i in fold (i mod 5), fold 0 = split val, else train),"
                + " and videos.csv (speaker, face shape, pitch class, f0 of each video); deterministic for a seed.")
public final class SynthCommand implements Callable<Integer> {

    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--out", required = true, description = "Directory to write into (created if missing).")
    Path out;

    @Option(names = "--videos", defaultValue = "8", description = "Number of videos (default ${DEFAULT-VALUE}).")
    int videos;

    @Option(names = "--seconds", defaultValue = "8", description = "Length of each video (default ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--seed", defaultValue = "0", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws Exception {
        if (videos < 1) {
            throw new ParameterException(spec.commandLine(), "Invalid value " + videos + " for option --videos: must be at least 1");
        }
        if (!(seconds > 0)) {
            throw new ParameterException(spec.commandLine(), "Invalid value " + seconds + " for option --seconds: must be positive");
        }
        new SyntheticVideoGenerator(seed).generate(out, videos, Spec.talkingFace(seconds));
        spec.commandLine().getOut().println("synth: wrote " + videos + " videos of " + seconds + " s, "
                + SyntheticVideoGenerator.LABELS_FILE + " and " + SyntheticVideoGenerator.METADATA_FILE + " to "
                + out);
        return 0;
    }
}
