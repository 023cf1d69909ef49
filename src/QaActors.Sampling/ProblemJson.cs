using System.Text.Json;
using System.Text.Json.Nodes;

namespace QaActors.Sampling;

/// <summary>
/// The problem file format of <c>qa sample</c> and <c>qa embed</c>:
/// <c>{"vartype": "SPIN"|"BINARY", "linear": [[v, bias], ...], "quadratic": [[u, v, bias], ...], "offset": 0.0}</c>
/// with integer labels, and the JSON form of a <see cref="SampleSet"/>.
/// </summary>
public static class ProblemJson
{
    public static Bqm ReadFile(string path)
    {
        if (!File.Exists(path)) throw new ProblemFormatException($"{path}: file not found; give the path of a problem JSON file.");
        try
        {
            return Parse(File.ReadAllText(path), path);
        }
        catch (JsonException e)
        {
            throw new ProblemFormatException($"{path}: not valid JSON ({e.Message}).");
        }
    }

    private static readonly string[] Fields = ["vartype", "linear", "quadratic", "offset"];

    public static Bqm Parse(string json, string where = "problem")
    {
        var root = JsonNode.Parse(json) as JsonObject
            ?? throw new ProblemFormatException($"{where}: the top level must be a JSON object with \"vartype\", \"linear\", \"quadratic\".");
        // A misspelt field ("quadratics") would otherwise be dropped and the problem sampled without it.
        foreach (var (name, _) in root)
            if (!Fields.Contains(name))
                throw new ProblemFormatException($"{where}: field \"{name}\" is not known; a problem has {string.Join(", ", Fields.Select(f => $"\"{f}\""))}.");
        string vt = root["vartype"]?.GetValue<string>()
            ?? throw new ProblemFormatException($"{where}: field \"vartype\" is missing; use \"SPIN\" or \"BINARY\".");
        Vartype vartype;
        try { vartype = VartypeNames.Parse(vt, where); }
        catch (FormatException e) { throw new ProblemFormatException(e.Message); }
        var b = new BqmBuilder(vartype);
        if (root["linear"] is JsonArray lin)
        {
            for (int k = 0; k < lin.Count; k++)
            {
                if (lin[k] is not JsonArray t || t.Count != 2)
                    throw new ProblemFormatException($"{where}: linear[{k}] must be [variable, bias].");
                b.AddVariable(Label(t[0], where, $"linear[{k}][0]"), Number(t[1], where, $"linear[{k}][1]"));
            }
        }
        else if (root["linear"] is not null) throw new ProblemFormatException($"{where}: \"linear\" must be a list of [variable, bias] pairs.");
        if (root["quadratic"] is JsonArray quad)
        {
            for (int k = 0; k < quad.Count; k++)
            {
                if (quad[k] is not JsonArray t || t.Count != 3)
                    throw new ProblemFormatException($"{where}: quadratic[{k}] must be [u, v, bias].");
                int u = Label(t[0], where, $"quadratic[{k}][0]"), v = Label(t[1], where, $"quadratic[{k}][1]");
                if (u == v) throw new ProblemFormatException($"{where}: quadratic[{k}] couples variable {u} with itself; move its bias to \"linear\".");
                b.AddInteraction(u, v, Number(t[2], where, $"quadratic[{k}][2]"));
            }
        }
        else if (root["quadratic"] is not null) throw new ProblemFormatException($"{where}: \"quadratic\" must be a list of [u, v, bias] triples.");
        if (root["offset"] is JsonNode off) b.AddOffset(Number(off, where, "offset"));
        var bqm = b.Build();
        if (bqm.NumVariables == 0)
            throw new ProblemFormatException($"{where}: the problem has no variables; add at least one [variable, bias] to \"linear\" or [u, v, bias] to \"quadratic\".");
        return bqm;
    }

    private static int Label(JsonNode? n, string where, string field)
    {
        if (n is JsonValue v && v.TryGetValue(out long l) && l is >= int.MinValue and <= int.MaxValue) return (int)l;
        if (n is JsonValue d && d.TryGetValue(out double x) && x == Math.Floor(x) && Math.Abs(x) < int.MaxValue) return (int)x;
        throw new ProblemFormatException($"{where}: {field} must be an integer variable label.");
    }

    private static double Number(JsonNode? n, string where, string field)
    {
        if (n is JsonValue v && v.TryGetValue(out double x) && double.IsFinite(x)) return x;
        throw new ProblemFormatException($"{where}: {field} must be a finite number.");
    }

    public static JsonObject ToJson(Bqm bqm)
    {
        var lin = new JsonArray();
        for (int i = 0; i < bqm.NumVariables; i++) lin.Add(new JsonArray(bqm.Labels[i], bqm.Linear[i]));
        var quad = new JsonArray();
        foreach (var (u, v, bias) in bqm.QuadraticByLabel()) quad.Add(new JsonArray(u, v, bias));
        return new JsonObject
        {
            ["vartype"] = bqm.Vartype.ToWire(),
            ["linear"] = lin,
            ["quadratic"] = quad,
            ["offset"] = bqm.Offset,
        };
    }

    public static JsonObject ToJson(SampleSet set)
    {
        var rows = new JsonArray();
        for (int r = 0; r < set.NumRows; r++)
        {
            var row = new JsonArray();
            foreach (sbyte s in set.Row(r)) row.Add((int)s);
            rows.Add(row);
        }
        var info = new JsonObject { ["sampler"] = set.Info.Sampler };
        var timing = new JsonObject();
        foreach (var (k, v) in set.Info.Timing.OrderBy(p => p.Key, StringComparer.Ordinal)) timing[k] = v;
        info["timing"] = timing;
        foreach (var (k, v) in set.Info.Properties.OrderBy(p => p.Key, StringComparer.Ordinal)) info[k] = v;
        foreach (var (k, v) in set.Info.Notes.OrderBy(p => p.Key, StringComparer.Ordinal)) info[k] = v;
        return new JsonObject
        {
            ["vartype"] = set.Vartype.ToWire(),
            ["variables"] = new JsonArray(set.Variables.ToArray().Select(v => (JsonNode)v).ToArray()),
            ["samples"] = rows,
            ["energies"] = new JsonArray(set.Energies.ToArray().Select(e => (JsonNode)e).ToArray()),
            ["num_occurrences"] = new JsonArray(set.NumOccurrences.ToArray().Select(c => (JsonNode)c).ToArray()),
            ["info"] = info,
        };
    }
}

/// <summary>A problem file or problem JSON that cannot be used; the message names the field and the fix.</summary>
public sealed class ProblemFormatException(string message) : Exception(message);
