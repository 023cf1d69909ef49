using System.Text.Json.Serialization;
using QaActors.Data;
using QaActors.Sampling;

namespace QaActors.Learning;

/// <summary>How the gradient is obtained: MLP backprop (Classical-1) or the EBM gradient with its negative phase exact or sampled.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TrainingMethod>))]
public enum TrainingMethod
{
    Backprop,
    Exact,
    Gibbs,
    Anneal,
    Qpu,
}

/// <summary>Which initialisation: Auto picks MLP init for backprop and EBM init for the EBM methods (paper Sec. 5.1).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<InitKind>))]
public enum InitKind
{
    Auto,
    Mlp,
    Ebm,
}

public static class TrainingMethodNames
{
    public static string ToWire(this TrainingMethod m) => m.ToString().ToLowerInvariant();

    public static TrainingMethod Parse(string text) => text.ToLowerInvariant() switch
    {
        "backprop" => TrainingMethod.Backprop,
        "exact" => TrainingMethod.Exact,
        "gibbs" => TrainingMethod.Gibbs,
        "anneal" => TrainingMethod.Anneal,
        "qpu" => TrainingMethod.Qpu,
        _ => throw new ArgumentException($"method '{text}' is not known; use backprop, exact, gibbs, anneal or qpu"),
    };

    /// <summary>Whether the method needs an <see cref="ISampler"/> for its negative phase.</summary>
    public static bool NeedsSampler(this TrainingMethod m) => m is TrainingMethod.Gibbs or TrainingMethod.Anneal or TrainingMethod.Qpu;
}

/// <summary>
/// Everything that determines a training run (defaults: the paper's Sec. 5.2 settings). Dataset/class fields are
/// metadata carried into model files and checkpoints. <see cref="Beta"/> is the inverse temperature at which the model's
/// per-example problems are sampled (1: the model itself); <see cref="TEff"/>, <see cref="AutoTemperature"/> and
/// <see cref="Tiles"/> concern the QPU only (docs/math.md, "Temperature").
/// </summary>
public sealed record TrainingConfig
{
    public TrainingMethod Method { get; init; } = TrainingMethod.Backprop;
    public int Hidden { get; init; } = 548;
    public int Outputs { get; init; } = 1;
    public int Batch { get; init; } = 5;
    public double LearningRate { get; init; } = 0.1;
    public int Steps { get; init; } = 20;
    /// <summary>The QPU's temperature factor T (paper: 16): the QPU side multiplies each problem by β/T. 1 for classical methods.</summary>
    public double TEff { get; init; } = 1.0;
    /// <summary>qpu: T follows the hardware β estimated from the samples, starting at <see cref="TEff"/>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool AutoTemperature { get; init; }
    /// <summary>qpu: problems of a step placed on the chip per call (1 = one call per example).</summary>
    [JsonIgnore]
    public int Tiles { get; init; } = 1;

    // Written only when not 1, so the configuration text of experiments persisted before tiling existed stays the same.
    [JsonInclude, JsonPropertyName("Tiles"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    private int? TilesJson { get => Tiles == 1 ? null : Tiles; init => Tiles = value ?? 1; }
    public double Beta { get; init; } = 1.0;
    public int Reads { get; init; } = 100;
    /// <summary>Sweeps for gibbs/anneal (null: the sampler's default). Recorded here; the sampler is built with it.</summary>
    public int? Sweeps { get; init; }
    public ulong Seed { get; init; } = 1;
    /// <summary>Record test metrics every this many steps (and always at step 0 and at the last step).</summary>
    public int EvalEvery { get; init; } = 1;
    public InitKind Init { get; init; } = InitKind.Auto;
    public string Dataset { get; init; } = "";
    public int ClassA { get; init; }
    public int ClassB { get; init; } = 1;
    public int TrainSize { get; init; }
    public int TestSize { get; init; }

    public InitKind EffectiveInit => Init != InitKind.Auto ? Init : Method == TrainingMethod.Backprop ? InitKind.Mlp : InitKind.Ebm;

    public void Validate()
    {
        if (Hidden < 1) throw new ArgumentException($"hidden = {Hidden}: the hidden layer needs at least one unit");
        if (Outputs < 1 || Outputs > Ebm.MaxOutputs) throw new ArgumentException($"outputs = {Outputs}: use 1..{Ebm.MaxOutputs}");
        if (Batch < 1) throw new ArgumentException($"batch = {Batch}: a batch needs at least one example");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentException($"lr = {LearningRate}: the learning rate must be positive and finite");
        if (Steps < 0) throw new ArgumentException($"steps = {Steps}: must be zero or more");
        if (!(TEff > 0) || double.IsInfinity(TEff)) throw new ArgumentException($"t-eff = {TEff}: must be positive and finite");
        if (!(Beta > 0) || double.IsInfinity(Beta)) throw new ArgumentException($"beta = {Beta}: must be positive and finite");
        if (Tiles < 1) throw new ArgumentException($"tiles = {Tiles}: at least one problem per QPU call");
        if (Method != TrainingMethod.Qpu && (TEff != 1 || AutoTemperature || Tiles != 1))
            throw new ArgumentException($"t-eff, auto temperature and tiles concern the QPU; method {Method.ToWire()} samples at beta (now {Beta})");
        if (Reads < 1) throw new ArgumentException($"reads = {Reads}: at least one read per example is needed");
        if (Sweeps is < 1) throw new ArgumentException($"sweeps = {Sweeps}: at least one sweep is needed");
        if (EvalEvery < 1) throw new ArgumentException($"eval-every = {EvalEvery}: must be at least 1");
    }

    public MlpParameters InitialParameters(int inputs) => EffectiveInit == InitKind.Mlp
        ? MlpParameters.InitMlp(inputs, Hidden, Outputs, Seed)
        : MlpParameters.InitEbm(inputs, Hidden, Outputs, Seed);
}

/// <summary>
/// Which training examples each step uses, deterministically from the seed. Epoch style: the index stream is the
/// concatenation of permutations of 0..n−1, permutation e drawn from SeedPolicy(seed, e, 0, Purpose.Batch) by
/// Fisher-Yates; step s (0-based update index) takes stream positions [s·batch, (s+1)·batch). Every example is
/// seen once per epoch; a batch that straddles two epochs may repeat an example (only then).
/// </summary>
public static class BatchSchedule
{
    public static int[] Indices(ulong seed, int step, int trainCount, int batch)
    {
        if (trainCount < 1) throw new ArgumentException("the training set is empty; a batch needs at least one example");
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be at least 1");
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "step must be non-negative");
        var result = new int[batch];
        long pos = (long)step * batch;
        long epoch = pos / trainCount;
        int offset = (int)(pos % trainCount);
        int filled = 0;
        while (filled < batch)
        {
            var perm = Permutation(seed, epoch, trainCount);
            int take = Math.Min(batch - filled, trainCount - offset);
            Array.Copy(perm, offset, result, filled, take);
            filled += take;
            epoch++;
            offset = 0;
        }
        return result;
    }

    public static int[] Permutation(ulong seed, long epoch, int n)
    {
        var rng = SeedPolicy.For(seed, epoch, 0, SeedPolicy.Purpose.Batch);
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }
}

/// <summary>
/// One training step's work, as the actor layer distributes it: the batch (indices into the training set and the
/// gathered rows), its per-example problems and per-example sampler requests. Step is the 0-based update index.
/// </summary>
public sealed record StepPlan(int Step, int[] Indices, LabeledSet Batch)
{
    public static StepPlan Create(TrainingConfig config, LabeledSet train, int step)
    {
        var idx = BatchSchedule.Indices(config.Seed, step, train.Count, config.Batch);
        return new StepPlan(step, idx, train.Take(idx));
    }

    /// <summary>Per-example BQMs (see <see cref="EbmProblemBuilder"/>), from one batched W1·x.</summary>
    public Bqm[] BuildProblems(MlpParameters p) => EbmProblemBuilder.Build(p, Batch.X, Batch.Count);

    /// <summary>Every example's sampler request, in batch order.</summary>
    public SampleRequest[] Requests(TrainingConfig config) => Enumerable.Range(0, Indices.Length).Select(i => Request(config, i)).ToArray();

    /// <summary>The sampler seed of the example at <paramref name="position"/> in this batch: SeedPolicy(seed, step, position, Sample).</summary>
    public ulong SampleSeed(ulong seed, int position) => SeedPolicy.Derive(seed, Step, position, SeedPolicy.Purpose.Sample);

    public SampleRequest Request(TrainingConfig config, int position) => new(config.Reads, config.Beta, SampleSeed(config.Seed, position));
}

/// <summary>The composable pieces of one update; the direct trainer and the actors call exactly these.</summary>
public static class TrainingStep
{
    /// <summary>
    /// The LOSS gradient for the configured method into <paramref name="lossGradient"/> (for EBM methods the
    /// negated log-likelihood ascent gradient, so that <see cref="ApplyAdam"/> is the same for every method).
    /// <paramref name="samples"/> (one per batch row) is required for gibbs/anneal/qpu and ignored otherwise.
    /// Returns the batch objective: mean BCE for backprop, mean exact log P(y|x) for the EBM methods.
    /// </summary>
    public static double LossGradient(TrainingConfig config, MlpParameters p, LabeledSet batch, IReadOnlyList<SampleSet>? samples, MlpParameters lossGradient)
    {
        switch (config.Method)
        {
            case TrainingMethod.Backprop:
                return Mlp.Gradient(p, batch.X, batch.Y, batch.Count, lossGradient);
            case TrainingMethod.Exact:
            {
                double ll = Ebm.ExactGradient(p, batch.X, batch.Y, batch.Count, lossGradient);
                Negate(lossGradient);
                return ll;
            }
            default:
            {
                if (samples is null) throw new ArgumentException($"method {config.Method.ToWire()} needs one sample set per example", nameof(samples));
                double ll = Ebm.SampledGradient(p, batch.X, batch.Y, batch.Count, samples, lossGradient);
                Negate(lossGradient);
                return ll;
            }
        }
    }

    /// <summary>
    /// One update from a batch and (for the sampling methods) its sample sets: loss gradient, Adam step. Returns the MLP's
    /// batch cross-entropy before the update. Every engine (direct, actors, replay on recovery) calls this, so they agree
    /// bit for bit. <paramref name="gradientBuffer"/> is overwritten; reuse it across steps (it is megabytes).
    /// </summary>
    public static double Update(TrainerState state, LabeledSet batch, IReadOnlyList<SampleSet>? samples, MlpParameters gradientBuffer)
    {
        var config = state.Config;
        var p = state.Parameters;
        double trainLoss;
        if (config.Method == TrainingMethod.Backprop)
        {
            // Backprop's objective is that same batch cross-entropy: no second forward pass needed.
            trainLoss = LossGradient(config, p, batch, samples, gradientBuffer);
        }
        else
        {
            trainLoss = BatchTrainLoss(p, batch);
            LossGradient(config, p, batch, samples, gradientBuffer);
        }
        ApplyAdam(state, gradientBuffer);
        return trainLoss;
    }

    /// <summary>The MLP's mean cross-entropy on the batch (the history's train_loss; call it before the update).</summary>
    public static double BatchTrainLoss(MlpParameters p, LabeledSet batch) =>
        Mlp.MeanCrossEntropy(Mlp.Logits(p, batch.X, batch.Count), batch.Y, batch.Count, p.Outputs);

    /// <summary>Whether metrics are recorded after <paramref name="stepsDone"/> updates: every EvalEvery and at the last step.</summary>
    public static bool ShouldEvaluate(TrainingConfig config, int stepsDone) =>
        stepsDone % config.EvalEvery == 0 || stepsDone == config.Steps;

    /// <summary>Step 0 of the history (the untrained model): train_loss over the whole training set, test metrics.</summary>
    public static StepMetrics RecordInitial(TrainerState state, LabeledSet train, LabeledSet test)
    {
        var full = Mlp.Logits(state.Parameters, train.X, train.Count);
        return Record(state, Mlp.MeanCrossEntropy(full, train.Y, train.Count, state.Config.Outputs), test);
    }

    /// <summary>Evaluates the current parameters on the test set and appends the entry for <see cref="TrainerState.Step"/>.</summary>
    public static StepMetrics Record(TrainerState state, double trainLoss, LabeledSet test)
    {
        var e = Metrics.Evaluate(state.Parameters, test);
        var m = new StepMetrics(state.Step, trainLoss, e.Accuracy, e.EbmAccuracy, e.CrossEntropy, e.EbmLogLikelihood);
        state.History.Add(m);
        return m;
    }

    /// <summary>The run's result from its state (history, final metrics, steps to 70 %, success).</summary>
    public static TrainingResult Result(TrainerState state, IReadOnlyDictionary<string, double>? samplerTotals = null)
    {
        if (state.History.Count == 0) throw new InvalidOperationException("no metrics recorded yet; record step 0 first");
        var history = state.History.ToList();
        var points = history.Select(h => (h.Step, h.TestAccuracy)).ToList();
        return new TrainingResult(state.Config, history, history[^1], Metrics.StepsTo70(points), Metrics.IsSuccess(points),
            state.Parameters, state, samplerTotals ?? new Dictionary<string, double>());
    }

    public static void ApplyAdam(TrainerState state, MlpParameters lossGradient)
    {
        new Adam(state.Adam, state.Config.LearningRate).Step(state.Parameters, lossGradient);
        state.Step++;
    }

    private static void Negate(MlpParameters g)
    {
        foreach (var t in g.Tensors) System.Numerics.Tensors.TensorPrimitives.Negate(t, t);
    }
}
