using QaActors.Sampling;

namespace QaActors.DWave.Tests;

/// <summary>
/// A minimal Metropolis sampler used ONLY by these tests to drive the simulator, until the project's
/// AnnealSampler is wired in by the CLI. Geometric β schedule from β/20 to β, then sweeps at β, so that
/// its output approximates exp(−βE) on the small problems the tests use (checked in SimulatorStatistics tests).
/// </summary>
public sealed class SimulatorTestSampler(int sweeps = 200) : ISampler
{
    public string Name => "test-metropolis";
    public int Calls;

    public Task<SampleSet> SampleAsync(Bqm problem, SampleRequest request, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Calls);
        request.Validate();
        var spin = problem.ToSpin();
        int n = spin.NumVariables;
        var samples = new sbyte[request.Reads * n];
        var rng = new Rng(request.Seed);
        var s = new sbyte[n];
        int anneal = sweeps / 2;
        for (int r = 0; r < request.Reads; r++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (int i = 0; i < n; i++) s[i] = rng.NextDouble() < 0.5 ? (sbyte)-1 : (sbyte)1;
            for (int sw = 0; sw < sweeps; sw++)
            {
                double beta = sw < anneal ? request.Beta / 20 * Math.Pow(20, sw / (double)anneal) : request.Beta;
                for (int i = 0; i < n; i++)
                {
                    double field = spin.Linear[i];
                    var nb = spin.Neighbours(i);
                    var jb = spin.NeighbourBiases(i);
                    for (int k = 0; k < nb.Length; k++) field += jb[k] * s[nb[k]];
                    double dE = -2 * s[i] * field;
                    if (dE <= 0 || rng.NextDouble() < Math.Exp(-beta * dE)) s[i] = (sbyte)-s[i];
                }
            }
            s.CopyTo(samples, r * n);
        }
        var set = SampleSet.FromSamples(spin, samples, SampleInfo.For(Name));
        return Task.FromResult(problem.Vartype == Vartype.Spin ? set : set.ChangeVartype(problem.Vartype));
    }
}
