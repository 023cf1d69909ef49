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
    public IReadOnlyDictionary<string, Func<ClassicalSettings, ISampler>>? Samplers { get; init; }
    /// <summary>Extra HOCON, highest priority after --db (tests, CLI flags such as a port).</summary>
    public string? ExtraHocon { get; init; }
    /// <summary>HOCON of the host that a --config file may override (the CLI's log level).</summary>
    public string? HostDefaultsHocon { get; init; }
}

/// <summary>
/// `qa train` named an --out whose experiment exists with other settings: the user's input (the CLI exits 2).
/// </summary>
public sealed class ExperimentSettingsMismatchException(string experimentId, string difference)
    : Exception($"experiment '{experimentId}' already exists for this --out with {difference}; use another --out for new settings, or repeat the original settings to continue it (`qa experiment show {experimentId}` lists them)")
{
    public string ExperimentId { get; } = experimentId;
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
    /// <param name="continuing">Told, before the first new step, the persisted summary when the experiment of this --out
    /// already exists (the CLI says that it continues and from which step).</param>
    public static async Task<TrainingRun> RunAsync(TrainingConfig config, PairTask task, PairTaskRef taskRef, RunOptions options,
        IProgress<StepReport>? progress = null, CancellationToken cancellationToken = default, Action<ExperimentSummary>? continuing = null)
    {
        config.Validate();
        string fallback = Fallbacks.Parse(options.Fallback);
        string id = options.OutPath is { } o ? ExperimentRunner.ExperimentIdFor(o) : ExperimentRunner.NewExperimentId();
        var spec = LearningProcedure.Spec(id, config, taskRef, fallback, options.User ?? ExperimentRunner.DefaultUser(), options.Solver);
        if (options.OutPath is { } outPath) spec = spec with { TaskJson = ExperimentOutput.With(spec.TaskJson, Path.GetFullPath(outPath)) };
        await using var qa = await Start(options, LearningProcedure.Factory(taskRef, task), config, cancellationToken).ConfigureAwait(false);
        var runner = new ExperimentRunner(qa);
        if (options.OutPath is not null && await TryShow(runner, id, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            spec = Reconcile(existing.Spec, spec, taskRef);
            continuing?.Invoke(existing);
        }
        var result = await runner.RunAsync(spec, progress, cancellationToken).ConfigureAwait(false);
        return new TrainingRun(result, LearningProcedure.ToTrainingResult(result));
    }

    private static async Task<ExperimentSummary?> TryShow(ExperimentRunner runner, string id, CancellationToken ct)
    {
        try { return await runner.ShowAsync(id, ct).ConfigureAwait(false); }
        catch (KeyNotFoundException) { return null; }
    }

    /// <summary>
    /// The spec to start with when the experiment exists: its own (the trainer accepts only an identical one), after
    /// checking that this command asks for the same training, so that a mismatch is named here, setting by setting.
    /// The task is compared as data (what is loaded), not as text: experiments persisted before the task carried its
    /// output folder continue as they are.
    /// </summary>
    private static ExperimentSpec Reconcile(ExperimentSpec persisted, ExperimentSpec requested, PairTaskRef taskRef)
    {
        var differences = new List<string>();
        void Compare<T>(string name, T had, T asked)
        {
            if (!EqualityComparer<T>.Default.Equals(had, asked)) differences.Add($"{name} {had} (this command: {asked})");
        }
        Compare("method", persisted.Method, requested.Method);
        Compare("seed", persisted.Seed, requested.Seed);
        Compare("steps", persisted.TotalSteps, requested.TotalSteps);
        if (persisted.ConfigJson != requested.ConfigJson)
        {
            var had = LearningProcedure.ParseConfig(persisted.ConfigJson);
            var asked = LearningProcedure.ParseConfig(requested.ConfigJson);
            Compare("hidden", had.Hidden, asked.Hidden);
            Compare("batch", had.Batch, asked.Batch);
            Compare("lr", had.LearningRate, asked.LearningRate);
            Compare("t-eff", had.TEff, asked.TEff);
            Compare("beta", had.Beta, asked.Beta);
            Compare("reads", had.Reads, asked.Reads);
            Compare("sweeps", had.Sweeps, asked.Sweeps);
            Compare("eval-every", had.EvalEvery, asked.EvalEvery);
            if (differences.Count == 0) differences.Add("another training configuration");
        }
        var hadTask = LearningProcedure.ParseTask(persisted.TaskJson);
        if (hadTask != taskRef)
        {
            Compare("dataset", hadTask.Dataset, taskRef.Dataset);
            Compare("classes", $"{hadTask.ClassA},{hadTask.ClassB}", $"{taskRef.ClassA},{taskRef.ClassB}");
            Compare("train-size", hadTask.TrainSize, taskRef.TrainSize);
            Compare("test-size", hadTask.TestSize, taskRef.TestSize);
            Compare("data-dir", hadTask.DataDir, taskRef.DataDir);
            if (differences.Count == 0) differences.Add("another data task");
        }
        if (differences.Count > 0) throw new ExperimentSettingsMismatchException(persisted.ExperimentId, string.Join(", ", differences));
        // User, solver and fallback may change between runs (whose quota, which QPU), as the trainer allows.
        return requested with { TaskJson = persisted.TaskJson };
    }

    /// <summary>`qa experiment resume ID`: continues from the last persisted step, with the experiment's own settings.</summary>
    /// <param name="known">The experiment's summary when the caller has just read it (saves one start of the system).</param>
    public static async Task<TrainingRun> ResumeAsync(string experimentId, RunOptions options,
        IProgress<StepReport>? progress = null, CancellationToken cancellationToken = default, ExperimentSummary? known = null)
    {
        // The sampler pools must sample as the experiment was configured, so its spec is read first.
        var summary = known ?? await ShowAsync(experimentId, options, cancellationToken).ConfigureAwait(false);
        var config = LearningProcedure.ParseConfig(summary.Spec.ConfigJson);
        await using var qa = await Start(options, LearningProcedure.Factory(), config, cancellationToken).ConfigureAwait(false);
        var r = await new ExperimentRunner(qa).ResumeAsync(experimentId, progress, cancellationToken).ConfigureAwait(false);
        return new TrainingRun(r, LearningProcedure.ToTrainingResult(r));
    }

    /// <summary>The --out a `qa train` gave the experiment, or null for experiments persisted before it was recorded.</summary>
    public static string? OutputFolderOf(ExperimentSpec spec) => ExperimentOutput.Of(spec.TaskJson);

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

    /// <summary>The classical samplers, built for each job's settings as the direct path builds them (<see cref="TrainingSamplers.Create"/>).</summary>
    public static IReadOnlyDictionary<string, Func<ClassicalSettings, ISampler>> DefaultSamplers() =>
        new[] { "gibbs", "anneal", "exact" }.ToDictionary(n => n, n => (Func<ClassicalSettings, ISampler>)(s => TrainingSamplers.Create(n, s.Sweeps, s.Beta)));

    public static QaSettings Settings(RunOptions options) =>
        QaConfig.Load(options.ConfigFile, options.DataDir, options.Db, options.ExtraHocon, options.HostDefaultsHocon);

    private static Task<QaActorSystem> Start(RunOptions options, Func<ExperimentSpec, ITrainingProcedure> factory, TrainingConfig? config, CancellationToken ct)
    {
        var settings = Settings(options);
        JournalCheck.Verify(settings, options.Db is not null ? "--db" : "qa.persistence.connection-string");
        return QaActorSystem.StartAsync(settings, new QaServices
        {
            ProcedureFor = factory,
            ClassicalSamplers = options.Samplers ?? DefaultSamplers(),
            QpuBackends = options.QpuBackends,
        }, ct);
    }

    private static async Task<T> With<T>(RunOptions options, Func<ExperimentRunner, Task<T>> f, CancellationToken ct)
    {
        await using var qa = await Start(options, LearningProcedure.Factory(), null, ct).ConfigureAwait(false);
        return await f(new ExperimentRunner(qa)).ConfigureAwait(false);
    }
}
