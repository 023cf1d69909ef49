using QaActors.Sampling;

namespace QaActors.Learning;

/// <summary>The classical sampler each training method uses for its negative phase: one definition for every caller.</summary>
public static class TrainingSamplers
{
    /// <summary>
    /// For training, simulated annealing runs a geometric schedule that ends at the sampling β (so its reads are
    /// samples at that temperature, not ground states) and starts ten times hotter, which keeps early sweeps mobile
    /// without spending most of the budget far from the target. Gibbs burns in at most 100 sweeps.
    /// </summary>
    public static ISampler Create(string name, int? sweeps, double beta) => name switch
    {
        "gibbs" => new GibbsSampler(sweeps is int s ? new GibbsOptions(Sweeps: s, BurnIn: Math.Min(100, s - 1)) : new GibbsOptions()),
        "anneal" => new AnnealSampler(new AnnealOptions(sweeps ?? 1000, (beta / 10, beta), AnnealSchedule.Geometric)),
        "exact" => new ExactSampler(),
        _ => throw new ArgumentException($"no classical training sampler is called '{name}'; use gibbs, anneal or exact"),
    };

    /// <summary>The sampler <paramref name="config"/>'s method needs, or null (backprop, exact closed form, qpu).</summary>
    public static ISampler? For(TrainingConfig config) => config.Method switch
    {
        TrainingMethod.Gibbs => Create("gibbs", config.Sweeps, config.Beta),
        TrainingMethod.Anneal => Create("anneal", config.Sweeps, config.Beta),
        _ => null,
    };
}
