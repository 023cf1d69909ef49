namespace QaActors.Sampling;

/// <summary>
/// What every sampler is asked: how many reads, at which inverse temperature β (the sampler draws
/// s with probability ∝ exp(−β E(s))), from which seed. Sampler-specific settings (sweeps, schedules,
/// solver names) belong to the sampler's own options, given when it is constructed.
/// </summary>
public sealed record SampleRequest(int Reads, double Beta, ulong Seed)
{
    /// <summary>
    /// A name a remote sampler attaches to the work it submits, so that the work can be found again after its answer is
    /// lost (a QPU problem's SAPI label, as Ocean's <c>sample(..., label=...)</c>). It never changes the samples;
    /// local samplers ignore it.
    /// </summary>
    public string? Label { get; init; }

    public void Validate()
    {
        if (Reads < 1) throw new ArgumentOutOfRangeException(nameof(Reads), Reads, "reads must be at least 1");
        if (!(Beta > 0) || double.IsInfinity(Beta)) throw new ArgumentOutOfRangeException(nameof(Beta), Beta, "beta must be a positive finite number");
    }
}

/// <summary>
/// One interface for every sampler (exact, gibbs, anneal, qpu). The result is in the problem's vartype
/// with the problem's labels. Asynchronous because a QPU answers over the network; classical samplers
/// complete synchronously.
/// </summary>
public interface ISampler
{
    /// <summary>Short name used in provenance and on the command line ("exact", "gibbs", "anneal", "qpu").</summary>
    string Name { get; }

    Task<SampleSet> SampleAsync(Bqm problem, SampleRequest request, CancellationToken cancellationToken = default);
}

/// <summary>
/// A sampler that serves several problems of one structure in one call (a QPU places copies side by side on the
/// chip). One request per problem (the same reads and β; each its own seed). Results come back in the order of
/// <paramref name="problems"/>, each with its share of the call's timing.
/// </summary>
public interface IBatchSampler : ISampler
{
    Task<IReadOnlyList<SampleSet>> SampleManyAsync(IReadOnlyList<Bqm> problems, IReadOnlyList<SampleRequest> requests, CancellationToken cancellationToken = default);
}
