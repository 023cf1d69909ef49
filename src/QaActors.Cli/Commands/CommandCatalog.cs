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
        yield return CampaignCommands.Create();
    }

    /// <summary>Exception types from the libraries that mean "bad input" (exit 2) rather than a failure.</summary>
    public static bool IsUsageError(Exception e) => e is QaActors.Data.DataException || e is QaActors.Sampling.ProblemFormatException || ExperimentCommands.IsUsageError(e)
        || e is QaActors.Learning.ModelFormatException || e is QaActors.DWave.Config.DWaveConfigException;

    /// <summary>
    /// Failures of the user's input that reach us as another component's exception, worded for the command line: a
    /// token the endpoint refuses is the user's setting (exit 2), and the fix names the settings qa really takes.
    /// </summary>
    public static string? UsageLine(Exception e) => e switch
    {
        QaActors.DWave.Sapi.SapiException { Kind: QaActors.DWave.Sapi.SapiErrorKind.Authentication } s =>
            $"the SAPI endpoint refused the API token (HTTP {s.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "401"}); set DWAVE_API_TOKEN, or the token of the dwave.conf profile (--dwave-config FILE, --profile NAME), to a token this endpoint accepts.",
        KeyNotFoundException k when k.Message.StartsWith("experiment", StringComparison.Ordinal) =>
            $"{k.Message.TrimEnd('.')} in this journal; `qa experiment list` shows its experiments (with the same --db).",
        _ => null,
    };

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
