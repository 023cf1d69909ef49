using System.Text.Json.Nodes;

namespace QaActors.Orchestration;

/// <summary>
/// The output folder of a `qa train` run, kept in the experiment's persisted task description (a JSON object) under
/// <c>out</c>, so that `qa experiment resume ID` writes where the run began. The task loader ignores the member, so
/// what is loaded and the experiment's identity do not depend on it.
/// </summary>
public static class ExperimentOutput
{
    private const string Member = "out";

    public static string With(string taskJson, string outFolder)
    {
        var node = JsonNode.Parse(taskJson) as JsonObject ?? throw new InvalidDataException("the experiment's data task is not a JSON object");
        node[Member] = outFolder;
        return node.ToJsonString();
    }

    public static string? Of(string taskJson) =>
        JsonNode.Parse(taskJson) is JsonObject o && o[Member] is JsonValue v && v.TryGetValue(out string? s) && s.Length > 0 ? s : null;
}
