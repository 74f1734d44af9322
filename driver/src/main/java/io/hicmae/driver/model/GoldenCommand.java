package io.hicmae.driver.model;

import io.hicmae.runtime.golden.Check;
import io.hicmae.runtime.golden.GoldenSet;
import io.hicmae.runtime.golden.GoldenSuite;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code hicmae golden --dir DIR}: checks the model against reference tensors from the authors' PyTorch code. */
@Command(
        name = "golden",
        mixinStandardHelpOptions = true,
        description = {
            "Checks the model against reference tensors from the authors' PyTorch code.",
            "A golden directory holds config.json and .npz files: forward intermediates, targets, every loss term,",
            "all gradients, two AdamW steps, the fine-tuning model and the audio front-end; each is compared at the",
            "directory's suggested tolerances.",
            "Prints one line per failing check, then 'N passed, M failed'; exits 1 on any failure."
        })
public final class GoldenCommand implements Callable<Integer> {

    @Option(names = "--dir", required = true, description = "Golden directory (holds config.json).")
    Path dir;

    @Option(names = "--verbose", description = "Print every check, not only the failing ones.")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        List<Check> checks = new GoldenSuite(new GoldenSet(dir)).run();
        long failed = 0;
        for (Check c : checks) {
            if (!c.passed()) {
                failed++;
            }
            if (verbose || !c.passed()) {
                System.out.println(c);
            }
        }
        System.out.println((checks.size() - failed) + " passed, " + failed + " failed");
        return failed == 0 && !checks.isEmpty() ? 0 : 1;
    }
}
