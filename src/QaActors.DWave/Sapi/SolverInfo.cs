using System.Text.Json;
using System.Text.Json.Nodes;

namespace QaActors.DWave.Sapi;

/// <summary>A closed numeric interval [Min, Max] from a solver property such as <c>h_range</c>.</summary>
public readonly record struct ValueRange(double Min, double Max)
{
    public bool Contains(double x) => x >= Min && x <= Max;
    public override string ToString() => FormattableString.Invariant($"[{Min}, {Max}]");
}

/// <summary>
/// The <c>problem_timing_data</c> solver property (version 1.0.x), as published by SAPI and documented in the
/// Ocean SDK's <c>docs/quantum_research/operation_timing.rst</c>; field names as in dwave-cloud-client
/// <c>solver.py: estimate_qpu_access_time</c>. Times in microseconds.
/// </summary>
public sealed record ProblemTimingData(
    string Version,
    double TypicalProgrammingTime,
    double DefaultProgrammingThermalization,
    double DefaultReadoutThermalization,
    double DefaultAnnealingTime,
    double QpuDelayTimePerSample,
    string ReadoutTimeModel,
    double[] ReadoutTimeModelParameters,
    double ReverseAnnealingWithReinitProgTimeDelta,
    double ReverseAnnealingWithoutReinitProgTimeDelta,
    double ReverseAnnealingWithReinitDelayTimeDelta,
    double ReverseAnnealingWithoutReinitDelayTimeDelta,
    double DecorrelationMaxNominalAnnealTime,
    ValueRange DecorrelationTimeRange)
{
    public static ProblemTimingData Parse(JsonObject o, string solver)
    {
        double D(string k, double? dflt = null) => o[k] is JsonValue v ? JsonNumbers.Double(v)
            : dflt ?? throw new SapiException(SapiErrorKind.Protocol, $"solver {solver}: problem_timing_data lacks '{k}'");
        var p = o["readout_time_model_parameters"] as JsonArray
            ?? throw new SapiException(SapiErrorKind.Protocol, $"solver {solver}: problem_timing_data lacks 'readout_time_model_parameters'");
        var dr = o["decorrelation_time_range"] as JsonArray;
        return new ProblemTimingData(
            o["version"]?.GetValue<string>() ?? "1.0.0",
            D("typical_programming_time"),
            D("default_programming_thermalization"),
            D("default_readout_thermalization", 0),
            D("default_annealing_time"),
            D("qpu_delay_time_per_sample"),
            o["readout_time_model"]?.GetValue<string>() ?? "pwl_log_log",
            p.Select(x => JsonNumbers.Double(x)).ToArray(),
            D("reverse_annealing_with_reinit_prog_time_delta", 0),
            D("reverse_annealing_without_reinit_prog_time_delta", 0),
            D("reverse_annealing_with_reinit_delay_time_delta", 0),
            D("reverse_annealing_without_reinit_delay_time_delta", 0),
            D("decorrelation_max_nominal_anneal_time", 2000),
            dr is { Count: 2 } ? new ValueRange(JsonNumbers.Double(dr[0]), JsonNumbers.Double(dr[1])) : new ValueRange(0, 0));
    }

    public JsonObject ToJson() => new()
    {
        ["version"] = Version,
        ["typical_programming_time"] = TypicalProgrammingTime,
        ["reverse_annealing_with_reinit_prog_time_delta"] = ReverseAnnealingWithReinitProgTimeDelta,
        ["reverse_annealing_without_reinit_prog_time_delta"] = ReverseAnnealingWithoutReinitProgTimeDelta,
        ["default_programming_thermalization"] = DefaultProgrammingThermalization,
        ["default_annealing_time"] = DefaultAnnealingTime,
        ["readout_time_model"] = ReadoutTimeModel,
        ["readout_time_model_parameters"] = new JsonArray(ReadoutTimeModelParameters.Select(x => (JsonNode)x).ToArray()),
        ["qpu_delay_time_per_sample"] = QpuDelayTimePerSample,
        ["reverse_annealing_with_reinit_delay_time_delta"] = ReverseAnnealingWithReinitDelayTimeDelta,
        ["reverse_annealing_without_reinit_delay_time_delta"] = ReverseAnnealingWithoutReinitDelayTimeDelta,
        ["default_readout_thermalization"] = DefaultReadoutThermalization,
        ["decorrelation_max_nominal_anneal_time"] = DecorrelationMaxNominalAnnealTime,
        ["decorrelation_time_range"] = new JsonArray(DecorrelationTimeRange.Min, DecorrelationTimeRange.Max),
    };

    /// <summary>Advantage_system4.1, August 2022 (dwave-cloud-client <c>testing/mocks.py: qpu_problem_timing_data</c>).</summary>
    public static ProblemTimingData Advantage41 => new("1.0.0", 14072.88, 1000, 0, 20, 20.54, "pwl_log_log",
        [0.0, 0.7699665876947938, 1.7242758696010096, 2.711975459489206, 3.1639057672764026, 3.750276915153992,
         1.539131714800995, 1.8726623164229292, 2.125631787097315, 2.332672340068556, 2.371606651233025, 2.3716219271760215],
        0.0, 5.55, -4.5, -1.5, 2000, new ValueRange(500, 10000));

    /// <summary>An Advantage2 (Zephyr) system's published timing data (typical programming ~33.6 ms, delay 60.57 µs).</summary>
    public static ProblemTimingData Advantage2 => new("1.0.0", 33631.59, 1000, 0, 20, 60.57, "pwl_log_log",
        [0.0, 0.7118156236873552, 1.622919864592155, 2.5460233863267376, 3.6610550848533783,
         1.3562242666114566, 1.6328679675785214, 1.7857781469507206, 1.99055000334358, 1.9905608299940198],
        0.0, 31.33, -44.5, -41.5, 2000, new ValueRange(0, 0));
}

/// <summary>
/// A solver as SAPI describes it (<c>GET solvers/remote/{name}/</c>; record layout from dwave-cloud-client
/// <c>api/models.py</c>, property names from the Ocean SDK's <c>solver_properties_all.rst</c>). The working graph
/// is kept both as the encoding-order lists (<see cref="Qubits"/>, <see cref="Couplers"/>) and as lookup
/// structures, because encoding a problem walks the lists while validation asks "is this an edge?".
/// </summary>
public sealed class SolverInfo
{
    // Plain dictionaries: building a FrozenDictionary over P16's 40 484 couplers costs more than all lookups save.
    private readonly Dictionary<int, int> _qubitIndex;
    private readonly Dictionary<long, int> _couplerIndex;

    public string Name { get; }
    public string? GraphId { get; }
    /// <summary>"ONLINE" or "OFFLINE" (absent in some filtered listings: then null).</summary>
    public string? Status { get; }
    public string? Description { get; }
    public double? AverageLoad { get; }
    public JsonObject Properties { get; }

    public int NumQubits { get; }
    public int[] Qubits { get; }
    public (int U, int V)[] Couplers { get; }
    public string TopologyType { get; }
    public int[] TopologyShape { get; }
    public string Category { get; }
    public ValueRange HRange { get; }
    public ValueRange JRange { get; }
    public ValueRange? ExtendedJRange { get; }
    public ValueRange NumReadsRange { get; }
    public ValueRange AnnealingTimeRange { get; }
    public ValueRange? ProgrammingThermalizationRange { get; }
    public ValueRange? ReadoutThermalizationRange { get; }
    public ValueRange? ProblemRunDurationRange { get; }
    public double DefaultAnnealingTime { get; }
    public IReadOnlyDictionary<string, string> Parameters { get; }
    public IReadOnlyList<string> SupportedProblemTypes { get; }
    public ProblemTimingData? TimingData { get; }

    public bool IsOnline => !string.Equals(Status, "OFFLINE", StringComparison.OrdinalIgnoreCase);

    private SolverInfo(string name, string? graphId, string? status, string? description, double? avgLoad, JsonObject props,
        int[] qubits, (int U, int V)[] couplers)
    {
        Name = name; GraphId = graphId; Status = status; Description = description; AverageLoad = avgLoad; Properties = props;
        string where = $"solver {name}";
        Qubits = qubits;
        Couplers = couplers;
        NumQubits = props["num_qubits"] is JsonValue nq ? JsonNumbers.Int(nq) : (Qubits.Length == 0 ? 0 : Qubits.Max() + 1);
        _qubitIndex = new Dictionary<int, int>(Qubits.Length);
        for (int i = 0; i < Qubits.Length; i++) _qubitIndex[Qubits[i]] = i;
        var ci = new Dictionary<long, int>(Couplers.Length);
        for (int i = 0; i < Couplers.Length; i++) ci[Key(Couplers[i].U, Couplers[i].V)] = i;
        _couplerIndex = ci;
        var topo = props["topology"] as JsonObject;
        TopologyType = topo?["type"]?.GetValue<string>() ?? "unknown";
        TopologyShape = (topo?["shape"] as JsonArray)?.Select(x => JsonNumbers.Int(x)).ToArray() ?? [];
        Category = props["category"]?.GetValue<string>() ?? "qpu";
        HRange = R(props, "h_range") ?? throw Missing(where, "h_range");
        JRange = R(props, "j_range") ?? throw Missing(where, "j_range");
        ExtendedJRange = R(props, "extended_j_range");
        NumReadsRange = R(props, "num_reads_range") ?? new ValueRange(1, 10000);
        AnnealingTimeRange = R(props, "annealing_time_range") ?? new ValueRange(0.5, 2000);
        ProgrammingThermalizationRange = R(props, "programming_thermalization_range");
        ReadoutThermalizationRange = R(props, "readout_thermalization_range");
        ProblemRunDurationRange = R(props, "problem_run_duration_range");
        DefaultAnnealingTime = props["default_annealing_time"] is JsonValue dat ? JsonNumbers.Double(dat) : 20;
        Parameters = (props["parameters"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => kv.Value?.ToString() ?? "") ?? new Dictionary<string, string>();
        SupportedProblemTypes = (props["supported_problem_types"] as JsonArray)?.Select(x => x!.GetValue<string>()).ToArray() ?? ["ising", "qubo"];
        TimingData = props["problem_timing_data"] is JsonObject ptd ? ProblemTimingData.Parse(ptd, name) : null;
    }

    private static long Key(int u, int v) => ((long)Math.Min(u, v) << 32) | (uint)Math.Max(u, v);
    private static Exception Missing(string where, string prop) =>
        new SapiException(SapiErrorKind.Protocol, $"{where}: property '{prop}' is missing from the solver description");
    private static ValueRange? R(JsonObject p, string k) =>
        p[k] is JsonArray { Count: 2 } a ? new ValueRange(JsonNumbers.Double(a[0]), JsonNumbers.Double(a[1])) : null;

    public bool HasQubit(int q) => _qubitIndex.ContainsKey(q);
    public bool HasCoupler(int u, int v) => _couplerIndex.ContainsKey(Key(u, v));
    /// <summary>Position of a qubit in <see cref="Qubits"/> (the <c>lin</c> encoding order), or -1.</summary>
    public int QubitPosition(int q) => _qubitIndex.TryGetValue(q, out int i) ? i : -1;
    public int CouplerPosition(int u, int v) => _couplerIndex.TryGetValue(Key(u, v), out int i) ? i : -1;

    /// <summary>Parses one solver record: <c>{identity:{name, version:{graph_id}}, status, description, properties, avg_load}</c>,
    /// or the legacy flat form <c>{id, status, description, properties}</c>.</summary>
    public static SolverInfo Parse(JsonObject record)
    {
        var props = record["properties"] as JsonObject;
        int[] qubits = (props?["qubits"] as JsonArray)?.Select(q => JsonNumbers.Int(q)).ToArray() ?? [];
        var couplers = (props?["couplers"] as JsonArray)?.Select(c =>
        {
            var a = c!.AsArray();
            return Edge(JsonNumbers.Int(a[0]), JsonNumbers.Int(a[1]));
        }).ToArray() ?? [];
        return Build(record, props, qubits, couplers);
    }

    /// <summary>
    /// The fast path for records read off the wire: the qubit and coupler lists (tens of thousands of entries on
    /// Pegasus) are read straight from the document, and the rest stays a lazily materialised JSON DOM.
    /// </summary>
    public static SolverInfo Parse(JsonElement record)
    {
        if (record.ValueKind != JsonValueKind.Object) throw new SapiException(SapiErrorKind.Protocol, "solver record is not a JSON object");
        int[] qubits = [];
        (int, int)[] couplers = [];
        if (record.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object)
        {
            if (p.TryGetProperty("qubits", out var q) && q.ValueKind == JsonValueKind.Array)
            {
                qubits = new int[q.GetArrayLength()];
                int i = 0;
                foreach (var e in q.EnumerateArray()) qubits[i++] = e.GetInt32();
            }
            if (p.TryGetProperty("couplers", out var c) && c.ValueKind == JsonValueKind.Array)
            {
                couplers = new (int, int)[c.GetArrayLength()];
                int i = 0;
                foreach (var e in c.EnumerateArray()) couplers[i++] = Edge(e[0].GetInt32(), e[1].GetInt32());
            }
        }
        var obj = JsonObject.Create(record)!;
        return Build(obj, obj["properties"] as JsonObject, qubits, couplers);
    }

    public static SolverInfo Parse(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return Parse(doc.RootElement.Clone());
        }
        catch (JsonException e)
        {
            throw new SapiException(SapiErrorKind.Protocol, $"solver description is not valid JSON: {e.Message}", inner: e);
        }
    }

    private static (int, int) Edge(int u, int v) => (Math.Min(u, v), Math.Max(u, v));

    private static SolverInfo Build(JsonObject record, JsonObject? props, int[] qubits, (int U, int V)[] couplers)
    {
        string? name = record["identity"]?["name"]?.GetValue<string>() ?? record["id"]?.GetValue<string>();
        if (name is null) throw new SapiException(SapiErrorKind.Protocol, "solver record has neither identity.name nor id");
        if (props is null) throw new SapiException(SapiErrorKind.Protocol, $"solver {name}: record has no properties");
        if (props["qubits"] is not JsonArray) throw Missing($"solver {name}", "qubits");
        if (props["couplers"] is not JsonArray) throw Missing($"solver {name}", "couplers");
        string? graphId = record["identity"]?["version"]?["graph_id"]?.GetValue<string>();
        double? load = record["avg_load"] is JsonValue lv ? JsonNumbers.Double(lv) : null;
        return new SolverInfo(name, graphId, record["status"]?.GetValue<string>(), record["description"]?.GetValue<string>(), load, props, qubits, couplers);
    }

    /// <summary>The <c>solver</c> object of a submission: <c>{"name":…, "version":{"graph_id":…}}</c>.</summary>
    public JsonObject IdentityJson()
    {
        var o = new JsonObject { ["name"] = Name };
        if (GraphId is not null) o["version"] = new JsonObject { ["graph_id"] = GraphId };
        return o;
    }

    public override string ToString() => $"{Name} ({TopologyType} {string.Join(",", TopologyShape)}, {Qubits.Length} qubits, {Couplers.Length} couplers, {Status ?? "status unknown"})";
}

/// <summary>
/// Numbers from a JSON DOM whether it was parsed (element-backed: any numeric read works) or built in memory
/// (CLR-typed: an int node refuses GetValue&lt;double&gt;). Solver records arrive both ways.
/// </summary>
public static class JsonNumbers
{
    public static double Double(JsonNode? n)
    {
        if (n is JsonValue v)
        {
            if (v.TryGetValue(out double d)) return d;
            if (v.TryGetValue(out int i)) return i;
            if (v.TryGetValue(out long l)) return l;
            if (v.TryGetValue(out float f)) return f;
            if (v.TryGetValue(out decimal m)) return (double)m;
        }
        throw new SapiException(SapiErrorKind.Protocol, $"expected a number, found {n?.ToJsonString() ?? "null"}");
    }

    public static int Int(JsonNode? n)
    {
        if (n is JsonValue v)
        {
            if (v.TryGetValue(out int i)) return i;
            if (v.TryGetValue(out long l) && l is >= int.MinValue and <= int.MaxValue) return (int)l;
            if (v.TryGetValue(out double d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue) return (int)d;
        }
        throw new SapiException(SapiErrorKind.Protocol, $"expected an integer, found {n?.ToJsonString() ?? "null"}");
    }
}
