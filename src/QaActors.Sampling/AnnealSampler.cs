using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace QaActors.Sampling;

/// <summary>How β moves from sweep to sweep.</summary>
public enum AnnealSchedule
{
    /// <summary>β_k = lo·(hi/lo)^(k/(S−1)), Ocean's default (numpy geomspace).</summary>
    Geometric,
    /// <summary>β_k = lo + (hi − lo)·k/(S−1) (numpy linspace).</summary>
    Linear,
    /// <summary>Every sweep at the request's β: Metropolis sampling of exp(−β E) rather than annealing.</summary>
    Constant,
}

/// <summary>
/// Settings of simulated annealing. The contract with <see cref="SampleRequest.Beta"/>:
/// <list type="bullet">
/// <item><see cref="AnnealSchedule.Constant"/> (see <see cref="ConstantAtRequestBeta"/>): every sweep runs at the request's β,
/// so the reads are Metropolis samples of exp(−β E) (what <c>qa sample --sampler anneal --beta B</c> asks for).
/// <paramref name="BetaRange"/> must then be null.</item>
/// <item><see cref="AnnealSchedule.Geometric"/> (the default) or <see cref="AnnealSchedule.Linear"/>: the sweeps follow the
/// schedule over <paramref name="BetaRange"/>, whose values are absolute inverse temperatures applied to the problem's
/// energies as given, as in Ocean; when it is null, Ocean's default range for the problem is used
/// (<see cref="AnnealSampler.DefaultBetaRange"/>). The request's β is then not used; the info records beta_start and
/// beta_end (and "beta" only for a constant schedule).</item>
/// </list>
/// One read is one run of <paramref name="Sweeps"/> sweeps from a uniformly random state (Ocean: num_sweeps = 1000,
/// one sweep per β, random initial states).
/// </summary>
public sealed record AnnealOptions(int Sweeps = 1000, (double Lo, double Hi)? BetaRange = null, AnnealSchedule Schedule = AnnealSchedule.Geometric)
{
    /// <summary>Fixed-β sampling: <paramref name="sweeps"/> Metropolis sweeps at the request's β.</summary>
    public static AnnealOptions ConstantAtRequestBeta(int sweeps = 1000) => new(sweeps, null, AnnealSchedule.Constant);

    public void Validate()
    {
        if (Sweeps < 1) throw new ArgumentOutOfRangeException(nameof(Sweeps), Sweeps, "sweeps must be at least 1");
        if (Schedule == AnnealSchedule.Constant && BetaRange is not null)
            throw new ArgumentException("a constant schedule runs at the request's beta; give either a beta range (geometric or linear schedule) or a constant schedule, not both");
        if (BetaRange is var (lo, hi))
        {
            if (!(lo > 0) || !(hi >= lo) || double.IsInfinity(hi))
                throw new ArgumentException($"beta range ({lo}, {hi}) is invalid: it needs 0 < lo <= hi < infinity, for example 0.1,3");
        }
    }

    /// <summary>β for each sweep.</summary>
    public double[] Betas(Bqm spin, double requestBeta)
    {
        var betas = new double[Sweeps];
        if (Schedule == AnnealSchedule.Constant)
        {
            Array.Fill(betas, requestBeta);
            return betas;
        }
        var (lo, hi) = BetaRange ?? AnnealSampler.DefaultBetaRange(spin);
        // Ocean: "With a single beta, only the final beta is used" (dwave-samplers sa/sampler.py).
        if (Sweeps == 1) { betas[0] = hi; return betas; }
        for (int k = 0; k < Sweeps; k++)
        {
            double x = (double)k / (Sweeps - 1);
            betas[k] = Schedule == AnnealSchedule.Geometric ? lo * Math.Pow(hi / lo, x) : lo + (hi - lo) * x;
        }
        return betas;
    }
}

/// <summary>
/// Metropolis simulated annealing on the Ising form ("anneal"), as dwave-samplers' SimulatedAnnealingSampler
/// (dwave-neal) does it: each sweep proposes a flip of every spin once, in index order, ΔE_i = −2 s_i (h_i + Σ_j J_ij s_j),
/// accepted when ΔE ≤ 0 or e^{−β ΔE} &gt; U. Two float32 kernels, each written once over <see cref="ILanes{TF, TU}"/> and
/// giving the same bits at every vector width: a bipartite graph dense between its sides (the star, K×M) proposes side
/// B's spins 16 lanes at a time (they are conditionally independent given side A, so proposing them one by one or all
/// at once is the same), then side A's; any other graph ("sparse_lanes", e.g. a problem embedded on hardware) runs 16
/// reads side by side, one per lane. Any <see cref="Bqm"/> works (converted to SPIN inside); rows come back in its
/// vartype. Deterministic for a given seed: read r's streams derive from (seed, r) only.
/// </summary>
public sealed class AnnealSampler(AnnealOptions? options = null) : ISampler
{
    public AnnealOptions Options { get; } = options ?? new AnnealOptions();

    /// <summary>The dense kernel's vector width; only the tests force one (every width gives the same samples).</summary>
    internal SimdWidth Width { get; init; }

    /// <summary>
    /// Threads one request's reads are spread over (default 1: the caller parallelises across requests, as the node's
    /// sampler pools do). The simulator's annealer, which serves one problem of many reads at a time, uses all cores.
    /// The rows do not depend on it.
    /// </summary>
    public int Parallelism { get; init; } = 1;

    public string Name => "anneal";

    /// <summary>
    /// Ocean's default β range (dwave-samplers sa/sampler.py <c>_default_ising_beta_range</c>, after dwave-neal PR #91):
    /// hot = ln 2 / (2 max_i Σ_i) with Σ_i = |h_i| + Σ_j |J_ij|, so that at the start any flip is accepted with
    /// probability at least one half; cold = ln(n_min / 0.01) / (2 min_i m_i) with m_i the smallest nonzero |h_i| or |J_ij|
    /// at spin i and n_min the number of spins attaining the global minimum, so that at the end the weakest excitation
    /// is accepted with probability about 1 %. All-zero biases give Ocean's fallback [0.1, 1].
    /// </summary>
    public static (double Lo, double Hi) DefaultBetaRange(Bqm problem)
    {
        var spin = problem.ToSpin();
        int n = spin.NumVariables;
        double maxSum = 0;
        var minBias = new double[n];
        for (int i = 0; i < n; i++)
        {
            double h = Math.Abs(spin.Linear[i]);
            double sum = h, min = h > 0 ? h : double.PositiveInfinity;
            foreach (double j in spin.NeighbourBiases(i))
            {
                double a = Math.Abs(j);
                sum += a;
                if (a > 0) min = Math.Min(min, a);
            }
            maxSum = Math.Max(maxSum, sum);
            minBias[i] = min;
        }
        if (maxSum == 0) return (0.1, 1.0);
        double globalMin = minBias.Min();
        int nMin = minBias.Count(m => m == globalMin);
        double hot = Math.Log(2) / (2 * maxSum);
        double cold = Math.Log(nMin / 0.01) / (2 * globalMin);
        return (hot, cold);
    }

    public Task<SampleSet> SampleAsync(Bqm problem, SampleRequest request, CancellationToken cancellationToken = default)
    {
        SamplerCommon.Check(problem, request);
        Options.Validate();
        var clock = Stopwatch.StartNew();
        var spin = problem.ToSpin();
        var betas = Options.Betas(spin, request.Beta);
        int n = problem.NumVariables, reads = request.Reads;
        var samples = new sbyte[reads * n];
        var dense = DenseBipartite.TryCreate(spin);
        string kernel = dense is not null ? "dense_bipartite" : "sparse_lanes";
        // Reads are independent (read r's streams derive from (seed, r) only), so splitting them over threads, in
        // whole units (one read for the dense kernel, sixteen for the lane kernel), gives the same rows whatever the
        // parallelism.
        int units = dense is not null ? reads : (reads + SparseAnneal.Lanes - 1) / SparseAnneal.Lanes;
        int chunks = Math.Clamp(Parallelism, 1, units);
        void RunChunk(int c)
        {
            int from = (int)((long)units * c / chunks), to = (int)((long)units * (c + 1) / chunks);
            if (dense is not null)
            {
                var k = new DenseAnneal(dense, betas, Width);
                for (int r = from; r < to; r++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    k.Run(SamplerCommon.ChainRng(request.Seed, r), samples.AsSpan(r * n, n), problem.Vartype);
                }
            }
            else
            {
                var k = new SparseAnneal(spin, betas, Width);
                for (int g = from; g < to; g++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    int first = g * SparseAnneal.Lanes, count = Math.Min(SparseAnneal.Lanes, reads - first);
                    k.Run(request.Seed, first, count, samples.AsSpan(first * n, count * n), problem.Vartype);
                }
            }
        }
        if (chunks == 1) RunChunk(0);
        else Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks, CancellationToken = cancellationToken }, RunChunk);
        var info = SampleInfo.For(Name);
        // Only a constant schedule samples at the request's beta; recording it otherwise would misstate the run.
        if (Options.Schedule == AnnealSchedule.Constant) info = info.WithProperty("beta", request.Beta);
        info = info
            .WithProperty("beta_start", betas[0])
            .WithProperty("beta_end", betas[^1])
            .WithProperty("sweeps", Options.Sweeps)
            .WithNote("schedule", Options.Schedule.ToString().ToLowerInvariant())
            .WithNote("kernel", kernel)
            .WithTiming("sampling_time", clock.Elapsed.TotalMicroseconds);
        return Task.FromResult(SampleSet.FromSamples(problem, samples, info));
    }

    /// <summary>
    /// The generic path: Metropolis in index order, as Ocean's cpu_sa.cpp proposes, with sixteen reads advanced side by
    /// side, one per vector lane (read r's initial state and uniforms come from its own stream, so a read's row does not
    /// depend on the reads beside it). A spin's field is gathered from its neighbours' current values at each proposal
    /// rather than kept incrementally: on the sparse graphs this path serves (hardware graphs have a handful of couplers
    /// per qubit) that costs the same as the updates would, and float32 fields cannot drift over a long anneal.
    /// Biases are used in float32, as in the dense kernels.
    /// </summary>
    [SkipLocalsInit]
    private sealed class SparseAnneal
    {
        public const int Lanes = 16;
        private readonly SimdWidth _width;
        private readonly float[] _betas;
        private readonly float[] _h;
        private readonly int[] _start;
        private readonly int[] _at;   // a neighbour's offset in _s (index × 16)
        private readonly float[] _j;
        private readonly float[] _s;  // spin i of lane l at i × 16 + l

        public SparseAnneal(Bqm spin, double[] betas, SimdWidth width)
        {
            int n = spin.NumVariables;
            _width = SimdWidths.Resolve(width);
            _betas = betas.Select(b => (float)b).ToArray();
            _h = new float[n];
            _start = new int[n + 1];
            for (int i = 0; i < n; i++)
            {
                _h[i] = (float)spin.Linear[i];
                _start[i + 1] = _start[i] + spin.Neighbours(i).Length;
            }
            _at = new int[_start[n]];
            _j = new float[_start[n]];
            for (int i = 0; i < n; i++)
            {
                var nb = spin.Neighbours(i);
                var bias = spin.NeighbourBiases(i);
                for (int q = 0; q < nb.Length; q++)
                {
                    _at[_start[i] + q] = nb[q] * Lanes;
                    _j[_start[i] + q] = (float)bias[q];
                }
            }
            _s = new float[n * Lanes];
        }

        /// <summary>Reads first .. first + count − 1 (count ≤ 16) into <paramref name="rows"/>, row after row.</summary>
        public void Run(ulong seed, int first, int count, Span<sbyte> rows, Vartype vartype)
        {
            int n = _h.Length;
            Span<uint> words = stackalloc uint[4 * Lanes];
            for (int l = 0; l < Lanes; l++)
            {
                // Lanes past the last read run on a stream of their own and are not written out.
                var rng = SamplerCommon.ChainRng(seed, first + l);
                for (int i = 0; i < n; i++) _s[i * Lanes + l] = (rng.NextUInt64() >> 63) != 0 ? 1f : -1f;
                ulong a = rng.NextUInt64(), b = rng.NextUInt64();
                // Lane l's four state words; an odd first word keeps the state from being all zero.
                words[l] = (uint)a | 1;
                words[Lanes + l] = (uint)(a >> 32);
                words[2 * Lanes + l] = (uint)b;
                words[3 * Lanes + l] = (uint)(b >> 32);
            }
            switch (_width)
            {
                case SimdWidth.V512: Sweep<Lanes512, Vector512<float>, Vector512<uint>>(words); break;
                case SimdWidth.V256: Sweep<Lanes256, F256x2, U256x2>(words); break;
                case SimdWidth.V128: Sweep<Lanes128, F128x4, U128x4>(words); break;
                default: Sweep<LanesScalar, F1x16, U1x16>(words); break;
            }
            for (int l = 0; l < count; l++)
                for (int i = 0; i < n; i++) rows[l * n + i] = SamplerCommon.Value(_s[i * Lanes + l], vartype);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Sweep<W, TF, TU>(ReadOnlySpan<uint> words)
            where W : struct, ILanes<TF, TU> where TF : unmanaged where TU : unmanaged
        {
            TU s0 = W.Seed(words[..16]), s1 = W.Seed(words[16..32]), s2 = W.Seed(words[32..48]), s3 = W.Seed(words[48..]);
            var two24 = W.Splat(1 << 24);
            var zero = W.Splat(0f);
            ref float sp = ref MemoryMarshal.GetArrayDataReference(_s);
            var h = _h;
            var start = _start;
            var at = _at;
            var j = _j;
            int n = h.Length;
            foreach (float beta in _betas)
            {
                var tb = W.Splat(2 * beta);
                for (int i = 0; i < n; i++)
                {
                    var f = W.Splat(h[i]);
                    for (int q = start[i], end = start[i + 1]; q < end; q++)
                        f = W.Fma(W.Splat(j[q]), W.Load(ref sp, (nuint)at[q]), f);
                    var s = W.Load(ref sp, (nuint)(i * Lanes));
                    // −βΔE = 2β s f; accept when e^{min(x,0)} > U = k/2^24, as the dense kernels do
                    var x = W.Min(W.Mul(W.Mul(tb, s), f), zero);
                    s = W.SelectLess(W.NextOddScaled(ref s0, ref s1, ref s2, ref s3), W.Mul(W.Exp(x), two24), W.Neg(s), s);
                    W.Store(s, ref sp, (nuint)(i * Lanes));
                }
            }
        }
    }

    /// <summary>
    /// The dense bipartite kernel, written once over <see cref="ILanes{TF, TU}"/> and run at the width the CPU offers
    /// (or the one forced), every width giving the same bits. A lane accepts when e^{min(x,0)} &gt; U with
    /// x = −βΔE = 2β s f: one compare covers both the downhill case (e^0 = 1 &gt; U) and the Metropolis test.
    /// </summary>
    [SkipLocalsInit]
    private sealed class DenseAnneal
    {
        private readonly DenseBipartite _g;
        private readonly SimdWidth _width;
        private readonly float[] _betas;
        private readonly float[] _sa, _sb;
        private Array? _acc;

        public DenseAnneal(DenseBipartite g, double[] betas, SimdWidth width)
        {
            _g = g;
            _width = SimdWidths.Resolve(width);
            _betas = betas.Select(b => (float)b).ToArray();
            _sa = new float[g.A];
            _sb = new float[g.Bp];
        }

        public void Run(Rng rng, Span<sbyte> row, Vartype vartype)
        {
            for (int a = 0; a < _sa.Length; a++) _sa[a] = (rng.NextUInt64() >> 63) != 0 ? 1f : -1f;
            for (int b = 0; b < _sb.Length; b++) _sb[b] = (rng.NextUInt64() >> 63) != 0 ? 1f : -1f;
            Span<uint> words = stackalloc uint[64];
            LaneRng.SeedWords(ref rng, words);
            switch (_width)
            {
                case SimdWidth.V512: Run<Lanes512, Vector512<float>, Vector512<uint>>(words, ref rng); break;
                case SimdWidth.V256: Run<Lanes256, F256x2, U256x2>(words, ref rng); break;
                case SimdWidth.V128: Run<Lanes128, F128x4, U128x4>(words, ref rng); break;
                default: Run<LanesScalar, F1x16, U1x16>(words, ref rng); break;
            }
            for (int a = 0; a < _g.A; a++) row[_g.AIndex[a]] = SamplerCommon.Value(_sa[a], vartype);
            for (int b = 0; b < _g.B; b++) row[_g.BIndex[b]] = SamplerCommon.Value(_sb[b], vartype);
        }

        private void Run<W, TF, TU>(ReadOnlySpan<uint> words, ref Rng rng)
            where W : struct, ILanes<TF, TU> where TF : unmanaged where TU : unmanaged
        {
            TU s0 = W.Seed(words[..16]), s1 = W.Seed(words[16..32]), s2 = W.Seed(words[32..48]), s3 = W.Seed(words[48..]);
            if (_g.A == 1) Star<W, TF, TU>(ref s0, ref s1, ref s2, ref s3, ref rng);
            else General<W, TF, TU>(ref s0, ref s1, ref s2, ref s3, ref rng, _acc as TF[] ?? (TF[])(_acc = new TF[_g.A]));
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Star<W, TF, TU>(ref TU state0, ref TU state1, ref TU state2, ref TU state3, ref Rng rng)
            where W : struct, ILanes<TF, TU> where TF : unmanaged where TU : unmanaged
        {
            TU s0 = state0, s1 = state1, s2 = state2, s3 = state3; // locals, so registers
            var two24 = W.Splat(1 << 24);
            ref float hb = ref MemoryMarshal.GetArrayDataReference(_g.HB);
            ref float jr = ref MemoryMarshal.GetArrayDataReference(_g.J);
            ref float sb = ref MemoryMarshal.GetArrayDataReference(_sb);
            int bp = _g.Bp;
            float h0 = _g.HA[0];
            float y = _sa[0];
            var zero = W.Splat(0f);
            foreach (float beta in _betas)
            {
                var yv = W.Splat(y);
                var tb = W.Splat(2 * beta);
                var acc = zero;
                for (int b = 0; b < bp; b += DenseBipartite.Lanes)
                {
                    var jv = W.Load(ref jr, (nuint)b);
                    var f = W.Fma(jv, yv, W.Load(ref hb, (nuint)b));
                    var s = W.Load(ref sb, (nuint)b);
                    var x = W.Min(W.Mul(W.Mul(tb, s), f), zero);
                    // accept when e^x > U = k/2^24
                    s = W.SelectLess(W.NextOddScaled(ref s0, ref s1, ref s2, ref s3), W.Mul(W.Exp(x), two24), W.Neg(s), s);
                    W.Store(s, ref sb, (nuint)b);
                    acc = W.Fma(jv, s, acc);
                }
                float fh = h0 + W.Sum(acc);
                if (SimdMath.Exp(MathF.Min(2 * beta * y * fh, 0f)) > SamplerCommon.OpenUniform(ref rng)) y = -y;
            }
            _sa[0] = y;
            (state0, state1, state2, state3) = (s0, s1, s2, s3);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void General<W, TF, TU>(ref TU state0, ref TU state1, ref TU state2, ref TU state3, ref Rng rng, TF[] acc)
            where W : struct, ILanes<TF, TU> where TF : unmanaged where TU : unmanaged
        {
            TU s0 = state0, s1 = state1, s2 = state2, s3 = state3; // locals, so registers
            var two24 = W.Splat(1 << 24);
            ref float hb = ref MemoryMarshal.GetArrayDataReference(_g.HB);
            ref float jr = ref MemoryMarshal.GetArrayDataReference(_g.J);
            ref float sb = ref MemoryMarshal.GetArrayDataReference(_sb);
            var sa = _sa;
            var ha = _g.HA;
            int bp = _g.Bp, na = _g.A;
            var zero = W.Splat(0f);
            foreach (float beta in _betas)
            {
                var tb = W.Splat(2 * beta);
                Array.Fill(acc, zero);
                for (int b = 0; b < bp; b += DenseBipartite.Lanes)
                {
                    var f = W.Load(ref hb, (nuint)b);
                    for (int a = 0; a < na; a++)
                        f = W.Fma(W.Load(ref jr, (nuint)(a * bp + b)), W.Splat(sa[a]), f);
                    var s = W.Load(ref sb, (nuint)b);
                    var x = W.Min(W.Mul(W.Mul(tb, s), f), zero);
                    // accept when e^x > U = k/2^24
                    s = W.SelectLess(W.NextOddScaled(ref s0, ref s1, ref s2, ref s3), W.Mul(W.Exp(x), two24), W.Neg(s), s);
                    W.Store(s, ref sb, (nuint)b);
                    for (int a = 0; a < na; a++)
                        acc[a] = W.Fma(W.Load(ref jr, (nuint)(a * bp + b)), s, acc[a]);
                }
                // Side A has no internal edges, so its fields are fixed while its spins are proposed in turn.
                for (int a = 0; a < na; a++)
                {
                    float fa = ha[a] + W.Sum(acc[a]);
                    if (SimdMath.Exp(MathF.Min(2 * beta * sa[a] * fa, 0f)) > SamplerCommon.OpenUniform(ref rng)) sa[a] = -sa[a];
                }
            }
            (state0, state1, state2, state3) = (s0, s1, s2, s3);
        }
    }
}
