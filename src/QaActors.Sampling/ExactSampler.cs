using System.Diagnostics;
using System.Numerics;

namespace QaActors.Sampling;

/// <summary>
/// Exact sampling by enumeration ("exact"): visits all 2^n states and draws each read independently from
/// exp(−β E(s)) / Z. The reference every other sampler is tested against. States are indexed so that bit i of
/// the state index is variable index i taking its upper value (+1 for SPIN, 1 for BINARY).
/// </summary>
public sealed class ExactSampler : ISampler
{
    /// <summary>Largest problem enumerated: 2^24 states is about 16.8 million energies.</summary>
    public const int MaxVariables = 24;

    public string Name => "exact";

    public Task<SampleSet> SampleAsync(Bqm problem, SampleRequest request, CancellationToken cancellationToken = default)
    {
        SamplerCommon.Check(problem, request);
        CheckSize(problem);
        var clock = Stopwatch.StartNew();
        var spin = problem.ToSpin();
        int n = problem.NumVariables;
        double beta = request.Beta;
        double eMin = MinEnergy(spin);
        double z = SumWeights(spin, beta, eMin);
        cancellationToken.ThrowIfCancellationRequested();

        // Sorted uniforms let one more pass over the states assign every read; the original draw order is
        // kept so that rows stay independent and identically distributed in sequence too.
        int reads = request.Reads;
        var rng = SamplerCommon.ChainRng(request.Seed, 0);
        var draws = new (double U, int Row)[reads];
        for (int r = 0; r < reads; r++) draws[r] = (rng.NextDouble() * z, r);
        Array.Sort(draws, (x, y) => x.U.CompareTo(y.U));
        var states = new uint[reads];
        var assign = new Assigner(draws, states, beta, eMin);
        Walk(spin, ref assign);
        // Rounding may leave the last few draws above the final cumulative weight: they belong to the last
        // state with nonzero weight.
        for (int k = assign.Next; k < reads; k++) states[draws[k].Row] = assign.LastPositive;

        var samples = new sbyte[reads * n];
        sbyte lo = problem.Vartype == Vartype.Spin ? (sbyte)-1 : (sbyte)0;
        for (int r = 0; r < reads; r++)
        {
            uint s = states[r];
            for (int i = 0; i < n; i++) samples[r * n + i] = ((s >> i) & 1) != 0 ? (sbyte)1 : lo;
        }
        var info = SampleInfo.For(Name)
            .WithProperty("beta", beta)
            .WithProperty("log_partition", -beta * eMin + Math.Log(z))
            .WithTiming("sampling_time", clock.Elapsed.TotalMicroseconds);
        return Task.FromResult(SampleSet.FromSamples(problem, samples, info));
    }

    /// <summary>Energy of every state, by state index (see the class remarks).</summary>
    public static double[] Energies(Bqm problem)
    {
        CheckSize(problem);
        var e = new double[1 << problem.NumVariables];
        var fill = new Filler(e);
        Walk(problem.ToSpin(), ref fill);
        return e;
    }

    /// <summary>P(s) = exp(−β E(s)) / Z for every state, by state index; computed with log-sum-exp so no weight overflows.</summary>
    public static double[] Distribution(Bqm problem, double beta)
    {
        CheckBeta(beta);
        var p = Energies(problem);
        double eMin = double.PositiveInfinity;
        foreach (double e in p) eMin = Math.Min(eMin, e);
        double z = 0;
        for (int s = 0; s < p.Length; s++) { p[s] = Math.Exp(-beta * (p[s] - eMin)); z += p[s]; }
        for (int s = 0; s < p.Length; s++) p[s] /= z;
        return p;
    }

    /// <summary>log Z = log Σ_s exp(−β E(s)), stable for any scale of energies.</summary>
    public static double LogPartition(Bqm problem, double beta)
    {
        CheckBeta(beta);
        CheckSize(problem);
        var spin = problem.ToSpin();
        double eMin = MinEnergy(spin);
        return -beta * eMin + Math.Log(SumWeights(spin, beta, eMin));
    }

    private static void CheckSize(Bqm problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        if (problem.NumVariables > MaxVariables)
            throw new ArgumentException(
                $"the exact sampler enumerates all 2^n states and supports at most {MaxVariables} variables; this problem has {problem.NumVariables}. Use the gibbs or anneal sampler for larger problems.",
                nameof(problem));
    }

    private static void CheckBeta(double beta)
    {
        if (!(beta >= 0) || double.IsInfinity(beta))
            throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta must be a finite number >= 0");
    }

    private static double MinEnergy(Bqm spin)
    {
        var v = new MinVisitor { Min = double.PositiveInfinity };
        Walk(spin, ref v);
        return v.Min;
    }

    private static double SumWeights(Bqm spin, double beta, double eMin)
    {
        var v = new SumVisitor { Beta = beta, EMin = eMin };
        Walk(spin, ref v);
        return v.Sum;
    }

    private interface IVisitor
    {
        void Visit(uint state, double energy);
    }

    /// <summary>
    /// Visits every state in Gray-code order: each step flips one spin, whose energy change −2 s_i f_i and the
    /// neighbours' local fields f_j += 2 J_ij s_i update in O(degree). The energy is recomputed from scratch
    /// every 2^16 steps so that rounding cannot drift.
    /// </summary>
    private static void Walk<TV>(Bqm spin, ref TV visitor) where TV : struct, IVisitor
    {
        int n = spin.NumVariables;
        var s = new double[n];
        var f = new double[n];
        var state = new sbyte[n];
        Array.Fill(s, -1.0);
        Array.Fill(state, (sbyte)-1);
        for (int i = 0; i < n; i++)
        {
            double fi = spin.Linear[i];
            foreach (double jb in spin.NeighbourBiases(i)) fi -= jb;
            f[i] = fi;
        }
        double energy = spin.Energy(state);
        uint gray = 0;
        visitor.Visit(gray, energy);
        uint count = 1u << n;
        for (uint k = 1; k < count; k++)
        {
            int i = BitOperations.TrailingZeroCount(k);
            energy -= 2 * s[i] * f[i];
            s[i] = -s[i];
            double twoS = 2 * s[i];
            var nb = spin.Neighbours(i);
            var bias = spin.NeighbourBiases(i);
            for (int q = 0; q < nb.Length; q++) f[nb[q]] += twoS * bias[q];
            gray ^= 1u << i;
            if ((k & 0xFFFF) == 0)
            {
                for (int v = 0; v < n; v++) state[v] = (sbyte)s[v];
                energy = spin.Energy(state);
            }
            visitor.Visit(gray, energy);
        }
    }

    private struct Filler(double[] e) : IVisitor
    {
        public void Visit(uint state, double energy) => e[state] = energy;
    }

    private struct MinVisitor : IVisitor
    {
        public double Min;
        public void Visit(uint state, double energy) => Min = Math.Min(Min, energy);
    }

    private struct SumVisitor : IVisitor
    {
        public double Beta, EMin, Sum;
        public void Visit(uint state, double energy) => Sum += Math.Exp(-Beta * (energy - EMin));
    }

    private struct Assigner((double U, int Row)[] draws, uint[] states, double beta, double eMin) : IVisitor
    {
        private double _cum;
        public int Next;
        public uint LastPositive;

        public void Visit(uint state, double energy)
        {
            double w = Math.Exp(-beta * (energy - eMin));
            if (w > 0) LastPositive = state;
            _cum += w;
            while (Next < draws.Length && draws[Next].U < _cum) states[draws[Next++].Row] = state;
        }
    }
}
