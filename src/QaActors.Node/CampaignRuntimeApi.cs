using System.Collections.Concurrent;
using System.Security.Claims;
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
/// A campaign's runtime study (Sec. 5.3, Fig. 5; docs/campaigns.md, "The runtime study") run by this node when its
/// owner or an admin asks: it measures this machine, so it starts only on request, never beside the grid by itself.
/// The results (runtime.csv, runtime.json, fig5.png) are kept under the node's data dir, <c>campaign-runtime/ID/</c>,
/// written by the same <see cref="RuntimeStudy"/> as <c>qa campaign runtime</c>. One study runs at a time per node.
/// </summary>
public static class CampaignRuntimeApi
{
    public const string Figure = "fig5.png";

    private static readonly TimeSpan Ask = TimeSpan.FromSeconds(10);

    private sealed record Running(Task Task, DateTimeOffset Started);

    public static void Map(RouteGroupBuilder api, QaActorSystem qa)
    {
        var running = new ConcurrentDictionary<string, Running>(StringComparer.Ordinal);
        var failures = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var gate = new SemaphoreSlim(1, 1);
        string Dir(string id) => Path.Combine(qa.Settings.DataDir, "campaign-runtime", id);

        JsonObject State(string id, RuntimeSpec spec)
        {
            string dir = Dir(id);
            var j = new JsonObject { ["campaign_id"] = id, ["figure"] = Figure };
            if (File.Exists(Path.Combine(dir, "runtime.json")))
            {
                j["state"] = "completed";
                j["study"] = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "runtime.json")));
            }
            else if (running.TryGetValue(id, out var r)) { j["state"] = "running"; j["started"] = r.Started.ToString("O"); }
            else if (failures.TryGetValue(id, out var why)) { j["state"] = "failed"; j["reason"] = why; }
            else j["state"] = "none";
            j["sizes"] = new JsonArray(spec.Sizes().Select(s => (JsonNode)s).ToArray());
            return j;
        }

        api.MapGet("/campaigns/{id}/runtime", async (string id, ClaimsPrincipal who, CancellationToken ct) =>
            await SpecOf(qa, id, who, ct) switch
            {
                null => CampaignApi.NotFound(id),
                { Runtime: null } => NoStudy(id),
                { Runtime: { } rt } => Results.Ok(State(id, rt)),
            });
        api.MapPost("/campaigns/{id}/runtime", async (string id, ClaimsPrincipal who, CancellationToken ct) =>
        {
            var spec = await SpecOf(qa, id, who, ct);
            if (spec is null) return CampaignApi.NotFound(id);
            if (spec.Runtime is not { } rt) return NoStudy(id);
            var state = State(id, rt);
            if (state["state"]!.GetValue<string>() is "completed" or "running") return Results.Ok(state);
            if (!gate.Wait(0)) return Results.Conflict(new ApiError("this node is running another campaign's runtime study (one at a time, so that they do not time each other); try again when it is done"));
            failures.TryRemove(id, out _);
            // The study runs on the thread pool beyond the request: the page asks for its state.
            var task = Task.Run(() =>
            {
                try
                {
                    var study = RuntimeStudy.Run(rt);
                    string dir = Dir(id);
                    study.Write(dir);
                    CampaignReport.WriteAtomically(Path.Combine(dir, "runtime.json"), study.ToJson().ToJsonString(CampaignReport.JsonOptions));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
                {
                    // Kept for the page and GET .../runtime, which show the reason.
                    failures[id] = e.Message;
                }
                finally
                {
                    running.TryRemove(id, out _);
                    gate.Release();
                }
            }, CancellationToken.None);
            running[id] = new Running(task, DateTimeOffset.UtcNow);
            return Results.Accepted($"/api/v1/campaigns/{id}/runtime", State(id, rt));
        });
        // Beside the report's figures (CampaignReportApi): the literal route wins over figures/{name}.
        api.MapGet($"/campaigns/{{id}}/figures/{Figure}", async (string id, ClaimsPrincipal who, CancellationToken ct) =>
        {
            if (await SpecOf(qa, id, who, ct) is not { } spec) return CampaignApi.NotFound(id);
            if (spec.Runtime is null) return NoStudy(id);
            string path = Path.Combine(Dir(id), Figure);
            return File.Exists(path) ? Results.File(path, "image/png")
                : Results.NotFound(new ApiError($"campaign '{id}' has no {Figure} yet: its runtime study has not run on this node (POST /api/v1/campaigns/{id}/runtime starts it)"));
        });
    }

    private static IResult NoStudy(string id) =>
        Results.NotFound(new ApiError($"campaign '{id}' has no runtime {{ }} block, so no runtime study (docs/campaigns.md, \"The runtime study\")"));

    /// <summary>The campaign's spec as submitted, if the caller may see the campaign; null otherwise (404).</summary>
    private static async Task<CampaignSpec?> SpecOf(QaActorSystem qa, string id, ClaimsPrincipal who, CancellationToken ct)
    {
        if (await CampaignApi.Owned(qa, new GetCampaignStatus(id, WithCells: false), who, ct) is null) return null;
        if (await qa.Campaigns.Ask<object>(new GetCampaignSpec(id), Ask, ct) is not CampaignSpecText t) return null;
        return CampaignParser.Parse(t.Text, t.Source).WithName(t.Name);
    }
}
