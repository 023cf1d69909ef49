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
