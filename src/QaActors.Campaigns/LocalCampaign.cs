using System.Collections.Immutable;
using System.Diagnostics;
using System.Text.Json;
using QaActors.Data;
using QaActors.Learning;
using QaActors.Sampling;

namespace QaActors.Campaigns;

/// <summary>
/// Runs a campaign's cells in this process with the direct engine (<see cref="DirectTrainer"/>: the same science as
/// the actors, no persistence of steps), one cell at a time, keeping each finished cell as a JSON file in the output
/// folder so that an interrupted run continues with the first unfinished cell. What the cluster's campaign manager
/// does for many nodes, without any node: for a laptop, and as the direct-engine baseline of the throughput benchmark.
/// </summary>
public static class LocalCampaign
{
    public const string CellsFolder = "cells";

    /// <summary>The cell's history in the trainer's names (the keys of ExperimentSummary.History).</summary>
    public static ImmutableArray<HistoryPoint> History(IEnumerable<StepMetrics> history) =>
        history.Select(m => new HistoryPoint(m.Step, ImmutableSortedDictionary.CreateRange(
        [
            KeyValuePair.Create("train_loss", m.TrainLoss), KeyValuePair.Create("test_accuracy", m.TestAccuracy),
            KeyValuePair.Create("ebm_test_accuracy", m.EbmTestAccuracy), KeyValuePair.Create("cross_entropy", m.CrossEntropy),
            KeyValuePair.Create("ebm_log_likelihood", m.EbmLogLikelihood),
        ]))).ToImmutableArray();

    /// <summary>Trains one cell. <paramref name="samplerFor"/> gives the sampler of a sampling method (null for backprop and exact).</summary>
    public static async Task<CellResult> RunCellAsync(Cell cell, string experimentId, string user, string? dataDir,
        Func<TrainingConfig, ISampler?> samplerFor, CancellationToken ct)
    {
        var config = cell.ToTrainingConfig();
        var task = PairTask.Load(DatasetSpec.Parse(cell.Dataset), cell.ClassA, cell.ClassB,
            DataSize.Parse(cell.Settings.TrainSize, "train-size"), DataSize.Parse(cell.Settings.TestSize, "test-size"), cell.Seed, dataDir);
        config = config with { TrainSize = task.Train.Count, TestSize = task.Test.Count };
        var sampler = config.Method.NeedsSampler() ? samplerFor(config) : null;
        var watch = Stopwatch.StartNew();
        TrainingResult r;
        try { r = await DirectTrainer.RunAsync(config, task.Train, task.Test, sampler, null, ct).ConfigureAwait(false); }
        finally { (sampler as IDisposable)?.Dispose(); }
        double wall = watch.Elapsed.TotalSeconds;
        var prov = CellProvenance.None;
        if (config.Method.NeedsSampler())
        {
            long examples = (long)config.Steps * config.Batch;
            double Total(string key) => r.SamplerTotals.TryGetValue(key, out var v) ? v : 0;
            // The direct engine has no gateway, hence no fallback: every example was served by the method's sampler.
            long chainSamples = config.Method == TrainingMethod.Qpu ? examples : 0;
            prov = new CellProvenance(ImmutableSortedDictionary.CreateRange([KeyValuePair.Create(config.Method.ToWire(), examples)]),
                ImmutableSortedDictionary<string, long>.Empty, Total("qpu_access_time") / 1e6,
                chainSamples == 0 ? 0 : Total("chain_break_fraction") / chainSamples, chainSamples, (long)Total("clipped"));
        }
        return CellResult.For(cell, experimentId, user, CellStatus.Completed) with
        {
            Attempts = 1, History = History(r.History), Provenance = prov, WallSeconds = wall,
        };
    }

    public static string CellPath(string outDir, string experimentId) => Path.Combine(outDir, CellsFolder, experimentId + ".json");

    public static void Save(string outDir, CellResult result)
    {
        Directory.CreateDirectory(Path.Combine(outDir, CellsFolder));
        CampaignReport.WriteAtomically(CellPath(outDir, result.ExperimentId), JsonSerializer.Serialize(result, CampaignReport.JsonOptions));
    }

    public static CellResult? TryLoad(string outDir, string experimentId)
    {
        string path = CellPath(outDir, experimentId);
        if (!File.Exists(path)) return null;
        return JsonSerializer.Deserialize<CellResult>(File.ReadAllText(path), CampaignReport.JsonOptions)
            ?? throw new InvalidDataException($"{path} holds no cell result");
    }
}
