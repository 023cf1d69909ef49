using QaActors.DWave.Config;
using QaActors.DWave.Sapi;
using QaActors.DWave.Simulator;

namespace QaActors.DWave.Tests;

public class SimulatorLatticeTests
{
    [Fact]
    public async Task AdvantageAndAdvantage2Solvers_PresentPublishedGraphCounts_AndSampleOverHttp()
    {
        var p16 = LatticeGraphSource.Instance.Build("pegasus", [16]);
        var z6 = LatticeGraphSource.Instance.Build("zephyr", [6, 4]);
        // dwave-networkx's counts (docs/dwave.md, "Topologies"): P16 fabric 5640 / 40 484; Z(6,4) 1248 / 11 400.
        Assert.Equal((5640, 40484, 5760), (p16.Qubits.Length, p16.Couplers.Length, p16.NumQubits));
        Assert.Equal((1248, 11400, 1248), (z6.Qubits.Length, z6.Couplers.Length, z6.NumQubits));
        var dead = p16.ChooseDead(0.02, 3);
        await using var sim = await SapiSimulator.StartAsync(new SapiSimulatorOptions
        {
            Tokens = ["tok"],
            Solvers = [SimulatedSolverSpec.AdvantageLike("Adv", p16.WithoutQubits(dead)), SimulatedSolverSpec.Advantage2Like("Adv2", z6)],
            Sampler = new HardwareAnnealer(100),
        });
        using var c = new SapiClient(new SapiClientOptions { Endpoint = sim.SapiEndpoint, Token = new SecretToken("tok") });
        var adv = await c.GetSolverAsync("Adv");
        Assert.Equal("pegasus", adv.TopologyType);
        Assert.Equal(new[] { 16 }, adv.TopologyShape);
        Assert.Equal(5640 - dead.Length, adv.Qubits.Length);
        Assert.Equal(5760, adv.NumQubits);
        Assert.DoesNotContain(adv.Qubits, q => dead.Contains(q));
        // A problem on a live qubit and one of its couplers, through the full 5640-entry lin encoding.
        var (u, v) = adv.Couplers[1000];
        var r = await c.SampleAsync(adv, new QpuProblem("ising", new Dictionary<int, double> { [u] = 1 }, new Dictionary<(int, int), double> { [(u, v)] = -1 }),
            new QpuParameters { NumReads = 10, AutoScale = false }, TimeSpan.FromSeconds(20));
        Assert.Equal(new[] { u, v }, r.Samples.Variables.ToArray());
        Assert.Equal(5760, r.Answer.NumVariables);
        Assert.Equal(new sbyte[] { -1, -1 }, r.Samples.Row(0).ToArray());
        var adv2 = await c.GetSolverAsync("Adv2");
        Assert.Equal(new[] { 6, 4 }, adv2.TopologyShape);
        // A dead qubit is refused before sending.
        var e = await Assert.ThrowsAsync<SapiValidationException>(() => c.SubmitAsync(adv, new QpuProblem("ising",
            new Dictionary<int, double> { [dead[0]] = 1 }, new Dictionary<(int, int), double>()), new QpuParameters()));
        Assert.Contains($"qubit {dead[0]}", e.Message);
    }
}
