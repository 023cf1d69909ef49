using System.CommandLine;

namespace QaActors.Cli.Commands;

/// <summary>Every top-level command of <c>qa</c>, in the order `qa --help` lists them.</summary>
public static class CommandCatalog
{
    public static IEnumerable<Command> All()
    {
        yield return DataCommand.Create();
        yield return TrainCommand.Create();
        yield return EvalCommand.Create();
        yield return EquivalenceCommand.Create();
        yield return SampleCommand.Create();
        yield return TopologyCommands.Topology();
        yield return TopologyCommands.Embed();
        yield return SapiSimCommand.Create();
        yield return ExperimentCommands.Experiment();
        yield return ExperimentCommands.Quota();
    }

    /// <summary>Exception types from the libraries that mean "bad input" (exit 2) rather than a failure.</summary>
    public static bool IsUsageError(Exception e) => e is QaActors.Data.DataException || ExperimentCommands.IsUsageError(e)
        || e is QaActors.Learning.ModelFormatException || e is QaActors.DWave.Config.DWaveConfigException;
}
