using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace QaActors.Sampling;

/// <summary>
/// Settings of the block Gibbs sampler. Every chain starts from a uniformly random state and runs
/// <paramref name="Sweeps"/> sweeps at most (a sweep updates every variable once).
/// <list type="bullet">
/// <item><paramref name="Thinning"/> = 0 (the default): one chain per read, and the read is the chain's state after
/// <paramref name="Sweeps"/> sweeps, so reads are independent; <paramref name="BurnIn"/> is not used.</item>
/// <item><paramref name="Thinning"/> = t &gt; 0: each chain discards its first <paramref name="BurnIn"/> sweeps, then records
/// its state after every t-th sweep, m = ⌊(Sweeps − BurnIn) / t⌋ samples per chain; ⌈Reads / m⌉ chains run, and the last
/// one stops as soon as the number of rows equals Reads.</item>
/// </list>
/// Either way the sample set has exactly Reads rows.
/// </summary>
public sealed record GibbsOptions(int Sweeps = 1000, int BurnIn = 100, int Thinning = 0)
{
    public void Validate()
    {
        if (Sweeps < 1) throw new ArgumentOutOfRangeException(nameof(Sweeps), Sweeps, "sweeps must be at least 1");
        if (BurnIn < 0) throw new ArgumentOutOfRangeException(nameof(BurnIn), BurnIn, "burn-in must be >= 0");
        if (Thinning < 0) throw new ArgumentOutOfRangeException(nameof(Thinning), Thinning, "thinning must be >= 0 (0 = one sample per chain)");
        if (Thinning > 0 && BurnIn + Thinning > Sweeps)
            throw new ArgumentException($"burn-in {BurnIn} + thinning {Thinning} exceeds sweeps {Sweeps}: no sample would be recorded; raise the sweeps or lower burn-in/thinning");
    }

    /// <summary>Sweeps after which chain c records a sample, for <paramref name="reads"/> rows in total.</summary>
    internal (int Chains, int PerChain) Plan(int reads)
    {
        if (Thinning == 0) return (reads, 1);
        int m = (Sweeps - BurnIn) / Thinning;
        return ((reads + m - 1) / m, m);
    }

    internal int RecordSweep(int t) => Thinning == 0 ? Sweeps : BurnIn + (t + 1) * Thinning;
}

/// <summary>
/// Block Gibbs (heat-bath) sampling at inverse temperature β ("gibbs"). For E = Σ h s + Σ J s s over spins,
/// P(s_i = +1 | rest) = σ(−2β (h_i + Σ_j J_ij s_j)). Variables are greedily coloured so that each colour class is
/// conditionally independent given the others and is updated as one block, class after class.
/// A bipartite graph that is dense between its sides (the EBM's K×M and the star) runs a float32 kernel: the
/// large side is updated 16 lanes at a time with a vector exp and per-lane xoshiro128+ streams, and the small
/// side's fields are dot products accumulated in the same pass; its samples are the same bits whichever vector width
/// the CPU runs it at, so a chain continues bit for bit on another machine. Works on any <see cref="Bqm"/> (converted to SPIN
/// inside); rows are returned in the problem's vartype with its energies. Deterministic for a given seed: chain c's
/// random stream is derived from (seed, c) only.
/// </summary>
public sealed class GibbsSampler(GibbsOptions? options = null) : ISampler
{
    public GibbsOptions Options { get; } = options ?? new GibbsOptions();

    /// <summary>The dense kernel's vector width; only the tests force one (every width gives the same samples).</summary>
    internal SimdWidth Width { get; init; }

    public string Name => "gibbs";

    public Task<SampleSet> SampleAsync(Bqm problem, SampleRequest request, CancellationToken cancellationToken = default)
    {
        SamplerCommon.Check(problem, request);
        Options.Validate();
        var clock = Stopwatch.StartNew();
        var spin = problem.ToSpin();
        int n = problem.NumVariables;
        int reads = request.Reads;
        var samples = new sbyte[reads * n];
        var (chains, perChain) = Options.Plan(reads);
        var dense = DenseBipartite.TryCreate(spin);
        string kernel;
        if (dense is not null)
        {
            kernel = "dense_bipartite";
            var k = new DenseGibbs(dense, request.Beta, Width);
            for (int c = 0; c < chains; c++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int rows = Math.Min(perChain, reads - c * perChain);
                k.RunChain(SamplerCommon.ChainRng(request.Seed, c), Options, rows, samples.AsSpan(c * perChain * n, rows * n), problem.Vartype);
            }
        }
        else
        {
            kernel = "coloured";
            var k = new ColouredGibbs(spin, request.Beta);
            for (int c = 0; c < chains; c++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int rows = Math.Min(perChain, reads - c * perChain);
                k.RunChain(SamplerCommon.ChainRng(request.Seed, c), Options, rows, samples.AsSpan(c * perChain * n, rows * n), problem.Vartype);
            }
        }
        var info = SampleInfo.For(Name)
            .WithProperty("beta", request.Beta)
            .WithProperty("sweeps", Options.Sweeps)
            .WithProperty("burn_in", Options.BurnIn)
            .WithProperty("thinning", Options.Thinning)
            .WithProperty("chains", chains)
            .WithNote("kernel", kernel)
            .WithTiming("sampling_time", clock.Elapsed.TotalMicroseconds);
        return Task.FromResult(SampleSet.FromSamples(problem, samples, info));
    }

    /// <summary>The generic path: double precision, neighbours walked through the CSR adjacency.</summary>
    private sealed class ColouredGibbs
    {
        private readonly Bqm _spin;
        private readonly double _twoBeta;
        private readonly int[] _order;
        private readonly double[] _s;

        public ColouredGibbs(Bqm spin, double beta)
        {
            _spin = spin;
            _twoBeta = 2 * beta;
            // Within a colour class no two variables interact, so updating them one after another in place
            // draws exactly the block update; the classes follow each other in the order.
            (_order, _) = GraphColouring.Colour(spin);
            _s = new double[spin.NumVariables];
        }


        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void RunChain(Rng rng, GibbsOptions o, int rows, Span<sbyte> output, Vartype vartype)
        {
            int n = _s.Length;
            var s = _s;
            for (int i = 0; i < n; i++) s[i] = (rng.NextUInt64() >> 63) != 0 ? 1.0 : -1.0;
            var h = _spin.Linear;
            int sweep = 0;
            for (int t = 0; t < rows; t++)
            {
                int until = o.RecordSweep(t);
                for (; sweep < until; sweep++)
                {
                    foreach (int i in _order)
                    {
                        double f = h[i];
                        var nb = _spin.Neighbours(i);
                        var bias = _spin.NeighbourBiases(i);
                        for (int q = 0; q < nb.Length; q++) f += bias[q] * s[nb[q]];
                        // P(+1) = 1 / (1 + e^{2βf}); the exponent is capped where P(+1) is 0 in double anyway.
                        double e = Math.Exp(Math.Min(_twoBeta * f, 700.0));
                        s[i] = rng.NextDouble() * (1 + e) < 1 ? 1.0 : -1.0;
                    }
                }
                var row = output.Slice(t * n, n);
                for (int i = 0; i < n; i++) row[i] = SamplerCommon.Value(s[i], vartype);
            }
        }
    }

    /// <summary>
    /// The dense bipartite kernel, written once over <see cref="ILanes{TF, TU}"/> and run at the width the CPU offers
    /// (or the one forced), every width giving the same bits. Biases are pre-multiplied by 2β so the lane computes
    /// e^{2βf} with one FMA per side-A spin.
    /// </summary>
    [SkipLocalsInit]
    private sealed class DenseGibbs
    {
        private readonly DenseBipartite _g;
        private readonly SimdWidth _width;
        private readonly float[] _ha, _hb, _j, _sa, _sb;
        private Array? _acc;

        public DenseGibbs(DenseBipartite g, double beta, SimdWidth width)
        {
            _g = g;
            _width = SimdWidths.Resolve(width);
            float tb = (float)(2 * beta);
            _ha = g.HA.Select(x => x * tb).ToArray();
            _hb = g.HB.Select(x => x * tb).ToArray();
            _j = g.J.Select(x => x * tb).ToArray();
            _sa = new float[g.A];
            _sb = new float[g.Bp];
        }

        public void RunChain(Rng rng, GibbsOptions o, int rows, Span<sbyte> output, Vartype vartype)
        {
            for (int a = 0; a < _sa.Length; a++) _sa[a] = (rng.NextUInt64() >> 63) != 0 ? 1f : -1f;
            // Side B is drawn first in every sweep, so its starting values never matter.
            Array.Fill(_sb, 1f);
            Span<uint> words = stackalloc uint[64];
            LaneRng.SeedWords(ref rng, words);
            switch (_width)
            {
                case SimdWidth.V512: Run<Lanes512, Vector512<float>, Vector512<uint>>(words, ref rng, o, rows, output, vartype); break;
                case SimdWidth.V256: Run<Lanes256, F256x2, U256x2>(words, ref rng, o, rows, output, vartype); break;
                case SimdWidth.V128: Run<Lanes128, F128x4, U128x4>(words, ref rng, o, rows, output, vartype); break;
                default: Run<LanesScalar, F1x16, U1x16>(words, ref rng, o, rows, output, vartype); break;
            }
        }

        private void Run<W, TF, TU>(ReadOnlySpan<uint> words, ref Rng rng, GibbsOptions o, int rows, Span<sbyte> output, Vartype vartype)
            where W : struct, ILanes<TF, TU> where TF : unmanaged where TU : unmanaged
        {
            TU s0 = W.Seed(words[..16]), s1 = W.Seed(words[16..32]), s2 = W.Seed(words[32..48]), s3 = W.Seed(words[48..]);
            var acc = _acc as TF[] ?? (TF[])(_acc = new TF[_g.A]);
            int n = _g.A + _g.B;
            int sweep = 0;
            for (int t = 0; t < rows; t++)
            {
                int until = o.RecordSweep(t);
                if (_g.A == 1) Star<W, TF, TU>(ref s0, ref s1, ref s2, ref s3, ref rng, until - sweep);
                else General<W, TF, TU>(ref s0, ref s1, ref s2, ref s3, ref rng, acc, until - sweep);
                sweep = until;
                var row = output.Slice(t * n, n);
                for (int a = 0; a < _g.A; a++) row[_g.AIndex[a]] = SamplerCommon.Value(_sa[a], vartype);
                for (int b = 0; b < _g.B; b++) row[_g.BIndex[b]] = SamplerCommon.Value(_sb[b], vartype);
            }
        }

        /// <summary>One hub: its field is accumulated in a register while the leaves are drawn.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Star<W, TF, TU>(ref TU state0, ref TU state1, ref TU state2, ref TU state3, ref Rng rng, int sweeps)
            where W : struct, ILanes<TF, TU> where TF : unmanaged where TU : unmanaged
        {
            TU s0 = state0, s1 = state1, s2 = state2, s3 = state3; // locals, so registers
            ref float hb = ref MemoryMarshal.GetArrayDataReference(_hb);
            ref float jr = ref MemoryMarshal.GetArrayDataReference(_j);
            ref float sb = ref MemoryMarshal.GetArrayDataReference(_sb);
            int bp = _g.Bp;
            float h0 = _ha[0];
            float y = _sa[0];
            var one = W.Splat(1f);
            var minusOne = W.Splat(-1f);
            var two24 = W.Splat(1 << 24);
            var zero = W.Splat(0f);
            for (int sw = 0; sw < sweeps; sw++)
            {
                var yv = W.Splat(y);
                var acc = zero;
                for (int b = 0; b < bp; b += DenseBipartite.Lanes)
                {
                    var jv = W.Load(ref jr, (nuint)b);
                    var e = W.Exp(W.Fma(jv, yv, W.Load(ref hb, (nuint)b)));
                    // P(+1) = 1/(1+e): +1 when U(1+e) < 1, with U = k/2^24 for an odd k
                    var u = W.NextOddScaled(ref s0, ref s1, ref s2, ref s3);
                    var k = W.SelectLess(W.Fma(u, e, u), two24, one, minusOne);
                    W.Store(k, ref sb, (nuint)b);
                    acc = W.Fma(jv, k, acc);
                }
                float eh = SimdMath.Exp(h0 + W.Sum(acc));
                y = SamplerCommon.OpenUniform(ref rng) * (1 + eh) < 1 ? 1f : -1f;
            }
            _sa[0] = y;
            (state0, state1, state2, state3) = (s0, s1, s2, s3);
        }

        /// <summary>Side A of any size: each lane block needs Σ_a J_ab s_a, and every A field is accumulated alongside.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void General<W, TF, TU>(ref TU state0, ref TU state1, ref TU state2, ref TU state3, ref Rng rng, TF[] acc, int sweeps)
            where W : struct, ILanes<TF, TU> where TF : unmanaged where TU : unmanaged
        {
            TU s0 = state0, s1 = state1, s2 = state2, s3 = state3;
            ref float hb = ref MemoryMarshal.GetArrayDataReference(_hb);
            ref float jr = ref MemoryMarshal.GetArrayDataReference(_j);
            ref float sb = ref MemoryMarshal.GetArrayDataReference(_sb);
            var sa = _sa;
            int bp = _g.Bp, na = _g.A;
            var one = W.Splat(1f);
            var minusOne = W.Splat(-1f);
            var two24 = W.Splat(1 << 24);
            var zero = W.Splat(0f);
            for (int sw = 0; sw < sweeps; sw++)
            {
                Array.Fill(acc, zero);
                for (int b = 0; b < bp; b += DenseBipartite.Lanes)
                {
                    var z = W.Load(ref hb, (nuint)b);
                    for (int a = 0; a < na; a++)
                        z = W.Fma(W.Load(ref jr, (nuint)(a * bp + b)), W.Splat(sa[a]), z);
                    var e = W.Exp(z);
                    // P(+1) = 1/(1+e): +1 when U(1+e) < 1, with U = k/2^24 for an odd k
                    var u = W.NextOddScaled(ref s0, ref s1, ref s2, ref s3);
                    var k = W.SelectLess(W.Fma(u, e, u), two24, one, minusOne);
                    W.Store(k, ref sb, (nuint)b);
                    for (int a = 0; a < na; a++)
                        acc[a] = W.Fma(W.Load(ref jr, (nuint)(a * bp + b)), k, acc[a]);
                }
                for (int a = 0; a < na; a++)
                {
                    float eh = SimdMath.Exp(_ha[a] + W.Sum(acc[a]));
                    sa[a] = SamplerCommon.OpenUniform(ref rng) * (1 + eh) < 1 ? 1f : -1f;
                }
            }
            (state0, state1, state2, state3) = (s0, s1, s2, s3);
        }
    }
}
