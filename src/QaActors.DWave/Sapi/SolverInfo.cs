using System.Collections.Frozen;
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
        double D(string k, double? dflt = null) => o[k] is JsonValue v && v.TryGetValue(out double d) ? d
            : dflt ?? throw new SapiException(SapiErrorKind.BadProblem, $"solver {solver}: problem_timing_data lacks '{k}'");
        var p = o["readout_time_model_parameters"] as JsonArray
            ?? throw new SapiException(SapiErrorKind.BadProblem, $"solver {solver}: problem_timing_data lacks 'readout_time_model_parameters'");
        var dr = o["decorrelation_time_range"] as JsonArray;
        return new ProblemTimingData(
            o["version"]?.GetValue<string>() ?? "1.0.0",
            D("typical_programming_time"),
            D("default_programming_thermalization"),
            D("default_readout_thermalization", 0),
            D("default_annealing_time"),
            D("qpu_delay_time_per_sample"),
            o["readout_time_model"]?.GetValue<string>() ?? "pwl_log_log",
            p.Select(x => x!.GetValue<double>()).ToArray(),
            D("reverse_annealing_with_reinit_prog_time_delta", 0),
            D("reverse_annealing_without_reinit_prog_time_delta", 0),
            D("reverse_annealing_with_reinit_delay_time_delta", 0),
            D("reverse_annealing_without_reinit_delay_time_delta", 0),
            D("decorrelation_max_nominal_anneal_time", 2000),
            dr is { Count: 2 } ? new ValueRange(dr[0]!.GetValue<double>(), dr[1]!.GetValue<double>()) : new ValueRange(0, 0));
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
    private readonly FrozenDictionary<int, int> _qubitIndex;
    private readonly FrozenDictionary<long, int> _couplerIndex;

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

    private SolverInfo(string name, string? graphId, string? status, string? description, double? avgLoad, JsonObject props)
    {
        Name = name; GraphId = graphId; Status = status; Description = description; AverageLoad = avgLoad; Properties = props;
        string where = $"solver {name}";
        Qubits = (props["qubits"] as JsonArray ?? throw Missing(where, "qubits")).Select(q => q!.GetValue<int>()).ToArray();
        Couplers = (props["couplers"] as JsonArray ?? throw Missing(where, "couplers")).Select(c =>
        {
            var a = c!.AsArray();
            int u = a[0]!.GetValue<int>(), v = a[1]!.GetValue<int>();
            return (Math.Min(u, v), Math.Max(u, v));
        }).ToArray();
        NumQubits = props["num_qubits"]?.GetValue<int>() ?? (Qubits.Length == 0 ? 0 : Qubits.Max() + 1);
        _qubitIndex = Qubits.Select((q, i) => (q, i)).ToFrozenDictionary(t => t.q, t => t.i);
        var ci = new Dictionary<long, int>(Couplers.Length);
        for (int i = 0; i < Couplers.Length; i++) ci[Key(Couplers[i].U, Couplers[i].V)] = i;
        _couplerIndex = ci.ToFrozenDictionary();
        var topo = props["topology"] as JsonObject;
        TopologyType = topo?["type"]?.GetValue<string>() ?? "unknown";
        TopologyShape = (topo?["shape"] as JsonArray)?.Select(x => x!.GetValue<int>()).ToArray() ?? [];
        Category = props["category"]?.GetValue<string>() ?? "qpu";
        HRange = R(props, "h_range") ?? throw Missing(where, "h_range");
        JRange = R(props, "j_range") ?? throw Missing(where, "j_range");
        ExtendedJRange = R(props, "extended_j_range");
        NumReadsRange = R(props, "num_reads_range") ?? new ValueRange(1, 10000);
        AnnealingTimeRange = R(props, "annealing_time_range") ?? new ValueRange(0.5, 2000);
        ProgrammingThermalizationRange = R(props, "programming_thermalization_range");
        ReadoutThermalizationRange = R(props, "readout_thermalization_range");
        ProblemRunDurationRange = R(props, "problem_run_duration_range");
        DefaultAnnealingTime = props["default_annealing_time"]?.GetValue<double>() ?? 20;
        Parameters = (props["parameters"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => kv.Value?.ToString() ?? "") ?? new Dictionary<string, string>();
        SupportedProblemTypes = (props["supported_problem_types"] as JsonArray)?.Select(x => x!.GetValue<string>()).ToArray() ?? ["ising", "qubo"];
        TimingData = props["problem_timing_data"] is JsonObject ptd ? ProblemTimingData.Parse(ptd, name) : null;
    }

    private static long Key(int u, int v) => ((long)Math.Min(u, v) << 32) | (uint)Math.Max(u, v);
    private static Exception Missing(string where, string prop) =>
        new SapiException(SapiErrorKind.BadProblem, $"{where}: property '{prop}' is missing from the solver description");
    private static ValueRange? R(JsonObject p, string k) =>
        p[k] is JsonArray { Count: 2 } a ? new ValueRange(a[0]!.GetValue<double>(), a[1]!.GetValue<double>()) : null;

    public bool HasQubit(int q) => _qubitIndex.ContainsKey(q);
    public bool HasCoupler(int u, int v) => _couplerIndex.ContainsKey(Key(u, v));
    /// <summary>Position of a qubit in <see cref="Qubits"/> (the <c>lin</c> encoding order), or -1.</summary>
    public int QubitPosition(int q) => _qubitIndex.TryGetValue(q, out int i) ? i : -1;
    public int CouplerPosition(int u, int v) => _couplerIndex.TryGetValue(Key(u, v), out int i) ? i : -1;

    /// <summary>Parses one solver record: <c>{identity:{name, version:{graph_id}}, status, description, properties, avg_load}</c>,
    /// or the legacy flat form <c>{id, status, description, properties}</c>.</summary>
    public static SolverInfo Parse(JsonObject record)
    {
        // A record built in memory holds CLR-typed values (an int where a double is read); normalising through
        // its JSON text makes it read exactly like one that arrived over the wire.
        record = (JsonObject)JsonNode.Parse(record.ToJsonString())!;
        string? name = record["identity"]?["name"]?.GetValue<string>() ?? record["id"]?.GetValue<string>();
        if (name is null) throw new SapiException(SapiErrorKind.BadProblem, "solver record has neither identity.name nor id");
        string? graphId = record["identity"]?["version"]?["graph_id"]?.GetValue<string>();
        var props = record["properties"] as JsonObject
            ?? throw new SapiException(SapiErrorKind.BadProblem, $"solver {name}: record has no properties");
        double? load = record["avg_load"] is JsonValue lv && lv.TryGetValue(out double l) ? l : null;
        return new SolverInfo(name, graphId, record["status"]?.GetValue<string>(), record["description"]?.GetValue<string>(), load, props);
    }

    public static SolverInfo Parse(string json) =>
        Parse(JsonNode.Parse(json) as JsonObject ?? throw new SapiException(SapiErrorKind.BadProblem, "solver description is not a JSON object"));

    /// <summary>The <c>solver</c> object of a submission: <c>{"name":…, "version":{"graph_id":…}}</c>.</summary>
    public JsonObject IdentityJson()
    {
        var o = new JsonObject { ["name"] = Name };
        if (GraphId is not null) o["version"] = new JsonObject { ["graph_id"] = GraphId };
        return o;
    }

    public override string ToString() => $"{Name} ({TopologyType} {string.Join(",", TopologyShape)}, {Qubits.Length} qubits, {Couplers.Length} couplers, {Status ?? "status unknown"})";
}
