using QaActors.Orchestration.Persistence;
using QaActors.Orchestration.Training;
using QaActors.Sampling;

namespace QaActors.Orchestration.Tests;

/// <summary>
/// A small but genuine sampled-EBM trainer for orchestration tests: N = 6 inputs, K = 5 hidden binary
/// units, one output; the per-example QUBO and the gradient follow docs/math.md (positive phase from the
/// label, negative phase from the sample set), plain gradient ascent. Everything random derives from
/// (seed, step, position). Its only purpose is to give the actor layer real, state-dependent work whose
/// result changes if a step is lost, repeated or reordered.
/// </summary>
public sealed class ToyProcedure(ulong seed, long steps, string method = "gibbs") : ITrainingProcedure
{
    public const int N = 6, K = 5, Examples = 24, BatchSize = 4;
    private const double T = 2.0, Lr = 0.2;

    public sealed class State(double[] w) { public double[] W { get; } = w; }

    private readonly double[][] _x = Enumerable.Range(0, Examples).Select(i =>
    {
        var r = SeedPolicy.For(seed, -1, i, SeedPolicy.Purpose.Split);
        return Enumerable.Range(0, N).Select(_ => r.NextDouble()).ToArray();
    }).ToArray();

    private int Label(int i) => _x[i][0] + _x[i][1] > 1 ? 1 : 0;

    public string Method => method;
    public long TotalSteps => steps;
    public bool NeedsSampling => method is "gibbs" or "anneal" or "qpu";
    public int BuildCalls;

    // Layout: W1 (K×N), b (K), W2 (K), c (1).
    public object InitialState()
    {
        var r = SeedPolicy.For(seed, 0, 0, SeedPolicy.Purpose.Init);
        return new State(Enumerable.Range(0, K * N + 2 * K + 1).Select(_ => 0.1 * r.NextGaussian()).ToArray());
    }

    public byte[] SaveState(object state)
    {
        var w = ((State)state).W;
        var b = new byte[w.Length * 8];
        Buffer.BlockCopy(w, 0, b, 0, b.Length);
        return b;
    }

    public object RestoreState(byte[] bytes)
    {
        var w = new double[bytes.Length / 8];
        Buffer.BlockCopy(bytes, 0, w, 0, bytes.Length);
        return new State(w);
    }

    public (ulong, ulong, ulong, ulong) RngState(object state) => (0, 0, 0, 0);

    /// <summary>Called as a step's problems are built (on a BQM worker, not the trainer): a test holds a run at a step with it.</summary>
    public Action<long>? BeforeStep { get; init; }

    public int[] BatchIndices(long step)
    {
        var r = SeedPolicy.For(seed, step, 0, SeedPolicy.Purpose.Batch);
        return Enumerable.Range(0, BatchSize).Select(_ => r.NextInt(Examples)).ToArray();
    }

    private double[] Pre(double[] w, int ex)
    {
        var a = new double[K];
        for (int j = 0; j < K; j++)
        {
            double s = w[K * N + j];
            for (int i = 0; i < N; i++) s += w[j * N + i] * _x[ex][i];
            a[j] = s;
        }
        return a;
    }

    public Bqm[] BuildProblems(object state, long step, int[] batchIndices, int offset, int count)
    {
        BeforeStep?.Invoke(step);
        Interlocked.Increment(ref BuildCalls);
        var w = ((State)state).W;
        var result = new Bqm[count];
        for (int p = 0; p < count; p++)
        {
            var a = Pre(w, batchIndices[offset + p]);
            var lin = new double[K + 1];
            for (int j = 0; j < K; j++) lin[j] = -a[j] / T;
            lin[K] = -w[K * N + 2 * K] / T;
            var u = Enumerable.Range(0, K).ToArray();
            var v = Enumerable.Repeat(K, K).ToArray();
            var q = Enumerable.Range(0, K).Select(j => -w[K * N + K + j] / T).ToArray();
            result[p] = Bqm.FromArrays(Vartype.Binary, lin, u, v, q);
        }
        return result;
    }

    public SampleRequest SampleRequestFor(long step, int position) =>
        new(16, T, SeedPolicy.Derive(seed, step, position, SeedPolicy.Purpose.Sample));

    private static double Sig(double z) => 1 / (1 + Math.Exp(-z));

    public StepApplication Apply(object state, long step, int[] batchIndices, IReadOnlyList<SampleSet>? samples)
    {
        var w = ((State)state).W;
        var g = new double[w.Length];
        for (int p = 0; p < batchIndices.Length; p++)
        {
            int ex = batchIndices[p];
            var a = Pre(w, ex);
            int y = Label(ex);
            double[] neg = new double[K], negW2 = new double[K];
            double negY = 0;
            var set = samples![p];
            int col = set.ColumnOf(K);
            for (int r = 0; r < set.NumRows; r++)
            {
                int yy = set.Row(r)[col];
                negY += yy;
                for (int j = 0; j < K; j++)
                {
                    double sj = Sig(a[j] + w[K * N + K + j] * yy);
                    neg[j] += sj;
                    negW2[j] += yy * sj;
                }
            }
            for (int j = 0; j < K; j++)
            {
                neg[j] /= set.NumRows;
                negW2[j] /= set.NumRows;
                double posJ = Sig(a[j] + w[K * N + K + j] * y);
                double d = posJ - neg[j];
                for (int i = 0; i < N; i++) g[j * N + i] += d * _x[ex][i];
                g[K * N + j] += d;
                g[K * N + K + j] += y * posJ - negW2[j];
            }
            g[K * N + 2 * K] += y - negY / set.NumRows;
        }
        for (int i = 0; i < w.Length; i++) w[i] += Lr * g[i] / batchIndices.Length;
        return new StepApplication(state, [new("norm", Math.Sqrt(w.Sum(x => x * x))), new("step", step)]);
    }

    public IReadOnlyList<KeyValuePair<string, double>> InitialMetrics(object state) =>
        [new("norm", Math.Sqrt(((State)state).W.Sum(x => x * x))), new("step", 0)];

    public static ExperimentSpec Spec(string id, long steps, string method = "gibbs", string fallback = "gibbs", string user = "u", ulong seed = 42) =>
        new(id, method, fallback, user, method == "qpu" ? "fake-solver" : "", seed, steps, "{\"toy\":true}", "{}",
            new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
}
