using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using QaActors.DWave.Embedding;
using QaActors.DWave.Topology;
using QaActors.Sampling;

namespace QaActors.Benchmarks;

/// <summary>
/// The simulator's share of a Quantum-1 step: five tiled copies of the 549-variable star embedded on P16 (what one call
/// with --tiles 5 programs), sampled as `qa sapi-sim` samples it (100 reads of 1000 sweeps, geometric β from β_hw/100
/// to β_hw = 16), single thread, best of three after a warm-up. The logical biases are the star's divided by the
/// paper's T_eff = 16, as the temperature composite sends them. It guards the generic (sequential) anneal kernel,
/// which is what makes a campaign's Quantum-1 cells take minutes on the simulator.
/// </summary>
internal static class HardwareAnnealQuick
{
    private const int Leaves = 548, Copies = 5, Reads = 100, Sweeps = 1000;
    private const double BetaHw = 16, TEff = 16;

    [ModuleInitializer]
    internal static void Register() => Quick.Add("anneal_hardware", _ => Run());

    private static string Run()
    {
        var p16 = Pegasus.Create(16);
        var edges = Enumerable.Range(0, Leaves).Select(i => (i, Leaves)).ToArray();
        var tiles = Tiling.Create(edges, p16, Copies);
        var logical = new List<Bqm>();
        for (int c = 0; c < tiles.Count; c++)
        {
            // The star with its hub last (the embedder's labelling), scaled by 1/T_eff.
            var star = StarProblem.Create(Leaves + 1, (ulong)(100 + c));
            var h = new double[Leaves + 1];
            h[Leaves] = star.Linear[0] / TEff;
            for (int i = 0; i < Leaves; i++) h[i] = star.Linear[i + 1] / TEff;
            var nb = star.Neighbours(0);
            var jb = star.NeighbourBiases(0);
            var u = new int[Leaves];
            var v = new int[Leaves];
            var j = new double[Leaves];
            for (int q = 0; q < nb.Length; q++) { u[q] = nb[q] - 1; v[q] = Leaves; j[q] = jb[q] / TEff; }
            logical.Add(Bqm.FromArrays(Vartype.Spin, h, u, v, j, 0));
        }
        var embedded = EmbeddedProblem.CreateTiled(logical, tiles, p16);
        var target = embedded.Target;
        var sampler = new AnnealSampler(new AnnealOptions(Sweeps, (BetaHw * 0.01, BetaHw), AnnealSchedule.Geometric));
        SampleSet? last = null;
        void Once() => last = sampler.SampleAsync(target, new SampleRequest(Reads, BetaHw, 1)).GetAwaiter().GetResult();
        Once();
        double best = double.PositiveInfinity;
        for (int k = 0; k < 3; k++)
        {
            var sw = Stopwatch.StartNew();
            Once();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        double attempts = (double)Reads * Sweeps * target.NumVariables;
        double meanE = 0;
        foreach (double e in last!.Energies) meanE += e / last.NumRows;
        return string.Create(CultureInfo.InvariantCulture,
            $"anneal_hardware copies={tiles.Count} qubits={target.NumVariables} couplers={target.NumInteractions} reads={Reads} sweeps={Sweeps} beta={BetaHw * 0.01}..{BetaHw} " +
            $"time_s={best:F4} spin_flip_attempts_per_s={attempts / best:E4} ns_per_attempt={best / attempts * 1e9:F3} mean_energy={meanE:F4} kernel={last.Info.Notes["kernel"]}");
    }
}
