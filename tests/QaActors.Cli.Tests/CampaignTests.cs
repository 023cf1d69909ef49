using System.Diagnostics;
using System.Text.Json.Nodes;

namespace QaActors.Cli.Tests;

/// <summary>`qa campaign` against real `qa node` processes, and locally.</summary>
public class CampaignTests
{
    private static string Temp(string name) => Path.Combine(Path.GetTempPath(), "qa-campaign-test-" + name + "-" + Guid.NewGuid().ToString("N")[..8]);

    private static string Spec(string dir, string name, string seeds, string settings, int maxConcurrent)
    {
        string file = Path.Combine(dir, name + ".conf");
        File.WriteAllText(file, $$"""
            campaign {
              name = "{{name}}"
              datasets = [ { dataset = mnist, pairs = ["0,1"] } ]
              methods = [backprop, gibbs]
              seeds = [{{seeds}}]
              settings { {{settings}} }
              max-concurrent = {{maxConcurrent}}
            }
            """);
        return file;
    }

    /// <summary>(method, seed) → the test accuracies of its history.</summary>
    private static Dictionary<(string, ulong), double[]> Curves(JsonNode report) =>
        report["cells"]!.AsArray().ToDictionary(
            c => (c!["method"]!.GetValue<string>(), c["seed"]!.GetValue<ulong>()),
            c => c!["history"]!.AsArray().Select(h => h!["values"]!["test_accuracy"]!.GetValue<double>()).ToArray());

    private static void AssertSameCurves(Dictionary<(string, ulong), double[]> expected, Dictionary<(string, ulong), double[]> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (k, v) in expected) Assert.True(v.SequenceEqual(actual[k]), $"{k}: {string.Join(",", v)} vs {string.Join(",", actual[k])}");
    }

    [Fact]
    public void A_campaign_on_a_node_runs_each_cell_once_and_equals_the_local_run_and_its_report_is_complete()
    {
        string dir = NodeProcess.NewDataDir(Temp("node"));
        try
        {
            string spec = Spec(dir, "tiny", "1, 2", "hidden = 32, train-size = 20, steps = 3, reads = 20, sweeps = 50", 2);
            var local = QaProcess.Run(["campaign", "run", spec, "--local", "--out", Path.Combine(dir, "local"), "--data-dir", dir, "--json"]);
            Assert.True(local.ExitCode == 0, local.Stderr);
            using var node = NodeProcess.Start(dir);
            var run = QaProcess.Run(["campaign", "run", spec, "--data-dir", dir, "--json"]);
            Assert.True(run.ExitCode == 0, run.Stderr + node.Stderr);
            var status = JsonNode.Parse(run.Stdout)!;
            string id = status["campaign_id"]!.GetValue<string>();
            Assert.Equal(("completed", 4, 4), (status["state"]!.GetValue<string>(), status["total"]!.GetValue<int>(), status["completed"]!.GetValue<int>()));
            Assert.All(status["cells"]!.AsArray(), c => Assert.Equal(1, c!["attempts"]!.GetValue<int>()));
            // The same file again is the same campaign: nothing new is submitted.
            var again = QaProcess.Run(["campaign", "run", spec, "--data-dir", dir, "--detach", "--json"]);
            Assert.True(again.ExitCode == 0, again.Stderr);
            Assert.Equal((id, false), (JsonNode.Parse(again.Stdout)!["campaign_id"]!.GetValue<string>(), JsonNode.Parse(again.Stdout)!["created"]!.GetValue<bool>()));
            var experiments = QaProcess.Run(["experiment", "list", "--data-dir", dir, "--json"]);
            Assert.True(experiments.ExitCode == 0, experiments.Stderr);
            var mine = JsonNode.Parse(experiments.Stdout)!.AsArray().Where(e => e!["experiment_id"]!.GetValue<string>().StartsWith(id, StringComparison.Ordinal)).ToList();
            Assert.Equal(4, mine.Count);
            // Each records the train / test size of its data on the node (test-size all: every test image of the pair), as a `qa train` does.
            int tests = QaActors.Data.PairTask.Load(QaActors.Data.DatasetSpec.Parse("mnist"), 0, 1, QaActors.Data.DataSize.Parse("20", "train-size"),
                QaActors.Data.DataSize.Parse("all", "test-size"), 1, dir).Test.Count;
            Assert.True(tests > 20, $"{tests} test images of MNIST 0/1");
            foreach (var e in mine)
            {
                Assert.Equal((20, tests), (e!["config"]!["TrainSize"]!.GetValue<int>(), e["config"]!["TestSize"]!.GetValue<int>()));
                var show = QaProcess.Run(["experiment", "show", e["experiment_id"]!.GetValue<string>(), "--data-dir", dir, "--json"]);
                Assert.True(show.ExitCode == 0, show.Stderr);
                var config = JsonNode.Parse(show.Stdout)!["config"]!;
                Assert.Equal((20, tests), (config["TrainSize"]!.GetValue<int>(), config["TestSize"]!.GetValue<int>()));
            }
            // The report from the node's results equals the in-process run's, cell by cell.
            string reportDir = Path.Combine(dir, "report");
            var report = QaProcess.Run(["campaign", "report", id, "--out", reportDir, "--data-dir", dir, "--json"]);
            Assert.True(report.ExitCode == 0, report.Stderr);
            AssertSameCurves(Curves(JsonNode.Parse(local.Stdout)!), Curves(JsonNode.Parse(report.Stdout)!));
            foreach (var f in new[] { "tables.md", "tables.csv", "report.json", "fig4-mnist-0-1.png" }) Assert.True(File.Exists(Path.Combine(reportDir, f)), f);
            Assert.Contains("| MNIST | 0-1 |", File.ReadAllText(Path.Combine(reportDir, "tables.md")), StringComparison.Ordinal);
            var list = QaProcess.Run(["campaign", "list", "--data-dir", dir, "--json"]);
            Assert.Equal(id, Assert.Single(JsonNode.Parse(list.Stdout)!.AsArray())!["campaign_id"]!.GetValue<string>());
            var unknown = QaProcess.Run(["campaign", "status", "nobody-00000000", "--data-dir", dir]);
            Assert.Equal(2, unknown.ExitCode);
            Assert.Contains("no campaign 'nobody-00000000'", unknown.Stderr, StringComparison.Ordinal);
            node.Terminate(TimeSpan.FromSeconds(15));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>One command runs the whole campaign: its cells, then its runtime study on the node, then the report with Fig. 5 into --out.</summary>
    [Fact]
    public void Campaign_run_with_out_runs_the_cells_then_the_runtime_study_and_writes_the_whole_report()
    {
        string dir = NodeProcess.NewDataDir(Temp("whole"));
        try
        {
            string file = Path.Combine(dir, "whole.conf");
            File.WriteAllText(file, """
                campaign {
                  name = "whole"
                  datasets = [ { dataset = mnist, pairs = ["0,1"] } ]
                  methods = [backprop]
                  seeds = [1]
                  settings { hidden = 16, train-size = 20, steps = 2 }
                  runtime { min-size = 10, max-size = 1000, points-per-decade = 1, measure-max-size = 100, reads = 2, sweeps = 5, repeats = 1 }
                }
                """);
            using var node = NodeProcess.Start(dir);
            string outDir = Path.Combine(dir, "report");
            // --out waits for the end, which --detach does not: refused before anything is submitted.
            var both = QaProcess.Run(["campaign", "run", file, "--data-dir", dir, "--detach", "--out", outDir]);
            Assert.Equal(2, both.ExitCode);
            var run = QaProcess.Run(["campaign", "run", file, "--data-dir", dir, "--out", outDir, "--json"]);
            Assert.True(run.ExitCode == 0, run.Stderr + node.Stderr);
            var status = JsonNode.Parse(run.Stdout)!;
            Assert.Equal("completed", status["state"]!.GetValue<string>());
            Assert.Equal("completed", status["runtime"]!["state"]!.GetValue<string>());
            foreach (var f in new[] { "tables.md", "tables.csv", "report.json", "fig4-mnist-0-1.png", "fig5.png", "runtime.json" })
                Assert.True(new FileInfo(Path.Combine(outDir, f)) is { Exists: true, Length: > 0 }, f);
            var study = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "runtime.json")))!;
            // One point per decade from 10 to 1000; measured up to 100, the larger one extrapolated.
            var rows = study["rows"]!.AsArray();
            Assert.Equal([10.0, 100.0, 1000.0], rows.Select(r => r!["size"]!.GetValue<double>()));
            Assert.Equal([true, true, false], rows.Select(r => r!["measured"]!.GetValue<bool>()));
            node.Terminate(TimeSpan.FromSeconds(15));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_campaign_continues_by_itself_after_kill_9_of_its_node_and_a_restart()
    {
        string dir = NodeProcess.NewDataDir(Temp("kill"));
        try
        {
            // Long enough cells (about a second of Gibbs each) that the kill lands while some are in flight.
            string spec = Spec(dir, "kill", "1, 2, 3", "train-size = 20, steps = 20, reads = 50, sweeps = 300", 1);
            var local = QaProcess.Run(["campaign", "run", spec, "--local", "--out", Path.Combine(dir, "local"), "--data-dir", dir, "--json"]);
            Assert.True(local.ExitCode == 0, local.Stderr);
            string id;
            using (var node = NodeProcess.Start(dir))
            {
                var run = QaProcess.Run(["campaign", "run", spec, "--data-dir", dir, "--detach", "--json"]);
                Assert.True(run.ExitCode == 0, run.Stderr + node.Stderr);
                id = JsonNode.Parse(run.Stdout)!["campaign_id"]!.GetValue<string>();
                var until = Stopwatch.StartNew();
                while (true)
                {
                    var s = JsonNode.Parse(QaProcess.Run(["campaign", "status", id, "--data-dir", dir, "--json"]).Stdout)!;
                    if (s["completed"]!.GetValue<int>() >= 1) { Assert.True(s["completed"]!.GetValue<int>() < 6, "the campaign ended before the kill"); break; }
                    Assert.True(until.Elapsed < TimeSpan.FromSeconds(60), "no cell completed within 60 s");
                    Thread.Sleep(200);
                }
                Process.Start("kill", ["-KILL", node.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
                Thread.Sleep(500);
            }
            using var restarted = NodeProcess.Start(dir);
            JsonNode status;
            var wait = Stopwatch.StartNew();
            do
            {
                Thread.Sleep(500);
                var r = QaProcess.Run(["campaign", "status", id, "--data-dir", dir, "--json"]);
                Assert.True(r.ExitCode == 0, r.Stderr + restarted.Stderr);
                status = JsonNode.Parse(r.Stdout)!;
                Assert.True(wait.Elapsed < TimeSpan.FromSeconds(120), $"the campaign did not finish after the restart: {status.ToJsonString()}");
            }
            while (status["state"]!.GetValue<string>() == "running");
            Assert.Equal(("completed", 6), (status["state"]!.GetValue<string>(), status["completed"]!.GetValue<int>()));
            // Exactly once: every cell completed on its first submission (the one in flight was resumed, not redone).
            Assert.All(status["cells"]!.AsArray(), c => Assert.Equal(1, c!["attempts"]!.GetValue<int>()));
            var local2 = JsonNode.Parse(local.Stdout)!;
            var node2 = JsonNode.Parse(QaProcess.Run(["campaign", "report", id, "--out", Path.Combine(dir, "report"), "--data-dir", dir, "--json"]).Stdout)!;
            AssertSameCurves(Curves(local2), Curves(node2));
            restarted.Terminate(TimeSpan.FromSeconds(15));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_bad_campaign_file_exits_2_naming_the_key()
    {
        string dir = Temp("bad");
        Directory.CreateDirectory(dir);
        try
        {
            string spec = Spec(dir, "bad", "1", "steps = 20, stepz = 3", 1);
            var r = QaProcess.Run(["campaign", "run", spec, "--local", "--out", Path.Combine(dir, "out")]);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("bad.conf: campaign.settings.stepz: unknown key", r.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
