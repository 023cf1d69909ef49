using System.Text.Json;
using QaActors.Data;
using QaActors.Learning;
using QaActors.Orchestration.Persistence;
using QaActors.Sampling;
using LStepMetrics = QaActors.Learning.StepMetrics;

namespace QaActors.Orchestration.Training;

/// <summary>
/// How to reload an experiment's data for a resume by id: the arguments of
/// <see cref="PairTask.Load(DatasetSpec, int, int, DataSize, DataSize, ulong, string?)"/>, as text.
/// </summary>
public sealed record PairTaskRef(string Dataset, int ClassA, int ClassB, string TrainSize, string TestSize, ulong Seed, string? DataDir)
{
    public PairTask Load() => PairTask.Load(DatasetSpec.Parse(Dataset), ClassA, ClassB,
        DataSize.Parse(TrainSize, "--train-size"), DataSize.Parse(TestSize, "--test-size"), Seed, DataDir);
}

/// <summary>
/// The science library as an <see cref="ITrainingProcedure"/>: the same pieces, in the same order, as
/// <see cref="DirectTrainer"/> (StepPlan, EbmProblemBuilder, TrainingStep.LossGradient, Adam, Metrics), so a
/// run through the actors gives the same model as a direct run. The state object is the library's
/// <see cref="TrainerState"/>, and its checkpoint bytes are <see cref="TrainerState.ToBytes"/>.
/// Orchestration step s (1-based) is the library's update index s − 1.
/// </summary>
public sealed class LearningProcedure : ITrainingProcedure
{
    private readonly TrainingConfig _config;
    private readonly LabeledSet _train;
    private readonly LabeledSet _test;
    private MlpParameters? _gradient;

    public LearningProcedure(TrainingConfig config, LabeledSet train, LabeledSet test)
    {
        config.Validate();
        _config = config;
        _train = train;
        _test = test;
    }

    public TrainingConfig Config => _config;
    public string Method => _config.Method.ToWire();
    public long TotalSteps => _config.Steps;
    public bool NeedsSampling => _config.Method.NeedsSampler();

    public static string ConfigJson(TrainingConfig c) => JsonSerializer.Serialize(c);
    public static TrainingConfig ParseConfig(string json) =>
        JsonSerializer.Deserialize<TrainingConfig>(json) ?? throw new InvalidDataException("the experiment's training configuration is empty");
    public static string TaskJson(PairTaskRef r) => JsonSerializer.Serialize(r);
    public static PairTaskRef ParseTask(string json) =>
        JsonSerializer.Deserialize<PairTaskRef>(json) ?? throw new InvalidDataException("the experiment's data task is empty");

    /// <summary>The spec of a library training run.</summary>
    public static ExperimentSpec Spec(string experimentId, TrainingConfig config, PairTaskRef task, string fallback, string user, string solver = "") =>
        new(experimentId, config.Method.ToWire(), fallback, user, config.Method == TrainingMethod.Qpu ? solver : "",
            config.Seed, config.Steps, ConfigJson(config), TaskJson(task), DateTimeOffset.UtcNow);

    /// <summary>
    /// A procedure factory: uses <paramref name="loaded"/> when the spec's task matches it (no reload), and
    /// otherwise loads the data the spec names (resume by id).
    /// </summary>
    public static Func<ExperimentSpec, ITrainingProcedure> Factory(PairTaskRef? loadedRef = null, PairTask? loaded = null) => spec =>
    {
        var config = ParseConfig(spec.ConfigJson);
        var taskRef = ParseTask(spec.TaskJson);
        var task = loaded is not null && loadedRef is not null && loadedRef == taskRef ? loaded : taskRef.Load();
        return new LearningProcedure(config, task.Train, task.Test);
    };

    public object InitialState()
    {
        var state = TrainerState.Create(_config, _train.Features);
        TrainingStep.RecordInitial(state, _train, _test);
        return state;
    }

    public byte[] SaveState(object state) => ((TrainerState)state).ToBytes();

    public object RestoreState(byte[] bytes)
    {
        var s = TrainerState.FromBytes(bytes);
        if (s.Config != _config)
            throw new InvalidDataException("the checkpoint was written with a different training configuration than the experiment's");
        return s;
    }

    public (ulong, ulong, ulong, ulong) RngState(object state) => (0, 0, 0, 0); // every stream derives from (seed, step, example)

    public int[] BatchIndices(long step) => BatchSchedule.Indices(_config.Seed, checked((int)(step - 1)), _train.Count, _config.Batch);

    public Bqm[] BuildProblems(object state, long step, int[] batchIndices, int offset, int count)
    {
        var p = ((TrainerState)state).Parameters;
        var rows = _train.Take(batchIndices.AsSpan(offset, count));
        return EbmProblemBuilder.Build(p, rows.X, rows.Count);
    }

    public Gateway.ClassicalSettings ClassicalSettings => new(_config.Sweeps, _config.Beta);

    public Gateway.QpuJobSettings? QpuSettings => _config.Method == TrainingMethod.Qpu
        ? new Gateway.QpuJobSettings(_config.TEff, _config.AutoTemperature, _config.Tiles)
        : null;

    public SampleRequest SampleRequestFor(long step, int position) =>
        new(_config.Reads, _config.Beta, SeedPolicy.Derive(_config.Seed, step - 1, position, SeedPolicy.Purpose.Sample));

    /// <summary>
    /// The EBM's negative phase reads only the output variables' occurrence-weighted states (labels K..K+M−1), so
    /// those columns, with identical rows merged, reproduce the gradient bit for bit (counts are integers).
    /// </summary>
    public IReadOnlyList<int> ReplyLabels => _replyLabels ??= Enumerable.Range(0, _config.Outputs).Select(o => EbmProblemBuilder.OutputLabel(_config.Hidden, o)).ToArray();

    private int[]? _replyLabels;

    /// <summary>The same columns as the replies carry (a reply already reduced comes out unchanged).</summary>
    public IReadOnlyList<SampleSet>? ReduceForReplay(IReadOnlyList<SampleSet>? samples)
    {
        if (samples is null) return null;
        var labels = ReplyLabels.ToArray();
        return samples.Select(s => s.KeepColumns(labels)).ToArray();
    }

    public StepApplication Apply(object state, long step, int[] batchIndices, IReadOnlyList<SampleSet>? samples)
    {
        var s = (TrainerState)state;
        if (s.Step != step - 1) throw new InvalidOperationException($"state is after {s.Step} updates; step {step} needs {step - 1}");
        // A fresh megabyte-sized gradient per step would be a large-object allocation per step (and gen-2 collections).
        var grad = Interlocked.Exchange(ref _gradient, null) ?? s.Parameters.ZerosLike();
        double trainLoss;
        try { trainLoss = TrainingStep.Update(s, _train.Take(batchIndices), samples, grad); }
        finally { _gradient = grad; }
        if (TrainingStep.ShouldEvaluate(_config, s.Step))
            return new StepApplication(s, Values(TrainingStep.Record(s, trainLoss, _test)));
        return new StepApplication(s, [new("train_loss", trainLoss)]);
    }

    public IReadOnlyList<KeyValuePair<string, double>> InitialMetrics(object state) =>
        ((TrainerState)state).History is [var first, ..] ? Values(first) : [];

    private static KeyValuePair<string, double>[] Values(LStepMetrics m) =>
    [
        new("train_loss", m.TrainLoss), new("test_accuracy", m.TestAccuracy), new("ebm_test_accuracy", m.EbmTestAccuracy),
        new("cross_entropy", m.CrossEntropy), new("ebm_log_likelihood", m.EbmLogLikelihood),
    ];

    /// <summary>The run as the library reports it (so the CLI writes the same model file, metrics and report).</summary>
    public static TrainingResult ToTrainingResult(ExperimentResult run)
    {
        var state = (TrainerState)run.FinalState;
        var history = state.History.ToList();
        var points = history.Select(h => (h.Step, h.TestAccuracy)).ToList();
        var totals = new Dictionary<string, double> { ["qpu_access_time"] = run.Provenance.QpuAccessMicros };
        return new TrainingResult(state.Config, history, history[^1], Metrics.StepsTo70(points), Metrics.IsSuccess(points),
            state.Parameters, state, totals);
    }
}
