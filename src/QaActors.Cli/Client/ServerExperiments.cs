using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace QaActors.Cli.Client;

/// <summary>`qa experiment ...` and `qa quota ...` against a node (the API's views rendered as the embedded commands render theirs).</summary>
public static class ServerExperiments
{
    private static string S(JsonNode? n) => n?.ToString() ?? "-";

    private static string Acc(JsonNode view)
    {
        var h = view["history"]?.AsArray();
        return h is { Count: > 0 } && h[^1]?["test_accuracy"] is JsonValue v && v.TryGetValue<double>(out var d) ? d.ToString("F4", CultureInfo.InvariantCulture) : "-";
    }

    public static async Task<int> ListAsync(QaClient client, bool json, CancellationToken ct)
    {
        var all = (await client.GetAsync("api/v1/experiments", ct)).AsArray();
        if (json) { Cli.WriteJson(all); return Cli.ExitOk; }
        var t = new Table().AddColumn(new TableColumn("experiment").NoWrap()).AddColumn("dataset").AddColumn("classes").AddColumn("method")
            .AddColumn("user").AddColumn(new TableColumn("steps").NoWrap()).AddColumn("test accuracy").AddColumn(new TableColumn("state").NoWrap());
        foreach (var v in all.OfType<JsonNode>())
        {
            var task = v["task"];
            t.AddRow(Markup.Escape(S(v["experiment_id"])), Markup.Escape(S(task?["Dataset"])), task is null ? "-" : $"{S(task["ClassA"])},{S(task["ClassB"])}",
                Markup.Escape(S(v["method"])), Markup.Escape(S(v["user"])), $"{S(v["step"])}/{S(v["total_steps"])}", Acc(v), Markup.Escape(S(v["state"])));
        }
        AnsiConsole.Write(t);
        return Cli.ExitOk;
    }

    public static async Task<int> ShowAsync(QaClient client, string id, bool json, CancellationToken ct)
    {
        var v = await client.GetAsync($"api/v1/experiments/{Uri.EscapeDataString(id)}", ct);
        if (json) { Cli.WriteJson(v); return Cli.ExitOk; }
        var c = v["config"];
        var task = v["task"];
        var t = new Table().Title(Markup.Escape(S(v["experiment_id"]))).HideHeaders().AddColumn("k").AddColumn("v");
        t.AddRow("state", Markup.Escape($"{S(v["state"])}, step {S(v["step"])} of {S(v["total_steps"])}{(v["reason"] is { } r ? " (" + r + ")" : "")}"));
        t.AddRow("dataset", Markup.Escape(S(task?["Dataset"])));
        t.AddRow("classes", Markup.Escape($"{S(task?["ClassA"])},{S(task?["ClassB"])}"));
        t.AddRow("method", Markup.Escape(S(v["method"])));
        t.AddRow("hidden", S(c?["Hidden"]));
        t.AddRow("lr / batch", $"{S(c?["LearningRate"])} / {S(c?["Batch"])}");
        t.AddRow("t-eff", S(c?["TEff"]));
        t.AddRow("seed", S(c?["Seed"]));
        t.AddRow("user", Markup.Escape(S(v["user"])));
        var p = v["provenance"];
        if (p?["samplers"] is JsonObject sm && sm.Count > 0) t.AddRow("samples served by", Markup.Escape(string.Join(", ", sm.Select(kv => $"{kv.Key} {kv.Value}"))));
        if (p?["fallback_reasons"] is JsonObject fr && fr.Count > 0) t.AddRow("fallbacks", Markup.Escape(string.Join(", ", fr.Select(kv => $"{kv.Key} {kv.Value}"))));
        t.AddRow("artefacts", Markup.Escape(string.Join(", ", v["artifacts"]?.AsArray().Select(a => a!.ToString()) ?? [])));
        AnsiConsole.Write(t);
        var h = new Table().AddColumn("step").AddColumn("train loss").AddColumn("test accuracy").AddColumn("EBM test accuracy");
        foreach (var row in v["history"]?.AsArray().OfType<JsonNode>() ?? [])
            h.AddRow(S(row["step"]), F(row["train_loss"]), F(row["test_accuracy"]), F(row["ebm_test_accuracy"]));
        AnsiConsole.Write(h);
        return Cli.ExitOk;
    }

    private static string F(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d) ? d.ToString("F4", CultureInfo.InvariantCulture) : "-";

    public static async Task<int> CancelAsync(QaClient client, string id, bool json, CancellationToken ct)
    {
        await client.PostAsync($"api/v1/experiments/{Uri.EscapeDataString(id)}/cancel", null, ct);
        if (json) Cli.WriteJson(new JsonObject { ["experiment_id"] = id, ["cancel_requested"] = true });
        else Console.WriteLine($"{id}: stopping after the step in progress (persisted steps stay; `qa experiment resume {id}` continues)");
        return Cli.ExitOk;
    }

    public static async Task<int> WatchAsync(QaClient client, string id, bool json, CancellationToken ct)
    {
        var v = await client.GetAsync($"api/v1/experiments/{Uri.EscapeDataString(id)}", ct);
        Cli.InterruptNote = () => $"stopped watching {id}; it keeps running on {client.Server}.";
        var end = await ServerTrain.FollowAsync(client, id, json, v["total_steps"]?.GetValue<long>() ?? 1, ct);
        if (json) Cli.WriteJson(new JsonObject { ["experiment_id"] = id, ["state"] = end.State, ["reason"] = end.Reason });
        else Console.WriteLine($"{id}: {end.State}{(end.Reason is { } r ? " (" + r + ")" : "")}");
        return end.State == "completed" ? Cli.ExitOk : Cli.ExitFailure;
    }

    public static async Task<int> ResumeAsync(QaClient client, string id, string? outDir, bool json, CancellationToken ct)
    {
        await client.PostAsync($"api/v1/experiments/{Uri.EscapeDataString(id)}/resume", null, ct);
        var v = await client.GetAsync($"api/v1/experiments/{Uri.EscapeDataString(id)}", ct);
        return await ServerTrain.FollowAndFetchAsync(client, id, v["total_steps"]?.GetValue<long>() ?? 1, outDir ?? Path.Combine("runs", id), json, ct);
    }

    public static async Task<int> DownloadAsync(QaClient client, string id, string outDir, bool json, CancellationToken ct)
    {
        await ServerTrain.DownloadAllAsync(client, id, outDir, ct);
        if (json) Cli.WriteJson(new JsonObject { ["experiment_id"] = id, ["out"] = Path.GetFullPath(outDir) });
        else Console.WriteLine($"{id}: model.safetensors, metrics.csv, curves.png and report.json are in {outDir}");
        return Cli.ExitOk;
    }

    public static async Task<int> QuotaAsync(QaClient client, string? user, double? setSeconds, bool json, CancellationToken ct)
    {
        var accounts = setSeconds is double s
            ? await client.PutAsync($"api/v1/quotas/{Uri.EscapeDataString(user!)}", new JsonObject { ["seconds"] = s }, ct)
            : await client.GetAsync("api/v1/quotas", ct);
        var rows = accounts.AsArray().OfType<JsonNode>().Where(a => user is null || S(a["user"]) == user).ToList();
        if (json) { Cli.WriteJson(new JsonArray(rows.Select(r => r.DeepClone()).ToArray())); return Cli.ExitOk; }
        var t = new Table().AddColumn("user").AddColumn("limit s").AddColumn("charged s").AddColumn("reserved s").AddColumn("left s");
        foreach (var a in rows) t.AddRow(Markup.Escape(S(a["user"])), F(a["limit_seconds"]), F(a["charged_seconds"]), F(a["reserved_seconds"]), F(a["remaining_seconds"]));
        AnsiConsole.Write(t);
        return Cli.ExitOk;
    }
}
