using System.Text.Json.Nodes;
using QaActors.Orchestration.Gateway;

namespace QaActors.Node;

/// <summary>The gateway's state per user in <c>GET /api/v1/cluster</c> (times in seconds, as the quota endpoints give them).</summary>
public static class GatewayJson
{
    public static JsonArray Users(GatewayStatus status) => new((status.Users ?? []).Select(u => (JsonNode)new JsonObject
    {
        ["user"] = u.User,
        ["weight"] = u.Weight,
        ["queued"] = u.Queued,
        ["qpu_access_time"] = u.QpuMicros / 1e6,
        ["fell_back"] = u.FellBack,
    }).ToArray());
}
