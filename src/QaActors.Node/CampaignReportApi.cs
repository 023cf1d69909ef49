using System.Collections.Concurrent;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using QaActors.Campaigns;
using QaActors.Orchestration;
using QaActors.Orchestration.Campaigns;

namespace QaActors.Node;

/// <summary>
/// A campaign's report served by the node (docs/campaigns.md, "The report"), built by the same
/// <see cref="CampaignReport"/> that <c>qa campaign report</c> writes to files, and its live progress as Server-Sent
/// Events for the dashboard. The campaign rules hold: another user's campaign is 404, admins see all.
/// </summary>
public static class CampaignReportApi
{
    /// <summary>The report's text files besides the figures (<see cref="CampaignReport.FigureNames"/>).</summary>
    public static readonly string[] TextFiles = ["report.json", "tables.md", "tables.csv"];

    private static readonly TimeSpan Ask = TimeSpan.FromSeconds(10);

    /// <summary>How often the event stream looks at the campaign's counts.</summary>
    private static readonly TimeSpan EventPoll = TimeSpan.FromSeconds(1);

    public static void Map(RouteGroupBuilder api, QaActorSystem qa)
    {
        var cache = new ReportCache();
        api.MapGet("/campaigns/{id}/report", async (string id, ClaimsPrincipal who, CancellationToken ct) =>
            await ReportAsync(qa, cache, id, who, ct) is { } r ? Results.Text(r.Json.Value, "application/json; charset=utf-8") : CampaignApi.NotFound(id));
        api.MapGet("/campaigns/{id}/report/{file}", async (string id, string file, ClaimsPrincipal who, CancellationToken ct) =>
        {
            if (!TextFiles.Contains(file)) return Results.NotFound(new ApiError($"the report has no file '{file}'; use one of {string.Join(", ", TextFiles)}, or figures/NAME.png"));
            if (await ReportAsync(qa, cache, id, who, ct) is not { } r) return CampaignApi.NotFound(id);
            return file switch
            {
                "tables.md" => Results.Text(r.Report.TablesMarkdown(), "text/markdown; charset=utf-8"),
                "tables.csv" => Results.Text(r.Report.TablesCsv(), "text/csv; charset=utf-8"),
                _ => Results.Text(r.Json.Value, "application/json; charset=utf-8"),
            };
        });
        api.MapGet("/campaigns/{id}/figures/{name}", async (string id, string name, ClaimsPrincipal who, CancellationToken ct) =>
        {
            if (await ReportAsync(qa, cache, id, who, ct) is not { } r) return CampaignApi.NotFound(id);
            if (!r.Report.FigureNames.Contains(name))
                return Results.NotFound(new ApiError(r.Report.FigureNames.Count == 0
                    ? $"campaign '{id}' has no figures (it has no training or equivalence pairs)"
                    : $"campaign '{id}' has no figure '{name}'; it has {string.Join(", ", r.Report.FigureNames)}"));
            // Drawn once per report state: a live page asks again after every finished cell, not after every step.
            var png = await Task.Run(() => r.Figures.GetOrAdd(name, n => new Lazy<byte[]>(() => r.Report.FigurePng(n)!)).Value, ct);
            return Results.File(png, "image/png");
        });
        api.MapGet("/campaigns/{id}/events", async (string id, ClaimsPrincipal who, CancellationToken ct) =>
            await CampaignApi.Owned(qa, new GetCampaignStatus(id), who, ct) is { } first
                ? TypedResults.ServerSentEvents(Events(qa, first, ct))
                : CampaignApi.NotFound(id));
    }

    /// <summary>A campaign's report at one state of its cells, with its JSON and the figures drawn so far.</summary>
    private sealed class Built(string fingerprint, CampaignReport report)
    {
        public string Fingerprint { get; } = fingerprint;
        public CampaignReport Report { get; } = report;
        public Lazy<string> Json { get; } = new(report.ReportJson);
        public ConcurrentDictionary<string, Lazy<byte[]>> Figures { get; } = new(StringComparer.Ordinal);
        public long LastUsed { get; set; } = Environment.TickCount64;
    }

    /// <summary>The latest report per campaign, rebuilt when its cells change; a few dozen campaigns at most are kept.</summary>
    private sealed class ReportCache
    {
        private const int Capacity = 32;
        private readonly ConcurrentDictionary<string, Built> _byCampaign = new(StringComparer.Ordinal);

        public Built Get(string campaignId, string name, JsonArray cells)
        {
            string text = cells.ToJsonString();
            string fingerprint = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
            if (_byCampaign.TryGetValue(campaignId, out var b) && b.Fingerprint == fingerprint)
            {
                b.LastUsed = Environment.TickCount64;
                return b;
            }
            var results = JsonSerializer.Deserialize<List<CellResult>>(text, CampaignReport.JsonOptions)
                ?? throw new InvalidDataException($"campaign {campaignId}: the manager sent no cells");
            var built = new Built(fingerprint, CampaignReport.Build(campaignId, name, results));
            _byCampaign[campaignId] = built;
            while (_byCampaign.Count > Capacity)
            {
                var oldest = _byCampaign.MinBy(kv => kv.Value.LastUsed);
                _byCampaign.TryRemove(oldest.Key, out _);
            }
            return built;
        }
    }

    private static async Task<Built?> ReportAsync(QaActorSystem qa, ReportCache cache, string id, ClaimsPrincipal who, CancellationToken ct)
    {
        if (await CampaignApi.Owned(qa, new GetCampaignStatus(id), who, ct) is not { } first) return null;
        return cache.Get(id, first.Name, await CampaignApi.AllCellsAsync(qa, first, ct));
    }

    /// <summary>
    /// The campaign's progress: a <c>state</c> event with the counts and every cell (without its history) first and
    /// whenever a count changes, a <c>progress</c> event when only the running cells' steps moved, and <c>end</c> once
    /// nothing is left to run. The manager is asked for its counts once a second (a small reply), for the cells only
    /// when they changed.
    /// </summary>
    private static async IAsyncEnumerable<SseItem<string>> Events(QaActorSystem qa, CampaignStatus first, [EnumeratorCancellation] CancellationToken ct)
    {
        string id = first.CampaignId;
        string? lastCounts = null, lastSteps = null;
        var status = first;
        while (true)
        {
            string counts = $"{status.State}|{status.Total}|{status.Completed}|{status.Running}|{status.Waiting}|{status.Failed}|{status.Cancelled}";
            var j = CampaignApi.StatusJson(status);
            string steps = j["steps_in_flight"]!.ToJsonString();
            if (counts != lastCounts)
            {
                var full = lastCounts is null ? first : await qa.Campaigns.Ask<object>(new GetCampaignStatus(id), Ask, ct) as CampaignStatus;
                if (full is null) yield break;
                j = CampaignApi.StatusJson(full);
                j["cells"] = new JsonArray((await CampaignApi.AllCellsAsync(qa, full, ct)).Select(c => (JsonNode)CellSummary(c!)).ToArray());
                yield return new SseItem<string>(j.ToJsonString(), "state");
                lastCounts = counts;
                lastSteps = j["steps_in_flight"]!.ToJsonString();
            }
            else if (steps != lastSteps)
            {
                yield return new SseItem<string>(j.ToJsonString(), "progress");
                lastSteps = steps;
            }
            if (status.State != CellStatus.Running)
            {
                yield return new SseItem<string>(new JsonObject { ["state"] = status.State }.ToJsonString(), "end");
                yield break;
            }
            await Task.Delay(EventPoll, ct);
            if (await qa.Campaigns.Ask<object>(new GetCampaignStatus(id, WithCells: false), Ask, ct) is not CampaignStatus next) yield break;
            status = next;
        }
    }

    /// <summary>What the campaign page shows of a cell: its identity and state, its last step and final test accuracy.</summary>
    private static JsonObject CellSummary(JsonNode cell)
    {
        var history = cell["history"]?.AsArray();
        var last = history is { Count: > 0 } ? history[^1] : null;
        var settings = cell["settings"];
        return new JsonObject
        {
            ["experiment_id"] = cell["experiment_id"]?.DeepClone(),
            ["study"] = cell["study"]?.DeepClone(),
            ["dataset"] = cell["dataset"]?.DeepClone(),
            ["class_a"] = cell["class_a"]?.DeepClone(),
            ["class_b"] = cell["class_b"]?.DeepClone(),
            ["method"] = cell["method"]?.DeepClone(),
            ["seed"] = cell["seed"]?.DeepClone(),
            ["status"] = cell["status"]?.DeepClone(),
            ["reason"] = cell["reason"]?.DeepClone(),
            ["attempts"] = cell["attempts"]?.DeepClone(),
            ["user"] = cell["user"]?.DeepClone(),
            ["steps"] = (settings?["Steps"] ?? settings?["steps"])?.DeepClone(),
            ["last_step"] = last?["step"]?.DeepClone(),
            ["final_accuracy"] = last?["values"]?["test_accuracy"]?.DeepClone(),
            ["wall_seconds"] = cell["wall_seconds"]?.DeepClone(),
        };
    }
}
