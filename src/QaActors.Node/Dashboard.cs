using System.Security.Claims;
using System.Text.Json.Nodes;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using QaActors.Orchestration;
using QaActors.Orchestration.Gateway;

namespace QaActors.Node;

/// <summary>
/// The browser dashboard (docs/operations.md, "Dashboard"): a single page served from files embedded in this assembly
/// (so a published qa has them and nothing is fetched from the internet), plus the two API calls it needs beyond the
/// experiment, quota and cluster endpoints: who the token belongs to, and the gateways' state scoped to the caller.
/// The page never receives a token from the server: the person pastes it, the page keeps it in the tab's session
/// storage and sends it as a bearer header, so the static files themselves need no authentication.
/// </summary>
public static class Dashboard
{
    private sealed record Asset(byte[] Bytes, string ContentType);

    private const string ResourcePrefix = "dashboard/";

    // The page's own script and style only: no inline script, nothing from another origin, not framable. Images are
    // blob: URLs of figures the page fetched itself (an <img src> cannot carry the bearer token).
    private const string Csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static readonly Lazy<IReadOnlyDictionary<string, Asset>> Assets = new(Load);

    public static void MapDashboard(this WebApplication app, QaActorSystem qa)
    {
        // The page is not part of the API, so it stays out of the OpenAPI document.
        app.MapGet("/", (HttpContext ctx) => Serve(ctx, "index.html")).ExcludeFromDescription();
        app.MapGet("/ui", () => Results.Redirect("/")).ExcludeFromDescription();
        app.MapGet("/ui/{name}", (string name, HttpContext ctx) => Serve(ctx, name)).ExcludeFromDescription();

        var api = app.MapGroup("/api/v1").RequireAuthorization("user");
        api.MapGet("/me", (ClaimsPrincipal who) => Results.Ok(new JsonObject
        {
            ["user"] = who.Identity!.Name,
            ["admin"] = IsAdmin(who),
            ["weight"] = Weight(who),
        }));
        api.MapGet("/gateways", async (ClaimsPrincipal who, CancellationToken ct) => Results.Ok(await Gateways(qa, who, ct)));
    }

    /// <summary>
    /// Per solver: breaker, problems in flight and queued (totals, which every user shares), and per user the queued
    /// problems and the QPU time used; a user sees only their own line, an admin everyone's.
    /// </summary>
    private static async Task<JsonArray> Gateways(QaActorSystem qa, ClaimsPrincipal who, CancellationToken ct)
    {
        bool admin = IsAdmin(who);
        var g = qa.Settings.Gateway;
        var result = new JsonArray();
        foreach (var solver in qa.Services.QpuBackends.Keys.Order(StringComparer.Ordinal))
        {
            if (qa.GatewayFor(solver) is not { } gateway) continue;
            GatewayStatus st;
            try { st = await gateway.Ask<GatewayStatus>(GetGatewayStatus.Instance, TimeSpan.FromSeconds(5), ct); }
            catch (AskTimeoutException)
            {
                result.Add(new JsonObject { ["solver"] = solver, ["error"] = "the gateway did not answer within 5 s" });
                continue;
            }
            result.Add(new JsonObject
            {
                ["solver"] = st.Solver,
                ["breaker"] = st.Breaker.ToString(),
                ["in_flight"] = st.InFlight,
                ["queued"] = st.Queued,
                ["submitted"] = st.Submitted,
                ["served_by_qpu"] = st.ServedByQpu,
                ["fell_back"] = st.FellBack,
                ["max_in_flight"] = g.MaxInFlight,
                ["rate_limit_per_second"] = g.RatePerSecond,
                ["users"] = admin ? GatewayJson.Users(st) : GatewayJson.Users(st, who.Identity!.Name!, Weight(who)),
            });
        }
        return result;
    }

    private static bool IsAdmin(ClaimsPrincipal who) => who.IsInRole(BearerTokenHandler.AdminRole);

    private static double Weight(ClaimsPrincipal who) =>
        double.TryParse(who.FindFirstValue(BearerTokenHandler.WeightClaim), System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out var w) ? w : 1.0;

    private static IResult Serve(HttpContext ctx, string name)
    {
        if (!Assets.Value.TryGetValue(name, out var asset)) return Results.NotFound(new ApiError($"the dashboard has no file '{name}'"));
        var h = ctx.Response.Headers;
        h.ContentSecurityPolicy = Csp;
        h.XContentTypeOptions = "nosniff";
        h["Referrer-Policy"] = "no-referrer";
        // The files change with the node's version; a reload after an upgrade must not run an old script.
        h.CacheControl = "no-cache";
        return Results.Bytes(asset.Bytes, asset.ContentType);
    }

    private static IReadOnlyDictionary<string, Asset> Load()
    {
        var asm = typeof(Dashboard).Assembly;
        var map = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var res in asm.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var s = asm.GetManifestResourceStream(res)!;
            using var m = new MemoryStream();
            s.CopyTo(m);
            string name = res[ResourcePrefix.Length..];
            map[name] = new Asset(m.ToArray(), Path.GetExtension(name) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".svg" => "image/svg+xml",
                _ => "application/octet-stream",
            });
        }
        return map;
    }
}
