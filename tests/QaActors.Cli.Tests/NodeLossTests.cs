using Xunit.Abstractions;
using System.Text.Json.Nodes;

namespace QaActors.Cli.Tests;

/// <summary>
/// Real `qa node` processes that are killed (SIGKILL) or stopped (SIGTERM) while they train: the experiments they ran
/// continue by themselves, on a restarted node or on the nodes left, each step applied exactly once, and end with the
/// model an uninterrupted embedded run of the same command writes, bit for bit (docs/operations.md, "Node loss drills").
/// </summary>
public class NodeLossTests(ITestOutputHelper output)
{
    private static string Temp(string name) => Path.Combine(Path.GetTempPath(), "qa-loss-test-" + name + "-" + Guid.NewGuid().ToString("N")[..8]);

    // Long enough (about 30 ms a step) to be caught mid-run; small enough for CI.
    private static string[] Train(string outDir, int steps) =>
        ["train", "--dataset", "mnist", "--classes", "0,1", "--method", "gibbs", "--hidden", "8", "--steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
         "--train-size", "20", "--test-size", "20", "--reads", "20", "--sweeps", "50", "--out", outDir];

    private static byte[] EmbeddedModel(string root, int steps)
    {
        string dir = NodeProcess.NewDataDir(Path.Combine(root, "embedded"));
        string outDir = Path.Combine(dir, "out");
        var r = QaProcess.Run([.. Train(outDir, steps), "--data-dir", dir, "--json"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return File.ReadAllBytes(Path.Combine(outDir, "model.safetensors"));
    }

    private static string Submit(NodeProcess node, string token, string outDir, int steps)
    {
        var r = QaProcess.Run([.. Train(outDir, steps), "--server", node.Api.ToString(), "--token", token, "--detach", "--json"]);
        Assert.True(r.ExitCode == 0, r.Stderr + node.Stderr);
        return JsonNode.Parse(r.Stdout)!["experiment_id"]!.GetValue<string>();
    }

    private static async Task<JsonNode> Get(HttpClient c, string id)
    {
        var res = await c.GetAsync($"api/v1/experiments/{id}");
        string body = await res.Content.ReadAsStringAsync();
        // While a lost node's singletons (the user registry among them) move, the API says so and asks to retry.
        if (res.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable) throw new HttpRequestException($"503 {body}");
        Assert.True(res.IsSuccessStatusCode, $"GET {id}: {(int)res.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    /// <summary>Waits until the experiment has persisted at least <paramref name="step"/> steps (and is still short of its end).</summary>
    private static async Task<JsonNode> WaitForStep(HttpClient c, string id, long step, TimeSpan within)
    {
        var until = DateTime.UtcNow + within;
        while (true)
        {
            var v = await Get(c, id);
            if ((long)v["step"]! >= step) return v;
            Assert.True(DateTime.UtcNow < until, $"{id} did not reach step {step} within {within}: {v.ToJsonString()}");
            await Task.Delay(50);
        }
    }

    private static async Task<JsonNode> WaitForEnd(HttpClient c, string id, TimeSpan within)
    {
        var until = DateTime.UtcNow + within;
        while (true)
        {
            JsonNode v;
            // While the cluster downs the lost node, a request routed to its shards goes unanswered until the ask times out.
            try { v = await Get(c, id); }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { v = new JsonObject { ["state"] = "unanswered: " + e.Message }; }
            if (v["state"]?.GetValue<string>() is "completed" or "failed" or "cancelled") return v;
            Assert.True(DateTime.UtcNow < until, $"{id} did not end within {within}: {v.ToJsonString()}");
            await Task.Delay(200);
        }
    }

    /// <summary>Every step from 0 to the last exactly once, in order: none lost, none applied twice.</summary>
    private static void AssertEveryStepOnce(JsonNode view, int steps)
    {
        var history = view["history"]!.AsArray().Select(h => (long)(double)h!["step"]!).ToArray();
        Assert.Equal(Enumerable.Range(0, steps + 1).Select(i => (long)i), history);
    }

    private static byte[] Download(NodeProcess node, string token, string id, string outDir)
    {
        var r = QaProcess.Run(["experiment", "download", id, "--out", outDir, "--server", node.Api.ToString(), "--token", token]);
        Assert.True(r.ExitCode == 0, r.Stderr + node.Stderr);
        return File.ReadAllBytes(Path.Combine(outDir, "model.safetensors"));
    }

    [Fact]
    public async Task A_node_killed_or_stopped_mid_run_continues_its_experiments_by_itself_when_it_starts_again()
    {
        const int steps = 150;
        string root = Temp("restart");
        string dir = NodeProcess.NewDataDir(Path.Combine(root, "node"));
        try
        {
            byte[] reference = EmbeddedModel(root, steps);
            foreach (var how in new[] { "SIGKILL", "SIGTERM" })
            {
                string id;
                string token;
                JsonNode at;
                {
                    using var node = NodeProcess.Start(dir);
                    token = node.AdminToken;
                    using var c = node.Client(token);
                    id = Submit(node, token, Path.Combine(root, "out-" + how), steps);
                    at = await WaitForStep(c, id, 5, TimeSpan.FromSeconds(60));
                    Assert.True((long)at["step"]! < steps, $"the run ended before the node could be stopped ({how})");
                    if (how == "SIGKILL") node.Dispose(); // kill -9: no hand-over, no flush
                    else node.Terminate(TimeSpan.FromSeconds(10));
                    output.WriteLine($"{how} at step {at["step"]}");
                }
                // Nobody resumes it, nor even asks about it: the node that starts on the data dir continues what was
                // running by itself (its shard restores the remembered trainer).
                using var again = NodeProcess.Start(dir);
                using var c2 = again.Client(token);
                await Task.Delay(TimeSpan.FromSeconds(5));
                var later = await Get(c2, id);
                Assert.True((long)later["step"]! > (long)at["step"]! + 1, $"not continued by itself: at step {later["step"]} 5 s after the restart ({how} at {at["step"]})");
                var end = await WaitForEnd(c2, id, TimeSpan.FromSeconds(120));
                Assert.True(end["state"]!.GetValue<string>() == "completed", end.ToJsonString() + again.Stderr);
                AssertEveryStepOnce(end, steps);
                Assert.Equal(reference, Download(again, token, id, Path.Combine(root, "download-" + how)));
                again.Terminate(TimeSpan.FromSeconds(10));
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Three_nodes_on_postgresql_lose_a_trainer_node_then_the_singleton_node_then_all_and_every_experiment_completes_once()
    {
        const int steps = 150;
        string root = Temp("drill");
        if (PostgresCluster.Create("drill", root, 3) is not { } nodes) return;
        try
        {
            byte[] reference = EmbeddedModel(root, steps);
            int seedPort = nodes.Ports[0];
            nodes.StartAll();
            string token = nodes[0]!.AdminToken;
            await nodes.WaitUntilUp(0, token);

            // Drill 1: kill -9 a node (not the oldest) that runs trainers; follow through the oldest.
            var ids = new List<string>();
            int lost;
            for (int k = 0; k < 4; k++) ids.Add(Submit(nodes[0]!, token, Path.Combine(root, "out-a" + k), steps));
            using (var c0 = nodes[0]!.Client(token))
            {
                var where = new Dictionary<string, string>();
                foreach (var id in ids) where[id] = (await WaitForStep(c0, id, 3, TimeSpan.FromSeconds(90)))["node"]?.GetValue<string>() ?? "";
                output.WriteLine("trainers: " + string.Join(", ", where.Select(kv => $"{kv.Key}@{kv.Value}")));
                // A run whose node the step view did not name yet ("") is no candidate.
                string victim = where.Values.FirstOrDefault(a => a.Length > 0 && !a.EndsWith(":" + seedPort, StringComparison.Ordinal)) ?? "";
                lost = nodes.IndexOf(victim);
                Assert.True(lost > 0, $"no trainer ran on another node than the oldest: {string.Join(", ", where.Values)}");
                nodes.Kill(lost);
                output.WriteLine($"killed node {lost} ({victim})");
                foreach (var id in ids)
                {
                    var end = await WaitForEnd(c0, id, TimeSpan.FromSeconds(180));
                    Assert.True(end["state"]!.GetValue<string>() == "completed", end.ToJsonString());
                    AssertEveryStepOnce(end, steps);
                    Assert.Equal(reference, Download(nodes[0]!, token, id, Path.Combine(root, "dl-" + id)));
                }
            }

            // Drill 2, on three nodes again (the lost one restarted on its data dir): kill -9 the oldest node (it holds the
            // singletons: registry, ledger, users, gateways); follow through another.
            nodes.Start(lost);
            await nodes.WaitUntilUp(0, token);
            int left = lost;
            var ids2 = new List<string>();
            for (int k = 0; k < 2; k++) ids2.Add(Submit(nodes[left]!, token, Path.Combine(root, "out-b" + k), steps));
            using (var cl = nodes[left]!.Client(token))
            {
                foreach (var id in ids2) await WaitForStep(cl, id, 3, TimeSpan.FromSeconds(90));
                nodes.Kill(0);
                output.WriteLine("killed node 0 (the oldest)");
                foreach (var id in ids2)
                {
                    var end = await WaitForEnd(cl, id, TimeSpan.FromSeconds(180));
                    Assert.True(end["state"]!.GetValue<string>() == "completed", end.ToJsonString() + nodes[left]!.Stderr);
                    AssertEveryStepOnce(end, steps);
                    Assert.Equal(reference, Download(nodes[left]!, token, id, Path.Combine(root, "dl-" + id)));
                }
            }

            // Drill 3: the whole cluster stops (SIGTERM, as systemd stops it) mid-run and starts again: the runs continue
            // by themselves.
            nodes.Start(0);
            await nodes.WaitUntilUp(0, token);
            var ids3 = new List<string>();
            for (int k = 0; k < 2; k++) ids3.Add(Submit(nodes[0]!, token, Path.Combine(root, "out-c" + k), steps));
            using (var c0 = nodes[0]!.Client(token))
                foreach (var id in ids3) await WaitForStep(c0, id, 3, TimeSpan.FromSeconds(90));
            foreach (int i in new[] { 2, 1, 0 }) nodes.Stop(i, TimeSpan.FromSeconds(15));
            output.WriteLine("stopped the whole cluster");
            nodes.StartAll();
            using (var c1 = nodes[1]!.Client(token))
            {
                foreach (var id in ids3)
                {
                    var end = await WaitForEnd(c1, id, TimeSpan.FromSeconds(180));
                    Assert.True(end["state"]!.GetValue<string>() == "completed", end.ToJsonString());
                    AssertEveryStepOnce(end, steps);
                    Assert.Equal(reference, Download(nodes[1]!, token, id, Path.Combine(root, "dl-" + id)));
                }
            }
        }
        finally
        {
            try { nodes.Dispose(); }
            finally { Directory.Delete(root, recursive: true); }
        }
    }

    [Fact]
    public async Task Losing_the_node_of_the_gateway_and_ledger_during_a_quantum_run_loses_no_step_and_settles_to_what_the_QPU_ran()
    {
        using var sim = SapiSimProcess.Start(0, "--dead-fraction", "0");
        string root = Temp("qdrill");
        var env = new Dictionary<string, string>
        {
            ["DWAVE_API_ENDPOINT"] = sim.Endpoint, ["DWAVE_API_TOKEN"] = SapiSimProcess.Token, ["DWAVE_API_SOLVER"] = "Advantage_sim4.1",
        };
        // A short call timeout: the gateway that takes over settles the lost gateway's open call once no problem of
        // it can still arrive, one call timeout after it adopted the call (5 min as shipped).
        string config = Path.Combine(root, "drill.conf");
        if (PostgresCluster.Create("qdrill", root, 3, env, "--config", config) is not { } nodes) return;
        try
        {
            Directory.CreateDirectory(root);
            File.WriteAllText(config, "qa.gateway.call-timeout = 15s\nqa.gateway.lost-answers.max-backoff = 2s\n");
            nodes.StartAll();
            string token = nodes[0]!.AdminToken;
            var admin = new Dictionary<string, string> { ["QA_SERVER"] = nodes[0]!.Api.ToString(), ["QA_TOKEN"] = token };
            var set = QaProcess.Run(["quota", "set", "admin", "60"], admin);
            Assert.True(set.ExitCode == 0, set.Stderr);
            const int steps = 12;
            var submit = QaProcess.Run(["train", "--dataset", "mnist", "--classes", "0,1", "--method", "qpu", "--hidden", "8", "--steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--train-size", "20", "--test-size", "20", "--reads", "200", "--tiles", "5", "--fallback", "gibbs", "--sweeps", "20",
                "--out", Path.Combine(root, "out-q"), "--detach", "--json"], admin);
            Assert.True(submit.ExitCode == 0, submit.Stderr);
            string id = JsonNode.Parse(submit.Stdout)!["experiment_id"]!.GetValue<string>();
            using (var c0 = nodes[0]!.Client(token))
            {
                var at = await WaitForStep(c0, id, 2, TimeSpan.FromSeconds(120));
                Assert.True((long)at["step"]! < steps, "the run ended before the node could be lost");
            }
            nodes.Kill(0); // kill -9 of the oldest node: the gateway, the quota ledger and the registries go with it
            using var c1 = nodes[1]!.Client(token);
            var end = await WaitForEnd(c1, id, TimeSpan.FromSeconds(240));
            Assert.True(end["state"]!.GetValue<string>() == "completed", end.ToJsonString() + nodes[1]!.Stderr);
            AssertEveryStepOnce(end, steps);
            async Task<double> Charged() => JsonNode.Parse(await c1.GetStringAsync("api/v1/quotas"))!.AsArray()
                .Single(q => q!["user"]!.GetValue<string>() == "admin")!["charged_seconds"]!.GetValue<double>();
            double charged = await Charged();
            double used = sim.Usage().AccessMicros / 1e6;
            output.WriteLine($"at the end of the run: QPU access time run by the simulator {used:F6} s, charged {charged:F6} s, reported by the run {end["provenance"]!["qpu_access_time"]}");
            Assert.True(charged >= used - 1e-6, $"charged {charged} s for {used} s of QPU time");
            Assert.True(charged <= 60, $"charged {charged} s with a 60 s quota");
            // The lost gateway's open call is settled by its successor to what the simulator ran: never below it on the
            // way, and equal in the end.
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(90);
            while (Math.Abs(charged - used) > 1e-6 && DateTime.UtcNow < until)
            {
                await Task.Delay(1000);
                charged = await Charged();
                used = sim.Usage().AccessMicros / 1e6;
                Assert.True(charged >= used - 1e-6, $"charged {charged} s for {used} s of QPU time");
            }
            output.WriteLine($"settled: simulator {used:F6} s, charged {charged:F6} s");
            Assert.True(Math.Abs(charged - used) <= 1e-6, $"charged {charged} s, the simulator ran {used} s: the lost gateway's call was not settled");
        }
        finally
        {
            try { nodes.Dispose(); }
            finally { Directory.Delete(root, recursive: true); }
        }
    }
}
