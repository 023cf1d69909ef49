using QaActors.Sampling;

namespace QaActors.DWave.Temperature;

/// <summary>
/// An effective inverse temperature estimated from samples.
/// <see cref="Beta"/> is in the units of the problem passed to the estimator: the samples look like draws from
/// P(s) ∝ exp(−Beta·E(s)) for that problem's E. Pass the problem as programmed on the QPU (after the 1/T_eff
/// division) to get the hardware β in programmed units (the paper's T_eff = 16 means this is about 16); pass the
/// undivided model to get the β that model is effectively sampled at (ideally 1).
/// </summary>
/// <param name="Beta">The maximum-pseudo-likelihood β; +∞ when every sample is a local minimum (Ocean then reports T = 0).</param>
/// <param name="Temperature">1/β, the quantity Ocean's <c>maximum_pseudolikelihood_temperature</c> returns (0 when β is +∞).</param>
/// <param name="BootstrapBetas">β re-estimated on resampled rows (empty unless bootstrap was asked for).</param>
public sealed record BetaEstimate(double Beta, double Temperature, long NumReads, double[] BootstrapBetas)
{
    public bool IsUnbounded => double.IsPositiveInfinity(Beta);

    /// <summary>Standard deviation of the bootstrap βs (NaN without bootstrap or when some are unbounded).</summary>
    public double BootstrapStdDev()
    {
        if (BootstrapBetas.Length < 2 || BootstrapBetas.Any(double.IsInfinity)) return double.NaN;
        double m = BootstrapBetas.Average();
        return Math.Sqrt(BootstrapBetas.Sum(b => (b - m) * (b - m)) / (BootstrapBetas.Length - 1));
    }
}

/// <summary>
/// Maximum-pseudo-likelihood estimation of a sampler's effective β, the estimator of Ocean's
/// <c>dwave.system.temperatures.maximum_pseudolikelihood_temperature</c> (dwave-system <c>dwave/system/temperatures.py</c>;
/// Raymond, Yarkoni and Andriyash 2016, Front. ICT 3:23; docs/math.md, "Estimating β from samples").
///
/// For E(s) = Σ h_i s_i + Σ J_ij s_i s_j over spins, let f_i = h_i + Σ_j J_ij s_j (the local field) and x_i = 2 s_i f_i,
/// which is minus the energy change of flipping s_i. Under P ∝ exp(−βE) the conditional of one spin given the rest is
/// P(s_i | s_−i) = exp(−β s_i f_i) / (exp(−β f_i) + exp(β f_i)) = σ(−β x_i), so the log pseudo-likelihood is
///   L(β) = Σ_samples Σ_i log σ(−β x_i),   L'(β) = −Σ x_i σ(β x_i),   L''(β) = −Σ x_i² σ(β x_i) σ(−β x_i) ≤ 0.
/// L is concave, so β̂ is the unique root of L' (found by bracketing and safeguarded Newton). If every x_i ≤ 0 (each
/// sample a local minimum) L' stays positive and β̂ = +∞. Ocean's root Σ f exp(f/T) = 0 is the same condition
/// written for T = 1/β. Rows are weighted by their occurrence counts.
/// </summary>
public static class BetaEstimator
{
    public static BetaEstimate MaximumPseudoLikelihood(Bqm problem, SampleSet samples, int numBootstrap = 0, ulong seed = 1)
    {
        if (numBootstrap < 0) throw new ArgumentOutOfRangeException(nameof(numBootstrap), numBootstrap, "must be ≥ 0");
        var spin = problem.ToSpin();
        var set = samples.ChangeVartype(Vartype.Spin);
        int n = spin.NumVariables;
        var col = new int[n];
        var labels = spin.Labels;
        for (int i = 0; i < n; i++)
        {
            int c = set.Variables.IndexOf(labels[i]);
            if (c < 0) throw new ArgumentException($"the samples have no column for variable {labels[i]} of the problem", nameof(samples));
            col[i] = c;
        }
        if (set.TotalReads == 0) throw new ArgumentException("the sample set is empty; β cannot be estimated from no reads", nameof(samples));

        int rows = set.NumRows;
        var x = new double[rows * n];
        var s = new sbyte[n];
        var lin = spin.Linear;
        for (int r = 0; r < rows; r++)
        {
            var row = set.Row(r);
            for (int i = 0; i < n; i++) s[i] = row[col[i]];
            for (int i = 0; i < n; i++)
            {
                double f = lin[i];
                var nb = spin.Neighbours(i);
                var jb = spin.NeighbourBiases(i);
                for (int k = 0; k < nb.Length; k++) f += jb[k] * s[nb[k]];
                x[r * n + i] = 2.0 * s[i] * f;
            }
        }
        var weights = new double[rows];
        for (int r = 0; r < rows; r++) weights[r] = set.NumOccurrences[r];
        double beta = Solve(x, n, weights);

        var boots = new double[numBootstrap];
        if (numBootstrap > 0)
        {
            // Resample reads (not rows) with replacement, as a bootstrap over the raw reads would.
            var rng = new Rng(seed);
            var cdf = new double[rows];
            double acc = 0;
            for (int r = 0; r < rows; r++) { acc += weights[r]; cdf[r] = acc; }
            long reads = set.TotalReads;
            var w = new double[rows];
            for (int b = 0; b < numBootstrap; b++)
            {
                Array.Clear(w);
                for (long t = 0; t < reads; t++)
                {
                    int r = Array.BinarySearch(cdf, rng.NextDouble() * acc);
                    if (r < 0) r = ~r;
                    w[Math.Min(r, rows - 1)]++;
                }
                boots[b] = Solve(x, n, w);
            }
        }
        return new BetaEstimate(beta, double.IsPositiveInfinity(beta) ? 0 : 1 / beta, set.TotalReads, boots);
    }

    /// <summary>The log pseudo-likelihood L(β) (for checks and diagnostics).</summary>
    public static double LogPseudoLikelihood(Bqm problem, SampleSet samples, double beta)
    {
        var spin = problem.ToSpin();
        var set = samples.ChangeVartype(Vartype.Spin);
        double total = 0;
        var s = new sbyte[spin.NumVariables];
        var labels = spin.Labels;
        var col = new int[s.Length];
        for (int i = 0; i < s.Length; i++)
        {
            col[i] = set.Variables.IndexOf(labels[i]);
            if (col[i] < 0) throw new ArgumentException($"the samples have no column for variable {labels[i]} of the problem", nameof(samples));
        }
        for (int r = 0; r < set.NumRows; r++)
        {
            var row = set.Row(r);
            for (int i = 0; i < s.Length; i++) s[i] = row[col[i]];
            for (int i = 0; i < s.Length; i++)
            {
                double f = spin.Linear[i];
                var nb = spin.Neighbours(i);
                var jb = spin.NeighbourBiases(i);
                for (int k = 0; k < nb.Length; k++) f += jb[k] * s[nb[k]];
                double z = -beta * 2.0 * s[i] * f;
                total += set.NumOccurrences[r] * LogSigmoid(z);
            }
        }
        return total;
    }

    private static double LogSigmoid(double z) => z >= 0 ? -double.LogP1(Math.Exp(-z)) : z - double.LogP1(Math.Exp(z));

    private static double Sigmoid(double z) => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z));

    /// <summary>L'(β) and L''(β).</summary>
    private static (double G, double H) Derivatives(double[] x, int n, double[] w, double beta)
    {
        double g = 0, h = 0;
        for (int r = 0; r < w.Length; r++)
        {
            double wr = w[r];
            if (wr == 0) continue;
            double gr = 0, hr = 0;
            for (int k = r * n, e = k + n; k < e; k++)
            {
                double xi = x[k];
                double sg = Sigmoid(beta * xi);
                gr -= xi * sg;
                hr -= xi * xi * sg * (1 - sg);
            }
            g += wr * gr;
            h += wr * hr;
        }
        return (g, h);
    }

    private static double Solve(double[] x, int n, double[] w)
    {
        bool anyPositive = false, anyNonZero = false;
        for (int r = 0; r < w.Length; r++)
        {
            if (w[r] == 0) continue;
            for (int k = r * n; k < r * n + n; k++)
            {
                if (x[k] > 0) anyPositive = true;
                if (x[k] != 0) anyNonZero = true;
            }
        }
        if (!anyNonZero) throw new ArgumentException("every local field is zero in every sample: the samples carry no information about β");
        if (!anyPositive) return double.PositiveInfinity;

        // Bracket the root of the decreasing L'. L'(β) → −Σ_{x>0} x·w < 0 as β → +∞, so an upper end exists.
        double lo = 0, hi = 1;
        double g0 = Derivatives(x, n, w, 0).G;
        if (g0 < 0)
        {
            // β̂ < 0: samples sit above their flipped neighbours on average (an anti-Boltzmann set). Reported as is.
            hi = 0;
            lo = -1;
            while (Derivatives(x, n, w, lo).G < 0)
            {
                lo *= 2;
                if (lo < -1e12) return double.NegativeInfinity;
            }
        }
        else
        {
            while (Derivatives(x, n, w, hi).G > 0)
            {
                lo = hi;
                hi *= 2;
                if (hi > 1e12) return double.PositiveInfinity;
            }
        }
        double beta = 0.5 * (lo + hi);
        for (int it = 0; it < 200; it++)
        {
            var (g, h) = Derivatives(x, n, w, beta);
            if (g > 0) lo = beta; else hi = beta;
            double next = h < 0 ? beta - g / h : double.NaN;
            if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
            if (Math.Abs(next - beta) <= 1e-13 * Math.Max(1, Math.Abs(next)) || hi - lo <= 1e-14 * Math.Max(1, Math.Abs(hi))) return next;
            beta = next;
        }
        return beta;
    }
}
