package io.hicmae.runtime.golden;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.hicmae.runtime.train.Autograd;
import ai.djl.training.ParameterStore;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.loss.ContrastiveLoss;
import io.hicmae.runtime.loss.PretrainLoss;
import io.hicmae.runtime.loss.ReconstructionTargets;
import com.google.gson.JsonObject;
import io.hicmae.runtime.audio.DeviceFbank;
import io.hicmae.runtime.audio.KaldiFbank;
import io.hicmae.runtime.finetune.FinetuneBatch;
import io.hicmae.runtime.finetune.FinetuneOptions;
import io.hicmae.runtime.finetune.FinetuneTrainer;
import io.hicmae.runtime.finetune.Mixup;
import io.hicmae.runtime.finetune.Task;
import io.hicmae.runtime.loss.SoftTargetCrossEntropy;
import io.hicmae.runtime.model.HicmaeFinetuneModel;
import io.hicmae.runtime.model.HicmaePretrainModel;
import io.hicmae.runtime.optim.AdamW;
import io.hicmae.runtime.model.PretrainBatch;
import io.hicmae.runtime.model.PretrainOutput;
import io.hicmae.runtime.model.StateDict;
import io.hicmae.runtime.model.Trace;
import io.hicmae.runtime.nn.CrossSelfBlock;
import io.hicmae.runtime.nn.HicmaeBlock;
import io.hicmae.runtime.nn.ModalityEncoder;
import io.hicmae.runtime.nn.SinusoidTable;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Checks this implementation against a golden directory: builds the model from the directory's own
 * {@code config.json}, loads its weights and inputs, and compares every stored array at the README's tolerances.
 * Used by {@code bin/hicmae golden} and by the JUnit golden tests.
 */
public final class GoldenSuite {

    private final GoldenSet set;
    private final List<Check> checks = new ArrayList<>();

    public GoldenSuite(GoldenSet set) {
        this.set = set;
    }

    /** Runs every check the directory has data for; the list is in the order they ran. */
    public List<Check> run() throws IOException {
        checks.clear();
        try (NDManager manager = NDManager.newBaseManager()) {
            pretrain(manager);
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            finetune(manager);
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            finetunePath(manager);
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            fbank(manager);
        }
        return List.copyOf(checks);
    }

    private void pretrain(NDManager root) throws IOException {
        HicmaeConfig config = HicmaeConfig.fromJson(set.configFile());
        Tolerance forward = set.tolerance("forward", new Tolerance(1e-4, 1e-5));
        Tolerance losses = set.tolerance("scalar_losses", new Tolerance(1e-5, 0));
        Tolerance grads = set.tolerance("grads", new Tolerance(1e-3, 1e-6));

        Engine.getInstance().setRandomSeed(0);
        HicmaePretrainModel model = new HicmaePretrainModel(config);
        model.initialize(root, DataType.FLOAT32, new Shape(1));
        Map<String, NDArray> weights = set.load(root, "weights.npz");
        StateDict.load(model, weights, set.dir().resolve("weights.npz").toString(), true);
        expectCount("param_count.pretrain", StateDict.count(model), "pretrain");

        Map<String, NDArray> in = set.load(root, "inputs.npz");
        Map<String, NDArray> out = set.load(root, "outputs.npz");
        PretrainBatch batch = new PretrainBatch(in.get("video"), in.get("audio"), in.get("visible_index"),
                in.get("mask_index"), in.get("visible_audio_index"), in.get("mask_audio_index"));
        ParameterStore store = new ParameterStore(root, false);

        try (NDManager step = root.newSubManager()) {
            positionTables(config, step, out, forward);
            Trace trace = Trace.recording();
            PretrainOutput o;
            PretrainLoss loss;
            o = Autograd.record(() -> model.forward(store, batch, false, trace));
            loss = Autograd.record(() -> PretrainLoss.compute(config, batch, o));
            Autograd.backward(loss.total());
            for (Map.Entry<String, NDArray> e : trace.values().entrySet()) {
                NDArray ref = out.get(e.getKey());
                if (ref != null) {
                    checks.add(forward.check(e.getKey(), e.getValue(), ref));
                }
            }
            debugTaps(model, store, batch, trace, out, forward);
            contrastive(loss, out, forward);
            targets(config, batch, out, forward);
            lossTerms(config, batch, o, loss, out, losses);
            gradients("total.", model, step, set.load(step, "grads.npz"), grads);
        }
        try (NDManager step = root.newSubManager()) {
            zeroGradients(model);
            PretrainOutput o = Autograd.record(() -> model.forward(store, batch, false, Trace.OFF));
            Autograd.backward(Autograd.record(() -> ContrastiveLoss.sum(ContrastiveLoss.layers(
                    o.videoLayers(), o.audioLayers(), config.temperature()))));
            gradients("hcmcl.", model, step, set.load(step, "grads.npz"), grads);
        }
        adamw(config, model, weights, batch, store, root);
    }

    /** Two AdamW steps at the golden set's constant lr, from the golden weights. */
    private void adamw(HicmaeConfig config, HicmaePretrainModel model, Map<String, NDArray> weights,
            PretrainBatch batch, ParameterStore store, NDManager root) throws IOException {
        JsonObject a = set.config().getAsJsonObject("adamw");
        if (a == null) {
            return;
        }
        StateDict.load(model, weights, "weights.npz", true);
        zeroGradients(model);
        AdamW.Settings settings = new AdamW.Settings(a.getAsJsonArray("betas").get(0).getAsDouble(),
                a.getAsJsonArray("betas").get(1).getAsDouble(), a.get("eps").getAsDouble(),
                a.get("weight_decay").getAsDouble());
        double lr = a.get("lr").getAsDouble();
        int steps = a.has("steps") ? a.get("steps").getAsInt() : 2;
        Tolerance tol = set.tolerance("adamw_params", new Tolerance(1e-4, 1e-5));
        Tolerance losses = set.tolerance("scalar_losses", new Tolerance(1e-5, 0));
        try (NDManager state = root.newSubManager()) {
            Map<String, Parameter> params = StateDict.parameters(model);
            AdamW opt = new AdamW(params, settings, k -> 1.0, state);
            float[] trajectory = new float[steps + 1];
            for (int s = 0; s <= steps; s++) {
                try (NDManager step = root.newSubManager()) {
                    NDArray total = Autograd.record(() -> PretrainLoss.compute(
                            config, batch, model.forward(store, batch, true, Trace.OFF)).total());
                    if (s < steps) {
                        Autograd.backward(total);
                    }
                    trajectory[s] = total.getFloat();
                    if (s < steps) {
                        List<NDArray> g = new ArrayList<>();
                        for (Parameter p : params.values()) {
                            NDArray grad = p.getArray().getGradient();
                            grad.attach(step);
                            g.add(grad.duplicate());
                            Autograd.zeroGradient(p.getArray());
                        }
                        opt.step(g, lr, step);
                    }
                }
            }
            try (NDManager step = root.newSubManager()) {
                Map<String, NDArray> ref = set.load(step, "grads.npz");
                for (Map.Entry<String, NDArray> e : ref.entrySet()) {
                    if (e.getKey().equals("adamw2.loss_trajectory")) {
                        checks.add(losses.check(e.getKey(), step.create(trajectory), e.getValue()));
                    } else if (e.getKey().startsWith("adamw2.")) {
                        Parameter p = params.get(e.getKey().substring("adamw2.".length()));
                        checks.add(p == null
                                ? new Check(e.getKey(), false, "the model has no such parameter")
                                : tol.check(e.getKey(), p.getArray(), e.getValue()));
                    }
                }
            }
        }
    }

    /** The fine-tuning model on the golden fine-tuning batch: outputs, both losses and the listed gradients. */
    private void finetune(NDManager root) throws IOException {
        if (!java.nio.file.Files.exists(set.dir().resolve("finetune_outputs.npz"))) {
            return;
        }
        HicmaeConfig config = HicmaeConfig.fromJson(set.configFile());
        Tolerance forward = set.tolerance("forward", new Tolerance(1e-4, 1e-5));
        Tolerance losses = set.tolerance("scalar_losses", new Tolerance(1e-5, 0));
        Tolerance grads = set.tolerance("grads", new Tolerance(1e-3, 1e-6));
        JsonObject ft = set.config().getAsJsonObject("finetune");
        int classes = ft.get("num_classes").getAsInt();
        float smoothing = ft.get("label_smoothing").getAsFloat();

        HicmaeFinetuneModel model = new HicmaeFinetuneModel(config, classes, 0f);
        model.initialize(root, DataType.FLOAT32, new Shape(1));
        Map<String, NDArray> weights = new java.util.LinkedHashMap<>(set.load(root, "weights.npz"));
        weights.putAll(set.load(root, "finetune_weights.npz"));
        StateDict.load(model, weights, "weights.npz + finetune_weights.npz", false);
        expectCount("param_count.finetune", StateDict.count(model), "finetune");

        Map<String, NDArray> in = set.load(root, "finetune_inputs.npz");
        Map<String, NDArray> out = set.load(root, "finetune_outputs.npz");
        ParameterStore store = new ParameterStore(root, false);
        try (NDManager step = root.newSubManager()) {
            Trace trace = Trace.recording();
            NDArray logits = Autograd.record(() -> model.forward(store, in.get("video"), in.get("audio"), false, trace));
            NDArray targets = SoftTargetCrossEntropy.smoothTargets(in.get("labels"), classes, smoothing);
            NDArray soft = Autograd.record(() -> SoftTargetCrossEntropy.loss(logits, targets));
            NDArray hard = SoftTargetCrossEntropy.loss(logits,
                    SoftTargetCrossEntropy.smoothTargets(in.get("labels"), classes, 0f));
            Autograd.backward(soft);
            for (Map.Entry<String, NDArray> e : trace.values().entrySet()) {
                tap(e.getKey(), e.getValue(), out, forward);
            }
            tap("soft_targets", targets, out, forward);
            tap("loss.ce", hard.reshape(1), out, losses);
            tap("loss.soft_target_ce", soft.reshape(1), out, losses);
            gradients("grad.", model, step, out, grads);
        }
    }

    /**
     * The fine-tuning code path rather than the model alone: a {@link FinetuneTrainer} (drop path 0, no mixup, the
     * set's label smoothing) loaded with the golden weights, targets from {@link Mixup}, and the loss and gradients
     * its {@code computeGradients} leaves in the flat gradient buffer. Checks are named {@code finetune_path.*}.
     */
    private void finetunePath(NDManager root) throws IOException {
        if (!java.nio.file.Files.exists(set.dir().resolve("finetune_outputs.npz"))) {
            return;
        }
        HicmaeConfig config = HicmaeConfig.fromJson(set.configFile());
        Tolerance forward = set.tolerance("forward", new Tolerance(1e-4, 1e-5));
        Tolerance losses = set.tolerance("scalar_losses", new Tolerance(1e-5, 0));
        Tolerance grads = set.tolerance("grads", new Tolerance(1e-3, 1e-6));
        JsonObject ft = set.config().getAsJsonObject("finetune");
        int classes = ft.get("num_classes").getAsInt();
        float smoothing = ft.get("label_smoothing").getAsFloat();
        FinetuneOptions options = new FinetuneOptions(Task.classification(classes), 1e-3, 1e-6, 0, 1, 2,
                AdamW.Settings.finetuning(), 0.75, 0f, smoothing, Mixup.Settings.off(), false);
        try (FinetuneTrainer trainer = new FinetuneTrainer(config, options, root.getDevice(), 0);
                NDManager step = trainer.newStepManager()) {
            Map<String, NDArray> weights = new java.util.LinkedHashMap<>(set.load(step, "weights.npz"));
            weights.putAll(set.load(step, "finetune_weights.npz"));
            trainer.loadFinetuned(weights, "weights.npz + finetune_weights.npz");
            Map<String, NDArray> in = set.load(step, "finetune_inputs.npz");
            Map<String, NDArray> out = set.load(step, "finetune_outputs.npz");
            Mixup.Mixed mixed = new Mixup(options.mixup(), classes, smoothing)
                    .apply(in.get("video"), in.get("labels"), new java.util.SplittableRandom(0));
            float loss = trainer.computeGradients(step, new FinetuneBatch(mixed.video(), in.get("audio"),
                    mixed.targets(), 0));
            tap("soft_targets", "finetune_path.soft_targets", mixed.targets(), out, forward);
            tap("loss.soft_target_ce", "finetune_path.loss.soft_target_ce", step.create(new float[] {loss}), out,
                    losses);
            for (String key : out.keySet()) {
                if (key.startsWith("grad.")) {
                    tap(key, "finetune_path." + key, trainer.gradientOf(key.substring("grad.".length()), step), out,
                            grads);
                }
            }
        }
    }

    /**
     * The audio front-end: window, mel banks, log-mel and the model input for every setting the file holds, computed
     * by the training path ({@link DeviceFbank}: engine operations on the manager's device) under the file's names,
     * and by the host's {@link KaldiFbank} (fine-tuning, the zoo's translator) under {@code host.}.
     */
    private void fbank(NDManager m) throws IOException {
        if (!java.nio.file.Files.exists(set.dir().resolve("fbank.npz"))) {
            return;
        }
        Map<String, NDArray> ref = set.load(m, "fbank.npz");
        Tolerance logMel = set.tolerance("fbank_log_mel", new Tolerance(0, 5e-3));
        Tolerance input = new Tolerance(0, 1e-3);
        Tolerance exact = new Tolerance(0, 1e-5);
        NDArray wave = ref.get("waveform");
        float[] waveform = wave.toFloatArray();
        tap("hann_window_400", m.create(KaldiFbank.window()), ref, exact);
        for (String key : ref.keySet()) {
            java.util.regex.Matcher k = java.util.regex.Pattern.compile("m(\\d+)_t(\\d+)\\.fbank_raw").matcher(key);
            if (!k.matches()) {
                continue;
            }
            int bins = Integer.parseInt(k.group(1));
            int frames = Integer.parseInt(k.group(2));
            String p = "m" + bins + "_t" + frames + ".";
            DeviceFbank device = new DeviceFbank(bins);
            NDArray batch = wave.reshape(1, -1);
            NDArray raw = device.logMel(m, batch).squeeze(0);
            tap(p + "fbank_raw", raw, ref, logMel);
            long kept = Math.min(frames, raw.getShape().get(0));
            NDArray fitted = raw.get(new ai.djl.ndarray.index.NDIndex(":{}", kept));
            if (kept < frames) {
                fitted = fitted.concat(m.zeros(new Shape(frames - kept, bins)), 0);
            }
            tap(p + "fbank_cut_or_padded", fitted, ref, logMel);
            tap(p + "model_input", device.modelInput(m, batch, frames).reshape(1, frames, bins), ref, input);

            KaldiFbank host = new KaldiFbank(bins);
            float[][] hostRaw = host.logMel(waveform);
            tap(p + "fbank_raw", "host." + p + "fbank_raw", m.create(hostRaw), ref, logMel);
            tap(p + "mel_banks", m.create(host.melBanks()), ref, exact);
            float[][] hostFitted = new float[frames][bins];
            for (int i = 0; i < Math.min(frames, hostRaw.length); i++) {
                hostFitted[i] = hostRaw[i];
            }
            tap(p + "fbank_cut_or_padded", "host." + p + "fbank_cut_or_padded", m.create(hostFitted), ref, logMel);
            tap(p + "model_input", "host." + p + "model_input",
                    m.create(host.modelInput(waveform, frames), new Shape(1, frames, bins)), ref, input);
        }
    }

    private void expectCount(String name, long actual, String key) {
        if (set.config().has("param_count") && set.config().getAsJsonObject("param_count").has(key)) {
            long expected = set.config().getAsJsonObject("param_count").get(key).getAsLong();
            checks.add(new Check(name, actual == expected, actual + " parameters, expected " + expected));
        }
    }

    private void positionTables(HicmaeConfig c, NDManager m, Map<String, NDArray> out, Tolerance tol) {
        table("pos_embed.encoder_video", new SinusoidTable(c.videoTokens(), c.embedDim()), m, out, tol);
        table("pos_embed.encoder_audio", new SinusoidTable(c.audioTokens(), c.embedDim()), m, out, tol);
        table("pos_embed.decoder_video", new SinusoidTable(c.videoTokens(), c.decoderDim()), m, out, tol);
        table("pos_embed.decoder_audio", new SinusoidTable(c.audioTokens(), c.decoderDimAudio()), m, out, tol);
    }

    private void table(String key, SinusoidTable t, NDManager m, Map<String, NDArray> out, Tolerance tol) {
        if (out.containsKey(key)) {
            checks.add(tol.check(key, t.toArray(m), out.get(key)));
        }
    }

    /** The README's debug keys: sub-steps of the first encoder, fusion and decoder blocks. */
    private void debugTaps(HicmaePretrainModel model, ParameterStore store, PretrainBatch batch, Trace trace,
            Map<String, NDArray> out, Tolerance tol) {
        Map<String, NDArray> t = trace.values();
        encoderBlock0(model.videoEncoder(), store, t.get("enc_v.tokens_in"), "enc_v", out, tol);
        encoderBlock0(model.audioEncoder(), store, t.get("enc_a.tokens_in"), "enc_a", out, tol);
        NDArray v = t.get("enc_v.out");
        NDArray a = t.get("enc_a.out");
        tap("fusion.block0.video_cross_attn",
                model.fusionEncoder().videoBlocks().get(0).crossAttention(store, v, a, false), out, tol);
        tap("fusion.block0.audio_cross_attn",
                model.fusionEncoder().audioBlocks().get(0).crossAttention(store, a, v, false), out, tol);
        decoderBlock1(model.videoDecoder().blocks().get(1), store, t, "dec_v", out, tol);
        decoderBlock1(model.audioDecoder().blocks().get(1), store, t, "dec_a", out, tol);
    }

    private void encoderBlock0(ModalityEncoder enc, ParameterStore store, NDArray x, String tag,
            Map<String, NDArray> out, Tolerance tol) {
        Map<String, Block> parts = ((HicmaeBlock) enc.blocks().get(0)).namedChildren();
        NDArray n1 = run(parts.get("norm1"), store, x);
        NDArray attn = run(parts.get("attn"), store, n1);
        NDArray resid = x.add(attn);
        NDArray mlp = run(parts.get("mlp"), store, run(parts.get("norm2"), store, resid));
        tap(tag + ".block0.norm1", n1, out, tol);
        tap(tag + ".block0.attn", attn, out, tol);
        tap(tag + ".block0.resid1", resid, out, tol);
        tap(tag + ".block0.mlp", mlp, out, tol);
    }

    private void decoderBlock1(HicmaeBlock block, ParameterStore store, Map<String, NDArray> t, String tag,
            Map<String, NDArray> out, Tolerance tol) {
        NDArray x = t.get(tag + ".block0.out");
        NDArray deepest = t.get(tag + ".skip" + (countSkips(t, tag) - 1));
        tap(tag + ".block1.cross_attn", ((CrossSelfBlock) block).crossAttention(store, x, deepest, false), out, tol);
    }

    private static int countSkips(Map<String, NDArray> t, String tag) {
        int k = 0;
        while (t.containsKey(tag + ".skip" + k)) {
            k++;
        }
        return k;
    }

    private static NDArray run(Block b, ParameterStore store, NDArray x) {
        return b.forward(store, new NDList(x), false).singletonOrThrow();
    }

    private void tap(String key, NDArray actual, Map<String, NDArray> out, Tolerance tol) {
        tap(key, key, actual, out, tol);
    }

    /** Compares with the reference {@code key}, reported under {@code name}. */
    private void tap(String key, String name, NDArray actual, Map<String, NDArray> out, Tolerance tol) {
        if (out.containsKey(key)) {
            checks.add(tol.check(name, actual, out.get(key)));
        }
    }

    private void contrastive(PretrainLoss loss, Map<String, NDArray> out, Tolerance tol) {
        for (int k = 0; k < loss.layers().size(); k++) {
            ContrastiveLoss.Layer l = loss.layers().get(k);
            String p = "hcmcl.layer" + k + ".";
            tap(p + "video_feat", l.videoFeature(), out, tol);
            tap(p + "audio_feat", l.audioFeature(), out, tol);
            tap(p + "logits_per_video", l.logitsPerVideo(), out, tol);
            tap(p + "logits_per_audio", l.logitsPerVideo().transpose(), out, tol);
        }
    }

    private void targets(HicmaeConfig c, PretrainBatch b, Map<String, NDArray> out, Tolerance tol) {
        NDArray plain = ReconstructionTargets.videoAllPatches(c, b.video());
        tap("target_v.all_patches_plain", plain, out, tol);
        tap("target_v.masked_plain", ReconstructionTargets.video(c, b.video(), b.videoMasked(), false), out, tol);
        tap("target_v.masked_framediff", ReconstructionTargets.video(c, b.video(), b.videoMasked(), true), out, tol);
        tap("target_a.all_patches", ReconstructionTargets.audioAllPatches(c, b.audio()), out, tol);
        tap("target_a.masked", ReconstructionTargets.audio(c, b.audio(), b.audioMasked()), out, tol);
    }

    private void lossTerms(HicmaeConfig c, PretrainBatch b, PretrainOutput o, PretrainLoss loss,
            Map<String, NDArray> out, Tolerance tol) {
        NDArray plainTarget = ReconstructionTargets.video(c, b.video(), b.videoMasked(), false);
        NDArray videoPlain = o.videoPrediction().sub(plainTarget).square().mean();
        NDArray mae = loss.video().add(loss.audio());
        tap("loss.video", loss.video().reshape(1), out, tol);
        tap("loss.video_plain_target", videoPlain.reshape(1), out, tol);
        tap("loss.audio", loss.audio().reshape(1), out, tol);
        for (int k = 0; k < loss.layers().size(); k++) {
            ContrastiveLoss.Layer l = loss.layers().get(k);
            String p = "loss.hcmcl.layer" + k;
            tap(p + ".ce_video_to_audio", l.ceVideoToAudio().reshape(1), out, tol);
            tap(p + ".ce_audio_to_video", l.ceAudioToVideo().reshape(1), out, tol);
            tap(p, l.term().reshape(1), out, tol);
        }
        tap("loss.hcmcl", loss.contrastive().reshape(1), out, tol);
        tap("loss.mae", mae.reshape(1), out, tol);
        tap("loss.total", loss.total().reshape(1), out, tol);
        tap("loss.total_plain_target",
                videoPlain.add(loss.audio()).add(loss.contrastive().mul(c.contrastiveWeight())).reshape(1), out, tol);
    }

    private void gradients(String prefix, HicmaeBlock model, NDManager step, Map<String, NDArray> ref,
            Tolerance tol) {
        Map<String, Parameter> params = StateDict.parameters(model);
        for (Map.Entry<String, NDArray> e : ref.entrySet()) {
            if (!e.getKey().startsWith(prefix)) {
                continue;
            }
            String key = e.getKey().substring(prefix.length());
            Parameter p = params.get(key);
            if (p == null) {
                checks.add(new Check(e.getKey(), false, "the model has no parameter " + key));
                continue;
            }
            NDArray g = p.getArray().getGradient();
            g.attach(step);
            checks.add(tol.check(e.getKey(), g, e.getValue()));
        }
    }

    private static void zeroGradients(HicmaeBlock model) {
        for (Parameter p : StateDict.parameters(model).values()) {
            Autograd.zeroGradient(p.getArray());
        }
    }
}
