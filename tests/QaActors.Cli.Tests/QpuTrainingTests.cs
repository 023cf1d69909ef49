using System.Net;
using System.Text.Json.Nodes;

namespace QaActors.Cli.Tests;

/// <summary>
/// Issue 8, end to end: Quantum-1 training through the actors against a `qa sapi-sim` process. Tiling puts a step's
/// examples in one SAPI call and cuts the QPU time per step; an outage at the start (HTTP 503, or nothing listening)
/// does not stop training: it runs on the fallback and the QPU takes over when it is back; with `--fallback none` it
/// waits for the QPU instead. Needs the mnist cache (deploy/test.sh fetches it). One class, so these heavy runs do not
/// overlap each other.
/// </summary>
public class QpuTrainingTests
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(4);

    private static Dictionary<string, string> Env(string endpoint) => new()
    {
        ["DWAVE_API_ENDPOINT"] = endpoint,
        ["DWAVE_API_TOKEN"] = SapiSimProcess.Token,
        // Explicit, so a dwave.conf of the machine running the tests cannot choose another solver.
        ["DWAVE_API_SOLVER"] = "Advantage_sim4.1",
    };

    /// <summary>The paper's Sec. 5.2 Quantum-1 settings (mnist 0,1, 20 training images, batch 5, lr 0.1, K = 548, 100 reads, T = 16).</summary>
    private static string[] Section52(string root, string name, int steps, int tiles) =>
    [
        "--dataset", "mnist", "--classes", "0,1", "--method", "qpu", "--train-size", "20", "--test-size", "20",
        "--batch", "5", "--lr", "0.1", "--steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--t-eff", "16", "--tiles", tiles.ToString(System.Globalization.CultureInfo.InvariantCulture), "--seed", "7",
        "--out", Path.Combine(root, name), "--db", Path.Combine(root, name + ".db"), "--data-dir", DataDir(root, name), "--json",
    ];

    /// <summary>
    /// A small Quantum-1 run for the outage tests: the property (who served each step) does not depend on the model's
    /// size, so K = 16 and 50 reads keep the QPU steps short. The Gibbs chains are long on purpose (a fallback step takes
    /// ~0.1-0.3 s): a few-millisecond fallback step would let the whole run finish while the breaker waits to probe.
    /// </summary>
    private static string[] Small(string root, string name, int steps, string fallback, string? config) =>
    [
        "--dataset", "mnist", "--classes", "0,1", "--method", "qpu", "--hidden", "16", "--train-size", "20", "--test-size", "20",
        "--batch", "5", "--lr", "0.1", "--steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture), "--reads", "50",
        "--sweeps", "20000", "--tiles", "5", "--seed", "7", "--fallback", fallback,
        "--out", Path.Combine(root, name), "--db", Path.Combine(root, name + ".db"), "--data-dir", DataDir(root, name), .. config is null ? Array.Empty<string>() : ["--config", config],
    ];

    /// <summary>
    /// The breaker probes again after 0.5-1 s instead of 5-60 s, so that the QPU's return is noticed a few steps after it
    /// happens (with the defaults, fast fallback steps could finish the whole run while the breaker waits).
    /// </summary>
    private static string QuickBreaker(string root)
    {
        string path = Path.Combine(root, "quick-breaker.conf");
        File.WriteAllText(path, "qa.gateway.breaker { max-failures = 3, reset-timeout = 500ms, max-reset-timeout = 1s }\n");
        return path;
    }

    /// <summary>
    /// A data dir of the run's own (the node's files, such as the marker naming its journal, stay in the test's folder
    /// and never touch the user's cache; one per journal, since a data dir belongs to one), holding links to the cached
    /// datasets so nothing is downloaded.
    /// </summary>
    private static string DataDir(string root, string name)
    {
        string dir = Path.Combine(root, name + "-data");
        if (Directory.Exists(dir)) return dir;
        Directory.CreateDirectory(dir);
        string cache = QaActors.Data.DataStore.DefaultDirectory();
        var datasets = Directory.Exists(cache) ? Directory.GetFiles(cache, "*.qads") : [];
        Assert.True(datasets.Length > 0, $"no cached datasets in {cache}; run deploy/test.sh once (it fetches them)");
        foreach (string f in datasets) File.CreateSymbolicLink(Path.Combine(dir, Path.GetFileName(f)), f);
        return dir;
    }

    private static long Count(JsonNode report, string sampler) => (long?)report["provenance"]!["samplers"]![sampler] ?? 0;

    private static JsonObject Reasons(JsonNode report) => report["provenance"]!["fallback_reasons"]!.AsObject();

    [Fact]
    public void TiledStepIsOneSapiCallAndCostsAtMostAThirdOfTheUntiledStepsAccessTime()
    {
        string root = Directory.CreateTempSubdirectory("qa-tiles").FullName;
        try
        {
            using var sim = SapiSimProcess.Start(0, "--dead-fraction", "0");
            const int steps = 2;
            var runs = new Dictionary<int, (double ReportSeconds, double SimMicros, long Calls)>();
            foreach (int tiles in new[] { 5, 1 })
            {
                var before = sim.Usage();
                var r = QaProcess.Run(["train", .. Section52(root, $"tiles{tiles}", steps, tiles)], Env(sim.Endpoint), RunTimeout);
                Assert.True(r.ExitCode == 0, $"--tiles {tiles}: exit {r.ExitCode}\n{r.Stderr}");
                var after = sim.Usage();
                var report = JsonNode.Parse(r.Stdout)!;
                // Every example of every step was served by the QPU: no fallback hides a missing call.
                Assert.Equal(steps * 5, Count(report, "qpu"));
                Assert.Empty(Reasons(report));
                runs[tiles] = ((double)report["provenance"]!["qpu_access_time"]!, after.AccessMicros - before.AccessMicros, after.Problems - before.Problems);
            }
            // Five copies of the 549-variable star fit on P16: ceil(5 / 5) = 1 call per step, against one per example.
            Assert.Equal(steps * 1L, runs[5].Calls);
            Assert.Equal(steps * 5L, runs[1].Calls);
            foreach (var (tiles, run) in runs)
            {
                // What the run reports is what the QPU charged: each tile carries its share of the call.
                Assert.True(Math.Abs(run.ReportSeconds * 1e6 - run.SimMicros) <= 1e-6 * run.SimMicros + 1e-3,
                    $"--tiles {tiles}: report {run.ReportSeconds} s, simulator charged {run.SimMicros} µs");
            }
            double ratio = runs[5].SimMicros / runs[1].SimMicros;
            Assert.True(ratio <= 0.3, $"tiled access time per step is {ratio:F3} of the untiled one ({runs[5].SimMicros / steps:F0} µs vs {runs[1].SimMicros / steps:F0} µs)");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Http503AtTheStartFallsBackToGibbsAndTheQpuTakesOverWhenItIsBack()
    {
        string root = Directory.CreateTempSubdirectory("qa-outage503").FullName;
        try
        {
            // An outage far longer than the run: only the test ends it, after training has run three steps through it.
            using var sim = SapiSimProcess.Start(0, "--outage", "http-503", "--outage-duration", "3600");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, sim.ListSolversStatus());
            const int steps = 24;
            using var train = TrainProcess.Start(Small(root, "run", steps, "gibbs", QuickBreaker(root)), Env(sim.Endpoint));
            Assert.True(train.WaitForStep(3, TimeSpan.FromSeconds(120)), $"training did not get through 3 steps during the outage:\n{train.Stderr}");
            sim.SetFaults("""{"outage": {"mode": "none"}}""");
            var (code, report, stdout) = train.WaitForExit(RunTimeout);
            Assert.True(code == 0, $"exit {code}\n{stdout}\n{train.Stderr}");
            Assert.NotNull(report);
            AssertFellBackThenQpu(report, Path.Combine(root, "run"), steps, train.Stderr);
            Assert.True(sim.Usage().Problems > 0);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void ConnectionRefusedAtTheStartFallsBackToGibbsAndTheQpuTakesOverWhenItIsBack()
    {
        string root = Directory.CreateTempSubdirectory("qa-refused").FullName;
        try
        {
            // Nothing listens on the port while the first steps run; the simulator is started there afterwards.
            int port = SapiSimProcess.FreePort();
            const int steps = 24;
            using var train = TrainProcess.Start(Small(root, "run", steps, "gibbs", QuickBreaker(root)), Env($"http://127.0.0.1:{port}/sapi/v2/"));
            Assert.True(train.WaitForStep(3, TimeSpan.FromSeconds(120)), $"training did not get through 3 steps without a QPU:\n{train.Stderr}");
            using var sim = SapiSimProcess.Start(port);
            var (code, report, stdout) = train.WaitForExit(RunTimeout);
            Assert.True(code == 0, $"exit {code}\n{stdout}\n{train.Stderr}");
            Assert.NotNull(report);
            AssertFellBackThenQpu(report, Path.Combine(root, "run"), steps, train.Stderr);
            Assert.True(sim.Usage().Problems > 0);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>
    /// Steps 1-3 ran before the QPU was back, so at least their 15 examples fell back; some later steps were served by
    /// the QPU; nothing else served any; the reason of the fallback is recorded.
    /// </summary>
    private static void AssertFellBackThenQpu(JsonNode report, string outDir, int steps, string log)
    {
        // The report printed is the one written beside the model.
        var written = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "report.json")))!;
        Assert.Equal(report["provenance"]!.ToJsonString(), written["provenance"]!.ToJsonString());
        long gibbs = Count(report, "gibbs"), qpu = Count(report, "qpu");
        string provenance = report["provenance"]!.ToJsonString() + "\n" + log;
        Assert.True(gibbs >= 15, $"only {gibbs} examples fell back: {provenance}");
        Assert.True(qpu >= 5, $"the QPU served {qpu} examples after it came back: {provenance}");
        Assert.Equal(steps * 5L, gibbs + qpu);
        Assert.Equal(steps * 5L, (long)report["provenance"]!["examples"]!);
        var reasons = Reasons(report);
        Assert.Equal(gibbs, reasons.Sum(kv => (long)kv.Value!));
        Assert.Contains(reasons, kv => kv.Key.StartsWith("qpu-error", StringComparison.Ordinal));
        Assert.True((double)report["provenance"]!["qpu_access_time"]! > 0, provenance);
    }

    [Fact]
    public void WithoutFallbackTrainingWaitsForTheQpuAndEveryExampleIsServedByIt()
    {
        string root = Directory.CreateTempSubdirectory("qa-wait").FullName;
        try
        {
            // The simulator's first 19 SAPI requests answer 503: one here, to see the fault armed, and 18 for training,
            // which are three calls of the client's 6 attempts each; so the gateway's first calls fail and it backs off.
            using var sim = SapiSimProcess.Start(0, "--set", "sapi-sim.faults.transient-5xx.requests = 19");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, sim.ListSolversStatus());
            const int steps = 4;
            var r = QaProcess.Run(["train", .. Small(root, "run", steps, "none", null), "--json"], Env(sim.Endpoint), RunTimeout);
            Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
            var report = JsonNode.Parse(r.Stdout)!;
            Assert.Equal(steps * 5L, Count(report, "qpu"));
            Assert.Equal(steps * 5L, (long)report["provenance"]!["examples"]!);
            Assert.Empty(Reasons(report));
            Assert.Equal(HttpStatusCode.OK, sim.ListSolversStatus()); // the outage was used up by training
            Assert.Equal(steps * 1L, sim.Usage().Problems);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
