using QaActors.DWave.Sapi;
using QaActors.DWave.Simulator;
using QaActors.DWave.Structured;
using QaActors.Sampling;

namespace QaActors.DWave.Tests;

/// <summary>The simulator's QPU model used directly (no HTTP), and the content-seeded reproducibility of its answers.</summary>
public class SimulatedQpuTests
{
    private static SimulatedQpu Qpu(ulong seed = 7, double sigmaH = 0.02, double sigmaJ = 0.01) =>
        new(SimulatedSolverSpec.AdvantageLike("Direct", TestGraphs.Kings(4, 4, first: 30)),
            new SimulatedQpuModel { Sampler = new HardwareAnnealer(100), Seed = seed, SigmaH = sigmaH, SigmaJ = sigmaJ });

    private static QpuProblem Chain(double h0, double j = -1) => new("ising",
        new Dictionary<int, double> { [30] = h0 },
        new Dictionary<(int, int), double> { [(30, 31)] = j, [(31, 32)] = j, [(32, 33)] = j }, Offset: 0.25);

    private static QpuProblem Field(int qubit, double h) => new("ising", new Dictionary<int, double> { [qubit] = h }, new Dictionary<(int, int), double>());

    private static string Fingerprint(QpuCallResult r) =>
        string.Join(";", Enumerable.Range(0, r.Samples.NumRows).Select(k =>
            string.Join(",", r.Samples.Row(k).ToArray()) + "x" + r.Samples.NumOccurrences[k]));

    [Fact]
    public async Task Direct_IsAStructuredSampler_WithTheSolversGraph_GroundState_Timing_AndOffset()
    {
        IStructuredSampler qpu = Qpu(sigmaH: 0, sigmaJ: 0);
        Assert.Equal(16, qpu.Target.NumNodes);
        Assert.Equal(qpu.Solver.Couplers.Length, qpu.Target.NumEdges);
        Assert.Equal("Direct", qpu.Solver.Name);

        var r = await qpu.SampleAsync(Chain(2), new QpuParameters { NumReads = 40, AutoScale = false });
        Assert.Equal(new[] { 30, 31, 32, 33 }, r.Samples.Variables.ToArray());
        Assert.Equal(40, r.Samples.TotalReads);
        Assert.Equal(new sbyte[] { -1, -1, -1, -1 }, r.Samples.Row(0).ToArray());
        Assert.Equal(-5 + 0.25, r.Samples.Energies[0], 9);
        Assert.True(r.Samples.NumOccurrences[0] >= 36, $"ground state {r.Samples.NumOccurrences[0]} of 40");
        double expected = AccessTimeEstimator.EstimateAccessTime(qpu.Solver, 4, 40);
        Assert.Equal(expected, r.Samples.Info.Timing["qpu_access_time"], 1);
        Assert.Equal(expected, r.Estimate!.QpuAccessTime, 6);
    }

    [Fact]
    public async Task Direct_RefusesWhatSapiRefuses()
    {
        var qpu = Qpu();
        var off = await Assert.ThrowsAsync<SapiValidationException>(() =>
            qpu.SampleAsync(new QpuProblem("ising", new Dictionary<int, double> { [5000] = 1 }, new Dictionary<(int, int), double>()), new QpuParameters()));
        Assert.Contains("qubit 5000", off.Message);
        var x = await Assert.ThrowsAsync<SapiException>(() =>
            qpu.SampleAsync(Chain(1), new QpuParameters { Extra = new Dictionary<string, System.Text.Json.Nodes.JsonNode?> { ["x_debug"] = true } }));
        Assert.Equal(SapiErrorKind.BadProblem, x.Kind);
        Assert.Contains("x_debug", x.Message);
    }

    [Fact]
    public async Task SameProblem_SameAnswer_WhateverCameBefore_AndTheSeedMatters()
    {
        var prm = new QpuParameters { NumReads = 200, AutoScale = false };
        // Near-degenerate field: the 200 reads split between the two states, so the answer is a real random draw.
        var probe = Field(35, 0.02);
        var a = Qpu();
        var first = await a.SampleAsync(probe, prm);
        await a.SampleAsync(Chain(1), prm);
        await a.SampleAsync(Field(36, 0.5), prm);
        var again = await a.SampleAsync(probe, prm);
        Assert.Equal(Fingerprint(first), Fingerprint(again));
        Assert.Equal(first.ProblemId, again.ProblemId);

        var fresh = await Qpu().SampleAsync(probe, prm);
        Assert.Equal(Fingerprint(first), Fingerprint(fresh));

        // Other seed, other reads count: other draws (with 200 reads of a near-fair coin a repeat is ~1e-2 likely per
        // count; the counts below differ for these seeds, which is what the test pins).
        var otherSeed = await Qpu(seed: 8).SampleAsync(probe, prm);
        Assert.NotEqual(Fingerprint(first), Fingerprint(otherSeed));
        var otherField = await a.SampleAsync(Field(35, 0.021), prm);
        Assert.NotEqual(Fingerprint(first), Fingerprint(otherField));
    }

    [Fact]
    public async Task OverHttp_OrderOfArrivalDoesNotChangeAnswers_AndMatchesTheDirectModel()
    {
        var prm = new QpuParameters { NumReads = 200, AutoScale = false };
        var p1 = Field(35, 0.02);
        var p2 = Chain(0.1);
        async Task<(string, string)> Run(bool reversed)
        {
            await using var hx = await SimulatorHarness.StartAsync(sigmaH: 0.02, sigmaJ: 0.01);
            using var c = hx.Client();
            var s = await c.GetSolverAsync(SimulatorHarness.Solver);
            var deadline = TimeSpan.FromSeconds(20);
            if (reversed)
            {
                await c.SampleAsync(s, Field(40, 0.3), prm, deadline);
                var b = await c.SampleAsync(s, p2, prm, deadline);
                var a = await c.SampleAsync(s, p1, prm, deadline);
                return (Fingerprint(a), Fingerprint(b));
            }
            var a1 = await c.SampleAsync(s, p1, prm, deadline);
            var b1 = await c.SampleAsync(s, p2, prm, deadline);
            return (Fingerprint(a1), Fingerprint(b1));
        }
        var forward = await Run(false);
        var backward = await Run(true);
        Assert.Equal(forward, backward);

        // The harness's QPU model, used without HTTP, gives the same draws as its HTTP surface.
        await using var h2 = await SimulatorHarness.StartAsync(sigmaH: 0.02, sigmaJ: 0.01);
        var direct = await h2.Sim.Qpu(SimulatorHarness.Solver).SampleAsync(p1, prm);
        Assert.Equal(forward.Item1, Fingerprint(direct));
    }
}
