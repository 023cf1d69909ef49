using System.Text;
using QaActors.DWave.Sapi;
using QaActors.DWave.Simulator;

namespace QaActors.DWave.Tests;

public class SimulatorConfigTests
{
    private static string RepoFile(string rel)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var f = Path.Combine(d.FullName, rel);
            if (File.Exists(f)) return f;
        }
        throw new FileNotFoundException($"{rel} not found above {AppContext.BaseDirectory}");
    }

    [Fact]
    public void ShippedHocon_LoadsWithDocumentedDefaults()
    {
        var requested = new List<(string, int[])>();
        var graphs = new DelegateGraphSource((t, shape) => { requested.Add((t, shape)); return TestGraphs.Kings(3, 3); });
        var o = SapiSimConfig.Load(File.ReadAllText(RepoFile("hocon/sapi-sim.conf")), graphs, new HardwareAnnealer());
        Assert.Equal("127.0.0.1", o.Host);
        Assert.Equal(0, o.Port);
        Assert.Equal(16, o.BetaHw);
        Assert.Equal(0.02, o.SigmaH);
        Assert.Equal(0.01, o.SigmaJ);
        Assert.Equal(new[] { "sim-token" }, o.Tokens);
        Assert.Equal(new[] { "Advantage_sim4.1", "Advantage2_sim1.1" }, o.Solvers.Select(s => s.Name));
        Assert.Contains(("pegasus", new[] { 16 }), requested.Select(r => (r.Item1, r.Item2)), new ShapeEq());
        Assert.Contains(("zephyr", new[] { 6, 4 }), requested.Select(r => (r.Item1, r.Item2)), new ShapeEq());
        Assert.Equal(60.57, o.Solvers[1].Timing.QpuDelayTimePerSample);
        // The shipped faults block is all-off.
        var f = new SimulatorFaults();
        SapiSimConfig.ApplyFaults(f, File.ReadAllText(RepoFile("hocon/sapi-sim.conf")));
        Assert.Equal(OutageMode.None, f.ActiveOutage(out _));
        Assert.Equal(TimeSpan.Zero, f.AnswerDelay);
    }

    private sealed class ShapeEq : IEqualityComparer<(string, int[])>
    {
        public bool Equals((string, int[]) a, (string, int[]) b) => a.Item1 == b.Item1 && a.Item2.SequenceEqual(b.Item2);
        public int GetHashCode((string, int[]) x) => x.Item1.GetHashCode();
    }

    [Fact]
    public void Hocon_DeadQubitsAndNonLoopbackHost()
    {
        string conf = """
            sapi-sim {
              tokens = ["t"]
              solvers { a { name = "A", topology = "kings", shape = [4, 4], dead-qubits = [0, 5], dead-qubit-fraction = 0.25 } }
            }
            """;
        var o = SapiSimConfig.Load(conf, TestGraphs.Source, new HardwareAnnealer());
        var g = o.Solvers[0].Graph;
        Assert.DoesNotContain(0, g.Qubits);
        Assert.DoesNotContain(5, g.Qubits);
        Assert.InRange(g.Qubits.Length, 16 - 2 - 4, 16 - 4);
        Assert.All(g.Couplers, c => Assert.True(g.Qubits.Contains(c.U) && g.Qubits.Contains(c.V)));
        Assert.Throws<ArgumentException>(() => SapiSimConfig.Load(conf.Replace("tokens", "host = \"0.0.0.0\"\n tokens"), TestGraphs.Source, new HardwareAnnealer()));
        var bad = Assert.Throws<FormatException>(() => SapiSimConfig.ApplyFaults(new SimulatorFaults(), "faults { outage { mode = sideways } }"));
        Assert.Contains("sideways", bad.Message);
        var badLoss = Assert.Throws<FormatException>(() => SapiSimConfig.ApplyFaults(new SimulatorFaults(), "faults { lose-answers { count = 1, mode = vanish } }"));
        Assert.Contains("faults.lose-answers.mode 'vanish'", badLoss.Message);
    }

    [Fact]
    public async Task FaultsCanBeFlippedAtRuntimeOverHttp_WithHoconOrJson()
    {
        await using var hx = await SimulatorHarness.StartAsync();
        using var http = new HttpClient();
        async Task Post(string body)
        {
            using var req = new HttpRequestMessage(HttpMethod.Post, new Uri(hx.Sim.SapiEndpoint, "_sim/faults"));
            req.Headers.Add("X-Auth-Token", SimulatorHarness.Token);
            req.Content = new StringContent(body, Encoding.UTF8, "text/plain");
            var resp = await http.SendAsync(req);
            Assert.True(200 == (int)resp.StatusCode, await resp.Content.ReadAsStringAsync());
        }
        await Post("faults {\n outage { mode = http-503, duration = 60s, retry-after = 2s }\n slow-answers = 250ms\n offline-solvers = [\"Sim_Kings2\"]\n}");
        Assert.Equal(OutageMode.Http503, hx.Sim.Faults.ActiveOutage(out var ra));
        Assert.Equal(TimeSpan.FromSeconds(2), ra);
        Assert.Equal(TimeSpan.FromMilliseconds(250), hx.Sim.Faults.AnswerDelay);
        Assert.True(hx.Sim.Faults.IsOffline("Sim_Kings2"));
        using var c = hx.Client(retry: SimulatorHarness.Fast with { MaxAttempts = 1 });
        var e = await Assert.ThrowsAsync<SapiException>(() => c.ListSolversAsync());
        Assert.Equal(SapiErrorKind.Transient, e.Kind);
        Assert.Equal(TimeSpan.FromSeconds(2), e.RetryAfter);
        // The admin endpoint stays reachable during a 503 outage, so a drill can end it (JSON is valid HOCON).
        await Post("{\"faults\": {\"reset\": true}}");
        Assert.Equal(OutageMode.None, hx.Sim.Faults.ActiveOutage(out _));
        Assert.False(hx.Sim.Faults.IsOffline("Sim_Kings2"));
        Assert.NotEmpty(await c.ListSolversAsync());
    }
}

public class SimulatorDefaultConfigTests
{
    [Fact]
    public void EmbeddedDefaults_AreTheShippedFile_AndOverridesLayerOnTop()
    {
        Assert.Contains("beta-hw = 16", SapiSimConfig.DefaultHocon);
        var o = SapiSimConfig.LoadDefault("sapi-sim { port = 12345\n tokens = [\"a\", \"b\"]\n solvers.advantage2.enabled = off\n anneal.sweeps = 50 }");
        Assert.Equal(12345, o.Port);
        Assert.Equal(new[] { "a", "b" }, o.Tokens);
        Assert.Equal(16, o.BetaHw);
        var s = Assert.Single(o.Solvers);
        Assert.Equal("Advantage_sim4.1", s.Name);
        Assert.Equal(5640, s.Graph.Qubits.Length);
        Assert.Equal(50, Assert.IsType<HardwareAnnealer>(o.Sampler).Sweeps);
    }
}

public class SimulatorHostTests
{
    [Fact]
    public async Task Host_StartsFromFlags_PrintsTheEndpoint_AndStopsOnCancel()
    {
        var flags = new SapiSimFlags
        {
            Port = 0,
            Token = "host-token",
            Settings = ["sapi-sim.solvers.advantage.enabled = off", "sapi-sim.solvers.advantage2.shape = [2, 4]", "sapi-sim.faults.slow-answers = 10ms"],
        };
        var o = SapiSimHost.BuildOptions(flags);
        Assert.Equal(new[] { "host-token" }, o.Tokens);
        Assert.Equal(Assert.Single(o.Solvers).Graph.Qubits.Length, QaActors.DWave.Topology.Zephyr.NumNodes(2, 4));
        var output = new StringWriter();
        using var cts = new CancellationTokenSource();
        var run = SapiSimHost.RunAsync(flags, TextWriter.Synchronized(output), cts.Token);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (!output.ToString().Contains("sapi-sim endpoint:") && sw.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(20);
        Assert.Contains("http://127.0.0.1:", output.ToString());
        Assert.DoesNotContain("host-token", output.ToString());
        cts.Cancel();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("token #1: 0 problems", output.ToString());
        Assert.Throws<FileNotFoundException>(() => SapiSimHost.BuildOptions(new SapiSimFlags { ConfigFile = "/nonexistent/sapi-sim.conf" }));
    }
}
