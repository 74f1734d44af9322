package io.hicmae.driver.finetune;

import io.hicmae.driver.config.ConfigDef;
import io.hicmae.driver.spark.SparkJobCommand;
import io.hicmae.driver.spark.UserConf;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.Map;

/** {@code hicmae finetune}: fine-tunes a pre-trained zoo version on labelled clips; options from {@link FinetuneConfig#DEF}. */
@Command(
        name = "finetune",
        mixinStandardHelpOptions = true,
        description = {
            "Fine-tunes a pre-trained zoo version on a labelled clip dataset and publishes the result.",
            "The task (classification or regression) comes from the dataset's label space. Runs as one Spark barrier "
                    + "stage with ring all-reduce, validates after every epoch (2 clips per video averaged), and "
                    + "publishes a new version whose lineage names the parent. Defaults are the authors' recipe; "
                    + "--folds K runs K-fold cross-validation, one version per fold."
        })
public final class FinetuneCommand extends SparkJobCommand<FinetuneConfig> {

    /** Builds the command with one option per configuration key. */
    public static CommandLine commandLine() {
        return commandLine(new FinetuneCommand());
    }

    @Override
    protected ConfigDef definition() {
        return FinetuneConfig.DEF;
    }

    @Override
    protected FinetuneConfig parse(Map<String, String> raw) {
        return FinetuneConfig.parse(raw);
    }

    @Override
    protected Map<String, Object> values(FinetuneConfig cfg) {
        return cfg.values();
    }

    @Override
    protected SparkSession session(FinetuneConfig cfg, UserConf user) {
        return FinetuneJob.session(cfg, user);
    }

    @Override
    protected void run(FinetuneConfig cfg, SparkSession spark) throws Exception {
        new FinetuneJob(cfg, System.out).run(spark);
    }
}
