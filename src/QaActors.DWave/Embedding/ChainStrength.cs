using QaActors.Sampling;

namespace QaActors.DWave.Embedding;

/// <summary>Rules for the ferromagnetic coupling that holds a chain together.</summary>
public static class ChainStrength
{
    /// <summary>Ocean's default prefactor (dwave-system <c>dwave/embedding/chain_strength.py</c>).</summary>
    public const double DefaultPrefactor = 1.414;

    /// <summary>
    /// Ocean's default rule, <c>uniform_torque_compensation(bqm, prefactor=1.414)</c> (dwave-system
    /// <c>dwave/embedding/chain_strength.py</c>; docs/dwave.md, "From a logical problem to qubits and back"), computed on the SPIN form:
    /// prefactor · sqrt(mean J²) · sqrt(mean degree over all variables), and 1 when there are no interactions.
    /// The idea: a chain qubit feels a random torque of about rms(J)·sqrt(degree) from its logical neighbours, and the
    /// chain coupling must compensate it.
    /// </summary>
    public static double UniformTorqueCompensation(Bqm bqm, double prefactor = DefaultPrefactor)
    {
        var spin = bqm.ToSpin();
        int m = spin.NumInteractions;
        if (m == 0) return 1;
        double sq = 0;
        foreach (double j in spin.QuadraticBias) sq += j * j;
        double rms = Math.Sqrt(sq / m);
        // Mean degree over all variables: every interaction adds 1 to two degrees.
        double meanDegree = 2.0 * m / spin.NumVariables;
        return prefactor * rms * Math.Sqrt(meanDegree);
    }

    /// <summary>
    /// The least chain strength (hardware units) at which a chain coupler breaks with probability at most
    /// <paramref name="breakProbability"/> when the QPU samples at inverse temperature <paramref name="betaHardware"/>:
    /// a broken coupler costs 2·strength, so e^(−2·β_hw·strength) ≤ p gives strength = ln(1/p) / (2·β_hw)
    /// (docs/math.md, "Temperature"). Torque compensation alone scales with the programmed problem, which the
    /// temperature composite divides by T ≈ β_hw, so at the paper's T = 16 it leaves the EBM's output chain about as
    /// likely broken as not; this floor keeps chains whole at the hardware's own temperature.
    /// </summary>
    public static double ForHardwareTemperature(double betaHardware, double breakProbability = DefaultBreakProbability)
    {
        if (!(betaHardware > 0) || !double.IsFinite(betaHardware)) throw new ArgumentOutOfRangeException(nameof(betaHardware), betaHardware, "the hardware's inverse temperature must be a positive finite number");
        if (!(breakProbability is > 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(breakProbability), breakProbability, "a break probability must be in (0, 1)");
        return Math.Log(1 / breakProbability) / (2 * betaHardware);
    }

    /// <summary>The break probability per chain coupler <see cref="ForHardwareTemperature"/> aims at by default.</summary>
    public const double DefaultBreakProbability = 1e-3;

    /// <summary>Ocean's alternative <c>scaled</c>: prefactor · max |bias| over h and J of the SPIN form.</summary>
    public static double Scaled(Bqm bqm, double prefactor = 1.0)
    {
        var spin = bqm.ToSpin();
        double max = 0;
        foreach (double h in spin.Linear) max = Math.Max(max, Math.Abs(h));
        foreach (double j in spin.QuadraticBias) max = Math.Max(max, Math.Abs(j));
        return prefactor * max;
    }
}
