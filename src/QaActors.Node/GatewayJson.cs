using System.Text.Json.Nodes;
using QaActors.Orchestration.Gateway;

namespace QaActors.Node;

/// <summary>
/// The gateway's state per user in <c>GET /api/v1/cluster</c> and <c>GET /api/v1/gateways</c> (times in seconds, as
/// the quota endpoints give them).
/// </summary>
public static class GatewayJson
{
    /// <param name="only">
    /// A user's own view: their line alone, and a line of zeros (with <paramref name="weight"/>, the weight of their
    /// token) when the gateway has not seen them yet, so that a user always finds their share. Null: every user's line.
    /// </param>
    public static JsonArray Users(GatewayStatus status, string? only = null, double weight = 1.0)
    {
        var users = (status.Users ?? []).Where(u => only is null || u.User == only).ToList();
        if (only is not null && users.Count == 0) users.Add(new GatewayUserState(only, weight, 0, 0, 0));
        return new(users.Select(u => (JsonNode)new JsonObject
        {
            ["user"] = u.User,
            ["weight"] = u.Weight,
            ["queued"] = u.Queued,
            ["qpu_access_time"] = u.QpuMicros / 1e6,
            ["fell_back"] = u.FellBack,
        }).ToArray());
    }
}
