using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace QaActors.Cli.Tests;

/// <summary>
/// The campaign issue's cluster drills with real `qa node` processes on PostgreSQL (docs/campaigns.md, "On a cluster"):
/// a 24-experiment campaign spreads over two nodes, survives kill -9 of one node and a stop of both, runs every
/// experiment exactly once, and ends with the results of a `--local` run of the same file, bit for bit.
/// </summary>
public class CampaignClusterTests(ITestOutputHelper output)
{
    private static string Temp(string name) => Path.Combine(Path.GetTempPath(), "qa-campaign-cluster-" + name + "-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>
    /// Two pairs x backprop/gibbs x 6 seeds. The Gibbs cells take about a second each (a kill lands while some are in
    /// flight); two at once, so both nodes have work whenever the shards spread.
    /// </summary>
    private static string Spec(string dir)
    {
        string file = Path.Combine(dir, "drill.conf");
        File.WriteAllText(file, """
            campaign {
              name = "drill"
              datasets = [ { dataset = mnist, pairs = ["0,1", "2,3"] } ]
              methods = [backprop, gibbs]
              seeds = [1, 2, 3, 4, 5, 6]
              settings { hidden = 32, train-size = 20, test-size = 100, steps = 10, reads = 50, sweeps = 300, eval-every = 2 }
              max-concurrent = 2
            }
            """);
        return file;
    }

    private static string Key(JsonNode c) => $"{c["class_a"]}-{c["class_b"]}-{c["method"]}-s{c["seed"]}";

    /// <summary>Every metric of one recorded step, as text that keeps every bit.</summary>
    private static string Values(JsonNode h) => string.Join(",",
        h["values"]!.AsObject().Select(kv => kv.Key + "=" + kv.Value!.GetValue<double>().ToString("R", CultureInfo.InvariantCulture)));

    /// <summary>(pair, method, seed) → step → its metrics.</summary>
    private static Dictionary<string, Dictionary<long, string>> Results(JsonArray cells) => cells.ToDictionary(
        c => Key(c!), c => c!["history"]!.AsArray().ToDictionary(h => h!["step"]!.GetValue<long>(), h => Values(h!)));

    /// <summary>
    /// Every step of every experiment recorded once, 0 to the last (a step lost or applied twice shows here), and at the
    /// steps the local run evaluated, every metric equal to its bit (the node also keeps the training loss between them).
    /// </summary>
    private static void AssertSameResults(Dictionary<string, Dictionary<long, string>> expected, JsonArray cells)
    {
        Assert.Equal(expected.Keys.Order(), cells.Select(c => Key(c!)).Order());
        foreach (var c in cells)
        {
            var steps = c!["history"]!.AsArray().Select(h => h!["step"]!.GetValue<long>()).ToList();
            Assert.Equal(Enumerable.Range(0, 11).Select(i => (long)i), steps);
            var actual = Results([c.DeepClone()])[Key(c)];
            foreach (var (step, v) in expected[Key(c)])
                Assert.True(v == actual[step], $"{Key(c)} step {step}: the local run recorded\n{v}\nthe cluster\n{actual[step]}");
        }
    }

    private static async Task<JsonNode?> Status(HttpClient c, string id)
    {
        // While a lost node is downed and its shards move, a request can go unanswered until its ask times out.
        try
        {
            var res = await c.GetAsync($"api/v1/campaigns/{id}");
            return res.IsSuccessStatusCode ? JsonNode.Parse(await res.Content.ReadAsStringAsync()) : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return null; }
    }

    private static async Task<JsonNode> WaitForCompleted(HttpClient c, string id, int atLeast, TimeSpan within)
    {
        var until = Stopwatch.StartNew();
        while (true)
        {
            if (await Status(c, id) is { } s && s["completed"]!.GetValue<int>() >= atLeast) return s;
            Assert.True(until.Elapsed < within, $"campaign {id}: fewer than {atLeast} experiments completed within {within}");
            await Task.Delay(200);
        }
    }

    private static async Task<JsonNode> WaitForEnd(HttpClient c, string id, TimeSpan within)
    {
        var until = Stopwatch.StartNew();
        while (true)
        {
            var s = await Status(c, id);
            if (s is not null && s["state"]!.GetValue<string>() != "running") return s;
            Assert.True(until.Elapsed < within, $"campaign {id} did not end within {within}: {s?.ToJsonString()}");
            await Task.Delay(500);
        }
    }

    private static string Submit(NodeProcess node, string token, string spec, string name)
    {
        var r = QaProcess.Run(["campaign", "run", spec, "--name", name, "--detach", "--json", "--server", node.Api.ToString(), "--token", token]);
        Assert.True(r.ExitCode == 0, r.Stderr + node.Stderr);
        return JsonNode.Parse(r.Stdout)!["campaign_id"]!.GetValue<string>();
    }

    /// <summary>Completed, every experiment on its first attempt, the local run's results, and a complete report.</summary>
    private void AssertComplete(JsonNode end, Dictionary<string, Dictionary<long, string>> local, NodeProcess via, string token, string id, string reportDir)
    {
        Assert.True(end["state"]!.GetValue<string>() == "completed", end.ToJsonString());
        Assert.Equal((24, 24), (end["total"]!.GetValue<int>(), end["completed"]!.GetValue<int>()));
        var cells = end["cells"]!.AsArray();
        // Exactly once: no experiment was submitted a second time (one in flight at a loss was continued, not redone).
        Assert.All(cells, c => Assert.Equal(1, c!["attempts"]!.GetValue<int>()));
        AssertSameResults(local, cells);
        var report = QaProcess.Run(["campaign", "report", id, "--out", reportDir, "--json", "--server", via.Api.ToString(), "--token", token]);
        Assert.True(report.ExitCode == 0, report.Stderr);
        AssertSameResults(local, JsonNode.Parse(report.Stdout)!["cells"]!.AsArray());
        foreach (var f in new[] { "tables.md", "tables.csv", "report.json", "fig4-mnist-0-1.png", "fig4-mnist-2-3.png" })
            Assert.True(File.Exists(Path.Combine(reportDir, f)), f);
        string tables = File.ReadAllText(Path.Combine(reportDir, "tables.md"));
        // Tables 1-3 each have a row per pair and a column per method; the provenance table a row per experiment.
        foreach (var row in new[] { "| MNIST | 0-1 |", "| MNIST | 2-3 |" })
            Assert.Equal(3, tables.Split('\n').Count(l => l.StartsWith(row, StringComparison.Ordinal)));
        Assert.Contains("Classical-1 (backprop)", tables, StringComparison.Ordinal);
        Assert.Contains("Classical-2", tables, StringComparison.Ordinal);
        Assert.All(cells, c => Assert.Contains($"| {c!["experiment_id"]} | completed |", tables, StringComparison.Ordinal));
        output.WriteLine($"{id}: " + string.Join(", ", cells.GroupBy(c => c!["node"]?.GetValue<string>() ?? "?").Select(g => $"{g.Count()} on {g.Key}")));
    }

    [Fact]
    public async Task A_two_node_campaign_spreads_survives_kill_9_and_a_full_restart_and_equals_the_local_run()
    {
        string root = Temp("drill");
        if (PostgresCluster.Create("camp", root, 2) is not { } nodes) return;
        var watch = Stopwatch.StartNew();
        try
        {
            Directory.CreateDirectory(root);
            string spec = Spec(root);
            string localDir = NodeProcess.NewDataDir(Path.Combine(root, "local"));
            var localRun = QaProcess.Run(["campaign", "run", spec, "--local", "--out", Path.Combine(localDir, "out"), "--data-dir", localDir, "--json"], timeout: TimeSpan.FromMinutes(5));
            Assert.True(localRun.ExitCode == 0, localRun.Stderr);
            var local = Results(JsonNode.Parse(localRun.Stdout)!["cells"]!.AsArray());
            Assert.Equal(24, local.Count);
            output.WriteLine($"local run: {watch.Elapsed.TotalSeconds:F1} s");

            nodes.StartAll();
            string token = nodes[0]!.AdminToken;
            await nodes.WaitUntilUp(0, token);

            // 1. Undisturbed: each node runs about half of the experiments (12 +- 20 %).
            string spread = Submit(nodes[0]!, token, spec, "spread");
            using (var c0 = nodes[0]!.Client(token))
            {
                var end = await WaitForEnd(c0, spread, TimeSpan.FromMinutes(3));
                AssertComplete(end, local, nodes[0]!, token, spread, Path.Combine(root, "report-spread"));
                var perNode = end["cells"]!.AsArray().GroupBy(c => nodes.IndexOf(c!["node"]?.GetValue<string>())).ToDictionary(g => g.Key, g => g.Count());
                Assert.True(perNode.Keys.All(k => k >= 0), "a completed experiment names no node of the cluster: " + string.Join(",", perNode.Keys));
                foreach (int i in new[] { 0, 1 }) Assert.InRange(perNode.GetValueOrDefault(i), 10, 14);
                // The node's data sets the sizes every experiment records.
                var view = JsonNode.Parse(await c0.GetStringAsync($"api/v1/experiments/{end["cells"]![0]!["experiment_id"]}"))!;
                Assert.Equal((20, 100), (view["config"]!["TrainSize"]!.GetValue<int>(), view["config"]!["TestSize"]!.GetValue<int>()));
            }
            output.WriteLine($"spread: {watch.Elapsed.TotalSeconds:F1} s");

            // 2. kill -9 of one node mid-campaign, then it starts again. The survivor is the node of the lower address:
            // with two nodes, keep-majority keeps the side of the lowest address (hocon/akka.conf).
            int victim = nodes.Ports[0] > nodes.Ports[1] ? 0 : 1, survivor = 1 - victim;
            string killed = Submit(nodes[survivor]!, token, spec, "kill");
            using (var cs = nodes[survivor]!.Client(token))
            {
                var at = await WaitForCompleted(cs, killed, 4, TimeSpan.FromMinutes(2));
                Assert.True(at["completed"]!.GetValue<int>() < 22, "the campaign ended before the kill");
                nodes.Kill(victim);
                output.WriteLine($"killed node {victim} with {at["completed"]} of 24 completed");
                // Once the survivor has taken over the lost node's shards and gone on, the lost node starts again.
                await WaitForCompleted(cs, killed, at["completed"]!.GetValue<int>() + 2, TimeSpan.FromMinutes(2));
                nodes.Start(victim);
                var end = await WaitForEnd(cs, killed, TimeSpan.FromMinutes(3));
                AssertComplete(end, local, nodes[survivor]!, token, killed, Path.Combine(root, "report-kill"));
            }
            output.WriteLine($"kill -9: {watch.Elapsed.TotalSeconds:F1} s");

            // 3. Both nodes stop (SIGTERM, as systemd stops them) mid-campaign and start again: it continues by itself.
            await nodes.WaitUntilUp(0, token);
            string stopped = Submit(nodes[0]!, token, spec, "stop");
            using (var c0 = nodes[0]!.Client(token))
            {
                var at = await WaitForCompleted(c0, stopped, 4, TimeSpan.FromMinutes(2));
                Assert.True(at["completed"]!.GetValue<int>() < 22, "the campaign ended before the stop");
                nodes.Stop(victim, TimeSpan.FromSeconds(15));
                nodes.Stop(survivor, TimeSpan.FromSeconds(15));
                output.WriteLine($"stopped both nodes with {at["completed"]} of 24 completed");
            }
            nodes.StartAll();
            using (var c1 = nodes[1]!.Client(token))
            {
                var end = await WaitForEnd(c1, stopped, TimeSpan.FromMinutes(3));
                AssertComplete(end, local, nodes[1]!, token, stopped, Path.Combine(root, "report-stop"));
            }
            output.WriteLine($"full restart: {watch.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            try { nodes.Dispose(); }
            finally { if (Directory.Exists(root)) Directory.Delete(root, recursive: true); }
        }
    }
}
