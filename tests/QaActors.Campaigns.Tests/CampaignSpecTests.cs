using QaActors.Campaigns;
using QaActors.Learning;
using Xunit;

namespace QaActors.Campaigns.Tests;

public class CampaignSpecTests
{
    private const string Example = """
        campaign {
          name = "example"
          datasets = [ { dataset = mnist, pairs = ["2,3", "0,1"] }, { dataset = fashion-mnist, pairs = ["2,3"] } ]
          methods = [backprop, gibbs]
          seeds = [1, 2, 3]
          settings { train-size = 20, batch = 5, lr = 0.1, steps = 20 }
          max-concurrent = 4
        }
        """;

    private static CampaignSpecException Bad(string text) => Assert.Throws<CampaignSpecException>(() => CampaignParser.Parse(text, "bad.conf"));

    private static string With(string replaceWhat, string by) => Example.Replace(replaceWhat, by, StringComparison.Ordinal);

    [Fact]
    public void The_issue_form_expands_to_its_grid_in_file_order()
    {
        var spec = CampaignParser.Parse(Example, "example.conf");
        Assert.Equal("example", spec.Name);
        Assert.Equal(4, spec.MaxConcurrent);
        Assert.Equal(2, spec.MaxRetries);
        var cells = CampaignGrid.Expand(spec);
        Assert.Equal(3 * 2 * 3, cells.Length);
        Assert.Equal(("mnist", 2, 3, TrainingMethod.Backprop, 1UL), (cells[0].Dataset, cells[0].ClassA, cells[0].ClassB, cells[0].Method, cells[0].Seed));
        Assert.Equal(("mnist", 2, 3, TrainingMethod.Backprop, 3UL), (cells[2].Dataset, cells[2].ClassA, cells[2].ClassB, cells[2].Method, cells[2].Seed));
        Assert.Equal(TrainingMethod.Gibbs, cells[3].Method);
        Assert.Equal(("fashion-mnist", 2, 3), (cells[^1].Dataset, cells[^1].ClassA, cells[^1].ClassB));
        Assert.All(cells, c => Assert.Equal((20, 5, 0.1, "20"), (c.Settings.Steps, c.Settings.Batch, c.Settings.LearningRate, c.Settings.TrainSize)));
        Assert.Equal(cells.Length, cells.Select(c => c.Key).Distinct().Count());
    }

    [Fact]
    public void Ids_are_stable_unique_valid_and_depend_on_user_name_and_settings()
    {
        var spec = CampaignParser.Parse(Example, "example.conf");
        string id = CampaignGrid.CampaignId(spec, "alice");
        Assert.Equal(id, CampaignGrid.CampaignId(CampaignParser.Parse(Example, "elsewhere.conf"), "alice"));
        Assert.StartsWith("example-", id, StringComparison.Ordinal);
        Assert.NotEqual(id, CampaignGrid.CampaignId(spec, "bob"));
        Assert.NotEqual(id, CampaignGrid.CampaignId(spec.WithName("other"), "alice"));
        Assert.NotEqual(id, CampaignGrid.CampaignId(CampaignParser.Parse(With("steps = 20", "steps = 21"), "x"), "alice"));
        var ids = CampaignGrid.Expand(spec).Select(c => CampaignGrid.ExperimentId(id, c)).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, e => Assert.True(e.Length <= 64 && e.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_'), e));
        Assert.Equal($"{id}-m-2-3-backprop-s1", ids[0]);
        var huge = new Cell(Study.Equivalence, "idx:/some/where/very/long", 254, 255, TrainingMethod.Backprop, ulong.MaxValue, new CellSettings());
        string longId = CampaignGrid.ExperimentId(CampaignGrid.CampaignId(spec.WithName(new string('n', 80)), "alice"), huge);
        Assert.True(longId.Length <= 64, longId);
        Assert.Equal(longId, CampaignGrid.ExperimentId(CampaignGrid.CampaignId(spec.WithName(new string('n', 80)), "alice"), huge));
    }

    [Fact]
    public void Method_overrides_apply_to_their_method_only()
    {
        var spec = CampaignParser.Parse(With("methods = [backprop, gibbs]", "methods = [backprop, gibbs, qpu]")
            .Replace("max-concurrent = 4", "overrides {\n qpu { t-eff = 16, tiles = 5 }\n gibbs { sweeps = 500, reads = 50 }\n }"), "o.conf");
        var cells = CampaignGrid.Expand(spec);
        var qpu = cells.First(c => c.Method == TrainingMethod.Qpu);
        var gibbs = cells.First(c => c.Method == TrainingMethod.Gibbs);
        var bp = cells.First(c => c.Method == TrainingMethod.Backprop);
        Assert.Equal((16.0, 5, 100), (qpu.Settings.TEff, qpu.Settings.Tiles, qpu.Settings.Reads));
        Assert.Equal((500, 50, 1), (gibbs.Settings.Sweeps, gibbs.Settings.Reads, gibbs.Settings.Tiles));
        Assert.Null(bp.Settings.Sweeps);
        var qc = qpu.ToTrainingConfig();
        Assert.Equal((TrainingMethod.Qpu, 16.0, 5), (qc.Method, qc.TEff, qc.Tiles));
        // t-eff and tiles concern the QPU: a classical cell's configuration is valid whatever the shared settings say.
        var gc = CampaignGrid.Expand(CampaignParser.Parse(With("steps = 20", "steps = 20, t-eff = 8, tiles = 3"), "s.conf")).First(c => c.Method == TrainingMethod.Gibbs).ToTrainingConfig();
        Assert.Equal((1.0, 1), (gc.TEff, gc.Tiles));
        gc.Validate();
    }

    [Fact]
    public void Random_pairs_are_distinct_reproducible_and_seed_dependent()
    {
        string text = With("{ dataset = fashion-mnist, pairs = [\"2,3\"] }", "{ dataset = fashion-mnist, random-pairs = 5, pair-seed = 7 }");
        var a = CampaignParser.Parse(text, "r.conf").Studies[0].Datasets[1].Pairs;
        var b = CampaignParser.Parse(text, "r.conf").Studies[0].Datasets[1].Pairs;
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.Equal(5, a.Length);
        Assert.Equal(5, a.Distinct().Count());
        Assert.All(a, p => Assert.True(p.A < p.B && p.A >= 0 && p.B <= 9));
        var c = CampaignParser.Parse(text.Replace("pair-seed = 7", "pair-seed = 8"), "r.conf").Studies[0].Datasets[1].Pairs;
        Assert.NotEqual(a.ToArray(), c.ToArray());
        Assert.Equal(45, RandomPairs.Draw(45, 10, 1).Distinct().Count());
    }

    [Fact]
    public void The_paper_campaign_is_the_papers_grid()
    {
        string text = CampaignParser.Embedded("paper") ?? throw new InvalidOperationException("paper.conf is not embedded");
        var spec = CampaignParser.Parse(text, "paper.conf");
        var cells = CampaignGrid.Expand(spec);
        var training = cells.Where(c => c.Study == Study.Training).ToList();
        Assert.Equal(16 * 3 * 5, training.Count);
        Assert.Equal(11, training.Where(c => c.Dataset == "mnist").Select(c => c.PairLabel).Distinct().Count());
        Assert.Equal(5, training.Where(c => c.Dataset == "fashion-mnist").Select(c => c.PairLabel).Distinct().Count());
        var q = training.First(c => c.Method == TrainingMethod.Qpu);
        Assert.Equal((16.0, false), (q.Settings.TEff, q.Settings.AutoTemperature));
        Assert.All(training, c => Assert.Equal((20, 5, 0.1, "20"), (c.Settings.Steps, c.Settings.Batch, c.Settings.LearningRate, c.Settings.TrainSize)));
        var eq = cells.Where(c => c.Study == Study.Equivalence).ToList();
        Assert.Equal(7 * 2, eq.Count);
        Assert.All(eq, c => Assert.Equal((250, 1000, 0.001, "all"), (c.Settings.Steps, c.Settings.Batch, c.Settings.LearningRate, c.Settings.TrainSize)));
        Assert.Equal([TrainingMethod.Backprop, TrainingMethod.Exact], eq.Select(c => c.Method).Distinct().ToArray());
        Assert.NotNull(spec.Runtime);
        var sizes = spec.Runtime!.Sizes();
        Assert.Equal(10, sizes[0]);
        Assert.Equal(10_000_000, sizes[^1]);
        Assert.Equal(13, sizes.Length);
        Assert.Equal(32, sizes[1]);
        Assert.NotNull(CampaignParser.Parse(CampaignParser.Embedded("example")!, "example.conf"));
    }

    [Theory]
    [InlineData("max-concurrent = 4", "max-concurrent = 4\n sweep = 3", "campaign.sweep", "unknown key")]
    [InlineData("steps = 20", "steps = 20, stepz = 3", "campaign.settings.stepz", "settings take")]
    [InlineData("steps = 20", "steps = 0", "campaign.settings.steps", "from 1 to")]
    [InlineData("lr = 0.1", "lr = fast", "campaign.settings.lr", "must be a number")]
    [InlineData("methods = [backprop, gibbs]", "methods = [backprop, gibs]", "campaign.methods[1]", "use backprop, exact, gibbs, anneal, qpu")]
    [InlineData("methods = [backprop, gibbs]", "methods = [gibbs, gibbs]", "campaign.methods[1]", "twice")]
    [InlineData("seeds = [1, 2, 3]", "seeds = [1, -2]", "campaign.seeds[1]", "not a seed")]
    [InlineData("seeds = [1, 2, 3]", "seeds = []", "campaign.seeds", "empty")]
    [InlineData("pairs = [\"2,3\", \"0,1\"]", "pairs = [\"2,3\", \"0,10\"]", "campaign.datasets[0].pairs[1]", "classes 0 to 9")]
    [InlineData("pairs = [\"2,3\", \"0,1\"]", "pairs = [\"2,3\", \"3,2\"]", "campaign.datasets[0].pairs[1]", "twice")]
    [InlineData("pairs = [\"2,3\", \"0,1\"]", "pairs = [\"4,4\"]", "campaign.datasets[0].pairs[0]", "itself")]
    [InlineData("dataset = mnist", "dataset = cifar", "campaign.datasets[0].dataset", "mnist, fashion-mnist or idx:PATH")]
    [InlineData("dataset = mnist,", "dataset = mnist, pair-seed = 3,", "campaign.datasets[0].pair-seed", "random-pairs only")]
    [InlineData("batch = 5", "batch = 50", "campaign.settings.batch", "larger than train-size 20")]
    [InlineData("max-concurrent = 4", "max-concurrent = 0", "campaign.max-concurrent", "from 1 to 1000")]
    [InlineData("max-concurrent = 4", "overrides { qpu { t-eff = 16 } }", "campaign.overrides.qpu", "does not run")]
    [InlineData("max-concurrent = 4", "overrides { gibbs { t-eff = hot } }", "campaign.overrides.gibbs.t-eff", "must be a number")]
    [InlineData("steps = 20 }", "steps = 20, fallback = qpu }", "campaign.settings.fallback", "gibbs, anneal, none")]
    [InlineData("name = \"example\"", "name = \"\"", "campaign.name", "empty")]
    [InlineData("max-concurrent = 4\n}", "max-concurrent = 4\n", "line 1", "never closed")]
    public void Bad_input_names_file_key_and_allowed_values(string what, string by, string keyPath, string says)
    {
        var e = Bad(With(what, by));
        Assert.Equal("bad.conf", e.File);
        Assert.Equal(keyPath, e.KeyPath);
        Assert.Contains(says, e.Problem, StringComparison.Ordinal);
        Assert.StartsWith($"bad.conf: {keyPath}: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_without_a_campaign_block_or_work_is_refused()
    {
        Assert.Equal("name", Bad("name = x").KeyPath);
        Assert.Equal("campaign", Bad("campaign { name = x }").KeyPath);
        Assert.Equal("campaign.datasets", Bad("campaign { name = x, methods = [gibbs], seeds = [1] }").KeyPath);
        var e = Assert.Throws<CampaignSpecException>(() => CampaignParser.ParseFile("/nonexistent/campaign.conf"));
        Assert.Equal("(file)", e.KeyPath);
    }
}
