using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using QaActors.Campaigns;
using QaActors.Data;
using QaActors.DWave.Composites;
using QaActors.DWave.Config;
using QaActors.DWave.Sapi;
using QaActors.Learning;
using QaActors.Sampling;
using Spectre.Console;

namespace QaActors.Cli.Commands;

/// <summary>
/// <c>qa campaign</c>: the paper's evaluation as grids of experiments (docs/campaigns.md). <c>run --local</c> trains
/// the cells in this process with the direct engine; <c>report</c> turns cell results into Tables 1-3 and the figures;
/// <c>runtime</c> is the Sec. 5.3 study.
/// </summary>
public static class CampaignCommands
{
    public static Command Create()
    {
        var cmd = new Command("campaign", "Campaigns: the paper's Sec. 5 as grids of datasets x class pairs x methods x seeds, reported as Tables 1-3 and Figs. 3-5.");
        cmd.Add(Run());
        cmd.Add(List());
        cmd.Add(StatusCommand());
        cmd.Add(Report());
        cmd.Add(Action("cancel", "Cancel a campaign: its running experiments stop after their current step, nothing more is submitted.", "cancel"));
        cmd.Add(Action("retry-failed", "Submit a campaign's failed (and cancelled) experiments again, with fresh attempts.", "retry-failed"));
        cmd.Add(Runtime());
        return cmd;
    }

    /// <summary>The campaign file, with its errors as usage errors (file, key path, allowed values: exit 2).</summary>
    public static CampaignSpec Load(string file, string? name)
    {
        CampaignSpec spec;
        try { spec = CampaignParser.ParseFile(file); }
        catch (CampaignSpecException e) { throw new UsageException(e.Message); }
        if (name is not null)
        {
            if (name.Trim().Length == 0) throw new UsageException("--name is empty; give the campaign a name, or leave --name out to use the file's");
            spec = spec.WithName(name.Trim());
        }
        return spec;
    }

    private static Command Run()
    {
        var file = new Argument<string>("FILE") { Description = "Campaign file (HOCON), e.g. hocon/campaigns/paper.conf." };
        var name = new Option<string?>("--name") { Description = "Campaign name (default: the file's campaign.name); part of the campaign id." };
        var local = new Option<bool>("--local") { Description = "Train every cell in this process with the direct engine (no node, no persistence of steps; finished cells are kept in --out)." };
        var outDir = new Option<string?>("--out") { Description = "Folder for the report when the campaign ends (tables, figures, with a runtime { } block also fig5.png and runtime.json); --local: also the cell results (default runs/campaign-<id>)." };
        var user = new Option<string?>("--user") { Description = "--local: the user recorded with the cells (default $QA_USER, else the OS user)." };
        var dataDir = CommonOptions.DataDir();
        var json = CommonOptions.Json();
        var detach = new Option<bool>("--detach") { Description = "With a node: print the campaign id once it is submitted and return (`qa campaign status ID` follows it)." };
        var server = new Client.ServerOptions();
        var cmd = new Command("run", "Run a campaign: every cell of its grid exactly once (on a node, or --local in this process), then its report.") { file, name, local, outDir, user, dataDir, json, detach };
        server.AddTo(cmd);
        cmd.SetAction(async (pr, ct) =>
        {
            var spec = Load(pr.GetValue(file)!, pr.GetValue(name));
            if (!pr.GetValue(local))
            {
                using var client = server.Resolve(pr, new DataStore(pr.GetValue(dataDir)).Root)
                    ?? throw new UsageException("campaign run needs a node (--server / QA_SERVER, or a `qa node` that owns the data dir) or --local to train the cells in this process.");
                if (pr.GetValue(detach) && pr.GetValue(outDir) is not null)
                    throw new UsageException("--out receives the report when the campaign ends, which --detach does not wait for; fetch it later with `qa campaign report ID --out DIR`");
                return await RunOnNode(client, pr.GetValue(file)!, pr.GetValue(name), pr.GetValue(detach), pr.GetValue(json),
                    pr.GetValue(outDir) is { } o ? Path.GetFullPath(o) : null, ct);
            }
            if (pr.GetValue(detach)) throw new UsageException("--detach needs a node; with --local the campaign runs in this process.");
            string who = pr.GetValue(user) ?? (Environment.GetEnvironmentVariable("QA_USER") is { Length: > 0 } u ? u : Environment.UserName is { Length: > 0 } n ? n : "default");
            string id = CampaignGrid.CampaignId(spec, who);
            string dir = Path.GetFullPath(pr.GetValue(outDir) ?? Path.Combine("runs", "campaign-" + id));
            Directory.CreateDirectory(dir);
            var (hadId, _) = ReadIdentity(dir);
            if (hadId != "?" && hadId != id)
                throw new UsageException($"--out {dir} holds campaign {hadId}; this file, name and user make campaign {id}. Use another --out, or the original file, --name and --user to continue it.");
            CampaignReport.WriteAtomically(Path.Combine(dir, IdentityFile), new JsonObject { ["campaign_id"] = id, ["name"] = spec.Name, ["user"] = who }.ToJsonString());
            var cells = CampaignGrid.Expand(spec);
            bool asJson = pr.GetValue(json);
            if (!asJson) AnsiConsole.MarkupLineInterpolated($"campaign [bold]{spec.Name}[/] ({id}): {cells.Length} experiments, in {dir}");
            var results = new List<CellResult>();
            var qpu = new LocalQpu();
            async Task Each(Action<int, string>? progress)
            {
                for (int i = 0; i < cells.Length; i++)
                {
                    ct.ThrowIfCancellationRequested();
                    var cell = cells[i];
                    string eid = CampaignGrid.ExperimentId(id, cell);
                    progress?.Invoke(i, eid);
                    var r = LocalCampaign.TryLoad(dir, eid);
                    if (r is null)
                    {
                        r = await LocalCampaign.RunCellAsync(cell, eid, who, pr.GetValue(dataDir), qpu.SamplerFor, ct);
                        LocalCampaign.Save(dir, r);
                        if (asJson) Console.Error.WriteLine($"qa: {eid} done in {r.WallSeconds.ToString("F1", CultureInfo.InvariantCulture)} s");
                    }
                    results.Add(r);
                }
            }
            Cli.InterruptNote = () => $"{results.Count} of {cells.Length} cells are kept in {dir}; the same command continues with the next one.";
            if (asJson) await Each(null);
            else
                await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                    .StartAsync(async ctx =>
                    {
                        var bar = ctx.AddTask("cells", maxValue: cells.Length);
                        await Each((i, eid) => { bar.Value = i; bar.Description = $"{i}/{cells.Length} {eid}"; });
                        bar.Value = cells.Length;
                    });
            var report = CampaignReport.Build(id, spec.Name, results);
            var files = report.WriteAll(dir);
            if (spec.Runtime is not null && !asJson)
                AnsiConsole.MarkupLine("the runtime study (Sec. 5.3) runs on its own: [bold]qa campaign runtime --out DIR[/]");
            return Finish(asJson, report, dir, files);
        });
        return cmd;
    }

    private static async Task<int> RunOnNode(Client.QaClient client, string file, string? name, bool detach, bool asJson, string? outDir, CancellationToken ct)
    {
        var body = new JsonObject { ["text"] = File.ReadAllText(file), ["source"] = Path.GetFileName(file), ["name"] = name };
        var res = await client.PostAsync("api/v1/campaigns", body, ct);
        string id = res["campaign_id"]!.GetValue<string>();
        bool created = res["created"]?.GetValue<bool>() ?? false;
        if (!asJson) AnsiConsole.MarkupLineInterpolated($"campaign [bold]{id}[/] on {client.Server}: {res["experiments"]} experiments{(created ? "" : " (already submitted: following it)")}");
        bool runtime = res["runtime_study"]?.GetValue<bool>() == true;
        if (!asJson && runtime)
            AnsiConsole.MarkupLine(detach
                ? "its runtime study (Sec. 5.3) runs when asked, after the cells: from the campaign's dashboard page, `POST /api/v1/campaigns/ID/runtime`, or `qa campaign run` without --detach"
                : "its runtime study (Sec. 5.3) runs on the node once the cells are done, so that training does not disturb its timings");
        if (detach)
        {
            if (asJson) Cli.WriteJson(res);
            else AnsiConsole.MarkupLineInterpolated($"follow it with `qa campaign status {id}`, its report with `qa campaign report {id} --out DIR`");
            return Cli.ExitOk;
        }
        Cli.InterruptNote = () => $"campaign {id} keeps running on the node; `qa campaign status {id}` follows it, `qa campaign cancel {id}` stops it.";
        string counts = $"api/v1/campaigns/{Uri.EscapeDataString(id)}?cells=false", full = $"api/v1/campaigns/{Uri.EscapeDataString(id)}";
        JsonNode status = await client.GetAsync(counts, ct);
        if (asJson)
        {
            while (status["state"]?.GetValue<string>() == CellStatus.Running)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
                status = await client.GetAsync(counts, ct);
            }
            status = await client.GetAsync(full, ct);
            if (runtime && status["state"]?.GetValue<string>() == CellStatus.Completed) status["runtime"] = await RuntimeStudyOnNode(client, id, null, ct);
            if (outDir is not null) status["report"] = (await DownloadAll(client, id, outDir, status["runtime"]?["state"]?.GetValue<string>() == "completed", ct)).Dir;
            Cli.WriteJson(status);
            return status["failed"]?.GetValue<int>() > 0 ? Cli.ExitFailure : Cli.ExitOk;
        }
        await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async ctx =>
            {
                var bar = ctx.AddTask("experiments", maxValue: status["total"]!.GetValue<int>());
                while (true)
                {
                    int done = status["completed"]!.GetValue<int>() + status["failed"]!.GetValue<int>() + status["cancelled"]!.GetValue<int>();
                    bar.Value = done;
                    bar.Description = $"done {status["completed"]} / running {status["running"]} / failed {status["failed"]} / waiting {status["waiting"]}";
                    if (status["state"]?.GetValue<string>() != CellStatus.Running) break;
                    await Task.Delay(TimeSpan.FromSeconds(1), ct);
                    status = await client.GetAsync(counts, ct);
                }
            });
        status = await client.GetAsync(full, ct);
        AnsiConsole.Write(CellsTable(status));
        JsonNode? study = null;
        if (runtime && status["state"]?.GetValue<string>() == CellStatus.Completed)
            study = await RuntimeStudyOnNode(client, id, p => AnsiConsole.MarkupLineInterpolated($"runtime study: {p}"), ct);
        if (outDir is not null)
        {
            var (dir, files) = await DownloadAll(client, id, outDir, study?["state"]?.GetValue<string>() == "completed", ct);
            AnsiConsole.MarkupLineInterpolated($"campaign {id}: {status["state"]}; report: {Path.Combine(dir, "tables.md")} ({files.Count} files in {dir})");
        }
        else AnsiConsole.MarkupLineInterpolated($"campaign {id}: {status["state"]}; its report: `qa campaign report {id} --out DIR`");
        return status["failed"]?.GetValue<int>() > 0 ? Cli.ExitFailure : Cli.ExitOk;
    }

    /// <summary>
    /// Asks the node for the campaign's runtime study (CampaignRuntimeApi: one at a time per node, kept once done)
    /// and waits for it; answers its last state (completed with the study, or failed with the reason).
    /// </summary>
    private static async Task<JsonNode> RuntimeStudyOnNode(Client.QaClient client, string id, Action<string>? progress, CancellationToken ct)
    {
        string path = $"api/v1/campaigns/{Uri.EscapeDataString(id)}/runtime";
        var state = await client.PostAsync(path, new JsonObject(), ct);
        progress?.Invoke($"{state["state"]} on the node ({state["sizes"]?.AsArray().Count} sizes)");
        var every = TimeSpan.FromSeconds(2);
        while (state["state"]?.GetValue<string>() is "running" or "none")
        {
            await Task.Delay(every, ct);
            state = await client.GetAsync(path, ct);
        }
        progress?.Invoke(state["state"]?.GetValue<string>() == "completed" ? "completed" : $"{state["state"]}: {state["reason"]}");
        return state;
    }

    /// <summary>The node's report into <paramref name="dir"/>, and with a completed runtime study its Fig. 5 and runtime.json.</summary>
    private static async Task<(string Dir, IReadOnlyList<string> Files)> DownloadAll(Client.QaClient client, string id, string dir, bool withRuntime, CancellationToken ct)
    {
        var (_, reportFiles) = await DownloadReport(client, id, dir, ct);
        var files = reportFiles.ToList();
        if (withRuntime)
        {
            string basePath = $"api/v1/campaigns/{Uri.EscapeDataString(id)}";
            if (!await client.DownloadAsync($"{basePath}/figures/fig5.png", Path.Combine(dir, "fig5.png"), ct))
                throw new InvalidDataException($"the node's runtime study of {id} completed but it did not send fig5.png");
            files.Add("fig5.png");
            var state = await client.GetAsync($"{basePath}/runtime", ct);
            CampaignReport.WriteAtomically(Path.Combine(dir, "runtime.json"), (state["study"] ?? new JsonObject()).ToJsonString(CampaignReport.JsonOptions));
            files.Add("runtime.json");
        }
        return (dir, files);
    }

    /// <summary>One row per cell: experiment, state, attempts, steps, final test accuracy, reason.</summary>
    private static Table CellsTable(JsonNode status)
    {
        var t = new Table().AddColumn("experiment").AddColumn("state").AddColumn("attempts").AddColumn("final test accuracy").AddColumn("reason");
        foreach (var c in status["cells"]?.AsArray() ?? [])
        {
            var history = c!["history"]?.AsArray();
            var last = history is { Count: > 0 } ? history[^1]!["values"]?["test_accuracy"]?.GetValue<double>() : null;
            t.AddRow(Markup.Escape(c["experiment_id"]!.GetValue<string>()), c["status"]!.GetValue<string>(), c["attempts"]!.ToString(),
                last is double a ? a.ToString("F4", CultureInfo.InvariantCulture) : "-", Markup.Escape(c["reason"]?.GetValue<string>() ?? ""));
        }
        return t;
    }

    private static Client.QaClient Node(Client.ServerOptions server, ParseResult pr, Option<string?> dataDir) =>
        server.Resolve(pr, new DataStore(pr.GetValue(dataDir)).Root)
        ?? throw new UsageException("campaigns live on a node: give --server / QA_SERVER, or run `qa node` on this data dir");

    private static Command List()
    {
        var json = CommonOptions.Json();
        var dataDir = CommonOptions.DataDir();
        var server = new Client.ServerOptions();
        var cmd = new Command("list", "List your campaigns on the node (admins: everyone's).") { json, dataDir };
        server.AddTo(cmd);
        cmd.SetAction(async (pr, ct) =>
        {
            using var client = Node(server, pr, dataDir);
            var list = await client.GetAsync("api/v1/campaigns", ct);
            if (pr.GetValue(json)) { Cli.WriteJson(list); return Cli.ExitOk; }
            var t = new Table().AddColumn("campaign").AddColumn("name").AddColumn("user").AddColumn("state").AddColumn("done").AddColumn("running").AddColumn("failed").AddColumn("waiting");
            foreach (var c in list.AsArray())
                t.AddRow(Markup.Escape(c!["campaign_id"]!.GetValue<string>()), Markup.Escape(c["name"]?.GetValue<string>() ?? ""), Markup.Escape(c["user"]?.GetValue<string>() ?? ""),
                    c["state"]?.GetValue<string>() ?? "", $"{c["completed"]}/{c["total"]}", $"{c["running"]}", $"{c["failed"]}", $"{c["waiting"]}");
            AnsiConsole.Write(t);
            return Cli.ExitOk;
        });
        return cmd;
    }

    private static Command StatusCommand()
    {
        var id = new Argument<string>("ID") { Description = "Campaign id (as `qa campaign run` printed it)." };
        var json = CommonOptions.Json();
        var dataDir = CommonOptions.DataDir();
        var server = new Client.ServerOptions();
        var cmd = new Command("status", "A campaign's cells: done, running, failed (with the reason), waiting.") { id, json, dataDir };
        server.AddTo(cmd);
        cmd.SetAction(async (pr, ct) =>
        {
            using var client = Node(server, pr, dataDir);
            var s = await client.GetAsync($"api/v1/campaigns/{Uri.EscapeDataString(pr.GetValue(id)!)}", ct);
            if (pr.GetValue(json)) { Cli.WriteJson(s); return Cli.ExitOk; }
            AnsiConsole.Write(CellsTable(s));
            AnsiConsole.MarkupLineInterpolated($"campaign {s["campaign_id"]} ({s["name"]}): {s["state"]}; {s["completed"]} of {s["total"]} done, {s["running"]} running, {s["failed"]} failed, {s["waiting"]} waiting");
            return Cli.ExitOk;
        });
        return cmd;
    }

    private static Command Action(string verb, string description, string path)
    {
        var id = new Argument<string>("ID") { Description = "Campaign id." };
        var json = CommonOptions.Json();
        var dataDir = CommonOptions.DataDir();
        var server = new Client.ServerOptions();
        var cmd = new Command(verb, description) { id, json, dataDir };
        server.AddTo(cmd);
        cmd.SetAction(async (pr, ct) =>
        {
            using var client = Node(server, pr, dataDir);
            var s = await client.PostAsync($"api/v1/campaigns/{Uri.EscapeDataString(pr.GetValue(id)!)}/{path}", null, ct);
            if (pr.GetValue(json)) { Cli.WriteJson(s); return Cli.ExitOk; }
            AnsiConsole.MarkupLineInterpolated($"campaign {s["campaign_id"]}: {s["state"]}; {s["completed"]} of {s["total"]} done, {s["running"]} running, {s["failed"]} failed, {s["waiting"]} waiting, {s["cancelled"]} cancelled");
            return Cli.ExitOk;
        });
        return cmd;
    }

    private static int Finish(bool asJson, CampaignReport report, string dir, IReadOnlyList<string> files) =>
        Finish(asJson, report.ToJson(report.FigureNames), dir, files);

    /// <summary>
    /// Prints a written report from its report.json (the local report's, or the one the node sent): one way to show it,
    /// whoever computed it.
    /// </summary>
    private static int Finish(bool asJson, JsonObject report, string dir, IReadOnlyList<string> files)
    {
        if (asJson)
        {
            report["out"] = dir;
            report["files"] = new JsonArray(files.Select(f => (JsonNode)f).ToArray());
            Cli.WriteJson(report);
            return Cli.ExitOk;
        }
        if (report["tables"] is JsonArray { Count: > 0 } rows) AnsiConsole.Write(TablesTable(rows));
        AnsiConsole.MarkupLineInterpolated($"report: {Path.Combine(dir, "tables.md")} ({files.Count} files in {dir})");
        return Cli.ExitOk;
    }

    /// <summary>Tables 1-3 side by side for the terminal, from report.json's rows: ours (paper) per method.</summary>
    public static Table TablesTable(JsonArray rows)
    {
        var methods = rows.Select(r => r!["method"]!.GetValue<string>()).Distinct().ToList();
        var t = new Table().AddColumn("dataset").AddColumn("class");
        foreach (var m in methods)
            t.AddColumn($"{(Enum.TryParse<TrainingMethod>(m, ignoreCase: true, out var tm) ? CampaignReport.MethodTitle(tm) : m)}\naccuracy (paper) | steps to 70 % (paper) | success % (paper)");
        string? Text(JsonNode? v, string format) => v is null ? null : v.GetValueKind() == System.Text.Json.JsonValueKind.Number
            ? v.GetValue<double>().ToString(format, CultureInfo.InvariantCulture) : v.ToString();
        foreach (var pair in rows.GroupBy(r => (Dataset: r!["dataset"]!.GetValue<string>(), Pair: r["pair"]!.GetValue<string>())))
        {
            var first = pair.First()!;
            var cells = new List<string> { pair.Key.Dataset, first["label"]?.GetValue<string>() ?? pair.Key.Pair };
            foreach (var m in methods)
            {
                var r = pair.FirstOrDefault(x => x!["method"]!.GetValue<string>() == m);
                if (r is null) { cells.Add("-"); continue; }
                var acc = r["final_accuracy"]!;
                string ours = acc["n"]!.GetValue<int>() == 0 ? "-" : Text(acc["mean"], "F4") ?? "-";
                cells.Add($"{ours} ({Text(r["paper_accuracy"], "G4") ?? "-"}) | {r["steps_to_70_text"]} ({r["paper_steps_to_70"]?.ToString() ?? "-"}) | "
                    + $"{Text(r["success_rate"], "F0") ?? "-"} ({Text(r["paper_success_rate"], "G4") ?? "-"}) n={r["runs"]}");
            }
            t.AddRow(cells.Select(c => Markup.Escape(c)).ToArray());
        }
        return t;
    }

    private static Command Report()
    {
        var id = new Argument<string?>("ID") { Description = "Campaign id on the node (or give --from for a local run).", Arity = ArgumentArity.ZeroOrOne };
        var from = new Option<string?>("--from") { Description = "Folder of a `campaign run --local` (its cells/ folder is read) instead of a campaign on a node." };
        var outDir = new Option<string>("--out") { Description = "Folder for tables.md, tables.csv, report.json and the PNGs.", Required = true };
        var json = CommonOptions.Json();
        var dataDir = CommonOptions.DataDir();
        var server = new Client.ServerOptions();
        var cmd = new Command("report", "Write a campaign's report (Tables 1-3 beside the paper's values, Fig. 4 per pair, Fig. 3 per equivalence pair, provenance).") { id, from, outDir, json, dataDir };
        server.AddTo(cmd);
        cmd.SetAction(async (pr, ct) =>
        {
            string dir = Path.GetFullPath(pr.GetValue(outDir)!);
            CampaignReport report;
            if (pr.GetValue(from) is { } f)
            {
                if (pr.GetValue(id) is not null) throw new UsageException("give either a campaign ID (on a node) or --from DIR (a local run), not both");
                report = LocalReport(f);
            }
            else
            {
                string cid = pr.GetValue(id) ?? throw new UsageException("campaign report needs a campaign ID (on a node) or --from DIR (a `campaign run --local` folder)");
                using var client = Node(server, pr, dataDir);
                var (nodeReport, nodeFiles) = await DownloadReport(client, cid, dir, ct);
                return Finish(pr.GetValue(json), nodeReport, dir, nodeFiles);
            }
            var files = report.WriteAll(dir);
            return Finish(pr.GetValue(json), report, dir, files);
        });
        return cmd;
    }

    /// <summary>
    /// The node's report of a campaign, as the node built it (CampaignReportApi, the same CampaignReport as a local
    /// report): report.json first (it names the figures), then the tables and every figure, into <paramref name="dir"/>.
    /// </summary>
    private static async Task<(JsonObject Report, IReadOnlyList<string> Files)> DownloadReport(Client.QaClient client, string campaignId, string dir, CancellationToken ct)
    {
        string basePath = $"api/v1/campaigns/{Uri.EscapeDataString(campaignId)}";
        var report = (await client.GetAsync($"{basePath}/report", ct)).AsObject();
        Directory.CreateDirectory(dir);
        var figures = report["figures"]?.AsArray().Select(f => f!.GetValue<string>()).ToList() ?? [];
        var files = new List<string>();
        foreach (var f in figures)
        {
            if (Path.GetFileName(f) != f) throw new InvalidDataException($"the node named a figure '{f}' that is not a plain file name");
            if (!await client.DownloadAsync($"{basePath}/figures/{Uri.EscapeDataString(f)}", Path.Combine(dir, f), ct))
                throw new InvalidDataException($"the node's report of {campaignId} names {f} but did not send it");
            files.Add(f);
        }
        foreach (var f in new[] { "tables.md", "tables.csv" })
        {
            if (!await client.DownloadAsync($"{basePath}/report/{f}", Path.Combine(dir, f), ct))
                throw new InvalidDataException($"the node did not send {f} of campaign {campaignId}");
            files.Add(f);
        }
        CampaignReport.WriteAtomically(Path.Combine(dir, "report.json"), report.ToJsonString(CampaignReport.JsonOptions));
        files.Add("report.json");
        return (report, files);
    }

    private static CampaignReport LocalReport(string from)
    {
        string src = Path.GetFullPath(from);
        string cellsDir = Path.Combine(src, LocalCampaign.CellsFolder);
        if (!Directory.Exists(cellsDir)) throw new UsageException($"--from {src} has no {LocalCampaign.CellsFolder}/ folder; give the --out folder of a `qa campaign run --local`");
        var cells = new List<CellResult>();
        foreach (var f in Directory.GetFiles(cellsDir, "*.json").Order(StringComparer.Ordinal))
        {
            try { cells.Add(LocalCampaign.TryLoad(src, Path.GetFileNameWithoutExtension(f))!); }
            catch (System.Text.Json.JsonException e) { throw new UsageException($"{f} is not a cell result ({e.Message}); remove it and run the campaign again to redo that cell"); }
        }
        if (cells.Count == 0) throw new UsageException($"{cellsDir} holds no cell results yet");
        var (campaignId, campaignName) = ReadIdentity(src);
        return CampaignReport.Build(campaignId, campaignName, cells);
    }

    private const string IdentityFile = "campaign.json";

    private static (string Id, string Name) ReadIdentity(string dir)
    {
        string path = Path.Combine(dir, IdentityFile);
        if (!File.Exists(path)) return ("?", "?");
        var j = JsonNode.Parse(File.ReadAllText(path));
        return (j?["campaign_id"]?.GetValue<string>() ?? "?", j?["name"]?.GetValue<string>() ?? "?");
    }

    private static Command Runtime()
    {
        var outDir = new Option<string>("--out") { Description = "Folder for fig5.png and runtime.csv.", Required = true };
        var file = new Option<string?>("--spec") { Description = "Campaign file whose runtime { } block sets the grid (default: hocon/campaigns/paper.conf's)." };
        var measureMax = new Option<double?>("--measure-max-size") { Description = "Measure sizes up to this and extrapolate above it (default: the spec's, 1e5)." };
        var json = CommonOptions.Json();
        var cmd = new Command("runtime", "The paper's Sec. 5.3 / Fig. 5: runtime against model size of the MLP's product, the EBM's Gibbs sampling and the QPU's access time.") { outDir, file, measureMax, json };
        cmd.SetAction(async (pr, ct) =>
        {
            var spec = pr.GetValue(file) is { } f ? Load(f, null) : CampaignParser.Parse(CampaignParser.Embedded("paper")!, "paper.conf");
            var rt = spec.Runtime ?? throw new UsageException($"{spec.Source} has no runtime {{ }} block; add one (docs/campaigns.md) or leave --spec out for the paper's");
            if (pr.GetValue(measureMax) is double mm)
            {
                CommonOptions.RequireRange(mm, "--measure-max-size", 0, 1e9);
                rt = rt with { MeasureMaxSize = mm };
            }
            string dir = Path.GetFullPath(pr.GetValue(outDir)!);
            Directory.CreateDirectory(dir);
            bool asJson = pr.GetValue(json);
            if (!asJson) AnsiConsole.MarkupLineInterpolated($"runtime study: sizes {rt.Sizes()[0]}..{rt.Sizes()[^1]}, measured up to {rt.MeasureMaxSize.ToString("G3", CultureInfo.InvariantCulture)}, {rt.Reads} reads, {rt.Sweeps} sweeps");
            var study = await Task.Run(() => RuntimeStudy.Run(rt, ct, asJson ? null : p => AnsiConsole.MarkupLineInterpolated($"  {p}")), ct);
            var files = study.Write(dir);
            if (asJson)
            {
                var j = study.ToJson();
                j["out"] = dir;
                j["files"] = new JsonArray(files.Select(x => (JsonNode)x).ToArray());
                Cli.WriteJson(j);
                return Cli.ExitOk;
            }
            var t = new Table().AddColumn("visible nodes").AddColumn("MLP product (s)").AddColumn("EBM Gibbs (s)").AddColumn("QPU access (s)").AddColumn("simulator sampling (s)").AddColumn("measured");
            foreach (var row in study.Rows)
                t.AddRow(row.Size.ToString("N0", CultureInfo.InvariantCulture), G(row.MlpSeconds), G(row.GibbsSeconds), G(row.QpuAccessSeconds), G(row.SimulatorSeconds), row.Measured ? "yes" : "extrapolated");
            AnsiConsole.Write(t);
            AnsiConsole.MarkupLineInterpolated($"largest N-1 model embedded: pegasus P16 {study.MaxPegasus}, zephyr Z15 {study.MaxZephyr}; {Path.Combine(dir, "fig5.png")}");
            return Cli.ExitOk;
        });
        return cmd;
    }

    private static string G(double? v) => v is double d ? d.ToString("G3", CultureInfo.InvariantCulture) : "-";

    /// <summary>
    /// The QPU sampler of a local Quantum-1 cell: the D-Wave settings come from the environment and dwave.conf as for
    /// <c>qa train --method qpu</c>; the cell's own T_eff and tiles are applied. Created when a qpu cell first needs it.
    /// </summary>
    private sealed class LocalQpu
    {
        public ISampler? SamplerFor(TrainingConfig config)
        {
            if (config.Method != TrainingMethod.Qpu) return TrainingSamplers.For(config);
            DWaveConfig dw;
            try
            {
                dw = DWaveConfig.Load(new DWaveConfigOverrides());
                dw.RequireToken();
            }
            catch (DWaveConfigException e) { throw new UsageException($"the campaign has qpu cells: {e.Message}"); }
            // One sampler (and SAPI client) per cell; the cell's runner disposes it when the cell ends.
            return QpuSampler.FromConfig(dw, new QpuSamplerOptions
            {
                Temperature = new QpuTemperature(config.TEff, config.AutoTemperature),
                MaxTiles = config.Tiles,
            });
        }
    }
}
