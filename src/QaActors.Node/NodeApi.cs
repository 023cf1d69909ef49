using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using QaActors.Orchestration;
using QaActors.Orchestration.Gateway;
using QaActors.Orchestration.Training;
using QaActors.Orchestration.Users;

namespace QaActors.Node;

/// <summary>
/// The HTTP API under /api/v1 (JSON; OpenAPI document at /openapi/v1.json). Every /api call is authenticated with a
/// bearer token and scoped to its owner: a user sees and cancels only their own experiments (another's is 404, as if it
/// did not exist), admins see all; admin endpoints answer 403 to users. /healthz and /readyz carry no data.
/// </summary>
public static class NodeApi
{
    private static readonly TimeSpan Ask = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Maps the API. The handlers take what they use from the hosting application's services (docs/architecture.md,
    /// "The host"): the singletons' proxies from Akka.Hosting's registry as <see cref="IRequiredActor{TActor}"/>, the
    /// node's <see cref="NodeExperiments"/> and the <see cref="QaActorSystem"/>.
    /// </summary>
    public static void Map(WebApplication app)
    {
        app.MapOpenApi();
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", (QaActorSystem qa) =>
        {
            var self = Cluster.Get(qa.System).SelfMember;
            return self.Status == MemberStatus.Up ? Results.Text("ready") : Results.Text($"not ready: {self.Status}", statusCode: 503);
        });

        var api = app.MapGroup("/api/v1").RequireAuthorization("user");
        CampaignApi.Map(api, app.Services.GetRequiredService<QaActorSystem>());
        api.MapGet("/experiments", async (ClaimsPrincipal who, IRequiredActor<ExperimentRegistryActor> registry, NodeExperiments experiments, CancellationToken ct) =>
        {
            var reg = await registry.ActorRef.Ask<RegisteredExperiments>(new ListRegisteredExperiments(), Ask, ct);
            var mine = reg.Entries.Where(e => Sees(who, e.User)).ToList();
            var views = new List<ExperimentView>();
            foreach (var e in mine) views.Add(View(await experiments.Runner.ShowAsync(e.ExperimentId, ct), experiments));
            return Results.Ok(views);
        });
        api.MapPost("/experiments", async (ClaimsPrincipal who, SubmitRequest body, HttpRequest req, NodeExperiments experiments, CancellationToken ct) =>
        {
            try
            {
                var (id, created) = await experiments.SubmitAsync(who.Identity!.Name!, body, req.Headers["Idempotency-Key"].FirstOrDefault(), ct);
                var res = new SubmitResponse(id, created, $"/api/v1/experiments/{id}");
                return created ? Results.Created(res.Url, res) : Results.Ok(res);
            }
            catch (SubmitException e) { return Results.BadRequest(new ApiError(e.Message, e.Field)); }
        });
        api.MapGet("/experiments/{id}", async (string id, ClaimsPrincipal who, NodeExperiments experiments, CancellationToken ct) =>
            await Owned(experiments, id, who, ct) is { } s ? Results.Ok(View(s, experiments)) : NotFound(id));
        api.MapPost("/experiments/{id}/cancel", async (string id, ClaimsPrincipal who, NodeExperiments experiments, CancellationToken ct) =>
        {
            if (await Owned(experiments, id, who, ct) is null) return NotFound(id);
            experiments.Cancel(id);
            return Results.Accepted($"/api/v1/experiments/{id}");
        });
        api.MapPost("/experiments/{id}/resume", async (string id, ClaimsPrincipal who, NodeExperiments experiments, CancellationToken ct) =>
        {
            if (await Owned(experiments, id, who, ct) is not { } s) return NotFound(id);
            if (s.Completed) return Results.Ok(View(s, experiments));
            experiments.Resume(id, s.Spec.User);
            return Results.Accepted($"/api/v1/experiments/{id}");
        });
        api.MapGet("/experiments/{id}/events", async (string id, ClaimsPrincipal who, NodeExperiments experiments, CancellationToken ct) =>
        {
            if (await Owned(experiments, id, who, ct) is not { } s) return NotFound(id);
            return TypedResults.ServerSentEvents(Events(s, experiments, ct));
        });
        api.MapGet("/experiments/{id}/artifacts/{name}", async (string id, string name, ClaimsPrincipal who, NodeExperiments experiments, CancellationToken ct) =>
        {
            if (await Owned(experiments, id, who, ct) is not { } s) return NotFound(id);
            if (!ArtifactNames.Contains(name)) return Results.NotFound(new ApiError($"'{name}' is not an artefact; use one of {string.Join(", ", ArtifactNames)}"));
            await experiments.EnsureArtifactsAsync(s, ct);
            string path = Path.Combine(experiments.ArtifactDir(id), name);
            return File.Exists(path) ? Results.File(path, ContentType(name), name) : Results.NotFound(new ApiError($"experiment '{id}' has no {name} yet (it is written when the run ends)"));
        });

        api.MapGet("/quotas", async (ClaimsPrincipal who, IRequiredActor<QuotaLedgerActor> ledger, CancellationToken ct) =>
        {
            var report = await ledger.ActorRef.Ask<QuotaReport>(new GetQuota(IsAdmin(who) ? null : who.Identity!.Name), Ask, ct);
            return Results.Ok(report.Accounts.Select(QuotaJson));
        });
        api.MapPut("/quotas/{user}", async (string user, QuotaRequest body, IRequiredActor<QuotaLedgerActor> ledger, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(user)) return Results.BadRequest(new ApiError("the user name is empty", "user"));
            if (!(body.Seconds >= 0) || !double.IsFinite(body.Seconds)) return Results.BadRequest(new ApiError($"seconds {body.Seconds} must be 0 or more", "seconds"));
            var report = await ledger.ActorRef.Ask<QuotaReport>(new SetQuota(user, body.Seconds), Ask, ct);
            return Results.Ok(report.Accounts.Select(QuotaJson));
        }).RequireAuthorization("admin");

        // Users (admins only). The token is made on this node and shown once in the reply; the registry keeps its hash.
        api.MapGet("/users", async (IRequiredActor<UserRegistryActor> users, CancellationToken ct) =>
        {
            var reply = await users.ActorRef.Ask<object>(ListUsers.Instance, Ask, ct);
            return reply is UserList l ? Results.Ok(l.Users.Select(UserJson)) : Rejected(reply);
        }).RequireAuthorization("admin");
        api.MapPost("/users", async (UserRequest body, IRequiredActor<UserRegistryActor> users, CancellationToken ct) =>
        {
            var r = await UserRegistryClient.AddUserAsync(users.ActorRef, body.Name ?? "", body.Admin, body.Weight ?? 1.0, Ask);
            if (r.Rejected is { } rej) return Rejected(rej);
            var j = UserJson(r.User!);
            return Results.Created($"/api/v1/users/{r.User!.Name}", new JsonObject { ["user"] = j, ["token"] = r.Token!.Reveal() });
        }).RequireAuthorization("admin");
        api.MapDelete("/users/{name}", async (string name, IRequiredActor<UserRegistryActor> users, CancellationToken ct) =>
        {
            var reply = await users.ActorRef.Ask<object>(new RevokeUser(name), Ask, ct);
            return reply is UserRevokedReply u ? Results.Ok(UserJson(u.User)) : Rejected(reply);
        }).RequireAuthorization("admin");

        api.MapGet("/cluster", async (QaActorSystem qa, CancellationToken ct) =>
        {
            var state = Cluster.Get(qa.System).State;
            var members = state.Members.Select(m => new JsonObject
            {
                ["address"] = m.Address.ToString(),
                ["status"] = m.Status.ToString(),
                ["roles"] = new JsonArray(m.Roles.Select(r => (JsonNode)r).ToArray()),
                ["reachable"] = !state.Unreachable.Contains(m),
            }).ToArray();
            var oldestGateway = state.Members.Where(m => m.HasRole("gateway") && m.Status == MemberStatus.Up).OrderBy(m => m, Member.AgeOrdering).FirstOrDefault();
            var gateways = new JsonArray();
            foreach (var solver in qa.Services.QpuBackends.Keys)
            {
                if (qa.GatewayFor(solver) is not { } g) continue;
                try
                {
                    var st = await g.Ask<GatewayStatus>(GetGatewayStatus.Instance, TimeSpan.FromSeconds(5), ct);
                    gateways.Add(new JsonObject
                    {
                        ["solver"] = st.Solver, ["breaker"] = st.Breaker.ToString(), ["in_flight"] = st.InFlight, ["queued"] = st.Queued,
                        ["submitted"] = st.Submitted, ["served_by_qpu"] = st.ServedByQpu, ["fell_back"] = st.FellBack,
                        ["qpu_access_time_by_user"] = new JsonObject(st.QpuMicrosByUser.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)(kv.Value / 1e6)))),
                        ["lost_answers"] = st.LostAnswers,
                        ["users"] = GatewayJson.Users(st),
                    });
                }
                catch (AskTimeoutException) { gateways.Add(new JsonObject { ["solver"] = solver, ["error"] = "the gateway did not answer within 5 s" }); }
            }
            return Results.Ok(new JsonObject
            {
                ["self"] = Cluster.Get(qa.System).SelfAddress.ToString(),
                ["leader"] = state.Leader?.ToString(),
                ["members"] = new JsonArray(members),
                ["singletons"] = oldestGateway?.Address.ToString(),
                ["gateways"] = gateways,
            });
        });
        app.MapDashboard(app.Services.GetRequiredService<QaActorSystem>());
    }

    public static readonly string[] ArtifactNames = ["model.safetensors", "metrics.csv", "curves.png", "report.json"];

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".json" => "application/json",
        ".csv" => "text/csv",
        ".png" => "image/png",
        _ => "application/octet-stream",
    };

    public sealed record QuotaRequest(double Seconds);

    public sealed record UserRequest(string? Name, bool Admin, double? Weight);

    private static JsonObject UserJson(UserInfo u) => new()
    {
        ["user"] = u.Name, ["admin"] = u.Admin, ["weight"] = u.Weight, ["token_id"] = u.TokenId,
        ["created"] = u.Created.ToString("O"), ["revoked"] = u.Revoked?.ToString("O"),
    };

    private static IResult Rejected(object reply) => reply switch
    {
        UserRequestRejected { Reason: UserRejection.InvalidName or UserRejection.InvalidWeight } r => Results.BadRequest(new ApiError(r.Message, r.Reason == UserRejection.InvalidName ? "name" : "weight")),
        UserRequestRejected { Reason: UserRejection.NotFound } r => Results.NotFound(new ApiError(r.Message, "name")),
        UserRequestRejected { Reason: UserRejection.Unavailable } r => Results.Json(new ApiError(r.Message), statusCode: 503),
        UserRequestRejected r => Results.Conflict(new ApiError(r.Message, "name")),
        _ => Results.Json(new ApiError($"the user registry answered {reply.GetType().Name}"), statusCode: 500),
    };

    private static JsonObject QuotaJson(QuotaAccount a) => new()
    {
        ["user"] = a.User, ["limit_seconds"] = a.LimitSeconds, ["charged_seconds"] = a.ChargedSeconds,
        ["reserved_seconds"] = a.ReservedSeconds, ["remaining_seconds"] = a.RemainingSeconds,
    };

    private static bool IsAdmin(ClaimsPrincipal who) => who.IsInRole(BearerTokenHandler.AdminRole);

    private static bool Sees(ClaimsPrincipal who, string owner) => IsAdmin(who) || owner == who.Identity?.Name;

    private static IResult NotFound(string id) => Results.NotFound(new ApiError($"no experiment '{id}' of yours"));

    private static async Task<ExperimentSummary?> Owned(NodeExperiments experiments, string id, ClaimsPrincipal who, CancellationToken ct)
    {
        try
        {
            var s = await experiments.Runner.ShowAsync(id, ct);
            return Sees(who, s.Spec.User) ? s : null;
        }
        catch (KeyNotFoundException) { return null; }
    }

    private static async IAsyncEnumerable<SseItem<string>> Events(ExperimentSummary s, NodeExperiments experiments, [EnumeratorCancellation] CancellationToken ct)
    {
        var reader = experiments.Subscribe(s);
        // What is already known first, so a client attaching late still draws the whole curve.
        yield return new SseItem<string>(JsonSerializer.Serialize(View(s, experiments)), "state");
        if (reader is null) yield break;
        await foreach (var ev in reader.ReadAllAsync(ct))
        {
            if (ev is StepEvent step) yield return new SseItem<string>(JsonSerializer.Serialize(step), "step");
            else if (ev is string end) yield return new SseItem<string>(JsonSerializer.Serialize(new JsonObject { ["state"] = end, ["reason"] = experiments.StateOf(s.Spec.ExperimentId)?.Reason }), "end");
        }
    }

    public static ExperimentView View(ExperimentSummary s, NodeExperiments experiments)
    {
        var state = experiments.StateOf(s.Spec.ExperimentId);
        // While this node drives the run it is running until its artefacts are written, even once the last step is in.
        string st = state?.State ?? (s.Running ? "running" : s.Completed ? "completed" : "stopped");
        var dir = experiments.ArtifactDir(s.Spec.ExperimentId);
        var artifacts = ArtifactNames.Where(n => File.Exists(Path.Combine(dir, n))).ToArray();
        var p = s.Totals;
        return new ExperimentView(s.Spec.ExperimentId, s.Spec.User, s.Spec.Method, st, s.LastStep, s.Spec.TotalSteps, state?.Reason,
            JsonNode.Parse(s.Spec.ConfigJson), JsonNode.Parse(s.Spec.TaskJson),
            s.History.Select(h => (IReadOnlyDictionary<string, double>)h.Values.Append(KeyValuePair.Create("step", (double)h.Step)).ToDictionary(kv => kv.Key, kv => kv.Value)).ToList(),
            new JsonObject
            {
                ["samplers"] = new JsonObject(p.SamplerCounts.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
                ["fallback_reasons"] = new JsonObject(p.FallbackReasons.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
                ["qpu_access_time"] = p.QpuAccessMicros / 1e6,
                ["examples"] = p.Examples,
                ["mean_chain_break_fraction"] = p.MeanChainBreakFraction,
                ["clipped_biases"] = p.ClippedBiases,
            },
            artifacts,
            s.RunningOn);
    }
}
