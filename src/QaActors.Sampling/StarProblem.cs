namespace QaActors.Sampling;

/// <summary>
/// The star problem of the paper's M = 1 network, as the reference kernels use it (docs/operations.md, "Benchmarks"):
/// a hub spin y (index 0) coupled to n − 1 leaf spins k_j, h uniform in (−2, 2), J uniform in (−1, 1) on the hub-leaf edges. Same distributions as the
/// reference kernel, drawn from this project's <see cref="Rng"/> (the values themselves differ). Here the biases are
/// energies, p(s) ∝ exp(−β E); the reference kernels write the same problem as a score, p ∝ exp(+β S), and their exact formulas
/// are translated below by S = −E.
/// </summary>
public static class StarProblem
{
    public static Bqm Create(int n = 549, ulong seed = 12345)
    {
        if (n < 2) throw new ArgumentOutOfRangeException(nameof(n), n, "a star needs a hub and at least one leaf");
        var rng = new Rng(seed);
        var h = new double[n];
        for (int i = 0; i < n; i++) h[i] = -2 + 4 * rng.NextDouble();
        var u = new int[n - 1];
        var v = new int[n - 1];
        var j = new double[n - 1];
        for (int k = 1; k < n; k++) { u[k - 1] = 0; v[k - 1] = k; j[k - 1] = -1 + 2 * rng.NextDouble(); }
        return Bqm.FromArrays(Vartype.Spin, h, u, v, j);
    }

    /// <summary>Exact &lt;y&gt; of the hub: summing the leaves out gives Z_y = e^{−β h_0 y} Π_j 2 cosh(β (h_j + J_j y)).</summary>
    public static double ExactMeanHub(Bqm star, double beta)
    {
        var (h, j) = Split(star);
        double lzPlus = -beta * h[0], lzMinus = beta * h[0];
        for (int k = 1; k < h.Length; k++)
        {
            lzPlus += LogCosh(beta * (h[k] + j[k]));
            lzMinus += LogCosh(beta * (h[k] - j[k]));
        }
        return Math.Tanh(0.5 * (lzPlus - lzMinus));
    }

    /// <summary>Exact &lt;k_leaf&gt; = Σ_y P(y) tanh(−β (h_leaf + J_leaf y)).</summary>
    public static double ExactMeanLeaf(Bqm star, double beta, int leaf = 1)
    {
        var (h, j) = Split(star);
        double pPlus = 0.5 * (1 + ExactMeanHub(star, beta));
        return pPlus * Math.Tanh(-beta * (h[leaf] + j[leaf])) + (1 - pPlus) * Math.Tanh(-beta * (h[leaf] - j[leaf]));
    }

    private static double LogCosh(double x)
    {
        x = Math.Abs(x);
        return x + double.LogP1(Math.Exp(-2 * x)) - Math.Log(2);
    }

    private static (double[] H, double[] J) Split(Bqm star)
    {
        if (star.Vartype != Vartype.Spin) throw new ArgumentException("expects the SPIN star of StarProblem.Create", nameof(star));
        int n = star.NumVariables;
        var h = star.Linear.ToArray();
        var j = new double[n];
        var nb = star.Neighbours(0);
        var bias = star.NeighbourBiases(0);
        if (nb.Length != n - 1 || star.NumInteractions != n - 1)
            throw new ArgumentException("expects a star with variable 0 as its hub", nameof(star));
        for (int k = 0; k < nb.Length; k++) j[nb[k]] = bias[k];
        return (h, j);
    }
}
