using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace QaActors.Sampling;

/// <summary>
/// The vector width a dense kernel runs at. <see cref="Auto"/> takes the widest the CPU accelerates. Every width
/// computes the same bits (see <see cref="ILanes{TF, TU}"/>), so a checkpoint taken on one machine continues bit for
/// bit on another; forcing a width exists for the tests that hold the widths to that.
/// </summary>
internal enum SimdWidth
{
    Auto = 0,
    Scalar = 1,
    V128 = 128,
    V256 = 256,
    V512 = 512,
}

internal static class SimdWidths
{
    /// <summary>
    /// The widest accelerated width; without a hardware FMA the scalar width (see <see cref="SimdMath.HardwareFma"/>).
    /// </summary>
    public static SimdWidth Resolve(SimdWidth w) => w != SimdWidth.Auto ? w
        : !SimdMath.HardwareFma ? SimdWidth.Scalar
        : Vector512.IsHardwareAccelerated ? SimdWidth.V512
        : Vector256.IsHardwareAccelerated ? SimdWidth.V256
        : Vector128.IsHardwareAccelerated ? SimdWidth.V128
        : SimdWidth.Scalar;
}

/// <summary>
/// A block of sixteen float lanes and the sixteen xoshiro128+ streams that feed it, as one 512-bit vector, two of 256,
/// four of 128 or sixteen scalars. The kernels are written once against this and instantiated per width. Results are
/// identical across widths because lane l of a block is always logical lane l (the same stream, the same variable),
/// every lane operation is an IEEE operation with one rounding (a fused multiply-add stays fused everywhere, the exp is
/// <see cref="SimdMath"/>'s polynomial in every width) and the one cross-lane operation, <see cref="Sum"/>, adds in
/// one fixed order.
/// </summary>
internal interface ILanes<TF, TU> where TF : unmanaged where TU : unmanaged
{
    static abstract TF Load(ref float p, nuint i);
    static abstract void Store(TF v, ref float p, nuint i);
    static abstract TF Splat(float x);
    static abstract TF Mul(TF a, TF b);
    /// <summary>a·b + c with one rounding.</summary>
    static abstract TF Fma(TF a, TF b, TF c);
    static abstract TF Min(TF a, TF b);
    static abstract TF Neg(TF a);
    /// <summary>Per lane a &lt; b ? ifLess : otherwise.</summary>
    static abstract TF SelectLess(TF a, TF b, TF ifLess, TF otherwise);
    static abstract TF Exp(TF x);
    /// <summary>
    /// The lanes' sum as ((q0 + q1) + (q2 + q3)) with q_k = (x_4k + x_4k+1) + (x_4k+2 + x_4k+3): the order .NET's
    /// Vector512.Sum uses, so that runs recorded before the widths were unified keep their bits on AVX-512.
    /// </summary>
    static abstract float Sum(TF v);
    /// <summary>State word vector from sixteen words, word l for lane l.</summary>
    static abstract TU Seed(ReadOnlySpan<uint> words);
    /// <summary>See <see cref="LaneRng.NextOddScaled"/>.</summary>
    static abstract TF NextOddScaled(ref TU s0, ref TU s1, ref TU s2, ref TU s3);
}

internal readonly struct Lanes512 : ILanes<Vector512<float>, Vector512<uint>>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(ref float p, nuint i) => Vector512.LoadUnsafe(ref p, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> v, ref float p, nuint i) => v.StoreUnsafe(ref p, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Splat(float x) => Vector512.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Mul(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Vector512.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Neg(Vector512<float> a) => -a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> SelectLess(Vector512<float> a, Vector512<float> b, Vector512<float> ifLess, Vector512<float> otherwise) =>
        Vector512.ConditionalSelect(Vector512.LessThan(a, b), ifLess, otherwise);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Exp(Vector512<float> x) => SimdMath.Exp(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector512<float> v) =>
        (Lanes128.Sum4(v.GetLower().GetLower()) + Lanes128.Sum4(v.GetLower().GetUpper()))
        + (Lanes128.Sum4(v.GetUpper().GetLower()) + Lanes128.Sum4(v.GetUpper().GetUpper()));
    public static Vector512<uint> Seed(ReadOnlySpan<uint> words) => Vector512.Create(words[..16]);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> NextOddScaled(ref Vector512<uint> s0, ref Vector512<uint> s1, ref Vector512<uint> s2, ref Vector512<uint> s3) =>
        LaneRng.NextOddScaled(ref s0, ref s1, ref s2, ref s3);
}

[StructLayout(LayoutKind.Sequential)]
internal struct F256x2
{
    public Vector256<float> Lo, Hi;
}

[StructLayout(LayoutKind.Sequential)]
internal struct U256x2
{
    public Vector256<uint> Lo, Hi;
}

internal readonly struct Lanes256 : ILanes<F256x2, U256x2>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F256x2 Load(ref float p, nuint i) => new() { Lo = Vector256.LoadUnsafe(ref p, i), Hi = Vector256.LoadUnsafe(ref p, i + 8) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(F256x2 v, ref float p, nuint i) { v.Lo.StoreUnsafe(ref p, i); v.Hi.StoreUnsafe(ref p, i + 8); }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F256x2 Splat(float x) => new() { Lo = Vector256.Create(x), Hi = Vector256.Create(x) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F256x2 Mul(F256x2 a, F256x2 b) => new() { Lo = a.Lo * b.Lo, Hi = a.Hi * b.Hi };
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F256x2 Fma(F256x2 a, F256x2 b, F256x2 c) => new() { Lo = Vector256.FusedMultiplyAdd(a.Lo, b.Lo, c.Lo), Hi = Vector256.FusedMultiplyAdd(a.Hi, b.Hi, c.Hi) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F256x2 Min(F256x2 a, F256x2 b) => new() { Lo = Vector256.Min(a.Lo, b.Lo), Hi = Vector256.Min(a.Hi, b.Hi) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F256x2 Neg(F256x2 a) => new() { Lo = -a.Lo, Hi = -a.Hi };
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F256x2 SelectLess(F256x2 a, F256x2 b, F256x2 ifLess, F256x2 otherwise) => new()
    {
        Lo = Vector256.ConditionalSelect(Vector256.LessThan(a.Lo, b.Lo), ifLess.Lo, otherwise.Lo),
        Hi = Vector256.ConditionalSelect(Vector256.LessThan(a.Hi, b.Hi), ifLess.Hi, otherwise.Hi),
    };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F256x2 Exp(F256x2 x) => new() { Lo = SimdMath.Exp(x.Lo), Hi = SimdMath.Exp(x.Hi) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(F256x2 v) =>
        (Lanes128.Sum4(v.Lo.GetLower()) + Lanes128.Sum4(v.Lo.GetUpper())) + (Lanes128.Sum4(v.Hi.GetLower()) + Lanes128.Sum4(v.Hi.GetUpper()));
    public static U256x2 Seed(ReadOnlySpan<uint> words) => new() { Lo = Vector256.Create(words[..8]), Hi = Vector256.Create(words[8..16]) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F256x2 NextOddScaled(ref U256x2 s0, ref U256x2 s1, ref U256x2 s2, ref U256x2 s3) => new()
    {
        Lo = SimdMath.NextOddScaled(ref s0.Lo, ref s1.Lo, ref s2.Lo, ref s3.Lo),
        Hi = SimdMath.NextOddScaled(ref s0.Hi, ref s1.Hi, ref s2.Hi, ref s3.Hi),
    };
}

[StructLayout(LayoutKind.Sequential)]
internal struct F128x4
{
    public Vector128<float> A, B, C, D;
}

[StructLayout(LayoutKind.Sequential)]
internal struct U128x4
{
    public Vector128<uint> A, B, C, D;
}

internal readonly struct Lanes128 : ILanes<F128x4, U128x4>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F128x4 Load(ref float p, nuint i) => new()
    {
        A = Vector128.LoadUnsafe(ref p, i), B = Vector128.LoadUnsafe(ref p, i + 4),
        C = Vector128.LoadUnsafe(ref p, i + 8), D = Vector128.LoadUnsafe(ref p, i + 12),
    };
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(F128x4 v, ref float p, nuint i)
    {
        v.A.StoreUnsafe(ref p, i); v.B.StoreUnsafe(ref p, i + 4); v.C.StoreUnsafe(ref p, i + 8); v.D.StoreUnsafe(ref p, i + 12);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F128x4 Splat(float x) { var v = Vector128.Create(x); return new() { A = v, B = v, C = v, D = v }; }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F128x4 Mul(F128x4 a, F128x4 b) => new() { A = a.A * b.A, B = a.B * b.B, C = a.C * b.C, D = a.D * b.D };
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F128x4 Fma(F128x4 a, F128x4 b, F128x4 c) => new()
    {
        A = Vector128.FusedMultiplyAdd(a.A, b.A, c.A), B = Vector128.FusedMultiplyAdd(a.B, b.B, c.B),
        C = Vector128.FusedMultiplyAdd(a.C, b.C, c.C), D = Vector128.FusedMultiplyAdd(a.D, b.D, c.D),
    };
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F128x4 Min(F128x4 a, F128x4 b) => new()
    {
        A = Vector128.Min(a.A, b.A), B = Vector128.Min(a.B, b.B), C = Vector128.Min(a.C, b.C), D = Vector128.Min(a.D, b.D),
    };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F128x4 Neg(F128x4 a) => new() { A = -a.A, B = -a.B, C = -a.C, D = -a.D };
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F128x4 SelectLess(F128x4 a, F128x4 b, F128x4 ifLess, F128x4 otherwise) => new()
    {
        A = Vector128.ConditionalSelect(Vector128.LessThan(a.A, b.A), ifLess.A, otherwise.A),
        B = Vector128.ConditionalSelect(Vector128.LessThan(a.B, b.B), ifLess.B, otherwise.B),
        C = Vector128.ConditionalSelect(Vector128.LessThan(a.C, b.C), ifLess.C, otherwise.C),
        D = Vector128.ConditionalSelect(Vector128.LessThan(a.D, b.D), ifLess.D, otherwise.D),
    };
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F128x4 Exp(F128x4 x) => new() { A = SimdMath.Exp(x.A), B = SimdMath.Exp(x.B), C = SimdMath.Exp(x.C), D = SimdMath.Exp(x.D) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(F128x4 v) => (Sum4(v.A) + Sum4(v.B)) + (Sum4(v.C) + Sum4(v.D));
    public static U128x4 Seed(ReadOnlySpan<uint> words) => new()
    {
        A = Vector128.Create(words[..4]), B = Vector128.Create(words[4..8]), C = Vector128.Create(words[8..12]), D = Vector128.Create(words[12..16]),
    };
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F128x4 NextOddScaled(ref U128x4 s0, ref U128x4 s1, ref U128x4 s2, ref U128x4 s3) => new()
    {
        A = SimdMath.NextOddScaled(ref s0.A, ref s1.A, ref s2.A, ref s3.A),
        B = SimdMath.NextOddScaled(ref s0.B, ref s1.B, ref s2.B, ref s3.B),
        C = SimdMath.NextOddScaled(ref s0.C, ref s1.C, ref s2.C, ref s3.C),
        D = SimdMath.NextOddScaled(ref s0.D, ref s1.D, ref s2.D, ref s3.D),
    };

    /// <summary>(x0 + x1) + (x2 + x3), the building block of every width's <see cref="ILanes{TF, TU}.Sum"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Sum4(Vector128<float> q) => (q.GetElement(0) + q.GetElement(1)) + (q.GetElement(2) + q.GetElement(3));
}

[InlineArray(16)]
internal struct F1x16
{
    private float _e;
}

[InlineArray(16)]
internal struct U1x16
{
    private uint _e;
}

/// <summary>The width for a CPU without SIMD (or with it switched off): the same sixteen lanes, one at a time.</summary>
internal readonly struct LanesScalar : ILanes<F1x16, U1x16>
{
    public static F1x16 Load(ref float p, nuint i)
    {
        F1x16 r = default;
        for (int l = 0; l < 16; l++) r[l] = Unsafe.Add(ref p, i + (nuint)l);
        return r;
    }

    public static void Store(F1x16 v, ref float p, nuint i)
    {
        for (int l = 0; l < 16; l++) Unsafe.Add(ref p, i + (nuint)l) = v[l];
    }

    public static F1x16 Splat(float x)
    {
        F1x16 r = default;
        ((Span<float>)r).Fill(x);
        return r;
    }

    public static F1x16 Mul(F1x16 a, F1x16 b)
    {
        F1x16 r = default;
        for (int l = 0; l < 16; l++) r[l] = a[l] * b[l];
        return r;
    }

    public static F1x16 Fma(F1x16 a, F1x16 b, F1x16 c)
    {
        F1x16 r = default;
        for (int l = 0; l < 16; l++) r[l] = MathF.FusedMultiplyAdd(a[l], b[l], c[l]);
        return r;
    }

    public static F1x16 Min(F1x16 a, F1x16 b)
    {
        F1x16 r = default;
        for (int l = 0; l < 16; l++) r[l] = MathF.Min(a[l], b[l]);
        return r;
    }

    public static F1x16 Neg(F1x16 a)
    {
        F1x16 r = default;
        for (int l = 0; l < 16; l++) r[l] = -a[l];
        return r;
    }

    public static F1x16 SelectLess(F1x16 a, F1x16 b, F1x16 ifLess, F1x16 otherwise)
    {
        F1x16 r = default;
        for (int l = 0; l < 16; l++) r[l] = a[l] < b[l] ? ifLess[l] : otherwise[l];
        return r;
    }

    public static F1x16 Exp(F1x16 x)
    {
        F1x16 r = default;
        for (int l = 0; l < 16; l++) r[l] = SimdMath.Exp(x[l]);
        return r;
    }

    public static float Sum(F1x16 v)
    {
        float Q(int k) => (v[4 * k] + v[4 * k + 1]) + (v[4 * k + 2] + v[4 * k + 3]);
        return (Q(0) + Q(1)) + (Q(2) + Q(3));
    }

    public static U1x16 Seed(ReadOnlySpan<uint> words)
    {
        U1x16 r = default;
        words[..16].CopyTo(r);
        return r;
    }

    public static F1x16 NextOddScaled(ref U1x16 s0, ref U1x16 s1, ref U1x16 s2, ref U1x16 s3)
    {
        F1x16 r = default;
        for (int l = 0; l < 16; l++)
        {
            uint res = s0[l] + s3[l];
            uint t = s1[l] << 9;
            s2[l] ^= s0[l];
            s3[l] ^= s1[l];
            s1[l] ^= s2[l];
            s0[l] ^= s3[l];
            s2[l] ^= t;
            s3[l] = uint.RotateLeft(s3[l], 11);
            r[l] = (int)((res >> 8) | 1);
        }
        return r;
    }
}
