using System.Collections.Immutable;
using System.Text.Json.Serialization;
using QaActors.Learning;

namespace QaActors.Campaigns;

/// <summary>Where a cell's samples came from (the experiment's provenance totals, in report units: seconds).</summary>
public sealed record CellProvenance(
    [property: JsonPropertyName("samplers")] ImmutableSortedDictionary<string, long> Samplers,
    [property: JsonPropertyName("fallback_reasons")] ImmutableSortedDictionary<string, long> FallbackReasons,
    [property: JsonPropertyName("qpu_access_seconds")] double QpuAccessSeconds,
    [property: JsonPropertyName("mean_chain_break_fraction")] double MeanChainBreakFraction,
    [property: JsonPropertyName("chain_break_samples")] long ChainBreakSamples,
    [property: JsonPropertyName("clipped_biases")] long ClippedBiases)
{
    public static readonly CellProvenance None = new(ImmutableSortedDictionary<string, long>.Empty, ImmutableSortedDictionary<string, long>.Empty, 0, 0, 0, 0);

    [JsonIgnore] public long Examples => Samplers.Values.Sum();

    /// <summary>Share of the sampled examples the QPU served (NaN when nothing was sampled).</summary>
    [JsonIgnore] public double QpuShare => Examples == 0 ? double.NaN : (Samplers.TryGetValue("qpu", out var q) ? q : 0) / (double)Examples;

    [JsonIgnore] public long FallbackExamples => FallbackReasons.Values.Sum();
}

/// <summary>One recorded step of a cell's history: the trainer's metrics by name (test_accuracy, train_loss, ...).</summary>
public sealed record HistoryPoint(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("values")] ImmutableSortedDictionary<string, double> Values)
{
    public double? Get(string name) => Values.TryGetValue(name, out var v) ? v : null;
}

/// <summary>The states of a cell in a campaign.</summary>
public static class CellStatus
{
    public const string Waiting = "waiting", Running = "running", Completed = "completed", Failed = "failed", Cancelled = "cancelled";
}

/// <summary>
/// What a campaign knows of one cell: its identity and settings, its state, and once it ran, the experiment's
/// history (as the trainer records it), provenance totals, wall time and the node that ran its last step (null for a
/// local run). The report is computed from these alone.
/// </summary>
public sealed record CellResult(
    [property: JsonPropertyName("experiment_id")] string ExperimentId,
    [property: JsonPropertyName("study")] Study Study,
    [property: JsonPropertyName("dataset")] string Dataset,
    [property: JsonPropertyName("class_a")] int ClassA,
    [property: JsonPropertyName("class_b")] int ClassB,
    [property: JsonPropertyName("method")] TrainingMethod Method,
    [property: JsonPropertyName("seed")] ulong Seed,
    [property: JsonPropertyName("settings")] CellSettings Settings,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("attempts")] int Attempts,
    [property: JsonPropertyName("user")] string User,
    [property: JsonPropertyName("history")] ImmutableArray<HistoryPoint> History,
    [property: JsonPropertyName("provenance")] CellProvenance Provenance,
    [property: JsonPropertyName("wall_seconds")] double WallSeconds,
    [property: JsonPropertyName("node")] string? Node = null)
{
    public static CellResult For(Cell cell, string experimentId, string user, string status = CellStatus.Waiting) =>
        new(experimentId, cell.Study, cell.Dataset, cell.ClassA, cell.ClassB, cell.Method, cell.Seed, cell.Settings, status, null, 0, user,
            [], CellProvenance.None, 0);

    [JsonIgnore] public string PairLabel => $"{ClassA}-{ClassB}";

    /// <summary>(step, MLP test accuracy) of the recorded evaluations, in step order.</summary>
    [JsonIgnore]
    public IReadOnlyList<(int Step, double TestAccuracy)> Accuracies =>
        History.Where(h => h.Values.ContainsKey("test_accuracy")).OrderBy(h => h.Step).Select(h => ((int)h.Step, h.Values["test_accuracy"])).ToList();

    [JsonIgnore] public bool IsCompleted => Status == CellStatus.Completed;

    /// <summary>Table 3's rule (<see cref="Metrics.IsSuccess"/>; docs/campaigns.md).</summary>
    [JsonIgnore] public bool Success => IsCompleted && Metrics.IsSuccess(Accuracies);

    [JsonIgnore] public int? StepsTo70 => Metrics.StepsTo70(Accuracies);

    [JsonIgnore] public double? FinalAccuracy => Accuracies.Count == 0 ? null : Accuracies[^1].TestAccuracy;
}
