using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text.Json.Nodes;

namespace QaActors.Cli.Tests;

/// <summary>
/// The campaign report the node serves (CampaignReportApi): report.json, the tables, the figures as PNG and the live
/// event stream, under the API's rules (401 without a valid token, another user's campaign 404, admins see all).
/// </summary>
public class CampaignApiTests
{
    private const string Spec = """
        campaign {
          name = "api"
          datasets = [ { dataset = mnist, pairs = ["2,3"] } ]
          methods = [backprop, gibbs]
          seeds = [1, 2]
          settings { hidden = 16, train-size = 20, steps = 3, reads = 10, sweeps = 20 }
          max-concurrent = 2
          runtime { min-size = 10, max-size = 100, points-per-decade = 1, measure-max-size = 100, reads = 5, sweeps = 20, repeats = 1 }
        }
        """;

    private static readonly byte[] PngMagic = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    [Fact]
    public async Task The_report_tables_figures_and_events_of_a_campaign_keep_the_apis_rules()
    {
        string dir = NodeProcess.NewDataDir(Path.Combine(Path.GetTempPath(), "qa-campaign-api-" + Guid.NewGuid().ToString("N")[..8]));
        try
        {
            using var node = NodeProcess.Start(dir);
            using var admin = node.Client(node.AdminToken);
            var tokens = new Dictionary<string, string>();
            foreach (var user in new[] { "alice", "bob" })
            {
                var r = await admin.PostAsJsonAsync("api/v1/users", new { name = user });
                Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
                tokens[user] = JsonNode.Parse(await r.Content.ReadAsStringAsync())!["token"]!.GetValue<string>();
            }
            using var alice = node.Client(tokens["alice"]);
            using var bob = node.Client(tokens["bob"]);
            using var anonymous = node.Client(null);
            using var wrong = node.Client("qa_not-a-token");

            var created = await alice.PostAsJsonAsync("api/v1/campaigns", new { text = Spec, source = "api.conf" });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            string id = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["campaign_id"]!.GetValue<string>();
            string b = $"api/v1/campaigns/{id}";

            // The event stream while it runs: a state with every cell first, and once it is over, the end.
            var events = new List<(string Type, JsonNode Data)>();
            using (var stream = await alice.GetAsync($"{b}/events", HttpCompletionOption.ResponseHeadersRead))
            {
                Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
                Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
                await foreach (var item in SseParser.Create(await stream.Content.ReadAsStreamAsync(cts.Token)).EnumerateAsync(cts.Token))
                    events.Add((item.EventType, JsonNode.Parse(item.Data)!));
            }
            Assert.Equal("state", events[0].Type);
            Assert.Equal(4, events[0].Data["cells"]!.AsArray().Count);
            Assert.All(events[0].Data["cells"]!.AsArray(), c => Assert.Null(c!["history"]));
            Assert.Equal(("end", "completed"), (events[^1].Type, events[^1].Data["state"]!.GetValue<string>()));
            var lastState = events.Last(e => e.Type == "state").Data;
            Assert.Equal(4, lastState["completed"]!.GetValue<int>());
            Assert.All(lastState["cells"]!.AsArray(), c =>
            {
                Assert.Equal(("completed", 3, 3), (c!["status"]!.GetValue<string>(), c["last_step"]!.GetValue<int>(), c["steps"]!.GetValue<int>()));
                Assert.InRange(c["final_accuracy"]!.GetValue<double>(), 0, 1);
            });

            // report.json: Tables 1-3 rows beside the paper's values, the figures it has, every cell with its history.
            var report = JsonNode.Parse(await alice.GetStringAsync($"{b}/report"))!;
            Assert.Equal(id, report["campaign_id"]!.GetValue<string>());
            var rows = report["tables"]!.AsArray();
            Assert.Equal(["backprop", "gibbs"], rows.Select(r => r!["method"]!.GetValue<string>()));
            Assert.All(rows, r =>
            {
                Assert.Equal(("mnist", "2-3", 2), (r!["dataset"]!.GetValue<string>(), r["pair"]!.GetValue<string>(), r["runs"]!.GetValue<int>()));
                Assert.NotNull(r["paper_accuracy"]);
            });
            Assert.Equal(0.8277, rows[0]!["paper_accuracy"]!.GetValue<double>());
            Assert.Equal(["fig4-mnist-2-3.png"], report["figures"]!.AsArray().Select(f => f!.GetValue<string>()));
            Assert.Equal(4, report["cells"]!.AsArray().Count);
            Assert.Equal(await alice.GetStringAsync($"{b}/report"), await alice.GetStringAsync($"{b}/report/report.json"));
            Assert.Contains("| MNIST | 2-3 |", await alice.GetStringAsync($"{b}/report/tables.md"), StringComparison.Ordinal);
            Assert.StartsWith("table,dataset,pair", await alice.GetStringAsync($"{b}/report/tables.csv"), StringComparison.Ordinal);

            var png = await alice.GetAsync($"{b}/figures/fig4-mnist-2-3.png");
            Assert.Equal(("image/png", HttpStatusCode.OK), (png.Content.Headers.ContentType?.MediaType, png.StatusCode));
            var bytes = await png.Content.ReadAsByteArrayAsync();
            Assert.True(bytes.Length > 1000, $"the figure has {bytes.Length} bytes");
            Assert.Equal(PngMagic, bytes[..8]);
            // Asked again, the same figure (drawn once per state of the cells).
            Assert.Equal(bytes, await alice.GetByteArrayAsync($"{b}/figures/fig4-mnist-2-3.png"));
            var noFigure = await alice.GetAsync($"{b}/figures/fig4-mnist-0-1.png");
            Assert.Equal(HttpStatusCode.NotFound, noFigure.StatusCode);
            Assert.Contains("fig4-mnist-2-3.png", JsonNode.Parse(await noFigure.Content.ReadAsStringAsync())!["error"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync($"{b}/report/secrets.txt")).StatusCode);

            string[] paths = [$"{b}/report", $"{b}/report/tables.md", $"{b}/figures/fig4-mnist-2-3.png", $"{b}/events"];
            foreach (var p in paths)
            {
                // No token or a wrong one: 401. Another user: 404, as if it did not exist. An admin: everything.
                Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(p)).StatusCode);
                Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync(p)).StatusCode);
                Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync(p)).StatusCode);
                using var asAdmin = await admin.GetAsync(p, HttpCompletionOption.ResponseHeadersRead);
                Assert.Equal(HttpStatusCode.OK, asAdmin.StatusCode);
            }
            Assert.Equal(HttpStatusCode.NotFound, (await bob.PostAsync($"{b}/cancel", null)).StatusCode);
            Assert.DoesNotContain(JsonNode.Parse(await bob.GetStringAsync("api/v1/campaigns"))!.AsArray(), c => c!["campaign_id"]!.GetValue<string>() == id);
            Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync("api/v1/campaigns/nobody-00000000/report")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync("api/v1/campaigns/not..an/report")).StatusCode);

            // Fig. 5: the runtime study runs on the node only when asked, then its figure is served beside the report's.
            Assert.Equal("none", JsonNode.Parse(await alice.GetStringAsync($"{b}/runtime"))!["state"]!.GetValue<string>());
            Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync($"{b}/figures/fig5.png")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync($"{b}/runtime", null)).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await bob.PostAsync($"{b}/runtime", null)).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"{b}/runtime")).StatusCode);
            var started = await alice.PostAsync($"{b}/runtime", null);
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            Assert.Equal("running", JsonNode.Parse(await started.Content.ReadAsStringAsync())!["state"]!.GetValue<string>());
            // Asked again while it runs: the same study, not a second one.
            Assert.Equal(HttpStatusCode.OK, (await alice.PostAsync($"{b}/runtime", null)).StatusCode);
            JsonNode runtime;
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(300);
            while ((runtime = JsonNode.Parse(await alice.GetStringAsync($"{b}/runtime"))!)["state"]!.GetValue<string>() == "running")
            {
                Assert.True(DateTime.UtcNow < until, "the runtime study is still running after 300 s");
                await Task.Delay(500);
            }
            Assert.True(runtime["state"]!.GetValue<string>() == "completed", runtime.ToJsonString());
            var study = runtime["study"]!;
            Assert.Equal([10, 100], study["rows"]!.AsArray().Select(r => r!["size"]!.GetValue<int>()));
            Assert.True(study["max_size_pegasus16"]!.GetValue<int>() > 100);
            var fig5 = await alice.GetByteArrayAsync($"{b}/figures/fig5.png");
            Assert.True(fig5.Length > 1000, $"fig5.png has {fig5.Length} bytes");
            Assert.Equal(PngMagic, fig5[..8]);
            Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"{b}/figures/fig5.png")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"{b}/figures/fig5.png")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"{b}/figures/fig5.png")).StatusCode);

            // `qa campaign report` writes the node's report: the same report.json, tables and figure.
            string outDir = Path.Combine(dir, "report");
            var cli = QaProcess.Run(["campaign", "report", id, "--out", outDir, "--json"],
                new Dictionary<string, string> { ["QA_SERVER"] = node.Api.ToString(), ["QA_TOKEN"] = tokens["alice"] });
            Assert.True(cli.ExitCode == 0, cli.Stderr);
            Assert.Equal(await alice.GetStringAsync($"{b}/report"), File.ReadAllText(Path.Combine(outDir, "report.json")));
            Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(outDir, "fig4-mnist-2-3.png")));
            Assert.Equal(await alice.GetStringAsync($"{b}/report/tables.md"), File.ReadAllText(Path.Combine(outDir, "tables.md")));
            Assert.Equal(["fig4-mnist-2-3.png", "tables.md", "tables.csv", "report.json"], JsonNode.Parse(cli.Stdout)!["files"]!.AsArray().Select(f => f!.GetValue<string>()));
            var asBob = QaProcess.Run(["campaign", "report", id, "--out", Path.Combine(dir, "bob")],
                new Dictionary<string, string> { ["QA_SERVER"] = node.Api.ToString(), ["QA_TOKEN"] = tokens["bob"] });
            Assert.Equal(2, asBob.ExitCode);
            Assert.Contains($"no campaign '{id}' of yours", asBob.Stderr, StringComparison.Ordinal);
            node.Terminate(TimeSpan.FromSeconds(15));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
