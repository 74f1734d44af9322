package io.hicmae.driver.pretrain;

import io.hicmae.driver.config.ConfigDef;
import io.hicmae.driver.spark.SparkJobCommand;
import io.hicmae.driver.spark.UserConf;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.Map;

/** {@code hicmae pretrain}: distributed HiCMAE pre-training on Spark; options come from {@link PretrainConfig#DEF}. */
@Command(
        name = "pretrain",
        mixinStandardHelpOptions = true,
        description = {
            "Pre-trains HiCMAE on a clip dataset as one Spark barrier stage with ring all-reduce, then publishes it.",
            "Runs in local mode unless spark-submit (or --master) says otherwise. Checkpoints go to the zoo's run",
            "area; a failed stage is resubmitted from the last checkpoint; the result becomes a new zoo version."
        })
public final class PretrainCommand extends SparkJobCommand<PretrainConfig> {

    /** Builds the command with one option per configuration key. */
    public static CommandLine commandLine() {
        return commandLine(new PretrainCommand());
    }

    @Override
    protected ConfigDef definition() {
        return PretrainConfig.DEF;
    }

    @Override
    protected PretrainConfig parse(Map<String, String> raw) {
        return PretrainConfig.parse(raw);
    }

    @Override
    protected Map<String, Object> values(PretrainConfig cfg) {
        return cfg.values();
    }

    @Override
    protected SparkSession session(PretrainConfig cfg, UserConf user) {
        return PretrainJob.session(cfg, user);
    }

    @Override
    protected void run(PretrainConfig cfg, SparkSession spark) throws Exception {
        new PretrainJob(cfg, System.out).run(spark);
    }
}
