using QaActors.DWave.Composites;
using QaActors.DWave.Sapi;
using QaActors.DWave.Topology;
using QaActors.DWave.Simulator;
using QaActors.DWave.Structured;
using QaActors.Sampling;

namespace QaActors.DWave.Tests;

/// <summary>
/// The chain-break fraction each QPU-served example reports (docs/dwave.md, "From a logical problem to qubits and
/// back", step 7): per read, the fraction of the example's chains that are broken; per example, its occurrence-weighted
/// mean over the reads of that example's own copy in a tiled call. Recomputed here from the raw qubit samples of the call.
/// </summary>
public class ChainBreakTests
{
    /// <summary>Passes calls to the simulated QPU and keeps the qubit samples it answered.</summary>
    private sealed class Recording(IStructuredSampler inner) : IStructuredSampler
    {
        public SampleSet? Last { get; private set; }
        public SolverInfo Solver => inner.Solver;
        public Graph Target => inner.Target;

        public async Task<QpuCallResult> SampleAsync(QpuProblem problem, QpuParameters parameters, CancellationToken cancellationToken = default)
        {
            var r = await inner.SampleAsync(problem, parameters, cancellationToken);
            Last = r.Samples;
            return r;
        }
    }

    [Fact]
    public async Task Each_example_reports_the_mean_fraction_of_its_own_broken_chains_over_its_reads()
    {
        var qpu = new Recording(new SimulatedQpu(SimulatedSolverSpec.AdvantageLike("Chains", LatticeGraphSource.Instance.Build("pegasus", [4])),
            new SimulatedQpuModel { Sampler = new HardwareAnnealer(100), BetaHw = 2, SigmaH = 0, SigmaJ = 0, Seed = 11 }));
        // The EBM's shape (docs/math.md, "The per-example problem"): K hidden units all coupled to one output, the hub.
        // A weak chain strength, so that the hub's chain breaks in some reads and not in others.
        const int k = 12;
        var cache = new EmbeddingCache(qpu.Target, qpu.Solver.Name);
        var tiling = new TilingComposite(qpu, cache, maxTiles: 3, new EmbeddingSettings { ChainStrength = 0.3 });
        var problems = Enumerable.Range(0, 3).Select(i =>
        {
            var b = new BqmBuilder(Vartype.Binary);
            for (int j = 0; j < k; j++) b.AddVariable(j, (j % 2 == 0 ? 0.7 : -0.4) * (i + 1));
            b.AddVariable(k, -0.5 * i);
            for (int j = 0; j < k; j++) b.AddInteraction(j, k, j % 3 == 0 ? -1.1 : 0.9);
            return b.Build();
        }).ToArray();
        var layout = await tiling.LayoutAsync(problems[0]);
        Assert.Equal(3, layout.Copies);
        var sets = await tiling.SampleManyAsync(problems, problems.Select((_, i) => new SampleRequest(200, 1, (ulong)i + 1)).ToArray());

        var raw = qpu.Last!.ChangeVartype(Vartype.Spin);
        var qubits = raw.Variables.ToArray();
        var column = Enumerable.Range(0, qubits.Length).ToDictionary(i => qubits[i], i => i);
        for (int c = 0; c < 3; c++)
        {
            var chains = Enumerable.Range(0, k + 1).Select(v => layout.Tiles[c].Chain(v).Select(q => column[q]).ToArray()).ToArray();
            Assert.True(chains[k].Length > 1, "the hub needs a chain of several qubits");
            Assert.All(chains[..k], ch => Assert.Single(ch)); // a leaf is one qubit: its chain cannot break
            double weighted = 0;
            long reads = 0;
            for (int r = 0; r < raw.NumRows; r++)
            {
                var row = raw.Row(r).ToArray();
                int broken = chains.Count(ch => ch.Select(col => row[col]).Distinct().Count() > 1);
                weighted += broken / (double)(k + 1) * raw.NumOccurrences[r];
                reads += raw.NumOccurrences[r];
            }
            double expected = weighted / reads;
            double reported = sets[c].Info.Properties["chain_break_fraction"];
            Assert.Equal(expected, reported, 12);
            // Only the hub's chain can break, so the fraction is at most 1 / (K + 1); this weak chain breaks in some reads only.
            Assert.InRange(reported, 1e-3, 1.0 / (k + 1) - 1e-3);
        }
    }
}
