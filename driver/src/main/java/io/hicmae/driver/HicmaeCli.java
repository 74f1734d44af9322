package io.hicmae.driver;

import io.hicmae.driver.zoo.ZooCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code bin/hicmae} entry point. Each sub-command is one user-facing job; only commands that work are
 * registered here, so {@code --help} lists exactly what a user can run.
 */
@Command(
        name = "hicmae",
        mixinStandardHelpOptions = true,
        versionProvider = HicmaeCli.Version.class,
        description = "Distributed HiCMAE pre-training, fine-tuning and evaluation on Spark.",
        subcommands = {
            CommandLine.HelpCommand.class,
            io.hicmae.driver.model.DemoCommand.class,
            io.hicmae.driver.model.GoldenCommand.class,
            io.hicmae.driver.bench.BenchCommand.class,
            ZooCommand.class,
            io.hicmae.driver.zoo.RunsCommand.class,
            io.hicmae.driver.prep.PrepCommand.class,
            io.hicmae.driver.prep.SynthCommand.class,
            QuickstartCommand.class,
        })
public final class HicmaeCli implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(newCommandLine().execute(args));
    }

    /** A command line with every sub-command registered and the project's error handling. */
    public static CommandLine newCommandLine() {
        CommandLine cli = new CommandLine(new HicmaeCli());
        cli.addSubcommand("pretrain", io.hicmae.driver.pretrain.PretrainCommand.commandLine());
        cli.addSubcommand("finetune", io.hicmae.driver.finetune.FinetuneCommand.commandLine());
        cli.addSubcommand("evaluate", io.hicmae.driver.finetune.EvaluateCommand.commandLine());
        cli.setExecutionExceptionHandler(
                (ex, cmd, parsed) -> {
                    cmd.getErr().println("hicmae " + cmd.getCommandName() + ": " + ex.getMessage());
                    if (System.getenv("HICMAE_DEBUG") != null) {
                        ex.printStackTrace(cmd.getErr());
                    }
                    return 1;
                });
        return cli;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Reports the build's version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = HicmaeCli.class.getPackage().getImplementationVersion();
            return new String[] {"hicmae " + (v == null ? "development build" : v)};
        }
    }
}
