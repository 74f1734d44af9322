package io.hicmae.runtime.train;

import ai.djl.Device;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.nn.Precision;
import io.hicmae.runtime.optim.AdamW;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * fp16 compute with dynamic loss scaling tracks fp32: a 2-rank tiny-preset pre-training from the same seed and
 * batches, the mean total loss of the last fifth of the steps within 5% of fp32's and every loss term falling.
 */
class Fp16TrainingTest {

    private static final int STEPS = 40;

    private static List<List<StepLosses>> train(Precision precision) {
        TrainOptions options = new TrainOptions(3e-3, 1e-4, 5, STEPS, 256, 0, AdamW.Settings.pretraining());
        StepPolicy policy = StepPolicy.defaults().withPrecision(precision);
        List<List<StepLosses>> perStep = new ArrayList<>();
        try (PretrainTrainer r0 = new PretrainTrainer(HicmaeConfig.tiny(), options, Device.cpu(), 1);
                PretrainTrainer r1 = new PretrainTrainer(HicmaeConfig.tiny(), options, Device.cpu(), 1)) {
            r0.use(policy);
            r1.use(policy);
            for (int s = 0; s < STEPS; s++) {
                List<StepLosses> losses = new ArrayList<>();
                List<StepOutcome> out = InProcessRanks.step(List.of(r0, r1), null, losses);
                assertTrue(out.get(0).applied(), precision + " step " + s + " skipped: " + out.get(0));
                assertEquals(precision == Precision.FP16 ? 65536.0 : 1.0, out.get(0).lossScale());
                perStep.add(losses);
            }
        }
        return perStep;
    }

    private static double mean(List<List<StepLosses>> steps, int from, int to, ToDoubleFunction<StepLosses> term) {
        double sum = 0;
        int n = 0;
        for (int s = from; s < to; s++) {
            for (StepLosses l : steps.get(s)) {
                sum += term.applyAsDouble(l);
                n++;
            }
        }
        return sum / n;
    }

    @Test
    void fp16TracksFp32OnTwoRanks() {
        List<List<StepLosses>> fp32 = train(Precision.FP32);
        List<List<StepLosses>> fp16 = train(Precision.FP16);
        int tail = STEPS - STEPS / 5;
        double last32 = mean(fp32, tail, STEPS, StepLosses::total);
        double last16 = mean(fp16, tail, STEPS, StepLosses::total);
        System.out.printf("mean total loss of the last fifth: fp32 %.4f, fp16 %.4f (%+.2f%%)%n", last32, last16,
                100 * (last16 - last32) / last32);
        assertTrue(Math.abs(last16 - last32) <= 0.05 * last32, "fp16 " + last16 + " vs fp32 " + last32);
        List<ToDoubleFunction<StepLosses>> terms = List.of(StepLosses::total, StepLosses::video, StepLosses::audio,
                StepLosses::contrastive);
        List<String> names = List.of("total", "video", "audio", "contrastive");
        for (int k = 0; k < terms.size(); k++) {
            double first = mean(fp16, 0, STEPS / 5, terms.get(k));
            double last = mean(fp16, tail, STEPS, terms.get(k));
            System.out.printf("fp16 %s: %.4f -> %.4f%n", names.get(k), first, last);
            assertTrue(last < first, "fp16 " + names.get(k) + " loss " + first + " -> " + last);
        }
    }
}
