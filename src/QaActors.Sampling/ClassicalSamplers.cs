namespace QaActors.Sampling;

/// <summary>
/// The classical samplers by command-line name, with the rules of <c>qa sample</c>: for anneal, a beta range sets a
/// geometric schedule over it; otherwise a fixed β (<paramref name="fixedBeta"/>, i.e. the user gave --beta) means a
/// constant schedule at the request's β; neither means Ocean's default range, geometric.
/// </summary>
public static class ClassicalSamplers
{
    public static IReadOnlyList<string> Names { get; } = ["exact", "gibbs", "anneal"];

    public static ISampler Create(string name, int? sweeps = null, (double Lo, double Hi)? betaRange = null, bool fixedBeta = false)
    {
        if (betaRange is not null && name != "anneal")
            throw new ArgumentException($"a beta range applies to the anneal sampler only, not to '{name}'; drop --beta-range or use --sampler anneal");
        switch (name)
        {
            case "exact":
                if (sweeps is not null) throw new ArgumentException("the exact sampler enumerates states and has no sweeps; drop --sweeps");
                return new ExactSampler();
            case "gibbs":
                return new GibbsSampler(sweeps is int s ? new GibbsOptions(Sweeps: s, BurnIn: Math.Min(100, s / 10)) : new GibbsOptions());
            case "anneal":
                int sw = sweeps ?? 1000;
                if (betaRange is not null) return new AnnealSampler(new AnnealOptions(sw, betaRange, AnnealSchedule.Geometric));
                return new AnnealSampler(fixedBeta ? AnnealOptions.ConstantAtRequestBeta(sw) : new AnnealOptions(sw));
            default:
                throw new ArgumentException($"sampler '{name}' is not known; use one of {string.Join(", ", Names)}");
        }
    }
}
