package io.hicmae.driver.finetune;

import io.hicmae.driver.config.ConfigDef;
import io.hicmae.driver.spark.SparkJobCommand;
import io.hicmae.driver.spark.UserConf;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.Map;

/** {@code hicmae evaluate}: scores a fine-tuned zoo version on labelled clips; options from {@link EvaluateConfig#DEF}. */
@Command(
        name = "evaluate",
        mixinStandardHelpOptions = true,
        description = {
            "Scores a fine-tuned zoo version per video on labelled clips.",
            "As upstream tests: 2 clips per video, outputs averaged per video. Prints WAR, UAR, macro and weighted F1 "
                    + "and the confusion matrix (categories) or PCC and CCC per dimension (regression), and writes "
                    + "metrics.json and confusion-matrix.png to the zoo's evaluations area "
                    + "(<zoo>/_evaluations/<model>/<version>/<id>/), never into the version; --folds K scores each fold."
        })
public final class EvaluateCommand extends SparkJobCommand<EvaluateConfig> {

    /** Builds the command with one option per configuration key. */
    public static CommandLine commandLine() {
        return commandLine(new EvaluateCommand());
    }

    @Override
    protected ConfigDef definition() {
        return EvaluateConfig.DEF;
    }

    @Override
    protected EvaluateConfig parse(Map<String, String> raw) {
        return EvaluateConfig.parse(raw);
    }

    @Override
    protected Map<String, Object> values(EvaluateConfig cfg) {
        return cfg.values();
    }

    @Override
    protected SparkSession session(EvaluateConfig cfg, UserConf user) {
        return EvaluateJob.session(cfg, user);
    }

    @Override
    protected void run(EvaluateConfig cfg, SparkSession spark) throws Exception {
        new EvaluateJob(cfg, System.out).run(spark);
    }
}
