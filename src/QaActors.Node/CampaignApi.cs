using System.Security.Claims;
using System.Text.Json.Nodes;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using QaActors.Campaigns;
using QaActors.Learning;
using QaActors.Orchestration;
using QaActors.Orchestration.Campaigns;

namespace QaActors.Node;

/// <summary>POST /api/v1/campaigns: the campaign file's text as the client read it, and an optional name.</summary>
public sealed record CampaignRequest(
    [property: System.Text.Json.Serialization.JsonPropertyName("text")] string? Text,
    [property: System.Text.Json.Serialization.JsonPropertyName("source")] string? Source,
    [property: System.Text.Json.Serialization.JsonPropertyName("name")] string? Name);

/// <summary>
/// The campaign endpoints under /api/v1/campaigns (docs/campaigns.md, "On a node"), with the experiments' rules: a
/// user sees, cancels and retries only their own campaigns (another's is 404), admins all.
/// </summary>
public static class CampaignApi
{
    private static readonly TimeSpan Ask = TimeSpan.FromSeconds(30);

    public static void Map(RouteGroupBuilder api, QaActorSystem qa)
    {
        api.MapPost("/campaigns", async (ClaimsPrincipal who, CampaignRequest body, CancellationToken ct) =>
        {
            string user = who.Identity!.Name!;
            string source = string.IsNullOrWhiteSpace(body.Source) ? "campaign.conf" : Path.GetFileName(body.Source);
            if (string.IsNullOrWhiteSpace(body.Text)) return Results.BadRequest(new ApiError("the campaign file is empty", "text"));
            CampaignSpec spec;
            try { spec = CampaignParser.Parse(body.Text, source); }
            catch (CampaignSpecException e) { return Results.BadRequest(new ApiError(e.Message, e.KeyPath)); }
            if (body.Name is { } n)
            {
                if (n.Trim().Length == 0) return Results.BadRequest(new ApiError("the campaign name is empty", "name"));
                spec = spec.WithName(n.Trim());
            }
            var cells = CampaignGrid.Expand(spec);
            if (cells.Length == 0) return Results.BadRequest(new ApiError($"{source} has no training or equivalence cells to run on a node (the runtime study runs with `qa campaign runtime`)", "text"));
            foreach (var c in cells)
            {
                try { c.ToTrainingConfig().Validate(); }
                catch (ArgumentException e) { return Results.BadRequest(new ApiError($"{source}: cell {c.Key}: {e.Message}", "text")); }
            }
            string solver = qa.Services.QpuBackends.Keys.FirstOrDefault() ?? "";
            if (solver.Length == 0 && cells.Any(c => c.Method == TrainingMethod.Qpu))
                return Results.BadRequest(new ApiError($"{source} has qpu cells and this node has no QPU configured (DWAVE_API_TOKEN / dwave.conf of the node)", "text"));
            string id = CampaignGrid.CampaignId(spec, user);
            // The node's data decides the sizes every cell's experiment records (as for one submitted experiment).
            System.Collections.Immutable.ImmutableSortedDictionary<string, DataSizes> sizes;
            try { sizes = await Task.Run(() => CampaignData.Resolve(cells, qa.Settings.DataDir, source), ct); }
            catch (CampaignSpecException e) { return Results.BadRequest(new ApiError(e.Message, e.KeyPath)); }
            var reply = await qa.Campaigns.Ask<object>(new CreateCampaign(id, user, spec.Name, source, body.Text, qa.Settings.DataDir, solver, sizes), Ask, ct);
            return reply switch
            {
                CampaignAccepted a => a.Created
                    ? Results.Created($"/api/v1/campaigns/{id}", Accepted(id, true, cells.Length, spec.Runtime is not null))
                    : Results.Ok(Accepted(id, false, cells.Length, spec.Runtime is not null)),
                CampaignRejected r => Results.Conflict(new ApiError(r.Reason, "text")),
                _ => Results.Json(new ApiError($"the campaign manager answered {reply.GetType().Name}"), statusCode: 500),
            };
        });
        api.MapGet("/campaigns", async (ClaimsPrincipal who, CancellationToken ct) =>
        {
            var list = await qa.CampaignRegistry.Ask<CampaignList>(ListCampaigns.Instance, Ask, ct);
            var result = new JsonArray();
            foreach (var e in list.Campaigns.Where(e => Sees(who, e.User)))
            {
                var s = await qa.Campaigns.Ask<object>(new GetCampaignStatus(e.CampaignId, WithCells: false), Ask, ct);
                result.Add(s is CampaignStatus st ? StatusJson(st) : new JsonObject { ["campaign_id"] = e.CampaignId, ["user"] = e.User, ["name"] = e.Name, ["state"] = "unknown" });
            }
            return Results.Ok(result);
        });
        api.MapGet("/campaigns/{id}", async (string id, bool? cells, ClaimsPrincipal who, CancellationToken ct) =>
        {
            if (cells == false)
                return await Owned(qa, new GetCampaignStatus(id, WithCells: false), who, ct) is { } counts ? Results.Ok(StatusJson(counts)) : NotFound(id);
            if (await Owned(qa, new GetCampaignStatus(id), who, ct) is not { } first) return NotFound(id);
            var j = StatusJson(first);
            j["cells"] = await AllCellsAsync(qa, first, ct);
            return Results.Ok(j);
        });
        api.MapPost("/campaigns/{id}/cancel", async (string id, ClaimsPrincipal who, CancellationToken ct) =>
        {
            if (await Owned(qa, new GetCampaignStatus(id, WithCells: false), who, ct) is null) return NotFound(id);
            return await qa.Campaigns.Ask<object>(new CancelCampaign(id), Ask, ct) is CampaignStatus s ? Results.Ok(StatusJson(s)) : NotFound(id);
        });
        api.MapPost("/campaigns/{id}/retry-failed", async (string id, ClaimsPrincipal who, CancellationToken ct) =>
        {
            if (await Owned(qa, new GetCampaignStatus(id, WithCells: false), who, ct) is null) return NotFound(id);
            return await qa.Campaigns.Ask<object>(new RetryFailedCells(id), Ask, ct) is CampaignStatus s ? Results.Ok(StatusJson(s)) : NotFound(id);
        });
        CampaignReportApi.Map(api, qa);
        CampaignRuntimeApi.Map(api, qa);
    }

    /// <summary>Every cell of a campaign: they arrive in pages that each fit a remote frame, from the first page on.</summary>
    internal static async Task<JsonArray> AllCellsAsync(QaActorSystem qa, CampaignStatus first, CancellationToken ct)
    {
        var all = JsonNode.Parse(first.CellsJson)!.AsArray();
        for (var page = first; page.NextCellOffset is int next;)
        {
            if (await qa.Campaigns.Ask<object>(new GetCampaignStatus(first.CampaignId, next), Ask, ct) is not CampaignStatus more) break;
            foreach (var c in JsonNode.Parse(more.CellsJson)!.AsArray().ToList()) all.Add(c!.DeepClone());
            page = more;
        }
        return all;
    }

    /// <param name="runtime">The file has a runtime block: a timing study, run by `qa campaign runtime`, not by the cluster.</param>
    private static JsonObject Accepted(string id, bool created, int cells, bool runtime) => new()
    {
        ["campaign_id"] = id, ["created"] = created, ["experiments"] = cells, ["url"] = $"/api/v1/campaigns/{id}", ["runtime_study"] = runtime,
    };

    private static bool Sees(ClaimsPrincipal who, string owner) => who.IsInRole(BearerTokenHandler.AdminRole) || owner == who.Identity?.Name;

    internal static IResult NotFound(string id) => Results.NotFound(new ApiError($"no campaign '{id}' of yours"));

    internal static async Task<CampaignStatus?> Owned(QaActorSystem qa, GetCampaignStatus ask, ClaimsPrincipal who, CancellationToken ct)
    {
        if (ask.CampaignId.Length is 0 or > 64 || !ask.CampaignId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')) return null;
        return await qa.Campaigns.Ask<object>(ask, Ask, ct) is CampaignStatus s && Sees(who, s.User) ? s : null;
    }

    /// <summary>The counts of a campaign (the cells, when asked for, are added by the caller from all pages).</summary>
    public static JsonObject StatusJson(CampaignStatus s)
    {
        var j = new JsonObject
        {
            ["campaign_id"] = s.CampaignId, ["user"] = s.User, ["name"] = s.Name, ["state"] = s.State,
            ["total"] = s.Total, ["completed"] = s.Completed, ["running"] = s.Running, ["waiting"] = s.Waiting,
            ["failed"] = s.Failed, ["cancelled"] = s.Cancelled,
            ["steps_in_flight"] = new JsonObject(s.StepsInFlight.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        };
        return j;
    }
}
