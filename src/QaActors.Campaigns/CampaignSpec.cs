using System.Collections.Immutable;
using System.Globalization;
using QaActors.Learning;

namespace QaActors.Campaigns;

/// <summary>
/// A campaign file that cannot be used: the message names the file, the key path, what is wrong and what is allowed
/// (the CLI prints it as one line and exits 2).
/// </summary>
public sealed class CampaignSpecException(string file, string keyPath, string problem)
    : Exception($"{file}: {keyPath}: {problem}")
{
    public string File { get; } = file;
    public string KeyPath { get; } = keyPath;
    public string Problem { get; } = problem;
}

/// <summary>Which part of the paper a cell belongs to: Sec. 5.1 (equivalence) or Sec. 5.2 (training by sampling).</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<Study>))]
public enum Study
{
    Equivalence,
    Training,
}

/// <summary>The settings of one cell, after defaults, the campaign's settings and the method's overrides are merged.</summary>
public sealed record CellSettings
{
    public int Hidden { get; init; } = 548;
    /// <summary>A count or "all" (the <c>--train-size</c> syntax).</summary>
    public string TrainSize { get; init; } = "20";
    public string TestSize { get; init; } = "all";
    public int Batch { get; init; } = 5;
    public double LearningRate { get; init; } = 0.1;
    public int Steps { get; init; } = 20;
    public double Beta { get; init; } = 1;
    public int Reads { get; init; } = 100;
    public int? Sweeps { get; init; }
    /// <summary>qpu only: the QPU's temperature factor (the paper's 16) and whether it follows the estimated β.</summary>
    public double TEff { get; init; } = 16;
    public bool AutoTemperature { get; init; }
    /// <summary>qpu only: problems per QPU call.</summary>
    public int Tiles { get; init; } = 1;
    public int EvalEvery { get; init; } = 1;
    /// <summary>gibbs | anneal | none: what serves a QPU problem the QPU cannot.</summary>
    public string Fallback { get; init; } = "gibbs";

    /// <summary>The science library's configuration of this cell (sizes are filled in by whoever loads the data).</summary>
    public TrainingConfig ToTrainingConfig(TrainingMethod method, string dataset, int classA, int classB, ulong seed)
    {
        bool qpu = method == TrainingMethod.Qpu;
        return new TrainingConfig
        {
            Method = method,
            Hidden = Hidden,
            Batch = Batch,
            LearningRate = LearningRate,
            Steps = Steps,
            TEff = qpu ? TEff : 1,
            AutoTemperature = qpu && AutoTemperature,
            Tiles = qpu ? Tiles : 1,
            Beta = Beta,
            Reads = Reads,
            Sweeps = Sweeps,
            Seed = seed,
            EvalEvery = EvalEvery,
            Dataset = dataset,
            ClassA = classA,
            ClassB = classB,
        };
    }

    /// <summary>A stable text of every setting (what the campaign id hashes).</summary>
    public string Canonical() => string.Join(";",
        $"hidden={Hidden}", $"train-size={TrainSize}", $"test-size={TestSize}", $"batch={Batch}",
        $"lr={LearningRate.ToString("R", CultureInfo.InvariantCulture)}", $"steps={Steps}",
        $"beta={Beta.ToString("R", CultureInfo.InvariantCulture)}", $"reads={Reads}", $"sweeps={Sweeps?.ToString(CultureInfo.InvariantCulture) ?? "default"}",
        $"t-eff={(AutoTemperature ? "auto" : TEff.ToString("R", CultureInfo.InvariantCulture))}", $"tiles={Tiles}", $"eval-every={EvalEvery}", $"fallback={Fallback}");
}

/// <summary>One dataset of a study with its class pairs (listed, or drawn: "N random pairs with seed S").</summary>
public sealed record DatasetPairs(string Dataset, ImmutableArray<(int A, int B)> Pairs);

/// <summary>A grid of one study: datasets × pairs × methods × seeds, each method with its merged settings.</summary>
public sealed record StudySpec(
    Study Study,
    ImmutableArray<DatasetPairs> Datasets,
    ImmutableArray<TrainingMethod> Methods,
    ImmutableArray<ulong> Seeds,
    ImmutableDictionary<TrainingMethod, CellSettings> SettingsByMethod);

/// <summary>Sec. 5.3: runtime against model size (visible nodes, one hidden unit) on a log grid.</summary>
public sealed record RuntimeSpec
{
    public double MinSize { get; init; } = 10;
    public double MaxSize { get; init; } = 1e7;
    public int PointsPerDecade { get; init; } = 2;
    /// <summary>Sizes up to this are measured with the project's kernels; larger ones are extrapolated (docs/campaigns.md).</summary>
    public double MeasureMaxSize { get; init; } = 1e5;
    /// <summary>Reads per QPU problem and per Gibbs sampling (the paper's Sec. 5.2 setting is 100 here).</summary>
    public int Reads { get; init; } = 100;
    /// <summary>Gibbs sweeps per read.</summary>
    public int Sweeps { get; init; } = 1000;
    /// <summary>Repetitions of each measurement; the median is reported.</summary>
    public int Repeats { get; init; } = 3;

    /// <summary>The model sizes of the grid: 10^(e / points) rounded, from min to max inclusive.</summary>
    public ImmutableArray<int> Sizes()
    {
        var list = new List<int>();
        double lo = Math.Log10(MinSize), hi = Math.Log10(MaxSize);
        int first = (int)Math.Ceiling(lo * PointsPerDecade - 1e-9), last = (int)Math.Floor(hi * PointsPerDecade + 1e-9);
        for (int e = first; e <= last; e++)
        {
            int n = (int)Math.Round(Math.Pow(10, (double)e / PointsPerDecade));
            if (list.Count == 0 || list[^1] != n) list.Add(n);
        }
        return [.. list];
    }
}

/// <summary>A parsed, validated campaign file.</summary>
public sealed record CampaignSpec(
    string Name,
    string Source,
    ImmutableArray<StudySpec> Studies,
    RuntimeSpec? Runtime,
    int MaxConcurrent,
    int MaxRetries)
{
    public CampaignSpec WithName(string name) => this with { Name = name };
}
