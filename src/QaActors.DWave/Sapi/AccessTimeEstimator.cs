namespace QaActors.DWave.Sapi;

/// <summary>Timing-relevant parameters of one submission (null means the solver's default).</summary>
public sealed record TimingParameters(
    int NumReads,
    double? AnnealingTime = null,
    double? ProgrammingThermalization = null,
    double? ReadoutThermalization = null,
    bool ReverseAnneal = false,
    bool ReinitializeState = true,
    bool ReduceIntersampleCorrelation = false);

/// <summary>An access-time estimate broken into the published terms (µs).</summary>
public sealed record AccessTimeEstimate(double ProgrammingTime, double ReadoutTimePerSample, double SamplingTimePerRead, int NumReads)
{
    public double SamplingTime => NumReads * SamplingTimePerRead;
    public double QpuAccessTime => ProgrammingTime + SamplingTime;
}

/// <summary>
/// QPU access time before submitting, from the solver's <c>problem_timing_data</c> (Ocean SDK
/// <c>docs/quantum_research/operation_timing.rst</c> "Estimating Access Time"; dwave-cloud-client
/// <c>solver.py: estimate_qpu_access_time</c>):
/// programming = typical_programming_time + RA programming delta + programming_thermalization;
/// readout = 10^interp(log10 m, q, t) (pwl_log_log) or interp(m, q, t) (pwl_linear), m = active qubits;
/// per read = anneal + readout + qpu_delay_time_per_sample + RA delay delta + max(readout_thermalization, decorrelation);
/// access = programming + num_reads · per read. Checked against the published 42 657 µs for 5627 qubits, 100 reads.
/// </summary>
public static class AccessTimeEstimator
{
    public static AccessTimeEstimate Estimate(SolverInfo solver, int numActiveQubits, TimingParameters p) =>
        Estimate(solver.TimingData ?? throw new SapiException(SapiErrorKind.BadProblem,
            $"solver {solver.Name} publishes no problem_timing_data; its access time cannot be estimated"), numActiveQubits, p);

    /// <summary>Convenience form returning µs.</summary>
    public static double EstimateAccessTime(SolverInfo solver, int numActiveQubits, int numReads, double? annealingTime = null,
        double? programmingThermalization = null, double? readoutThermalization = null) =>
        Estimate(solver, numActiveQubits, new TimingParameters(numReads, annealingTime, programmingThermalization, readoutThermalization)).QpuAccessTime;

    public static AccessTimeEstimate Estimate(ProblemTimingData d, int numActiveQubits, TimingParameters p)
    {
        if (!d.Version.StartsWith("1.", StringComparison.Ordinal))
            throw new SapiException(SapiErrorKind.BadProblem, $"problem_timing_data version {d.Version} is not supported (1.x is)");
        if (numActiveQubits < 1) throw new ArgumentOutOfRangeException(nameof(numActiveQubits), numActiveQubits, "a problem uses at least one qubit");
        if (p.NumReads < 1) throw new ArgumentOutOfRangeException(nameof(p), p.NumReads, "num_reads must be at least 1");
        double raProg = 0, raDelay = 0;
        if (p.ReverseAnneal)
        {
            raProg = p.ReinitializeState ? d.ReverseAnnealingWithReinitProgTimeDelta : d.ReverseAnnealingWithoutReinitProgTimeDelta;
            raDelay = p.ReinitializeState ? d.ReverseAnnealingWithReinitDelayTimeDelta : d.ReverseAnnealingWithoutReinitDelayTimeDelta;
        }
        double anneal = p.AnnealingTime ?? d.DefaultAnnealingTime;
        double progTherm = p.ProgrammingThermalization ?? d.DefaultProgrammingThermalization;
        double readTherm = p.ReadoutThermalization ?? d.DefaultReadoutThermalization;
        double readout = Readout(d, numActiveQubits);
        double decor = p.ReduceIntersampleCorrelation
            ? anneal / d.DecorrelationMaxNominalAnnealTime * (d.DecorrelationTimeRange.Max - d.DecorrelationTimeRange.Min) + d.DecorrelationTimeRange.Min
            : 0;
        double prog = d.TypicalProgrammingTime + raProg + progTherm;
        double perRead = anneal + readout + d.QpuDelayTimePerSample + raDelay + Math.Max(readTherm, decor);
        return new AccessTimeEstimate(prog, readout, perRead, p.NumReads);
    }

    public static double Readout(ProblemTimingData d, int numQubits)
    {
        var par = d.ReadoutTimeModelParameters;
        if (par.Length < 2 || par.Length % 2 != 0)
            throw new SapiException(SapiErrorKind.BadProblem, $"readout_time_model_parameters has {par.Length} values; an even number ≥ 2 is expected");
        int n = par.Length / 2;
        var q = par.AsSpan(0, n);
        var t = par.AsSpan(n, n);
        return d.ReadoutTimeModel switch
        {
            "pwl_log_log" => Math.Pow(10, Interp(Math.Log10(numQubits), q, t)),
            "pwl_linear" => Interp(numQubits, q, t),
            _ => throw new SapiException(SapiErrorKind.BadProblem, $"readout_time_model '{d.ReadoutTimeModel}' is not known (pwl_log_log, pwl_linear)"),
        };
    }

    /// <summary>numpy.interp: linear between points, clamped to the end values outside.</summary>
    private static double Interp(double x, ReadOnlySpan<double> xp, ReadOnlySpan<double> fp)
    {
        if (x <= xp[0]) return fp[0];
        if (x >= xp[^1]) return fp[^1];
        int i = 1;
        while (xp[i] < x) i++;
        double w = (x - xp[i - 1]) / (xp[i] - xp[i - 1]);
        return fp[i - 1] + w * (fp[i] - fp[i - 1]);
    }
}
