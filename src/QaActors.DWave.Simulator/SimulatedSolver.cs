using System.Text.Json.Nodes;
using QaActors.DWave.Sapi;

namespace QaActors.DWave.Simulator;

/// <summary>
/// One solver the simulator presents. Its properties follow the published Advantage / Advantage2 descriptions
/// (Ocean SDK <c>solver_properties_all.rst</c>, <c>solver_properties_specific.rst</c>; dwave-system
/// <c>testing.py</c>'s Advantage_system4.1 mock), with the working graph from an <see cref="ISolverGraphSource"/>.
/// </summary>
public sealed record SimulatedSolverSpec
{
    public required string Name { get; init; }
    public required SolverGraph Graph { get; init; }
    /// <summary>
    /// An explicit graph id; null (the default) derives it from the working graph, so that, as on SAPI, a changed
    /// working graph (qubits or couplers taken out) gets a new <c>graph_id</c> and clients drop cached embeddings.
    /// </summary>
    public string? GraphId { get; init; }
    /// <summary>The <c>identity.version.graph_id</c> served: <see cref="GraphId"/>, or 10 hex digits of the graph's hash.</summary>
    public string EffectiveGraphId => GraphId ?? Graph.ContentId();
    public string Description { get; init; } = "QaActors simulated QPU";
    public ProblemTimingData Timing { get; init; } = ProblemTimingData.Advantage41;
    public ValueRange HRange { get; init; } = new(-4, 4);
    public ValueRange JRange { get; init; } = new(-1, 1);
    public ValueRange ExtendedJRange { get; init; } = new(-2, 1);
    public ValueRange? PerQubitCouplingRange { get; init; } = new(-18, 15);
    public ValueRange? PerGroupCouplingRange { get; init; }
    public ValueRange AnnealingTimeRange { get; init; } = new(0.5, 2000);
    public ValueRange NumReadsRange { get; init; } = new(1, 10000);
    public ValueRange ProblemRunDurationRange { get; init; } = new(0, 1_000_000);
    public string ChipId { get; init; } = "SIM_ADVANTAGE";
    /// <summary>The anneal-offset range published for every qubit (<c>anneal_offset_ranges</c>; normalised offset units).</summary>
    public ValueRange AnnealOffsetRange { get; init; } = new(-0.64, 0.51);
    public ValueRange HGainScheduleRange { get; init; } = new(-4, 4);
    public int MaxHGainSchedulePoints { get; init; } = 20;
    public int MaxAnnealSchedulePoints { get; init; } = 12;
    public ValueRange FastAnnealTimeRange { get; init; } = new(0.005, 2000);
    /// <summary>What <c>qpu_access_overhead_time</c> reports (µs): real systems show 10–20 ms, not charged.</summary>
    public double AccessOverheadTime { get; init; } = 12_000;

    /// <summary>Advantage (Pegasus P16) figures; pass the P16 fabric graph (with any dead qubits removed).</summary>
    public static SimulatedSolverSpec AdvantageLike(string name, SolverGraph graph) => new()
    {
        Name = name,
        Graph = graph,
        Description = "Simulated Advantage-like QPU (Pegasus) served by QaActors sapi-sim",
        Timing = ProblemTimingData.Advantage41,
        ChipId = "SIM_Advantage",
    };

    /// <summary>Advantage2 (Zephyr t=4) figures: per-group coupling limit instead of per-qubit, its own timing data.</summary>
    public static SimulatedSolverSpec Advantage2Like(string name, SolverGraph graph) => new()
    {
        Name = name,
        Graph = graph,
        Description = "Simulated Advantage2-like QPU (Zephyr) served by QaActors sapi-sim",
        Timing = ProblemTimingData.Advantage2,
        PerQubitCouplingRange = null,
        PerGroupCouplingRange = new(-13, 10),
        ChipId = "SIM_Advantage2",
    };

    /// <summary>Parameters accepted (names from the Ocean SDK solver_parameters.rst). Those the simulator cannot
    /// model physically (flux biases, offsets, h-gain, initial state) are checked against the published properties
    /// (shape, ranges) and then ignored, as documented in sapi-sim.conf.</summary>
    public static readonly string[] ParameterNames =
    [
        "anneal_offsets", "anneal_schedule", "annealing_time", "answer_mode", "auto_scale", "fast_anneal",
        "flux_biases", "flux_drift_compensation", "h_gain_schedule", "initial_state", "num_reads",
        "programming_thermalization", "readout_thermalization", "reduce_intersample_correlation", "reinitialize_state",
    ];

    public JsonObject PropertiesJson() => (JsonObject)JsonNode.Parse(PropertiesText())!;

    /// <summary>
    /// The <c>properties</c> object as JSON text. The qubit and coupler lists (5640 and 40 484 entries on P16) are
    /// written directly rather than through a JSON DOM, which would cost about a second per solver.
    /// </summary>
    public string PropertiesText()
    {
        static JsonArray R(ValueRange r) => new(r.Min, r.Max);
        var p = new JsonObject
        {
            ["num_qubits"] = Graph.NumQubits,
            ["topology"] = new JsonObject { ["type"] = Graph.TopologyType, ["shape"] = new JsonArray(Graph.Shape.Select(s => (JsonNode)s).ToArray()) },
            ["h_range"] = R(HRange),
            ["j_range"] = R(JRange),
            ["extended_j_range"] = R(ExtendedJRange),
            ["annealing_time_range"] = R(AnnealingTimeRange),
            ["default_annealing_time"] = Timing.DefaultAnnealingTime,
            ["default_programming_thermalization"] = Timing.DefaultProgrammingThermalization,
            ["default_readout_thermalization"] = Timing.DefaultReadoutThermalization,
            ["programming_thermalization_range"] = new JsonArray(0, 10000),
            ["readout_thermalization_range"] = new JsonArray(0, 10000),
            ["problem_run_duration_range"] = R(ProblemRunDurationRange),
            ["num_reads_range"] = R(NumReadsRange),
            ["max_anneal_schedule_points"] = MaxAnnealSchedulePoints,
            // The properties documented for the parameters advertised below (Ocean SDK solver_properties_all.rst):
            // anneal offsets (ranges and quantisation step), h-gain schedule, fast anneal.
            ["anneal_offset_step"] = -0.00017565852000668507,
            ["anneal_offset_step_phi0"] = 1.486239425109832e-05,
            ["h_gain_schedule_range"] = R(HGainScheduleRange),
            ["max_h_gain_schedule_points"] = MaxHGainSchedulePoints,
            ["fast_anneal_time_range"] = R(FastAnnealTimeRange),
            ["supported_problem_types"] = new JsonArray("ising", "qubo"),
            ["category"] = "qpu",
            ["quota_conversion_rate"] = 1,
            ["chip_id"] = ChipId,
            ["tags"] = new JsonArray("simulated"),
            ["vfyc"] = false,
            ["problem_timing_data"] = Timing.ToJson(),
            ["parameters"] = new JsonObject(ParameterNames.Select(n => KeyValuePair.Create(n, (JsonNode?)JsonValue.Create("See the Ocean SDK solver_parameters documentation.")))),
        };
        if (PerQubitCouplingRange is { } pq) p["per_qubit_coupling_range"] = R(pq);
        if (PerGroupCouplingRange is { } pg) p["per_group_coupling_range"] = R(pg);
        string head = p.ToJsonString();
        var sb = new System.Text.StringBuilder(head.Length + Graph.Qubits.Length * 6 + Graph.Couplers.Length * 14);
        sb.Append(head, 0, head.Length - 1).Append(",\"qubits\":[");
        for (int i = 0; i < Graph.Qubits.Length; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(Graph.Qubits[i]);
        }
        // One range per qubit of num_qubits, working or not, as the property is indexed by qubit.
        sb.Append("],\"anneal_offset_ranges\":[");
        string range = FormattableString.Invariant($"[{AnnealOffsetRange.Min:R},{AnnealOffsetRange.Max:R}]");
        for (int i = 0; i < Graph.NumQubits; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(range);
        }
        sb.Append("],\"couplers\":[");
        for (int i = 0; i < Graph.Couplers.Length; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append('[').Append(Graph.Couplers[i].U).Append(',').Append(Graph.Couplers[i].V).Append(']');
        }
        return sb.Append("]}").ToString();
    }
}
