using System.Collections.Concurrent;
using System.Numerics;

namespace QaActors.Learning;

/// <summary>
/// Reusable float buffers for the per-step batch arrays (megabytes each at batch 1000). Allocating them fresh every
/// step costs page faults and large-object-heap collections that rival the arithmetic; the shared ArrayPool does
/// not keep arrays this large. Buckets are powers of two; contents are undefined on rent.
/// </summary>
internal static class Buffers
{
    private const int MaxPerBucket = 16;
    private static readonly ConcurrentBag<float[]>[] Buckets = Enumerable.Range(0, 31).Select(_ => new ConcurrentBag<float[]>()).ToArray();

    public static float[] Rent(int minLength)
    {
        int bucket = minLength <= 1 ? 0 : 32 - BitOperations.LeadingZeroCount((uint)(minLength - 1));
        return Buckets[bucket].TryTake(out var a) ? a : new float[1 << bucket];
    }

    public static void Return(float[] array)
    {
        if (array.Length == 0 || !BitOperations.IsPow2(array.Length)) return;
        var b = Buckets[BitOperations.Log2((uint)array.Length)];
        if (b.Count < MaxPerBucket) b.Add(array);
    }
}
