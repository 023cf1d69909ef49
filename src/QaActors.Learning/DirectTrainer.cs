using QaActors.Data;
using QaActors.Sampling;

namespace QaActors.Learning;

/// <summary>Outcome of a training run.</summary>
public sealed record TrainingResult(
    TrainingConfig Config,
    IReadOnlyList<StepMetrics> History,
    StepMetrics Final,
    int? StepsTo70,
    bool Success,
    MlpParameters Parameters,
    TrainerState State,
    /// <summary>Sums over every sample set of the run of the samplers' Timing (µs) and numeric Properties, by key.</summary>
    IReadOnlyDictionary<string, double> SamplerTotals);

/// <summary>
/// Trains in-process by composing the same pieces the actor layer distributes (<see cref="StepPlan"/>,
/// <see cref="TrainingStep"/>), so both give identical results. The examples of a batch are sampled concurrently
/// (each on the thread pool); each example's seed comes from SeedPolicy, and results are kept by position, so
/// nothing depends on completion order.
/// </summary>
public static class DirectTrainer
{
    /// <summary>Trains on a class-pair task (its train and test sets).</summary>
    public static TrainingResult Run(TrainingConfig config, PairTask task, ISampler? sampler = null,
        Action<StepMetrics>? onStep = null, CancellationToken cancellationToken = default) =>
        Run(config, task.Train, task.Test, sampler, onStep, cancellationToken);

    public static TrainingResult Run(TrainingConfig config, LabeledSet train, LabeledSet test, ISampler? sampler = null,
        Action<StepMetrics>? onStep = null, CancellationToken cancellationToken = default) =>
        RunAsync(config, train, test, sampler, onStep, cancellationToken).GetAwaiter().GetResult();

    public static Task<TrainingResult> RunAsync(TrainingConfig config, LabeledSet train, LabeledSet test, ISampler? sampler = null,
        Action<StepMetrics>? onStep = null, CancellationToken cancellationToken = default)
    {
        config.Validate();
        return ResumeAsync(TrainerState.Create(config, train.Features), train, test, sampler, onStep, cancellationToken);
    }

    /// <summary>Continues from a state (fresh or restored from a checkpoint) until <see cref="TrainingConfig.Steps"/> updates.</summary>
    public static async Task<TrainingResult> ResumeAsync(TrainerState state, LabeledSet train, LabeledSet test, ISampler? sampler = null,
        Action<StepMetrics>? onStep = null, CancellationToken cancellationToken = default)
    {
        var config = state.Config;
        config.Validate();
        Numerics.CheckSet(state.Parameters, train, "training set");
        Numerics.CheckSet(state.Parameters, test, "test set");
        if (config.Method.NeedsSampler() && sampler is null)
            throw new ArgumentException($"method {config.Method.ToWire()} needs a sampler for its negative phase; pass one (gibbs, anneal or qpu)", nameof(sampler));
        var totals = new Dictionary<string, double>();
        if (state.History.Count == 0)
        {
            var first = TrainingStep.RecordInitial(state, train, test);
            onStep?.Invoke(first);
        }
        var grad = state.Parameters.ZerosLike();
        while (state.Step < config.Steps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var plan = StepPlan.Create(config, train, state.Step);
            double trainLoss = await StepAsync(state, plan, sampler, grad, totals, cancellationToken).ConfigureAwait(false);
            if (TrainingStep.ShouldEvaluate(config, state.Step))
            {
                // Not inside onStep?.Invoke(...): its argument is skipped when there is no callback.
                var m = TrainingStep.Record(state, trainLoss, test);
                onStep?.Invoke(m);
            }
        }
        return TrainingStep.Result(state, totals);
    }

    /// <summary>
    /// One update: samples the batch's problems when the method needs it, computes the loss gradient, applies Adam.
    /// Returns the MLP's batch cross-entropy before the update.
    /// </summary>
    public static async Task<double> StepAsync(TrainerState state, StepPlan plan, ISampler? sampler, MlpParameters gradientBuffer,
        IDictionary<string, double>? samplerTotals = null, CancellationToken cancellationToken = default)
    {
        var config = state.Config;
        var p = state.Parameters;
        var batch = plan.Batch;
        IReadOnlyList<SampleSet>? samples = null;
        if (config.Method.NeedsSampler())
        {
            if (sampler is null) throw new ArgumentException($"method {config.Method.ToWire()} needs a sampler", nameof(sampler));
            var problems = plan.BuildProblems(p);
            if (sampler is IBatchSampler many)
            {
                // One call for the whole batch (a QPU tiles the examples on the chip), each example with its own request.
                samples = await many.SampleManyAsync(problems, plan.Requests(config), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var tasks = new Task<SampleSet>[problems.Length];
                for (int i = 0; i < problems.Length; i++)
                {
                    var problem = problems[i];
                    var request = plan.Request(config, i);
                    tasks[i] = Task.Run(() => sampler.SampleAsync(problem, request, cancellationToken), cancellationToken);
                }
                samples = await Task.WhenAll(tasks).ConfigureAwait(false);
            }
            if (samplerTotals != null)
                foreach (var s in samples)
                {
                    foreach (var (key, v) in s.Info.Timing) samplerTotals[key] = (samplerTotals.TryGetValue(key, out var old) ? old : 0) + v;
                    foreach (var (key, v) in s.Info.Properties) samplerTotals[key] = (samplerTotals.TryGetValue(key, out var old) ? old : 0) + v;
                }
        }
        return TrainingStep.Update(state, batch, samples, gradientBuffer);
    }
}
