using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using QaActors.DWave.Sapi;

namespace QaActors.DWave.Config;

/// <summary>
/// The <c>solver</c> setting (dwave.conf, <c>DWAVE_API_SOLVER</c>, <c>--solver</c>) read as Ocean reads it
/// (dwave-cloud-client <c>config/models.py</c> "parse solver", <c>client/base.py: get_solvers</c>): a JSON object
/// is a feature filter such as <c>{"qpu": true}</c>, <c>{"num_qubits__gte": 5000}</c>,
/// <c>{"topology__type": "zephyr"}</c> or <c>{"name__regex": "Advantage2.*"}</c>; anything else is a solver name
/// (or <c>name;graph_id=…</c>). Keys are <c>path__op</c> with the path's parts joined by <c>__</c>; the path names a
/// derived property (name, qpu, hybrid, software, online, num_active_qubits, avg_load, graph_id, identity,
/// version), a parameter (default operator <c>available</c>) or a property (default <c>eq</c>). Operators: eq, lt,
/// lte, gt, gte, available, regex, covers, within, in, contains, issubset, issuperset. <c>online: true</c> is implied,
/// and an <c>order_by</c> key (e.g. <c>"-num_active_qubits"</c>, <c>"avg_load"</c>) orders the matches.
/// Unlike Ocean, text that starts with '{' but is not a JSON object is an error rather than a solver name.
/// </summary>
public sealed class SolverSelector
{
    private static readonly string[] Ops = ["eq", "lt", "lte", "gt", "gte", "available", "regex", "covers", "within", "in", "contains", "issubset", "issuperset"];
    private static readonly string[] Derived = ["name", "qpu", "hybrid", "software", "online", "num_active_qubits", "avg_load", "graph_id", "identity", "version"];

    private readonly List<(string[] Path, string? Op, JsonNode? Value, string Key)> _filters = new();

    /// <summary>The setting as given.</summary>
    public string Text { get; }
    /// <summary>The exact solver name when the setting is a plain name (one GET of that solver suffices).</summary>
    public string? Name { get; }
    /// <summary>The graph id a <c>name;graph_id=…</c> setting requires.</summary>
    public string? GraphId { get; }
    /// <summary>Sort key path, '-' first for descending; default most active qubits first (dwave-system DWaveSampler).</summary>
    public string OrderBy { get; } = "-num_active_qubits";
    public bool IsFeatureFilter => Name is null;

    private SolverSelector(string text, string? name, string? graphId)
    {
        Text = text; Name = name; GraphId = graphId;
    }

    /// <summary>No setting: any online QPU solver, the largest first.</summary>
    public static SolverSelector AnyQpu { get; } = Parse("{\"qpu\": true}", "the default");

    public static SolverSelector Parse(string setting, string origin)
    {
        string text = setting.Trim();
        if (!text.StartsWith('{'))
        {
            int semi = text.IndexOf(";graph_id=", StringComparison.Ordinal);
            return semi < 0 ? new SolverSelector(text, text, null) : new SolverSelector(text, text[..semi], text[(semi + 10)..]);
        }
        JsonObject obj;
        try
        {
            obj = JsonNode.Parse(text) as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException e)
        {
            throw new DWaveConfigException($"solver setting ({origin}) starts with '{{' but is not a JSON object ({e.Message}); write a feature filter such as {{\"qpu\": true}} or a plain solver name");
        }
        var sel = new SolverSelector(text, null, null);
        string? order = null;
        foreach (var (key, value) in obj)
        {
            if (key == "order_by")
            {
                order = value is JsonValue v && v.TryGetValue(out string? o) && o.TrimStart('-').Length > 0 ? o
                    : throw new DWaveConfigException($"solver setting ({origin}): order_by must be a property path such as \"-num_active_qubits\" or \"avg_load\"");
                continue;
            }
            var parts = key.Split("__");
            if (parts.Any(p => p.Length == 0)) throw new DWaveConfigException($"solver setting ({origin}): feature '{key}' has an empty part; use path__op, e.g. num_qubits__gte");
            string? op = parts.Length > 1 && Ops.Contains(parts[^1]) ? parts[^1] : null;
            var path = op is null ? parts : parts[..^1];
            if (op is "covers" or "within" && !(value is JsonArray { Count: 2 } || op == "covers" && IsNumber(value)))
                throw new DWaveConfigException($"solver setting ({origin}): '{key}' needs a [low, high] range{(op == "covers" ? " or a number" : "")}");
            if (op is "in" or "issubset" or "issuperset" && value is not JsonArray)
                throw new DWaveConfigException($"solver setting ({origin}): '{key}' needs a list");
            if (op == "regex")
            {
                if (value is not JsonValue rv || !rv.TryGetValue(out string? pattern)) throw new DWaveConfigException($"solver setting ({origin}): '{key}' needs a string pattern");
                try { _ = new Regex(pattern); }
                catch (ArgumentException e) { throw new DWaveConfigException($"solver setting ({origin}): '{key}' is not a valid regular expression ({e.Message})"); }
            }
            sel._filters.Add((path, op, value?.DeepClone(), key));
        }
        if (!sel._filters.Any(f => f.Path is ["online"])) sel._filters.Add((["online"], "eq", JsonValue.Create(true), "online"));
        return order is null ? sel : new SolverSelector(text, null, null, sel._filters, order);
    }

    private SolverSelector(string text, string? name, string? graphId, List<(string[], string?, JsonNode?, string)> filters, string orderBy)
        : this(text, name, graphId)
    {
        _filters = filters;
        OrderBy = orderBy;
    }

    /// <summary>Does this solver satisfy every feature (or, for a name, carry that name and graph id)?</summary>
    public bool Matches(SolverInfo s)
    {
        if (Name is not null) return s.Name == Name && (GraphId is null || s.GraphId == GraphId);
        foreach (var (path, op, value, _) in _filters)
            if (!Test(s, path, op, value)) return false;
        return true;
    }

    /// <summary>The matching solvers, best first (<see cref="OrderBy"/>; solvers without the key last; stable).</summary>
    public IReadOnlyList<SolverInfo> Select(IEnumerable<SolverInfo> solvers)
    {
        var hits = solvers.Where(Matches).ToList();
        bool desc = OrderBy.StartsWith('-');
        var path = OrderBy.TrimStart('-').Split('.');
        var keyed = hits.Select((s, i) => (s, i, k: Lookup(s, path, out _))).ToList();
        var valid = keyed.Where(x => x.k is not null).ToList();
        valid.Sort((a, b) =>
        {
            int c = Compare(a.k!, b.k!) ?? 0;
            return c != 0 ? (desc ? -c : c) : a.i.CompareTo(b.i);
        });
        return valid.Concat(keyed.Where(x => x.k is null)).Select(x => x.s).ToList();
    }

    public override string ToString() => Text;

    // ------------------------------------------------------------ evaluation

    private static bool Test(SolverInfo s, string[] path, string? op, JsonNode? val)
    {
        var lhs = Lookup(s, path, out var source);
        op ??= source == Source.Parameter ? "available" : "eq";
        return op switch
        {
            "eq" => Equal(lhs, val),
            "lt" => lhs is not null && Compare(lhs, val) is < 0,
            "lte" => lhs is not null && Compare(lhs, val) is <= 0,
            "gt" => lhs is not null && Compare(lhs, val) is > 0,
            "gte" => lhs is not null && Compare(lhs, val) is >= 0,
            "available" => (lhs is not null) == Truthy(val),
            "regex" => lhs is JsonValue sv && sv.TryGetValue(out string? str) && Regex.IsMatch(str, "^(?:" + val!.GetValue<string>() + ")$"),
            "covers" => lhs is not null && Covers(lhs, val),
            "within" => lhs is not null && val is not null && Covers(val, lhs),
            "in" => val is JsonArray a && a.Any(x => Equal(lhs, x)),
            "contains" => lhs is JsonArray la && la.Any(x => Equal(x, val)),
            "issubset" => lhs is JsonArray l1 && val is JsonArray r1 && l1.All(x => r1.Any(y => Equal(x, y))),
            "issuperset" => lhs is JsonArray l2 && val is JsonArray r2 && r2.All(y => l2.Any(x => Equal(x, y))),
            _ => false,
        };
    }

    private enum Source { Derived, Parameter, Property, None }

    private static JsonNode? Lookup(SolverInfo s, string[] path, out Source source)
    {
        string joined = string.Join(".", path);
        if (Derived.Contains(joined))
        {
            source = Source.Derived;
            return joined switch
            {
                "name" => JsonValue.Create(s.Name),
                "qpu" => JsonValue.Create(s.Category == "qpu"),
                "hybrid" => JsonValue.Create(s.Category == "hybrid"),
                "software" => JsonValue.Create(s.Category == "software"),
                "online" => JsonValue.Create(s.IsOnline),
                "num_active_qubits" => JsonValue.Create(s.Qubits.Length),
                "avg_load" => s.AverageLoad is { } l ? JsonValue.Create(l) : null,
                "graph_id" => s.GraphId is null ? null : JsonValue.Create(s.GraphId),
                "identity" => s.IdentityJson(),
                _ => s.GraphId is null ? null : new JsonObject { ["graph_id"] = s.GraphId },
            };
        }
        if (path.Length == 1 && s.Parameters.TryGetValue(path[0], out var desc))
        {
            source = Source.Parameter;
            return JsonValue.Create(desc);
        }
        JsonNode? n = s.Properties;
        foreach (var p in path) n = (n as JsonObject)?[p];
        source = n is null ? Source.None : Source.Property;
        return n;
    }

    private static bool IsNumber(JsonNode? n) => n is JsonValue v && v.GetValueKind() == JsonValueKind.Number;
    private static double Num(JsonNode n) => JsonNumbers.Double(n);
    private static bool Truthy(JsonNode? n) => n is JsonValue v && (v.GetValueKind() == JsonValueKind.True || IsNumber(v) && Num(v) != 0
        || v.TryGetValue(out string? s) && s.Length > 0);

    private static bool Equal(JsonNode? a, JsonNode? b)
    {
        if (a is null || b is null) return a is null && b is null;
        if (IsNumber(a) && IsNumber(b)) return Num(a) == Num(b);
        if (a is JsonArray x && b is JsonArray y) return x.Count == y.Count && x.Zip(y).All(p => Equal(p.First, p.Second));
        if (a is JsonObject o && b is JsonObject q) return o.Count == q.Count && o.All(kv => q.ContainsKey(kv.Key) && Equal(kv.Value, q[kv.Key]));
        return JsonNode.DeepEquals(a, b);
    }

    private static int? Compare(JsonNode a, JsonNode? b)
    {
        if (b is null) return null;
        if (IsNumber(a) && IsNumber(b)) return Num(a).CompareTo(Num(b));
        if (a is JsonValue av && b is JsonValue bv && av.TryGetValue(out string? sa) && bv.TryGetValue(out string? sb)) return string.CompareOrdinal(sa, sb);
        return null;
    }

    private static bool Covers(JsonNode range, JsonNode? val)
    {
        if (range is not JsonArray { Count: 2 } r || !IsNumber(r[0]) || !IsNumber(r[1])) return false;
        double lo = Math.Min(Num(r[0]!), Num(r[1]!)), hi = Math.Max(Num(r[0]!), Num(r[1]!));
        if (val is JsonArray { Count: 2 } v && IsNumber(v[0]) && IsNumber(v[1]))
            return lo <= Math.Min(Num(v[0]!), Num(v[1]!)) && hi >= Math.Max(Num(v[0]!), Num(v[1]!));
        return IsNumber(val) && lo <= Num(val!) && Num(val!) <= hi;
    }
}
