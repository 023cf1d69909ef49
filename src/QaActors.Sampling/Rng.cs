using System.Numerics;
using System.Runtime.CompilerServices;

namespace QaActors.Sampling;

/// <summary>
/// The project's one random number generator: xoshiro256** (Blackman and Vigna, 2018), seeded through
/// SplitMix64. A struct so that hot loops keep its state in registers and never allocate.
/// </summary>
public struct Rng
{
    private ulong _s0, _s1, _s2, _s3;

    public Rng(ulong seed)
    {
        ulong sm = seed;
        _s0 = SplitMix64(ref sm);
        _s1 = SplitMix64(ref sm);
        _s2 = SplitMix64(ref sm);
        _s3 = SplitMix64(ref sm);
        if ((_s0 | _s1 | _s2 | _s3) == 0) _s0 = 1; // the all-zero state is a fixed point of xoshiro
    }

    /// <summary>The generator's full state, so that a checkpoint can restore it exactly.</summary>
    public readonly (ulong, ulong, ulong, ulong) State => (_s0, _s1, _s2, _s3);

    public static Rng FromState((ulong, ulong, ulong, ulong) state)
    {
        var r = default(Rng);
        (r._s0, r._s1, r._s2, r._s3) = state;
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, 1) with 24 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float NextSingle() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>Uniform integer in [0, n), unbiased (Lemire's multiply-shift with rejection).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "must be positive");
        ulong bound = (ulong)n;
        while (true)
        {
            ulong x = NextUInt64();
            UInt128 m = (UInt128)x * bound;
            ulong low = (ulong)m;
            if (low >= bound || low >= (0UL - bound) % bound) return (int)(m >> 64);
        }
    }

    /// <summary>Standard normal by Box-Muller (one value per call; the pair's twin is discarded for simplicity).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble();
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SplitMix64(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary>
/// The RNG policy: every random stream is derived from (experiment seed, step, example index, purpose) by
/// hashing, never from which worker ran the work or in which order, so a resumed or redistributed run draws
/// exactly the numbers an uninterrupted one would.
/// </summary>
public static class SeedPolicy
{
    /// <summary>Well-known purposes, so two uses of the same (seed, step, example) never share a stream.</summary>
    public enum Purpose : ulong
    {
        Init = 1,
        Split = 2,
        Batch = 3,
        Sample = 4,
        Noise = 5,
        Embedding = 6,
    }

    public static ulong Derive(ulong experimentSeed, long step, long example, Purpose purpose)
    {
        ulong s = experimentSeed;
        ulong h = Rng.SplitMix64(ref s);
        h = Mix(h, (ulong)step);
        h = Mix(h, (ulong)example);
        h = Mix(h, (ulong)purpose);
        return h;
    }

    public static Rng For(ulong experimentSeed, long step, long example, Purpose purpose) =>
        new(Derive(experimentSeed, step, example, purpose));

    private static ulong Mix(ulong h, ulong v)
    {
        ulong s = h ^ (v * 0xD6E8FEB86659FD93UL);
        return Rng.SplitMix64(ref s);
    }
}
