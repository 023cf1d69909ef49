using System.Text.Json.Nodes;

namespace QaActors.DWave.Sapi;

/// <summary>
/// Solver parameters of one QPU submission (Ocean SDK <c>solver_parameters.rst</c>). The common ones are typed;
/// anything else goes in <see cref="Extra"/> under its SAPI name and is checked against the solver's
/// <c>parameters</c> like the typed ones. Null means "not sent" (the solver's default applies).
/// </summary>
public sealed record QpuParameters
{
    public int NumReads { get; init; } = 1;
    public double? AnnealingTime { get; init; }
    /// <summary>"histogram" (SAPI's default: unique solutions with counts) or "raw" (one row per read).</summary>
    public string? AnswerMode { get; init; }
    /// <summary>Sampling a Boltzmann distribution needs this false (docs/math.md, "Temperature": rescaling changes the temperature).</summary>
    public bool? AutoScale { get; init; }
    public double? ProgrammingThermalization { get; init; }
    public double? ReadoutThermalization { get; init; }
    public IReadOnlyDictionary<string, JsonNode?> Extra { get; init; } = new Dictionary<string, JsonNode?>();
    /// <summary>The problem's label: a field of the submitted job beside <c>params</c>, not a solver parameter (<see cref="ToJson"/> leaves it out).</summary>
    public string? Label { get; init; }

    public JsonObject ToJson()
    {
        var o = new JsonObject { ["num_reads"] = NumReads };
        if (AnnealingTime is { } a) o["annealing_time"] = a;
        if (AnswerMode is { } m) o["answer_mode"] = m;
        if (AutoScale is { } s) o["auto_scale"] = s;
        if (ProgrammingThermalization is { } pt) o["programming_thermalization"] = pt;
        if (ReadoutThermalization is { } rt) o["readout_thermalization"] = rt;
        foreach (var (k, v) in Extra) o[k] = v?.DeepClone();
        return o;
    }

    public TimingParameters Timing => new(NumReads, AnnealingTime, ProgrammingThermalization, ReadoutThermalization);
}

/// <summary>
/// Checks a problem and its parameters against a solver before anything is sent, as dwave-cloud-client does
/// (<c>solver.py: StructuredSolver.check_problem</c>, <c>_format_params</c>) and beyond: ranges are checked
/// here so that a bad value costs no round trip and no quota. Every violation is listed (up to a few per kind).
/// </summary>
public static class QpuProblemValidator
{
    public static void Validate(SolverInfo solver, QpuProblem problem, QpuParameters p)
    {
        var errors = new List<string>();
        if (!solver.SupportedProblemTypes.Contains(problem.Type))
            errors.Add($"problem type '{problem.Type}' is not supported by {solver.Name} (supports {string.Join(", ", solver.SupportedProblemTypes)})");

        int bad = 0;
        foreach (var (q, v) in problem.Linear)
        {
            if (!solver.HasQubit(q)) { if (bad++ < 5) errors.Add($"qubit {q} is not in the working graph of {solver.Name}"); }
            else if (!double.IsFinite(v)) errors.Add($"linear bias on qubit {q} is {v}; biases must be finite");
        }
        if (bad > 5) errors.Add($"... {bad} qubits in total are not in the working graph");
        bad = 0;
        foreach (var ((u, v), j) in problem.Quadratic)
        {
            if (u == v) errors.Add($"quadratic term ({u},{v}) joins a qubit to itself");
            else if (!solver.HasCoupler(u, v)) { if (bad++ < 5) errors.Add($"coupler ({u},{v}) is not in the working graph of {solver.Name}"); }
            else if (!double.IsFinite(j)) errors.Add($"coupling on ({u},{v}) is {j}; couplings must be finite");
        }
        if (bad > 5) errors.Add($"... {bad} couplers in total are not in the working graph");

        var json = p.ToJson();
        if (solver.Parameters.Count > 0)
            foreach (var (k, _) in json)
                if (!solver.Parameters.ContainsKey(k) && !k.StartsWith("x_", StringComparison.Ordinal))
                    errors.Add($"parameter '{k}' is not accepted by {solver.Name}");

        if (!solver.NumReadsRange.Contains(p.NumReads))
            errors.Add($"num_reads {p.NumReads} is outside num_reads_range {solver.NumReadsRange}");
        if (p.AnnealingTime is { } at && !solver.AnnealingTimeRange.Contains(at))
            errors.Add($"annealing_time {at} µs is outside annealing_time_range {solver.AnnealingTimeRange}");
        if (p.AnnealingTime is not null && p.Extra.ContainsKey("anneal_schedule"))
            errors.Add("annealing_time and anneal_schedule are mutually exclusive");
        if (p.ProgrammingThermalization is { } pt && solver.ProgrammingThermalizationRange is { } ptr && !ptr.Contains(pt))
            errors.Add($"programming_thermalization {pt} is outside {ptr}");
        if (p.ReadoutThermalization is { } rt && solver.ReadoutThermalizationRange is { } rtr && !rtr.Contains(rt))
            errors.Add($"readout_thermalization {rt} is outside {rtr}");
        if (p.AnswerMode is { } mode && mode is not ("raw" or "histogram"))
            errors.Add($"answer_mode '{mode}' is not 'raw' or 'histogram'");

        // With auto_scale off the QPU rejects out-of-range biases (Ocean SDK solver_parameters.rst, auto_scale).
        // For QUBO the server converts to Ising first, so the raw Q values are not comparable to h_range.
        if (p.AutoScale == false && problem.Type == QpuProblem.Ising)
        {
            var jr = solver.ExtendedJRange ?? solver.JRange;
            int hb = 0, jb = 0;
            foreach (var (q, v) in problem.Linear)
                if (!solver.HRange.Contains(v) && hb++ < 3) errors.Add($"h[{q}] = {v} is outside h_range {solver.HRange} (auto_scale is off)");
            foreach (var ((u, v), j) in problem.Quadratic)
                if (!jr.Contains(j) && jb++ < 3) errors.Add($"J[{u},{v}] = {j} is outside {(solver.ExtendedJRange is null ? "j_range" : "extended_j_range")} {jr} (auto_scale is off)");
        }

        // Runtime limit (Ocean SDK operation_timing.rst; dwave-cloud-client's max_num_reads estimate in solver.py).
        if (solver.ProblemRunDurationRange is { } dur && solver.TimingData is { } td)
        {
            double anneal = p.AnnealingTime ?? td.DefaultAnnealingTime;
            double readTherm = p.ReadoutThermalization ?? td.DefaultReadoutThermalization;
            double progTherm = p.ProgrammingThermalization ?? td.DefaultProgrammingThermalization;
            double run = (anneal + readTherm) * p.NumReads + progTherm;
            if (run > dur.Max) errors.Add($"the run would last {run:F0} µs > problem_run_duration_range max {dur.Max}; use fewer reads or a shorter anneal");
        }

        if (errors.Count > 0)
            throw new SapiValidationException($"problem rejected before submission to {solver.Name}: " + string.Join("; ", errors));
    }
}
