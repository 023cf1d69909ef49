using QaActors.Sampling;

namespace QaActors.DWave.Simulator;

/// <summary>
/// The simulator's default stand-in for the annealer: the project's <see cref="AnnealSampler"/> run on a geometric
/// schedule that ends at the request's β (the simulator passes β_hw) and starts at β·<see cref="HotFraction"/>.
/// Ending at β_hw is what makes the reads approximate exp(−β_hw E), the model of a QPU with an effective
/// temperature; starting hot lets chains and domain walls settle first, as the quantum anneal's early, strongly
/// fluctuating phase does. Defaults: 1000 sweeps (Ocean's num_sweeps) from β_hw/100. <paramref name="threads"/> spreads
/// one problem's reads over cores; the reads do not depend on it.
/// </summary>
public sealed class HardwareAnnealer(int sweeps = 1000, double hotFraction = 0.01, int threads = 1) : ISampler
{
    public int Threads { get; } = threads >= 1 ? threads : throw new ArgumentOutOfRangeException(nameof(threads), threads, "threads must be at least 1");

    public int Sweeps { get; } = sweeps >= 1 ? sweeps : throw new ArgumentOutOfRangeException(nameof(sweeps), sweeps, "sweeps must be at least 1");
    public double HotFraction { get; } = hotFraction is > 0 and <= 1 ? hotFraction : throw new ArgumentOutOfRangeException(nameof(hotFraction), hotFraction, "hot fraction must be in (0, 1]");

    public string Name => "anneal";

    public Task<SampleSet> SampleAsync(Bqm problem, SampleRequest request, CancellationToken cancellationToken = default)
    {
        request.Validate();
        var options = new AnnealOptions(Sweeps, (request.Beta * HotFraction, request.Beta), AnnealSchedule.Geometric);
        return new AnnealSampler(options) { Parallelism = Threads }.SampleAsync(problem, request, cancellationToken);
    }
}
