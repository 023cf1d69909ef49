namespace QaActors.Data;

/// <summary>Which side of a dataset's train/test split an image is on.</summary>
public enum ImageRole : byte
{
    Train = 0,
    Test = 1,
    /// <summary>Only inside a cache file: the source had no split, the loader assigns one (see <see cref="DatasetSplit"/>).</summary>
    Unassigned = 2,
}

/// <summary>Which images of a class pair <see cref="PairTask.LoadAll"/> returns (<c>qa eval --split</c>).</summary>
public enum DataSplit
{
    Train,
    Test,
    All,
}

/// <summary>
/// A whole image-classification dataset in memory, pixels kept as bytes (0..255) so that 70,000 images cost
/// 55 MB rather than 220 MB; <see cref="ToLabeledSet"/> scales the rows a task needs to [0, 1] floats.
/// Every image has a class label and a train/test <see cref="Roles"/> entry.
/// </summary>
public sealed class Dataset
{
    /// <summary>Canonical name as the user writes it: <c>mnist</c>, <c>fashion-mnist</c> or <c>idx:/abs/path</c>.</summary>
    public string Name { get; }
    public int Rows { get; }
    public int Cols { get; }
    public int Features => Rows * Cols;
    public int Count { get; }
    /// <summary>Classes are 0 .. ClassCount-1.</summary>
    public int ClassCount { get; }
    public IReadOnlyList<string> ClassNames { get; }
    /// <summary>Row-major Count × Features, 0 = background. Read-only: for a fetched dataset it is a memory map of the cache file.</summary>
    public ReadOnlyMemory<byte> Pixels { get; }
    public byte[] Labels { get; }
    public ImageRole[] Roles { get; }
    /// <summary>How the train/test split of this dataset was made, in words (also returned by <see cref="PairTask"/>).</summary>
    public string SplitRule { get; }

    public Dataset(string name, int rows, int cols, int classCount, IReadOnlyList<string>? classNames,
        ReadOnlyMemory<byte> pixels, byte[] labels, ImageRole[] roles, string splitRule)
    {
        if (rows <= 0 || cols <= 0) throw new ArgumentException($"image size {rows}x{cols} must be positive");
        if (classCount <= 0 || classCount > 256) throw new ArgumentException($"class count {classCount} must be 1..256");
        int count = labels.Length;
        if (roles.Length != count) throw new ArgumentException($"{roles.Length} roles for {count} labels");
        if (pixels.Length != (long)count * rows * cols) throw new ArgumentException($"{pixels.Length} pixels for {count} images of {rows}x{cols}");
        foreach (var l in labels)
            if (l >= classCount) throw new ArgumentException($"label {l} outside 0..{classCount - 1}");
        foreach (var r in roles)
            if (r is not (ImageRole.Train or ImageRole.Test)) throw new ArgumentException($"image role {r} must be Train or Test in a loaded dataset");
        if (classNames is not null && classNames.Count != classCount) throw new ArgumentException($"{classNames.Count} class names for {classCount} classes");
        Name = name;
        Rows = rows;
        Cols = cols;
        Count = count;
        ClassCount = classCount;
        ClassNames = classNames ?? Enumerable.Range(0, classCount).Select(c => c.ToString()).ToArray();
        Pixels = pixels;
        Labels = labels;
        Roles = roles;
        SplitRule = splitRule;
    }

    public ReadOnlySpan<byte> Image(int i) => Pixels.Span.Slice(i * Features, Features);

    /// <summary>Indices (ascending) of the images of <paramref name="cls"/>, optionally only those with <paramref name="role"/>.</summary>
    public int[] IndicesOf(int cls, ImageRole? role = null)
    {
        var list = new List<int>();
        for (int i = 0; i < Count; i++)
            if (Labels[i] == cls && (role is null || Roles[i] == role)) list.Add(i);
        return list.ToArray();
    }

    /// <summary>Image count per class, optionally only for one role.</summary>
    public int[] CountPerClass(ImageRole? role = null)
    {
        var n = new int[ClassCount];
        for (int i = 0; i < Count; i++)
            if (role is null || Roles[i] == role) n[Labels[i]]++;
        return n;
    }

    /// <summary>"classes are 0-9" text for error messages.</summary>
    public string ClassRangeText => ClassCount == 1 ? "the only class is 0" : $"classes are 0-{ClassCount - 1}";

    /// <summary>
    /// The images at <paramref name="indices"/> (in that order) with pixels scaled by 1/255 to [0, 1] and the
    /// label given by <paramref name="label"/> (for a pair task 0/1; pass null to keep the class label).
    /// </summary>
    public LabeledSet ToLabeledSet(ReadOnlySpan<int> indices, Func<byte, byte>? label = null)
    {
        int f = Features;
        var x = new float[indices.Length * f];
        var y = new byte[indices.Length];
        var pixels = Pixels.Span;
        for (int k = 0; k < indices.Length; k++)
        {
            int i = indices[k];
            var src = pixels.Slice(i * f, f);
            var dst = x.AsSpan(k * f, f);
            for (int j = 0; j < f; j++) dst[j] = src[j] / 255f;
            y[k] = label is null ? Labels[i] : label(Labels[i]);
        }
        return new LabeledSet(indices.Length, f, x, y);
    }
}
