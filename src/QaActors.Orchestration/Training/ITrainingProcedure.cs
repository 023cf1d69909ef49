using QaActors.Sampling;

namespace QaActors.Orchestration.Training;

/// <summary>
/// The science of one experiment as pure functions of (state, step), with no actors in it: the actor
/// layer decides where and when each piece runs, the procedure decides what is computed. Steps are
/// numbered 1..TotalSteps (step s applies the s-th update). Every random choice must derive from
/// (experiment seed, step, example position), never from which worker ran what, so any distribution
/// of the work — and any resume — gives the same bits.
/// </summary>
public interface ITrainingProcedure
{
    /// <summary>exact, gibbs, anneal, qpu or backprop.</summary>
    string Method { get; }

    long TotalSteps { get; }

    /// <summary>Whether each example of a step needs a sample set (gibbs, anneal, qpu).</summary>
    bool NeedsSampling { get; }

    /// <summary>The state before step 1 (parameters, optimiser state).</summary>
    object InitialState();

    /// <summary>Bit-exact checkpoint bytes of a state; <see cref="RestoreState"/> must give it back exactly.</summary>
    byte[] SaveState(object state);

    object RestoreState(byte[] bytes);

    /// <summary>The generator state recorded with a checkpoint (all zero when every stream is derived per step).</summary>
    (ulong, ulong, ulong, ulong) RngState(object state);

    /// <summary>Which training examples step <paramref name="step"/> uses, in batch order.</summary>
    int[] BatchIndices(long step);

    /// <summary>
    /// The problems of batch positions [<paramref name="offset"/>, offset + count) of step <paramref name="step"/>
    /// (built together: one W1·x product for the chunk). Must not modify <paramref name="state"/>: several
    /// workers call it at once.
    /// </summary>
    Bqm[] BuildProblems(object state, long step, int[] batchIndices, int offset, int count);

    /// <summary>How classical pools sample this experiment's problems (sweeps, β).</summary>
    Gateway.ClassicalSettings ClassicalSettings => Gateway.ClassicalSettings.Default;

    /// <summary>How the experiment uses the QPU (temperature factor, tiles per call); null when it does not.</summary>
    Gateway.QpuJobSettings? QpuSettings => null;

    /// <summary>The sampler request (reads, β, seed) of the example at <paramref name="position"/> in the batch.</summary>
    SampleRequest SampleRequestFor(long step, int position);

    /// <summary>
    /// Applies step <paramref name="step"/> (gradient, optimiser update, metrics) and returns the state after
    /// it (which may be <paramref name="state"/> itself, updated in place: the caller discards the old one).
    /// <paramref name="samples"/> holds one sample set per batch position when <see cref="NeedsSampling"/>.
    /// </summary>
    StepApplication Apply(object state, long step, int[] batchIndices, IReadOnlyList<SampleSet>? samples);

    /// <summary>Metrics of the untrained model (recorded as step 0), or empty.</summary>
    IReadOnlyList<KeyValuePair<string, double>> InitialMetrics(object state);

    /// <summary>
    /// The part of a step's samples that <see cref="Apply"/> reads, persisted so the step can be replayed exactly
    /// instead of persisting the whole state after it. The default keeps everything.
    /// </summary>
    IReadOnlyList<SampleSet>? ReduceForReplay(IReadOnlyList<SampleSet>? samples) => samples;

    /// <summary>
    /// The variables of a sample set that <see cref="Apply"/> reads; samplers reply with only these columns (identical
    /// rows merged), so a reply stays kilobytes wherever it comes from. Null: every variable (the default).
    /// </summary>
    IReadOnlyList<int>? ReplyLabels => null;
}

public sealed record StepApplication(object State, IReadOnlyList<KeyValuePair<string, double>> Metrics);
