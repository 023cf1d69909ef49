using QaActors.Data;
using QaActors.Learning;
using QaActors.Sampling;

namespace QaActors.Learning.Tests;

/// <summary>Straightforward double-precision implementations of docs/math.md, written independently of the library.</summary>
internal static class Reference
{
    public static double Sig(double t) => 1 / (1 + Math.Exp(-t));
    public static double Sp(double t) => t > 0 ? t + Math.Log(1 + Math.Exp(-t)) : Math.Log(1 + Math.Exp(t));

    public static double[] PreActivation(MlpParameters p, ReadOnlySpan<float> x)
    {
        var a = new double[p.Hidden];
        for (int j = 0; j < p.Hidden; j++)
        {
            double s = p.B[j];
            for (int i = 0; i < p.Inputs; i++) s += (double)p.W1[j * p.Inputs + i] * x[i];
            a[j] = s;
        }
        return a;
    }

    /// <summary>Mean BCE of the MLP over the set.</summary>
    public static double MlpLoss(MlpParameters p, LabeledSet set)
    {
        double total = 0;
        for (int r = 0; r < set.Count; r++)
        {
            var a = PreActivation(p, set.Row(r));
            for (int m = 0; m < p.Outputs; m++)
            {
                double o = p.C[m];
                for (int j = 0; j < p.Hidden; j++) o += p.W2[m * p.Hidden + j] * Sig(a[j]);
                double z = Sig(o);
                int y = (set.Y[r] >> m) & 1;
                total += -(y * Math.Log(z) + (1 - y) * Math.Log(1 - z));
            }
        }
        return total / set.Count;
    }

    /// <summary>S(k, y | x) = kᵀa + yᵀc + yᵀW2k.</summary>
    public static double Score(MlpParameters p, double[] a, int[] k, int[] y)
    {
        double s = 0;
        for (int j = 0; j < p.Hidden; j++) s += k[j] * a[j];
        for (int m = 0; m < p.Outputs; m++)
        {
            s += y[m] * p.C[m];
            for (int j = 0; j < p.Hidden; j++) s += y[m] * p.W2[m * p.Hidden + j] * k[j];
        }
        return s;
    }

    /// <summary>log P(y | x) by brute force over every (k, y): the definition, not the softplus formula.</summary>
    public static double[] LogConditionalBruteForce(MlpParameters p, ReadOnlySpan<float> x)
    {
        var a = PreActivation(p, x);
        int K = p.Hidden, M = p.Outputs;
        var logTerms = new List<double>[1 << M];
        for (int s = 0; s < 1 << M; s++)
        {
            logTerms[s] = new List<double>();
            var y = Enumerable.Range(0, M).Select(m => (s >> m) & 1).ToArray();
            for (int kk = 0; kk < 1 << K; kk++)
            {
                var k = Enumerable.Range(0, K).Select(j => (kk >> j) & 1).ToArray();
                logTerms[s].Add(Score(p, a, k, y));
            }
        }
        var marg = logTerms.Select(LogSumExp).ToArray();
        double z = LogSumExp(marg);
        return marg.Select(v => v - z).ToArray();
    }

    /// <summary>log P(y | x) with the softplus formula in double.</summary>
    public static double[] LogConditional(MlpParameters p, ReadOnlySpan<float> x)
    {
        var a = PreActivation(p, x);
        int K = p.Hidden, M = p.Outputs;
        var lp = new double[1 << M];
        for (int s = 0; s < 1 << M; s++)
        {
            double v = 0;
            for (int m = 0; m < M; m++) if (((s >> m) & 1) == 1) v += p.C[m];
            for (int j = 0; j < K; j++)
            {
                double t = a[j];
                for (int m = 0; m < M; m++) if (((s >> m) & 1) == 1) t += p.W2[m * K + j];
                v += Sp(t);
            }
            lp[s] = v;
        }
        double z = LogSumExp(lp);
        return lp.Select(v => v - z).ToArray();
    }

    public static double EbmMeanLogLikelihood(MlpParameters p, LabeledSet set)
    {
        double total = 0;
        for (int r = 0; r < set.Count; r++) total += LogConditional(p, set.Row(r))[set.Y[r]];
        return total / set.Count;
    }

    public static double LogSumExp(IEnumerable<double> v)
    {
        var arr = v.ToArray();
        double max = arr.Max();
        return max + Math.Log(arr.Sum(x => Math.Exp(x - max)));
    }

    /// <summary>Central finite differences of f with respect to every parameter (f evaluated in double at perturbed float values).</summary>
    public static MlpParameters FiniteDifferences(MlpParameters p, Func<MlpParameters, double> f, float h = 1e-2f)
    {
        var g = p.ZerosLike();
        var q = p.Clone();
        for (int t = 0; t < 4; t++)
        {
            var qt = q.Tensors[t];
            for (int i = 0; i < qt.Length; i++)
            {
                float orig = qt[i];
                qt[i] = orig + h; double fp = f(q);
                qt[i] = orig - h; double fm = f(q);
                qt[i] = orig;
                g.Tensors[t][i] = (float)((fp - fm) / ((double)(orig + h) - (orig - h)));
            }
        }
        return g;
    }

    /// <summary>Random inputs in [0, 1] (about a third exactly zero, like images) with labels.</summary>
    public static LabeledSet RandomSet(int rows, int inputs, int outputs, ulong seed)
    {
        var rng = new Rng(seed);
        var x = new float[rows * inputs];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextDouble() < 0.33 ? 0f : rng.NextSingle();
        var y = new byte[rows];
        for (int r = 0; r < rows; r++) y[r] = (byte)rng.NextInt(1 << outputs);
        return new LabeledSet(rows, inputs, x, y);
    }

    public static MlpParameters RandomParameters(int n, int k, int m, ulong seed, double scale)
    {
        var p = new MlpParameters(n, k, m);
        var rng = new Rng(seed);
        foreach (var t in p.Tensors)
            for (int i = 0; i < t.Length; i++) t[i] = (float)(scale * rng.NextGaussian());
        return p;
    }

    /// <summary>Max |a−b| relative to max |b| (a scale-free closeness of two gradients).</summary>
    public static double RelativeError(MlpParameters a, MlpParameters b)
    {
        double num = 0, den = 0;
        for (int t = 0; t < 4; t++)
            for (int i = 0; i < a.Tensors[t].Length; i++)
            {
                num = Math.Max(num, Math.Abs((double)a.Tensors[t][i] - b.Tensors[t][i]));
                den = Math.Max(den, Math.Abs((double)b.Tensors[t][i]));
            }
        return num / den;
    }
}
