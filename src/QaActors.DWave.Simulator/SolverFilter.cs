using System.Text;
using System.Text.Json.Nodes;

namespace QaActors.DWave.Simulator;

/// <summary>
/// SAPI's solver <c>filter</c> query parameter (SAPI REST docs, "Solver filter"): <c>all</c> or <c>none</c>, then
/// a comma-separated list of <c>+field</c> / <c>-field</c> edits applied in order, where a field is a top-level
/// key (<c>identity</c>, <c>status</c>, <c>description</c>, <c>avg_load</c>, <c>properties</c>) or a dotted path
/// into one (<c>properties.num_qubits</c>, <c>identity.version</c>). dwave-cloud-client asks for
/// <c>all,-status,-avg_load</c> (the static part) and <c>none,+identity,+status,+avg_load</c> (the dynamic part).
/// Paths that name nothing are skipped, as SAPI does for fields a solver lacks.
/// </summary>
public static class SolverFilter
{
    /// <param name="filter">The query value.</param>
    /// <param name="parts">The record's top-level fields in order, each as JSON text.</param>
    /// <param name="properties">The parsed <c>properties</c> object (shared, read only), for dotted paths.</param>
    public static string Apply(string filter, IReadOnlyList<(string Key, string Json)> parts, Func<JsonObject> properties)
    {
        var items = filter.Split(',', StringSplitOptions.TrimEntries);
        var start = items[0].ToLowerInvariant();
        if (start is not ("all" or "none"))
            throw new FormatException($"solver filter '{filter}' must start with 'all' or 'none', then +field / -field items separated by commas");
        var source = parts.ToDictionary(p => p.Key, p => p.Json, StringComparer.Ordinal);
        var order = parts.Select(p => p.Key).ToList();
        // A field is kept either as its original text (cheap for the megabyte-sized properties) or as an edited DOM.
        var kept = new Dictionary<string, (string? Raw, JsonNode? Node)>(StringComparer.Ordinal);
        if (start == "all") foreach (var (k, j) in parts) kept[k] = (j, null);

        JsonNode SourceNode(string key) => key == "properties" ? properties() : JsonNode.Parse(source[key])!;
        JsonNode Editable(string key)
        {
            var (raw, node) = kept[key];
            if (node is not null) return node;
            var n = raw is null ? new JsonObject() : SourceNode(key).DeepClone();
            kept[key] = (null, n);
            return n;
        }

        foreach (var item in items.Skip(1))
        {
            if (item.Length == 0) continue;
            if (item[0] is not ('+' or '-') || item.Length == 1)
                throw new FormatException($"solver filter item '{item}' must be +field or -field (a dotted path such as properties.num_qubits)");
            var path = item[1..].Split('.');
            if (path.Any(s => s.Length == 0)) throw new FormatException($"solver filter item '{item}' has an empty path segment");
            string top = path[0];
            if (!source.ContainsKey(top)) continue;
            if (item[0] == '+')
            {
                if (path.Length == 1) { kept[top] = (source[top], null); continue; }
                JsonNode? value = SourceNode(top);
                foreach (var seg in path.Skip(1)) value = (value as JsonObject)?[seg];
                if (value is null) continue;
                if (!kept.ContainsKey(top)) kept[top] = (null, new JsonObject());
                var target = Editable(top) as JsonObject;
                for (int i = 1; i < path.Length - 1 && target is not null; i++)
                {
                    if (target[path[i]] is not JsonObject next) target[path[i]] = next = new JsonObject();
                    target = next;
                }
                if (target is not null) target[path[^1]] = value.DeepClone();
            }
            else
            {
                if (path.Length == 1) { kept.Remove(top); continue; }
                if (!kept.ContainsKey(top)) continue;
                var parent = Editable(top) as JsonObject;
                for (int i = 1; i < path.Length - 1 && parent is not null; i++) parent = parent[path[i]] as JsonObject;
                parent?.Remove(path[^1]);
            }
        }

        var sb = new StringBuilder("{");
        bool first = true;
        foreach (var k in order)
        {
            if (!kept.TryGetValue(k, out var v)) continue;
            if (!first) sb.Append(',');
            first = false;
            sb.Append('"').Append(k).Append("\":").Append(v.Raw ?? v.Node!.ToJsonString());
        }
        return sb.Append('}').ToString();
    }
}
