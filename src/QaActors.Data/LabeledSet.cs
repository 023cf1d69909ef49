namespace QaActors.Data;

/// <summary>
/// Images and labels in one contiguous block: <see cref="X"/> is row-major Count × Features with pixels
/// scaled to [0, 1]; <see cref="Y"/> holds one label per row (the original class for a dataset, 0/1 for a
/// class-pair task: 0 for the first class named, 1 for the second).
/// </summary>
public sealed class LabeledSet
{
    public int Count { get; }
    public int Features { get; }
    public float[] X { get; }
    public byte[] Y { get; }

    public LabeledSet(int count, int features, float[] x, byte[] y)
    {
        if (x.Length != count * features) throw new ArgumentException($"x holds {x.Length} values, {count} rows of {features} need {count * features}");
        if (y.Length != count) throw new ArgumentException($"y holds {y.Length} labels for {count} rows");
        Count = count;
        Features = features;
        X = x;
        Y = y;
    }

    public ReadOnlySpan<float> Row(int i) => X.AsSpan(i * Features, Features);

    /// <summary>The rows at <paramref name="indices"/>, copied, in that order.</summary>
    public LabeledSet Take(ReadOnlySpan<int> indices)
    {
        var x = new float[indices.Length * Features];
        var y = new byte[indices.Length];
        for (int k = 0; k < indices.Length; k++)
        {
            Row(indices[k]).CopyTo(x.AsSpan(k * Features, Features));
            y[k] = Y[indices[k]];
        }
        return new LabeledSet(indices.Length, Features, x, y);
    }
}
