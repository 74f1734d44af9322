package io.hicmae.driver.bench;

import io.hicmae.runtime.bench.LoaderBenchmark;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.Preprocessing;
import io.hicmae.runtime.train.Devices;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code hicmae bench loader}: host-side clips/s and MB/s of the pre-training loader (see bench/loader/). */
@Command(name = "loader", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = "Host-side clips/s and MB/s of the pre-training loader: N loader threads (ranks 0..N-1 of the "
                + "dataset) reading Parquet into reusable uint8/PCM buffers and drawing the masks (or, with "
                + "--preprocessing host, also cropping and computing the fbank). The last line "
                + "holds '<n> clips/s'.")
final class LoaderBench implements Callable<Integer> {
    @Option(names = "--data", required = true, description = "A prep output (any Hadoop file system URI).")
    String data;

    @Option(names = "--preset", defaultValue = "demo", description = "tiny, demo, small, base (the model geometry).")
    String preset;

    @Option(names = "--batch", defaultValue = "8", description = "Clips per batch.")
    int batch;

    @Option(names = "--threads", defaultValue = "1", description = "Loader threads (one loader per rank).")
    int threads;

    @Option(names = "--seconds", defaultValue = "20", description = "Timed seconds, after a warm-up.")
    double seconds;

    @Option(names = "--warmup", defaultValue = "10", description = "Untimed seconds first (JIT, first row groups).")
    double warmup;

    @Option(names = "--preprocessing", defaultValue = "device", description = "device: the loader thread does I/O "
            + "only (a GPU rank's loader); host: it also crops, normalises and computes the fbank in Java (a CPU "
            + "rank's loader); auto: by --device.")
    String preprocessing;

    @Option(names = "--preprocess", description = "Also turn each batch into model inputs on --device, timed "
            + "apart (the step's share of the data path).")
    boolean preprocess;

    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, gpu or gpu:N (with --preprocess).")
    String device;

    @Override
    public Integer call() throws Exception {
        ai.djl.Device d = Devices.select(device);
        LoaderBenchmark.run(data, HicmaeConfig.preset(preset), batch, threads, seconds, warmup,
                Preprocessing.parse(preprocessing, d), preprocess, d, new Configuration()).print(System.out);
        return 0;
    }
}
