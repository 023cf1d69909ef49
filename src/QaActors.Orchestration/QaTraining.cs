using QaActors.Data;
using QaActors.Learning;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Gateway;
using QaActors.Orchestration.Persistence;
using QaActors.Orchestration.Training;
using QaActors.Sampling;

namespace QaActors.Orchestration;

/// <summary>Command-line options of `qa train` / `qa experiment` / `qa quota` that concern the actor system.</summary>
public sealed record RunOptions
{
    /// <summary>--fallback: gibbs | anneal | none.</summary>
    public string Fallback { get; init; } = Fallbacks.Gibbs;
    /// <summary>--user (null: $QA_USER or the OS user).</summary>
    public string? User { get; init; }
    /// <summary>--db: connection string or SQLite file (null: SQLite qa.db in the data dir, or the configured one).</summary>
    public string? Db { get; init; }
    /// <summary>--config FILE: HOCON overlay.</summary>
    public string? ConfigFile { get; init; }
    /// <summary>Data directory (the journal's home unless --db says otherwise).</summary>
    public required string DataDir { get; init; }
    /// <summary>--out: the experiment id is derived from it, so the same --out resumes the same experiment.</summary>
    public string? OutPath { get; init; }
    /// <summary>QPU solver name for --method qpu (the gateway to use).</summary>
    public string Solver { get; init; } = "default";
    /// <summary>QPU backends by solver name (the CLI builds them from the SAPI client and QPU sampler).</summary>
    public IReadOnlyDictionary<string, IQpuBackend> QpuBackends { get; init; } = new Dictionary<string, IQpuBackend>();
    /// <summary>Classical samplers for the pools (null: <see cref="QaTraining.DefaultSamplers"/> of the config).</summary>
    public IReadOnlyDictionary<string, Func<ISampler>>? Samplers { get; init; }
    /// <summary>Extra HOCON, highest priority after --db (tests, CLI flags such as a port).</summary>
    public string? ExtraHocon { get; init; }
}

/// <summary>A finished `qa train`: the library's result (for the model file and report) and the actor-side facts.</summary>
public sealed record TrainingRun(ExperimentResult Experiment, TrainingResult Result)
{
    public string ExperimentId => Experiment.ExperimentId;
    public Provenance Provenance => Experiment.Provenance;
}

/// <summary>
/// The CLI's entry points: each call starts the one-node actor system with the configuration the options
/// name, does its work through the actors, and shuts the system down.
/// </summary>
public static class QaTraining
{
    /// <summary>
    /// `qa train`: runs (or, for an existing experiment with the same --out, continues from its last
    /// persisted step) a training through the actor system.
    /// </summary>
    public static async Task<TrainingRun> RunAsync(TrainingConfig config, PairTask task, PairTaskRef taskRef, RunOptions options,
        IProgress<StepReport>? progress = null, CancellationToken cancellationToken = default)
    {
        config.Validate();
        string fallback = Fallbacks.Parse(options.Fallback);
        string id = options.OutPath is { } o ? ExperimentRunner.ExperimentIdFor(o) : ExperimentRunner.NewExperimentId();
        var spec = LearningProcedure.Spec(id, config, taskRef, fallback, options.User ?? ExperimentRunner.DefaultUser(), options.Solver);
        await using var qa = await Start(options, LearningProcedure.Factory(taskRef, task), config, cancellationToken).ConfigureAwait(false);
        var result = await new ExperimentRunner(qa).RunAsync(spec, progress, cancellationToken).ConfigureAwait(false);
        return new TrainingRun(result, LearningProcedure.ToTrainingResult(result));
    }

    /// <summary>`qa experiment resume ID`: continues from the last persisted step, with the experiment's own settings.</summary>
    public static async Task<TrainingRun> ResumeAsync(string experimentId, RunOptions options,
        IProgress<StepReport>? progress = null, CancellationToken cancellationToken = default)
    {
        // The sampler pools must sample as the experiment was configured, so its spec is read first.
        var summary = await ShowAsync(experimentId, options, cancellationToken).ConfigureAwait(false);
        var config = LearningProcedure.ParseConfig(summary.Spec.ConfigJson);
        await using var qa = await Start(options, LearningProcedure.Factory(), config, cancellationToken).ConfigureAwait(false);
        var r = await new ExperimentRunner(qa).ResumeAsync(experimentId, progress, cancellationToken).ConfigureAwait(false);
        return new TrainingRun(r, LearningProcedure.ToTrainingResult(r));
    }

    /// <summary>`qa experiment list`.</summary>
    public static Task<IReadOnlyList<ExperimentSummary>> ListAsync(RunOptions options, CancellationToken cancellationToken = default) =>
        With(options, r => r.ListAsync(cancellationToken), cancellationToken);

    /// <summary>`qa experiment show ID`.</summary>
    public static Task<ExperimentSummary> ShowAsync(string experimentId, RunOptions options, CancellationToken cancellationToken = default) =>
        With(options, r => r.ShowAsync(experimentId, cancellationToken), cancellationToken);

    /// <summary>`qa quota show [USER]`.</summary>
    public static Task<QuotaReport> QuotaShowAsync(string? user, RunOptions options, CancellationToken cancellationToken = default) =>
        With(options, r => r.QuotaShowAsync(user, cancellationToken), cancellationToken);

    /// <summary>`qa quota set USER SECONDS`.</summary>
    public static Task<QuotaReport> QuotaSetAsync(string user, double seconds, RunOptions options, CancellationToken cancellationToken = default) =>
        With(options, r => r.QuotaSetAsync(user, seconds, cancellationToken), cancellationToken);

    /// <summary>The classical samplers a training config implies (the same construction as the CLI's direct path).</summary>
    public static IReadOnlyDictionary<string, Func<ISampler>> DefaultSamplers(TrainingConfig? c) =>
        new[] { "gibbs", "anneal", "exact" }.ToDictionary(n => n, n => (Func<ISampler>)(() => TrainingSamplers.Create(n, c?.Sweeps, c?.Beta ?? 1.0)));

    public static QaSettings Settings(RunOptions options) =>
        QaConfig.Load(options.ConfigFile, options.DataDir, options.Db, options.ExtraHocon);

    private static Task<QaActorSystem> Start(RunOptions options, Func<ExperimentSpec, ITrainingProcedure> factory, TrainingConfig? config, CancellationToken ct) =>
        QaActorSystem.StartAsync(Settings(options), new QaServices
        {
            ProcedureFor = factory,
            ClassicalSamplers = options.Samplers ?? DefaultSamplers(config),
            QpuBackends = options.QpuBackends,
        }, ct);

    private static async Task<T> With<T>(RunOptions options, Func<ExperimentRunner, Task<T>> f, CancellationToken ct)
    {
        await using var qa = await Start(options, LearningProcedure.Factory(), null, ct).ConfigureAwait(false);
        return await f(new ExperimentRunner(qa)).ConfigureAwait(false);
    }
}
