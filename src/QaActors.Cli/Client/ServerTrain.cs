using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using QaActors.Cli.Commands;
using QaActors.Data;
using QaActors.Learning;
using QaActors.Node;
using QaActors.Orchestration;
using QaActors.Orchestration.Training;
using Spectre.Console;

namespace QaActors.Cli.Client;

/// <summary>
/// `qa train` against a node: the same options, validated here; the node loads the data from its own data dir, runs
/// the experiment and keeps its artefacts; this command follows its steps live, then downloads the artefacts into
/// --out. Ctrl-C detaches (the experiment keeps running) and says how to re-attach.
/// </summary>
public static class ServerTrain
{
    public static async Task<int> RunAsync(QaClient client, TrainCommand.Options o, ParseResult pr, CancellationToken ct)
    {
        if (pr.GetValue(o.Engine) == "direct") throw new UsageException("--engine direct trains in this process; drop --server / QA_SERVER (or stop the node that owns the data dir) to use it.");
        if (pr.GetValue(o.User) is not null) throw new UsageException("--user does not apply with a node: the experiment belongs to the token's owner.");
        if (pr.GetValue(o.Db) is not null || pr.GetValue(o.ConfigFile) is not null) throw new UsageException("--db and --config are the node's own settings; drop them when training on a node.");
        var spec = DatasetSpec.Parse(pr.GetValue(o.Dataset)!);
        var (a, b) = PairTask.ParseClasses(pr.GetValue(o.Classes)!);
        var config = o.Config(pr, spec, a, b, null);
        string outDir = o.OutputDirectory(pr, config);
        bool json = pr.GetValue(o.Json);
        var body = new JsonObject
        {
            ["config"] = JsonNode.Parse(LearningProcedure.ConfigJson(config)),
            ["task"] = new JsonObject
            {
                ["dataset"] = spec.Name, ["class_a"] = a, ["class_b"] = b,
                ["train_size"] = pr.GetValue(o.TrainSize), ["test_size"] = pr.GetValue(o.TestSize),
            },
            ["fallback"] = pr.GetValue(o.Fallback),
            // The same --out names the same experiment, so the same command attaches to (or continues) it.
            ["experiment_id"] = ExperimentRunner.ExperimentIdFor(outDir),
        };
        var submitted = await client.PostAsync("api/v1/experiments", body, ct);
        string id = submitted["experiment_id"]!.GetValue<string>();
        if (pr.GetValue(o.Detach))
        {
            if (json) Cli.WriteJson(new JsonObject { ["experiment_id"] = id, ["server"] = client.Server.ToString() });
            else Console.WriteLine(id);
            return Cli.ExitOk;
        }
        Cli.InterruptNote = () => $"detached from experiment {id}; it keeps running on {client.Server}. `qa experiment watch {id}` follows it again, `qa experiment cancel {id}` stops it.";
        if (!json) AnsiConsole.MarkupLineInterpolated($"[bold]{config.Method.ToWire()}[/] on {config.Dataset} classes {a},{b}: experiment {id} on {client.Server}, {config.Steps} steps of batch {config.Batch}");
        return await FollowAndFetchAsync(client, id, config.Steps, outDir, json, ct);
    }

    /// <summary>Follows the run to its end; when it completed, downloads its artefacts into <paramref name="outDir"/> and prints its report.</summary>
    public static async Task<int> FollowAndFetchAsync(QaClient client, string id, long steps, string outDir, bool json, CancellationToken ct)
    {
        var end = await FollowAsync(client, id, json, steps, ct);
        if (end.State != "completed")
            throw new ServerRefusedException($"experiment {id} ended {end.State}{(end.Reason is { } r ? ": " + r : "")}");
        await DownloadAllAsync(client, id, outDir, ct);
        var report = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(outDir, "report.json"), ct))!.AsObject();
        if (json) Cli.WriteJson(report);
        else Render(report, outDir);
        return Cli.ExitOk;
    }

    public sealed record EndState(string State, string? Reason);

    /// <summary>Follows an experiment's events with the usual progress bar (or stderr lines with --json) until it ends.</summary>
    public static async Task<EndState> FollowAsync(QaClient client, string id, bool json, long steps, CancellationToken ct)
    {
        EndState? end = null;
        async Task Loop(ProgressTask? bar)
        {
            await foreach (var (type, data) in client.EventsAsync(id, ct))
            {
                switch (type)
                {
                    case "state":
                        long at = data["step"]?.GetValue<long>() ?? 0;
                        string st = data["state"]?.GetValue<string>() ?? "";
                        if (bar is not null) { bar.MaxValue = Math.Max(1, data["total_steps"]?.GetValue<long>() ?? steps); bar.Value = at; }
                        if (st != "running") { end = new EndState(st, data["reason"]?.GetValue<string>()); return; }
                        if (at > 0) Note(json, $"experiment {id} is at step {at}");
                        break;
                    case "step":
                        long step = data["step"]!.GetValue<long>();
                        double acc = data["metrics"]?["test_accuracy"]?.GetValue<double>() ?? double.NaN;
                        if (bar is null) Console.Error.WriteLine($"qa: step {step}/{data["total_steps"]} persisted");
                        else { bar.Value = step; bar.Description = double.IsNaN(acc) ? $"step {step}" : $"step {step}: test acc {acc.ToString("F3", CultureInfo.InvariantCulture)}"; }
                        break;
                    case "end":
                        end = new EndState(data["state"]?.GetValue<string>() ?? "ended", data["reason"]?.GetValue<string>());
                        return;
                }
            }
        }
        if (json) await Loop(null);
        else await AnsiConsole.Progress().AutoClear(false).StartAsync(async p => await Loop(p.AddTask($"experiment {id}", maxValue: Math.Max(1, steps))));
        return end ?? throw new HttpRequestException($"the node closed the event stream of {id} before it ended; `qa experiment watch {id}` follows it again");
    }

    /// <summary>Every artefact the node kept for the experiment, into <paramref name="outDir"/>.</summary>
    public static async Task DownloadAllAsync(QaClient client, string id, string outDir, CancellationToken ct)
    {
        Directory.CreateDirectory(outDir);
        foreach (var name in NodeApi.ArtifactNames)
            if (!await client.DownloadAsync($"api/v1/experiments/{Uri.EscapeDataString(id)}/artifacts/{name}", Path.Combine(outDir, name), ct))
                throw new ServerRefusedException($"experiment {id} has no {name} on the node yet; `qa experiment download {id} --out DIR` fetches it later");
    }

    private static void Note(bool json, string text)
    {
        if (json) Console.Error.WriteLine($"qa: {text}");
        else AnsiConsole.MarkupLineInterpolated($"[yellow]{text}[/]");
    }

    public static void Render(JsonObject report, string outDir)
    {
        string F(string key) => report[key] is JsonValue v && v.TryGetValue<double>(out var d) ? d.ToString("F4", CultureInfo.InvariantCulture) : "-";
        var t = new Table().HideHeaders().AddColumn("").AddColumn("");
        t.AddRow("MLP test accuracy", F("test_accuracy"));
        t.AddRow("EBM test accuracy", F("ebm_test_accuracy"));
        t.AddRow("MLP test cross-entropy", F("cross_entropy"));
        t.AddRow("EBM test log P(y|x)", F("ebm_log_likelihood"));
        t.AddRow("steps to 70 %", report["steps_to_70"]?.ToString() ?? "never");
        t.AddRow("success", report["success"]?.GetValue<bool>() == true ? "yes" : "no");
        if (report["experiment_id"] is { } eid) t.AddRow("experiment", Markup.Escape(eid.ToString()));
        t.AddRow("output", Markup.Escape(outDir));
        AnsiConsole.Write(t);
    }
}
