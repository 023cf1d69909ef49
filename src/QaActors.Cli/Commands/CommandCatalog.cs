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
        yield return NodeCommand.Create();
        yield return UserCommands.Create();
        yield return ExperimentCommands.Experiment();
        yield return ExperimentCommands.Quota();
    }

    /// <summary>Exception types from the libraries that mean "bad input" (exit 2) rather than a failure.</summary>
    public static bool IsUsageError(Exception e) => e is QaActors.Data.DataException || e is QaActors.Sampling.ProblemFormatException || ExperimentCommands.IsUsageError(e)
        || e is QaActors.Learning.ModelFormatException || e is QaActors.DWave.Config.DWaveConfigException;

    /// <summary>What the user can do about a failure that is not their input, or null.</summary>
    public static string? Hint(Exception e) => e is QaActors.DWave.Sapi.SapiException s ? s.Kind switch
    {
        QaActors.DWave.Sapi.SapiErrorKind.BadProblem when !s.DoesNotFitSolver => "the request was refused before it ran; see the message above",
        QaActors.DWave.Sapi.SapiErrorKind.Authentication => "check DWAVE_API_TOKEN (or the token in dwave.conf) for this endpoint",
        QaActors.DWave.Sapi.SapiErrorKind.NotFound => "check --solver / DWAVE_API_SOLVER against the solvers the endpoint lists",
        QaActors.DWave.Sapi.SapiErrorKind.BadProblem => "the problem does not fit the solver (graph, ranges or parameters); see the message above",
        _ => "the D-Wave service cannot serve now; retry later, or sample classically (--sampler gibbs, or qa train with --fallback gibbs)",
    } : null;
}
