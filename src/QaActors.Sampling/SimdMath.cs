using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace QaActors.Sampling;

/// <summary>
/// Vector helpers for the samplers' hot loops: a polynomial exp accurate to 5e-7 relative (enough for
/// acceptance probabilities, whose uniforms carry 24 bits), and a 16-lane xoshiro128+ generator.
/// Every width (512, 256, 128 bits and scalar) evaluates the same operations in the same order, each rounded once,
/// so all of them give the same bits for the same input (held by the sampler tests); see <see cref="ILanes{TF, TU}"/>.
/// </summary>
public static class SimdMath
{
    // Inputs are clamped to ±87.3 so that 2^n stays a normal float (n in [-126, 126]); symmetric so that one
    // AVX-512 vrangeps (smaller magnitude, sign kept) does the clamp.
    public const float ExpMin = -87.3f;
    public const float ExpMax = 87.3f;

    private const float Log2E = 1.44269504088896341f;
    private const float Ln2 = 0.693147180559945309f;
    // 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits.
    private const float RoundMagic = 12582912f;
    // Degree-5 near-minimax (Lawson's iteration) fit of e^r on |r| <= ln2/2, relative error 7.5e-8 in exact
    // arithmetic, 1.9e-7 evaluated in float. With r = x − n·ln2 by one FMA (ln2 rounded to float costs up to
    // 127 · 1.9e-9 = 2.4e-7 more at the ends of the range) the whole is within 5e-7 relative. C0 ≥ 1 makes e^0 ≥ 1,
    // which the Metropolis kernel relies on to accept every downhill move.
    private const float C0 = 1.0000001f, C1 = 0.9999997f, C2 = 0.49998894f, C3 = 0.16667575f, C4 = 0.041915383f, C5 = 0.008297655f;

    /// <summary>e^x per lane, inputs clamped to [<see cref="ExpMin"/>, <see cref="ExpMax"/>].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        x = Avx512DQ.IsSupported
            ? Avx512DQ.Range(x, Vector512.Create(ExpMax), 0b0010) // |x| clamped to ExpMax, sign of x kept
            : Vector512.Min(Vector512.Max(x, Vector512.Create(ExpMin)), Vector512.Create(ExpMax));
        var magic = Vector512.Create(RoundMagic);
        var t = Vector512.FusedMultiplyAdd(x, Vector512.Create(Log2E), magic);
        var n = t - magic;
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2), x);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(C5), r, Vector512.Create(C4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C0));
        if (Avx512F.IsSupported) return Avx512F.Scale(p, n); // vscalefps: p·2^n in one instruction
        var ni = t.AsInt32() - magic.AsInt32();
        var scale = Vector512.ShiftLeft(ni + Vector512.Create(127), 23).AsSingle();
        return p * scale;
    }

    /// <summary>The same approximation on eight lanes (the clamp and the 2^n scaling done without AVX-512, same result).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(ExpMin)), Vector256.Create(ExpMax));
        var magic = Vector256.Create(RoundMagic);
        var t = Vector256.FusedMultiplyAdd(x, Vector256.Create(Log2E), magic);
        var n = t - magic;
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2), x);
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(C5), r, Vector256.Create(C4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C0));
        var ni = t.AsInt32() - magic.AsInt32();
        return p * Vector256.ShiftLeft(ni + Vector256.Create(127), 23).AsSingle();
    }

    /// <summary>The same approximation on four lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x)
    {
        x = Vector128.Min(Vector128.Max(x, Vector128.Create(ExpMin)), Vector128.Create(ExpMax));
        var magic = Vector128.Create(RoundMagic);
        var t = Vector128.FusedMultiplyAdd(x, Vector128.Create(Log2E), magic);
        var n = t - magic;
        var r = Vector128.FusedMultiplyAdd(n, Vector128.Create(-Ln2), x);
        var p = Vector128.FusedMultiplyAdd(Vector128.Create(C5), r, Vector128.Create(C4));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(C3));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(C2));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(C1));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(C0));
        var ni = t.AsInt32() - magic.AsInt32();
        return p * Vector128.ShiftLeft(ni + Vector128.Create(127), 23).AsSingle();
    }

    /// <summary>xoshiro128+ on eight of the sixteen lanes; see <see cref="LaneRng.NextOddScaled"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> NextOddScaled(ref Vector256<uint> s0, ref Vector256<uint> s1, ref Vector256<uint> s2, ref Vector256<uint> s3)
    {
        var res = s0 + s3;
        var t = Vector256.ShiftLeft(s1, 9);
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = Vector256.ShiftLeft(s3, 11) | Vector256.ShiftRightLogical(s3, 21);
        return Vector256.ConvertToSingle((Vector256.ShiftRightLogical(res, 8) | Vector256<uint>.One).AsInt32());
    }

    /// <summary>xoshiro128+ on four of the sixteen lanes; see <see cref="LaneRng.NextOddScaled"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> NextOddScaled(ref Vector128<uint> s0, ref Vector128<uint> s1, ref Vector128<uint> s2, ref Vector128<uint> s3)
    {
        var res = s0 + s3;
        var t = Vector128.ShiftLeft(s1, 9);
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = Vector128.ShiftLeft(s3, 11) | Vector128.ShiftRightLogical(s3, 21);
        return Vector128.ConvertToSingle((Vector128.ShiftRightLogical(res, 8) | Vector128<uint>.One).AsInt32());
    }

    /// <summary>The same approximation for one value, so that scalar and vector lanes agree bit for bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Exp(float x)
    {
        x = MathF.Min(MathF.Max(x, ExpMin), ExpMax);
        float t = MathF.FusedMultiplyAdd(x, Log2E, RoundMagic);
        float n = t - RoundMagic;
        float r = MathF.FusedMultiplyAdd(n, -Ln2, x);
        float p = MathF.FusedMultiplyAdd(C5, r, C4);
        p = MathF.FusedMultiplyAdd(p, r, C3);
        p = MathF.FusedMultiplyAdd(p, r, C2);
        p = MathF.FusedMultiplyAdd(p, r, C1);
        p = MathF.FusedMultiplyAdd(p, r, C0);
        int ni = BitConverter.SingleToInt32Bits(t) - BitConverter.SingleToInt32Bits(RoundMagic);
        return p * BitConverter.Int32BitsToSingle((ni + 127) << 23);
    }

    /// <summary>
    /// Whether the JIT may emit a fused multiply-add. Without it .NET's vector FMAs fall back to one call per lane,
    /// slower than the scalar width, which then runs instead (MathF.FusedMultiplyAdd is correctly rounded either way).
    /// </summary>
    public static bool HardwareFma => Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported;
}

/// <summary>
/// Sixteen independent xoshiro128+ streams (Blackman and Vigna, 2018), one per lane of a
/// <see cref="Vector512{T}"/>. Only the top 24 bits of each output are used, which avoids the weak low bits
/// of the "+" scrambler. Seeded from an <see cref="Rng"/>, so it inherits the project's seed policy.
/// The kernels copy S0..S3 into locals and step them with <see cref="NextOddScaled"/>: a copy of the whole struct was
/// not reliably promoted to registers, and a stack-resident state cost a factor of three on the star.
/// </summary>
public struct LaneRng
{
    public Vector512<uint> S0, S1, S2, S3;

    public LaneRng(ref Rng seeder)
    {
        Span<uint> s = stackalloc uint[64];
        SeedWords(ref seeder, s);
        S0 = Vector512.Create<uint>(s[..16]);
        S1 = Vector512.Create<uint>(s[16..32]);
        S2 = Vector512.Create<uint>(s[32..48]);
        S3 = Vector512.Create<uint>(s[48..64]);
    }

    /// <summary>
    /// The sixteen lanes' initial state, words [16w, 16w + 16) being state word w of lanes 0..15. Every vector width
    /// seeds from these same words, which is what makes lane l's stream independent of the width.
    /// </summary>
    public static void SeedWords(ref Rng seeder, Span<uint> words)
    {
        for (int k = 0; k < 64; k += 2)
        {
            ulong v = seeder.NextUInt64();
            words[k] = (uint)v;
            words[k + 1] = (uint)(v >> 32);
        }
        // A lane whose four words are all zero would stay zero forever; an odd first word rules that out.
        for (int l = 0; l < 16; l++) words[l] |= 1;
    }

    /// <summary>
    /// Sixteen uniforms strictly inside (0, 1): (k + 1/2)·2^-23 for a 23-bit k, exact in float32. Excluding 0 and 1
    /// keeps "accept when p &gt; U" from accepting an impossible move or refusing a certain one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> NextSingle()
    {
        var res = Step(ref S0, ref S1, ref S2, ref S3);
        return Vector512.FusedMultiplyAdd(
            Vector512.ConvertToSingle(Vector512.ShiftRightLogical(res, 9).AsInt32()),
            Vector512.Create(1f / (1 << 23)),
            Vector512.Create(1f / (1 << 24)));
    }

    /// <summary>
    /// One step of all sixteen streams on state held in the caller's locals (the kernels keep it there so that the
    /// JIT can give it registers; a struct field copy is not always promoted). Returns odd integers k in [1, 2^24)
    /// as floats, that is U = k·2^-24 on the grid of <see cref="NextSingle"/> scaled by 2^24, so that a comparison
    /// can absorb the scaling.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> NextOddScaled(ref Vector512<uint> s0, ref Vector512<uint> s1, ref Vector512<uint> s2, ref Vector512<uint> s3)
    {
        var res = Step(ref s0, ref s1, ref s2, ref s3);
        return Vector512.ConvertToSingle((Vector512.ShiftRightLogical(res, 8) | Vector512<uint>.One).AsInt32());
    }

    /// <summary>The xoshiro128+ transition of all sixteen streams; returns the 32-bit outputs s0 + s3 taken before it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Step(ref Vector512<uint> s0, ref Vector512<uint> s1, ref Vector512<uint> s2, ref Vector512<uint> s3)
    {
        var res = s0 + s3;
        var t = Vector512.ShiftLeft(s1, 9);
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = Avx512F.IsSupported ? Avx512F.RotateLeft(s3, 11) : Vector512.ShiftLeft(s3, 11) | Vector512.ShiftRightLogical(s3, 21);
        return res;
    }
}
