using QaActors.Learning;
using QaActors.Sampling;

namespace QaActors.Cli.Commands;

/// <summary>The classical sampler a training method names, configured from the command line.</summary>
public static class SamplerFactory
{
    /// <summary>
    /// For training, simulated annealing runs a geometric schedule that ends at the sampling β (so its reads are
    /// samples at that temperature, not ground states) and starts ten times hotter, which keeps early sweeps
    /// mobile without spending most of the budget far from the target.
    /// </summary>
    public static ISampler? ForTraining(TrainingConfig c) => c.Method switch
    {
        TrainingMethod.Gibbs => new GibbsSampler(c.Sweeps is int s ? new GibbsOptions(Sweeps: s, BurnIn: Math.Min(100, s - 1)) : new GibbsOptions()),
        TrainingMethod.Anneal => new AnnealSampler(new AnnealOptions(c.Sweeps ?? 1000, (c.Beta / 10, c.Beta), AnnealSchedule.Geometric)),
        _ => null,
    };
}
