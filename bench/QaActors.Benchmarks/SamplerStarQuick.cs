using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using QaActors.Sampling;

namespace QaActors.Benchmarks;

/// <summary>
/// Quick kernels for the two classical samplers on the 549-spin star, in the units of the reference kernels' run-reference (docs/operations.md, "Benchmarks"):
/// gibbs_star as gibbs_simd (100 reads × 1000 sweeps, β = 0.1, one sweep = 549 spin updates), anneal_star with
/// 1000 sweeps over a geometric β schedule 0.1 → 3. Times the whole SampleAsync call (setup and output included),
/// best of five after a warm-up (the machine is shared), single thread.
/// </summary>
internal static class SamplerStarQuick
{
    private const int N = 549, Reads = 100, Sweeps = 1000;

    [ModuleInitializer]
    internal static void Register()
    {
        Quick.Add("gibbs_star", _ => GibbsStar());
        Quick.Add("anneal_star", _ => AnnealStar());
    }

    private static string GibbsStar()
    {
        const double beta = 0.1;
        var star = StarProblem.Create(N);
        var sampler = new GibbsSampler(new GibbsOptions(Sweeps: Sweeps, Thinning: 0));
        double secs = Best(() => sampler.SampleAsync(star, new SampleRequest(Reads, beta, 1)).GetAwaiter().GetResult(), out double cpu);
        double updates = (double)Reads * Sweeps * N;
        // Accuracy from a separate run with many short independent chains (the timed run has only 100 reads).
        var acc = new GibbsSampler(new GibbsOptions(Sweeps: 50)).SampleAsync(star, new SampleRequest(20000, beta, 2)).GetAwaiter().GetResult();
        var m = acc.Means();
        return string.Create(CultureInfo.InvariantCulture,
            $"gibbs_star N={N} reads={Reads} sweeps={Sweeps} beta={beta} time_s={secs:F6} spin_updates_per_s={updates / secs:E4} ns_per_update={secs / updates * 1e9:F4} cpu_spin_updates_per_s={updates / cpu:E4} " +
            $"<y>={m[0]:F4} exact={StarProblem.ExactMeanHub(star, beta):F4} <k1>={m[1]:F4} exact={StarProblem.ExactMeanLeaf(star, beta):F4} (20000 chains x 50 sweeps, sd ~0.007) kernel={acc.Info.Notes["kernel"]}");
    }

    private static string AnnealStar()
    {
        var star = StarProblem.Create(N);
        var sampler = new AnnealSampler(new AnnealOptions(Sweeps, (0.1, 3.0), AnnealSchedule.Geometric));
        SampleSet? last = null;
        double secs = Best(() => last = sampler.SampleAsync(star, new SampleRequest(Reads, 1, 1)).GetAwaiter().GetResult(), out double cpu);
        double attempts = (double)Reads * Sweeps * N;
        double meanE = 0, minE = double.PositiveInfinity;
        foreach (double e in last!.Energies) { meanE += e / last.NumRows; minE = Math.Min(minE, e); }
        // The star's ground state is found by trying both hub values: each leaf then takes -sign(h_j + J_j y).
        double ground = double.PositiveInfinity;
        foreach (int y in new[] { -1, 1 })
        {
            double e = star.Linear[0] * y;
            var nb = star.Neighbours(0);
            var jb = star.NeighbourBiases(0);
            for (int q = 0; q < nb.Length; q++) e -= Math.Abs(star.Linear[nb[q]] + jb[q] * y);
            ground = Math.Min(ground, e);
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"anneal_star N={N} reads={Reads} sweeps={Sweeps} beta=0.1..3 geometric time_s={secs:F6} spin_flip_attempts_per_s={attempts / secs:E4} ns_per_attempt={secs / attempts * 1e9:F4} cpu_spin_flip_attempts_per_s={attempts / cpu:E4} " +
            $"mean_energy={meanE:F3} min_energy={minE:F3} ground_energy={ground:F3} kernel={last.Info.Notes["kernel"]}");
    }

    /// <summary>
    /// Best wall time of five runs after a warm-up; also the best CPU time of the calling thread (the samplers run on
    /// it), which a machine shared with other jobs inflates far less than wall time. NaN where the clock is unavailable.
    /// </summary>
    private static double Best(Action run, out double bestCpu)
    {
        run();
        double best = double.PositiveInfinity;
        bestCpu = double.PositiveInfinity;
        for (int k = 0; k < 5; k++)
        {
            double cpu0 = ThreadCpuSeconds();
            var sw = Stopwatch.StartNew();
            run();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
            bestCpu = Math.Min(bestCpu, ThreadCpuSeconds() - cpu0);
        }
        return best;
    }

    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec value);

    private static double ThreadCpuSeconds()
    {
        const int ClockThreadCpuTimeId = 3; // Linux <time.h>
        if (!OperatingSystem.IsLinux() || ClockGetTime(ClockThreadCpuTimeId, out var t) != 0) return double.NaN;
        return t.Seconds + t.Nanoseconds * 1e-9;
    }
}
