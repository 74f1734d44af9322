import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.hicmae.runtime.audio.DeviceFbank;
import io.hicmae.runtime.audio.KaldiFbank;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.ClipGeometry;
import io.hicmae.runtime.data.ClipTensors;
import io.hicmae.runtime.data.DeviceCrop;
import io.hicmae.runtime.data.MultiScaleCrop;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The preprocessing of one demo batch split by part, on the CPU: the device path's crop ({@link DeviceCrop}) and
 * fbank ({@link DeviceFbank}) against the host path's ({@link MultiScaleCrop} + {@link ClipTensors}, {@link KaldiFbank})
 * on the same clips and windows, interleaved, median ms per batch. Synthetic bytes (the cost does not depend on them).
 * {@code java -cp 'driver/target/lib/*:driver/target/hicmae-driver.jar' bench/loader/PreprocessSplit.java [B] [ROUNDS]}
 */
public class PreprocessSplit {
    public static void main(String[] a) {
        int b = a.length > 0 ? Integer.parseInt(a[0]) : 8;
        int rounds = a.length > 1 ? Integer.parseInt(a[1]) : 7;
        HicmaeConfig c = HicmaeConfig.demo();
        ClipGeometry g = ClipGeometry.STORED;
        DeviceCrop crop = new DeviceCrop(g.width(), g.height(), c.imgSize());
        DeviceFbank fbank = new DeviceFbank(c.audioMelBins());
        KaldiFbank host = new KaldiFbank(c.audioMelBins());
        SplittableRandom rng = new SplittableRandom(1);
        byte[][] frames = new byte[b][g.frameBytes()];
        short[][] pcm = new short[b][g.samples()];
        MultiScaleCrop.Window[] windows = new MultiScaleCrop.Window[b];
        float[] gains = new float[b];
        ByteBuffer fb = ByteBuffer.allocateDirect(b * g.frameBytes());
        ByteBuffer pb = ByteBuffer.allocateDirect(b * g.pcmBytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < b; i++) {
            for (int k = 0; k < frames[i].length; k++) {
                frames[i][k] = (byte) rng.nextInt(256);
            }
            for (int k = 0; k < pcm[i].length; k++) {
                pcm[i][k] = (short) (rng.nextGaussian() * 3000);
            }
            windows[i] = crop.crop().sample(rng);
            gains[i] = KaldiFbank.sampleGain(rng);
            fb.put(frames[i]);
            for (short s : pcm[i]) {
                pb.putShort(s);
            }
        }
        fb.flip();
        pb.flip();
        int vs = 3 * c.numFrames() * c.imgSize() * c.imgSize();
        double[][] ms = new double[4][rounds];
        try (NDManager m = NDManager.newBaseManager()) {
            for (int r = -2; r < rounds; r++) { // two warm-up rounds
                long t0 = System.nanoTime();
                try (NDManager s = m.newSubManager()) {
                    NDArray f = s.create(fb.duplicate(), new Shape(b, g.frames(), g.height(), g.width(), 3), DataType.UINT8);
                    crop.apply(s, f, windows).sum().getFloat();
                }
                long t1 = System.nanoTime();
                try (NDManager s = m.newSubManager()) {
                    NDArray p = s.create(pb.duplicate(), new Shape(b, g.pcmBytes()), DataType.UINT8);
                    fbank.fromPcm(s, p, s.create(gains), c.audioFrames()).sum().getFloat();
                }
                long t2 = System.nanoTime();
                float[] video = new float[b * vs];
                for (int i = 0; i < b; i++) {
                    ClipTensors.normalizeFrames(crop.crop().apply(frames[i], g.frames(), windows[i]), c.numFrames(),
                            c.imgSize(), c.imgSize(), video, i * vs);
                }
                long t3 = System.nanoTime();
                for (int i = 0; i < b; i++) {
                    host.modelInput(pcm[i], c.audioFrames(), gains[i]);
                }
                long t4 = System.nanoTime();
                if (r >= 0) {
                    ms[0][r] = (t1 - t0) / 1e6;
                    ms[1][r] = (t2 - t1) / 1e6;
                    ms[2][r] = (t3 - t2) / 1e6;
                    ms[3][r] = (t4 - t3) / 1e6;
                }
            }
        }
        String[] names = {"device crop (engine, CPU)", "device fbank (engine, CPU)", "host crop + normalise (Java)",
            "host fbank (Java)"};
        for (int k = 0; k < 4; k++) {
            Arrays.sort(ms[k]);
            System.out.printf("%-30s median %8.1f ms per batch of %d (min %.1f, max %.1f)%n", names[k],
                    ms[k][rounds / 2], b, ms[k][0], ms[k][rounds - 1]);
        }
    }
}
