using QaActors.Campaigns;
using Xunit;

namespace QaActors.Campaigns.Tests;

/// <summary>The image counts a campaign's experiments record (docs/campaigns.md, "On a node"), from the cached datasets.</summary>
public class CampaignDataTests
{
    private static CampaignSpec Spec(string settings) => CampaignParser.Parse($$"""
        campaign {
          name = "sizes"
          datasets = [ { dataset = mnist, pairs = ["0,1", "2,3"] } ]
          methods = [backprop, gibbs]
          seeds = [1, 2]
          settings { {{settings}} }
          overrides { gibbs { test-size = 40 } }
        }
        """, "sizes.conf");

    [Fact]
    public void Every_cell_gets_the_counts_of_its_task_and_its_config_records_them()
    {
        var cells = CampaignGrid.Expand(Spec("train-size = 20, test-size = all"));
        var sizes = CampaignData.Resolve(cells, null, "sizes.conf");
        // One entry per (pair, sizes): the seed never changes a count, the method only through its own settings.
        Assert.Equal(4, sizes.Count);
        var all01 = QaActors.Data.PairTask.Load(QaActors.Data.DatasetSpec.Parse("mnist"), 0, 1, QaActors.Data.DataSize.Parse("20", "train-size"),
            QaActors.Data.DataSize.Parse("all", "test-size"), 7).Test.Count;
        foreach (var c in cells)
        {
            var config = CampaignData.ConfigOf(c, sizes);
            Assert.Equal(20, config.TrainSize);
            if (c.Method == QaActors.Learning.TrainingMethod.Gibbs) Assert.Equal(40, config.TestSize);
            else if (c.ClassA == 0) Assert.Equal(all01, config.TestSize);
            Assert.True(config.TestSize > 20, c.Key);
            // Everything else is the cell's own configuration.
            Assert.Equal(c.ToTrainingConfig() with { TrainSize = config.TrainSize, TestSize = config.TestSize }, config);
        }
        // A campaign recorded without counts keeps the configuration it had.
        Assert.Equal(cells[0].ToTrainingConfig(), CampaignData.ConfigOf(cells[0], null));
    }

    [Fact]
    public void A_size_the_pair_cannot_serve_names_the_cell()
    {
        var cells = CampaignGrid.Expand(Spec("train-size = 1000000, batch = 5"));
        var e = Assert.Throws<CampaignSpecException>(() => CampaignData.Resolve(cells, null, "sizes.conf"));
        Assert.Equal("campaign.datasets", e.KeyPath);
        Assert.StartsWith("sizes.conf: campaign.datasets: cell m-0-1-backprop-s1: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("train-size 1000000", e.Message, StringComparison.Ordinal);
    }
}
