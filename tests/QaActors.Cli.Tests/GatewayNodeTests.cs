using System.Globalization;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace QaActors.Cli.Tests;

/// <summary>
/// One real `qa node`, one `qa sapi-sim`, two users submitting at once through the API (the CLI as its client): the QPU
/// is shared by weighted fair queueing, and a user's quota holds exactly, also when answers are lost.
/// </summary>
public class GatewayNodeTests(ITestOutputHelper output)
{
    private static string Temp(string name) => Path.Combine(Path.GetTempPath(), "qa-node-test-" + name + "-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>One look at the gateway's state per user (from GET /api/v1/cluster).</summary>
    private sealed record Look(int AliceQueued, int BobQueued, double AliceQpu, double BobQpu, long AliceFellBack);

    /// <summary>`qa user add NAME --weight W --json` against the node; returns the token.</summary>
    private static string AddUser(Dictionary<string, string> admin, string user, double weight)
    {
        var add = QaProcess.Run(["user", "add", user, "--weight", weight.ToString(CultureInfo.InvariantCulture), "--json"], admin);
        Assert.True(add.ExitCode == 0, add.Stderr);
        return JsonNode.Parse(add.Stdout)!["token"]!.GetValue<string>();
    }

    private static Task Watch(HttpClient asAdmin, List<Look> looks, CancellationToken stop) => Task.Run(async () =>
    {
        while (!stop.IsCancellationRequested)
        {
            var gw = JsonNode.Parse(await asAdmin.GetStringAsync("api/v1/cluster"))!["gateways"]!.AsArray().Single()!;
            var users = gw["users"]!.AsArray().ToDictionary(u => u!["user"]!.GetValue<string>(), u => u!);
            JsonNode? U(string name) => users.GetValueOrDefault(name);
            looks.Add(new Look(U("alice")?["queued"]!.GetValue<int>() ?? 0, U("bob")?["queued"]!.GetValue<int>() ?? 0,
                U("alice")?["qpu_access_time"]!.GetValue<double>() ?? 0, U("bob")?["qpu_access_time"]!.GetValue<double>() ?? 0,
                U("alice")?["fell_back"]!.GetValue<long>() ?? 0));
            await Task.Delay(40);
        }
    });

    /// <summary>
    /// QPU time of each user between consecutive looks that both saw problems of each user queued (and, if asked, before
    /// alice's first fallback), and alice's share of it.
    /// </summary>
    private (double Alice, double Bob, double AliceShare) ShareWhileBothWait(List<Look> looks, bool untilAliceFallsBack)
    {
        double a = 0, b = 0;
        int intervals = 0;
        for (int i = 0; i + 1 < looks.Count; i++)
        {
            var (x, y) = (looks[i], looks[i + 1]);
            if (x.AliceQueued == 0 || x.BobQueued == 0 || y.AliceQueued == 0 || y.BobQueued == 0) continue;
            if (untilAliceFallsBack && y.AliceFellBack > 0) continue;
            a += y.AliceQpu - x.AliceQpu;
            b += y.BobQpu - x.BobQpu;
            intervals++;
        }
        double share = a / (a + b);
        output.WriteLine($"{looks.Count} looks, {intervals} intervals with both users waiting: alice {a:F4} s, bob {b:F4} s of QPU time, alice's share {share:P1}");
        return (a, b, share);
    }

    /// <summary>Three Quantum-1 runs per user at once; each step's <paramref name="batch"/> examples go 5 to a QPU call (tiles 5).</summary>
    private static List<(string User, Task<QaProcess.Result> Run)> StartRuns(NodeProcess node, string dir, Dictionary<string, string> tokens, int steps, int batch = 5) =>
        [.. new[] { "alice", "bob" }.SelectMany(user => Enumerable.Range(0, 3).Select(k =>
        {
            string outDir = Path.Combine(dir, $"{user}-{k}");
            var env = new Dictionary<string, string> { ["QA_SERVER"] = node.Api.ToString(), ["QA_TOKEN"] = tokens[user] };
            return (user, Task.Run(() => QaProcess.Run(["train", "--dataset", "mnist", "--classes", "0,1", "--method", "qpu", "--hidden", "16",
                "--steps", steps.ToString(CultureInfo.InvariantCulture), "--batch", batch.ToString(CultureInfo.InvariantCulture), "--reads", "400", "--tiles", "5", "--test-size", "20",
                "--seed", (k + 1).ToString(CultureInfo.InvariantCulture),
                "--fallback", "gibbs", "--sweeps", "20", "--out", outDir, "--json"], env, TimeSpan.FromMinutes(5))));
        }))];

    /// <summary>
    /// Alice (quota 2 s) and bob (equal weights) run three Quantum-1 experiments each at once: every run completes
    /// (alice's on the fallback once her quota is spent), alice is charged at most 2 s and exactly the QPU access time
    /// her experiments report, the simulator ran exactly what the ledger charged, and while both users have work waiting
    /// (and alice still has quota) each gets half the QPU time, within 10 %.
    /// </summary>
    [Fact]
    public async Task Two_users_with_equal_weights_share_one_qpu_half_and_half_and_a_quota_holds_exactly()
    {
        // Fewer annealer sweeps than the default: the simulated QPU answers quickly, its timing model is unchanged.
        using var sim = SapiSimProcess.Start(0, "--dead-fraction", "0", "--set", "sapi-sim.anneal.sweeps = 50");
        string dir = NodeProcess.NewDataDir(Temp("share"));
        try
        {
            using var node = NodeProcess.Start(dir, new Dictionary<string, string>
            {
                ["DWAVE_API_ENDPOINT"] = sim.Endpoint, ["DWAVE_API_TOKEN"] = SapiSimProcess.Token, ["DWAVE_API_SOLVER"] = "Advantage_sim4.1",
            });
            var admin = new Dictionary<string, string> { ["QA_SERVER"] = node.Api.ToString(), ["QA_TOKEN"] = node.AdminToken };
            var tokens = new Dictionary<string, string> { ["alice"] = AddUser(admin, "alice", 1), ["bob"] = AddUser(admin, "bob", 1) };
            var set = QaProcess.Run(["quota", "set", "alice", "2"], admin);
            Assert.True(set.ExitCode == 0, set.Stderr);

            // Watch the gateway while the runs go: each user's waiting problems, QPU time and fallbacks.
            using var asAdmin = node.Client(node.AdminToken);
            using var stopWatching = new CancellationTokenSource();
            var looks = new List<Look>();
            var watching = Watch(asAdmin, looks, stopWatching.Token);

            var runs = StartRuns(node, dir, tokens, steps: 10);
            var results = await Task.WhenAll(runs.Select(r => r.Run));
            stopWatching.Cancel();
            await watching;

            var reported = new Dictionary<string, double> { ["alice"] = 0, ["bob"] = 0 };
            var fallbacks = new Dictionary<string, long> { ["alice"] = 0, ["bob"] = 0 };
            foreach (var ((user, _), r) in runs.Zip(results))
            {
                Assert.True(r.ExitCode == 0, r.Stderr + node.Stderr);
                var report = JsonNode.Parse(r.Stdout)!;
                Assert.Equal(10, report["steps"]!.GetValue<int>());
                reported[user] += report["provenance"]!["qpu_access_time"]!.GetValue<double>();
                fallbacks[user] += report["provenance"]!["samplers"]!["gibbs"]?.GetValue<long>() ?? 0;
            }
            var quotas = JsonNode.Parse(await asAdmin.GetStringAsync("api/v1/quotas"))!.AsArray().ToDictionary(q => q!["user"]!.GetValue<string>(), q => q!);
            double aliceCharged = quotas["alice"]["charged_seconds"]!.GetValue<double>();
            double bobCharged = quotas["bob"]["charged_seconds"]!.GetValue<double>();
            var usage = sim.Usage();
            output.WriteLine($"alice: charged {aliceCharged:F6} s, reported {reported["alice"]:F6} s, {fallbacks["alice"]} problems on the fallback; " +
                $"bob: charged {bobCharged:F6} s, reported {reported["bob"]:F6} s; simulator: {usage.AccessMicros / 1e6:F6} s over {usage.Problems} problems");
            Assert.True(aliceCharged <= 2.0 + 1e-9, $"alice charged {aliceCharged} s with a 2 s quota");
            Assert.Equal(reported["alice"], aliceCharged, 6);
            Assert.Equal(0, quotas["alice"]["reserved_seconds"]!.GetValue<double>(), 9);
            Assert.True(fallbacks["alice"] > 0, "alice's demand exceeds her quota, so some of her problems fell back");
            Assert.Equal(0, fallbacks["bob"]);
            Assert.Equal(reported["bob"], bobCharged, 6);
            // The simulator ran exactly what the node's ledger charged its users.
            Assert.Equal(usage.AccessMicros / 1e6, aliceCharged + bobCharged, 6);

            // The share while both had work waiting and alice still had quota.
            var (a, b, share) = ShareWhileBothWait(looks, untilAliceFallsBack: true);
            Assert.True(a + b >= 1.0, $"only {a + b:F3} s of QPU time were served while both users waited: the window is too short to measure a share");
            Assert.InRange(share, 0.45, 0.55);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>
    /// `qa user add bob --weight 3` drives the gateway's fair queue: while both users have work waiting, alice (weight 1)
    /// gets a quarter of the QPU time and bob three quarters.
    /// </summary>
    [Fact]
    public async Task Weights_given_with_qa_user_add_set_the_shares_of_the_qpu_on_a_real_node()
    {
        using var sim = SapiSimProcess.Start(0, "--dead-fraction", "0", "--set", "sapi-sim.anneal.sweeps = 50");
        string dir = NodeProcess.NewDataDir(Temp("weights"));
        try
        {
            using var node = NodeProcess.Start(dir, new Dictionary<string, string>
            {
                ["DWAVE_API_ENDPOINT"] = sim.Endpoint, ["DWAVE_API_TOKEN"] = SapiSimProcess.Token, ["DWAVE_API_SOLVER"] = "Advantage_sim4.1",
            });
            var admin = new Dictionary<string, string> { ["QA_SERVER"] = node.Api.ToString(), ["QA_TOKEN"] = node.AdminToken };
            var tokens = new Dictionary<string, string> { ["alice"] = AddUser(admin, "alice", 1), ["bob"] = AddUser(admin, "bob", 3) };
            using var asAdmin = node.Client(node.AdminToken);
            using var stopWatching = new CancellationTokenSource();
            var looks = new List<Look>();
            var watching = Watch(asAdmin, looks, stopWatching.Token);
            // Three calls per step and run: a user with three runs always has calls queued while one of theirs is served,
            // even on a loaded machine (with one call per step bob's queue emptied whenever his three runs were all
            // between steps, and alice got up to a third). Sixty-three calls each also make one call's share of the measure small.
            var runs = StartRuns(node, dir, tokens, steps: 7, batch: 15);
            var results = await Task.WhenAll(runs.Select(r => r.Run));
            stopWatching.Cancel();
            await watching;
            foreach (var r in results) Assert.True(r.ExitCode == 0, r.Stderr + node.Stderr);

            var users = JsonNode.Parse(await asAdmin.GetStringAsync("api/v1/cluster"))!["gateways"]!.AsArray().Single()!["users"]!.AsArray();
            Assert.Equal(3.0, users.Single(u => u!["user"]!.GetValue<string>() == "bob")!["weight"]!.GetValue<double>());
            var (a, b, share) = ShareWhileBothWait(looks, untilAliceFallsBack: false);
            Assert.True(a + b >= 1.0, $"only {a + b:F3} s of QPU time were served while both users waited: the window is too short to measure a share");
            Assert.InRange(share, 0.20, 0.30);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>
    /// The simulator runs and charges two problems, then drops every request about them for 12 s (the answer GET fails
    /// after the problem was accepted). The run completes (those problems on the fallback); the ledger charges their
    /// reservations at once, never less than the simulator ran, and once the answers show again charges exactly what
    /// the simulator ran.
    /// </summary>
    [Fact]
    public async Task Lost_answers_are_charged_never_released_and_settled_to_what_the_simulator_ran()
    {
        using var sim = SapiSimProcess.Start(0, "--dead-fraction", "0", "--set", "sapi-sim.anneal.sweeps = 50");
        string dir = NodeProcess.NewDataDir(Temp("lost"));
        try
        {
            using var node = NodeProcess.Start(dir, new Dictionary<string, string>
            {
                ["DWAVE_API_ENDPOINT"] = sim.Endpoint, ["DWAVE_API_TOKEN"] = SapiSimProcess.Token, ["DWAVE_API_SOLVER"] = "Advantage_sim4.1",
            });
            var admin = new Dictionary<string, string> { ["QA_SERVER"] = node.Api.ToString(), ["QA_TOKEN"] = node.AdminToken };
            var add = QaProcess.Run(["user", "add", "carol", "--json"], admin);
            Assert.True(add.ExitCode == 0, add.Stderr);
            string token = JsonNode.Parse(add.Stdout)!["token"]!.GetValue<string>();
            sim.SetFaults("""{"lose-answers": {"count": 2, "for": "12s", "mode": "drop"}}""");

            var run = QaProcess.Run(["train", "--dataset", "mnist", "--classes", "0,1", "--method", "qpu", "--hidden", "16", "--steps", "6",
                "--reads", "400", "--tiles", "5", "--test-size", "20", "--fallback", "gibbs", "--sweeps", "20", "--json"],
                new Dictionary<string, string> { ["QA_SERVER"] = node.Api.ToString(), ["QA_TOKEN"] = token }, TimeSpan.FromMinutes(3));
            Assert.True(run.ExitCode == 0, run.Stderr + node.Stderr);
            var provenance = JsonNode.Parse(run.Stdout)!["provenance"]!;
            Assert.Equal(10, provenance["samplers"]!["gibbs"]!.GetValue<long>()); // the two lost calls of 5 problems each

            using var asAdmin = node.Client(node.AdminToken);
            async Task<double> Charged() => JsonNode.Parse(await asAdmin.GetStringAsync("api/v1/quotas"))!.AsArray()
                .Single(q => q!["user"]!.GetValue<string>() == "carol")!["charged_seconds"]!.GetValue<double>();
            double first = await Charged(), simFirst = sim.Usage().AccessMicros / 1e6;
            output.WriteLine($"when the run ended: simulator {simFirst:F6} s over {sim.Usage().Problems} problems, charged {first:F6} s, the run reports {provenance["qpu_access_time"]!.GetValue<double>():F6} s");
            Assert.Equal(6, sim.Usage().Problems);
            Assert.True(first >= simFirst - 1e-9, $"charged {first} s is below the {simFirst} s the simulator ran");

            double charged = first, ran = simFirst;
            var until = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < until)
            {
                charged = await Charged();
                ran = sim.Usage().AccessMicros / 1e6;
                Assert.True(charged >= ran - 1e-9, $"charged {charged} s is below the {ran} s the simulator ran");
                if (Math.Abs(charged - ran) < 1e-6) break;
                await Task.Delay(250);
            }
            output.WriteLine($"settled: simulator {ran:F6} s, charged {charged:F6} s");
            Assert.Equal(ran, charged, 6);
            var gw = JsonNode.Parse(await asAdmin.GetStringAsync("api/v1/cluster"))!["gateways"]!.AsArray().Single()!;
            Assert.Equal(2, gw["lost_answers"]!.GetValue<long>());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
