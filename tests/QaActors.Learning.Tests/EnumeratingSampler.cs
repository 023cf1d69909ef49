using QaActors.Sampling;

namespace QaActors.Learning.Tests;

/// <summary>
/// Test-only exact sampler: enumerates every state of a small BQM and draws reads from exp(−βE)/Z with the
/// request's seed. Independent of QaActors.Sampling's samplers, so the learning tests stand on their own.
/// </summary>
internal sealed class EnumeratingSampler : ISampler
{
    public string Name => "test-exact";
    public int Calls;

    public Task<SampleSet> SampleAsync(Bqm problem, SampleRequest request, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Calls);
        int n = problem.NumVariables;
        if (n > 16) throw new ArgumentException("too many variables for enumeration");
        var logw = new double[1 << n];
        var state = new sbyte[n];
        sbyte lo = problem.Vartype == Vartype.Spin ? (sbyte)-1 : (sbyte)0;
        for (int s = 0; s < logw.Length; s++)
        {
            for (int i = 0; i < n; i++) state[i] = ((s >> i) & 1) == 1 ? (sbyte)1 : lo;
            logw[s] = -request.Beta * problem.Energy(state);
        }
        double max = logw.Max();
        var cdf = new double[logw.Length];
        double acc = 0;
        for (int s = 0; s < logw.Length; s++) { acc += Math.Exp(logw[s] - max); cdf[s] = acc; }
        var rng = new Rng(request.Seed);
        var samples = new sbyte[request.Reads * n];
        for (int r = 0; r < request.Reads; r++)
        {
            double u = rng.NextDouble() * acc;
            int s = Array.FindIndex(cdf, c => c > u);
            if (s < 0) s = cdf.Length - 1;
            for (int i = 0; i < n; i++) samples[r * n + i] = ((s >> i) & 1) == 1 ? (sbyte)1 : lo;
        }
        return Task.FromResult(SampleSet.FromSamples(problem, samples, SampleInfo.For(Name).WithTiming("sample_time", 1)));
    }
}
