using System.Collections.Immutable;
using System.Globalization;
using QaActors.Data;
using QaActors.Learning;

namespace QaActors.Campaigns;

/// <summary>How many training and test images a cell's data task holds (what its experiment records as train / test size).</summary>
public sealed record DataSizes(int Train, int Test);

/// <summary>
/// The image counts of a campaign's data tasks, resolved once on the node that accepts the campaign (its data dir) and
/// kept with the campaign, so every cell's experiment spec, sent again after a restart or from another node, records
/// the same train / test size as a `qa train` of that task does (a count depends on the dataset, the pair and the size
/// settings, never on the seed: a balanced choice of N images, or all of the pair's).
/// </summary>
public static class CampaignData
{
    /// <summary>The key of a cell's data task in <see cref="Resolve"/>'s answer.</summary>
    public static string SizeKey(Cell cell) =>
        string.Create(CultureInfo.InvariantCulture, $"{cell.Dataset}:{cell.ClassA},{cell.ClassB}:{cell.Settings.TrainSize}:{cell.Settings.TestSize}");

    /// <summary>
    /// Loads each dataset of <paramref name="cells"/> once from <paramref name="dataDir"/> and counts every distinct
    /// task's images. Throws <see cref="CampaignSpecException"/> naming the cell when its data cannot be loaded or
    /// its sizes do not fit the pair.
    /// </summary>
    public static ImmutableSortedDictionary<string, DataSizes> Resolve(IEnumerable<Cell> cells, string? dataDir, string source)
    {
        var sizes = ImmutableSortedDictionary.CreateBuilder<string, DataSizes>(StringComparer.Ordinal);
        var store = new DataStore(dataDir);
        foreach (var byDataset in cells.GroupBy(c => c.Dataset, StringComparer.Ordinal))
        {
            Dataset dataset;
            try { dataset = store.Load(DatasetSpec.Parse(byDataset.Key)); }
            catch (Exception e) when (e is ArgumentException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException or FormatException or DataException)
            {
                throw new CampaignSpecException(source, "campaign.datasets", $"dataset {byDataset.Key}: the node cannot load it: {e.Message}");
            }
            foreach (var cell in byDataset)
            {
                string key = SizeKey(cell);
                if (sizes.ContainsKey(key)) continue;
                try
                {
                    var task = PairTask.Create(dataset, cell.ClassA, cell.ClassB, DataSize.Parse(cell.Settings.TrainSize, "train-size"),
                        DataSize.Parse(cell.Settings.TestSize, "test-size"), cell.Seed);
                    sizes[key] = new DataSizes(task.Train.Count, task.Test.Count);
                }
                catch (Exception e) when (e is ArgumentException or DataException)
                {
                    throw new CampaignSpecException(source, "campaign.datasets", $"cell {cell.Key}: {e.Message}");
                }
            }
        }
        return sizes.ToImmutable();
    }

    /// <summary>The cell's training configuration with the train / test size of its resolved task (unchanged without one).</summary>
    public static TrainingConfig ConfigOf(Cell cell, IReadOnlyDictionary<string, DataSizes>? sizes) =>
        sizes is not null && sizes.TryGetValue(SizeKey(cell), out var s)
            ? cell.ToTrainingConfig() with { TrainSize = s.Train, TestSize = s.Test }
            : cell.ToTrainingConfig();
}
