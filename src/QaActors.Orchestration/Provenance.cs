using System.Collections.Immutable;

namespace QaActors.Orchestration;

/// <summary>
/// Where samples came from: how many examples each sampler served, why fallbacks happened, the QPU
/// access time charged, chain breaks and clipped biases. Summed per step and per experiment.
/// </summary>
public sealed record Provenance(
    ImmutableSortedDictionary<string, long> SamplerCounts,
    ImmutableSortedDictionary<string, long> FallbackReasons,
    double QpuAccessMicros,
    double ChainBreakFractionSum,
    long ChainBreakSamples,
    long ClippedBiases) : IQaMessage
{
    public static readonly Provenance Empty = new(
        ImmutableSortedDictionary<string, long>.Empty, ImmutableSortedDictionary<string, long>.Empty, 0, 0, 0, 0);

    /// <summary>Mean chain-break fraction over the QPU-served examples that reported one (0 if none).</summary>
    public double MeanChainBreakFraction => ChainBreakSamples == 0 ? 0 : ChainBreakFractionSum / ChainBreakSamples;

    public long Examples => SamplerCounts.Values.Sum();

    /// <summary>One example served by <paramref name="sampler"/>, from the facts its sample set carries.</summary>
    public static Provenance ForExample(string sampler, string? fallbackReason, Sampling.SampleInfo info)
    {
        var p = Empty with { SamplerCounts = Empty.SamplerCounts.Add(sampler, 1) };
        if (fallbackReason is not null) p = p with { FallbackReasons = p.FallbackReasons.Add(fallbackReason, 1) };
        if (info.Timing.TryGetValue("qpu_access_time", out var qat)) p = p with { QpuAccessMicros = qat };
        if (info.Properties.TryGetValue("chain_break_fraction", out var cbf))
            p = p with { ChainBreakFractionSum = cbf, ChainBreakSamples = 1 };
        if (info.Properties.TryGetValue("clipped", out var clipped)) p = p with { ClippedBiases = (long)clipped };
        return p;
    }

    public Provenance Add(Provenance o) => new(
        Merge(SamplerCounts, o.SamplerCounts),
        Merge(FallbackReasons, o.FallbackReasons),
        QpuAccessMicros + o.QpuAccessMicros,
        ChainBreakFractionSum + o.ChainBreakFractionSum,
        ChainBreakSamples + o.ChainBreakSamples,
        ClippedBiases + o.ClippedBiases);

    private static ImmutableSortedDictionary<string, long> Merge(ImmutableSortedDictionary<string, long> a, ImmutableSortedDictionary<string, long> b)
    {
        var r = a.ToBuilder();
        foreach (var (k, v) in b) r[k] = r.TryGetValue(k, out var x) ? x + v : v;
        return r.ToImmutable();
    }

    public bool ContentEquals(Provenance o) =>
        SamplerCounts.SequenceEqual(o.SamplerCounts) && FallbackReasons.SequenceEqual(o.FallbackReasons)
        && QpuAccessMicros.Equals(o.QpuAccessMicros) && ChainBreakFractionSum.Equals(o.ChainBreakFractionSum)
        && ChainBreakSamples == o.ChainBreakSamples && ClippedBiases == o.ClippedBiases;
}
