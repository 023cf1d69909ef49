namespace QaActors.Data.Tests;

public sealed class PairTaskTests
{
    /// <summary>
    /// Class 0: 30 train + 10 test, class 1: 25 train + 8 test, class 2: 5 train + 2 test, interleaved.
    /// Each image's pixels spell its index (bytes 0,1) so a row can be traced back.
    /// </summary>
    private static Dataset Toy()
    {
        var spec = new (int Cls, ImageRole Role, int N)[]
        {
            (0, ImageRole.Train, 30), (1, ImageRole.Train, 25), (2, ImageRole.Train, 5),
            (0, ImageRole.Test, 10), (1, ImageRole.Test, 8), (2, ImageRole.Test, 2),
        };
        var labels = new List<byte>();
        var roles = new List<ImageRole>();
        foreach (var (c, r, n) in spec)
            for (int i = 0; i < n; i++) { labels.Add((byte)c); roles.Add(r); }
        // interleave deterministically so classes are not in blocks
        var order = Enumerable.Range(0, labels.Count).OrderBy(i => (i * 37) % labels.Count).ToArray();
        var l = order.Select(i => labels[i]).ToArray();
        var ro = order.Select(i => roles[i]).ToArray();
        var px = new byte[l.Length * 4];
        for (int i = 0; i < l.Length; i++) { px[i * 4] = (byte)(i & 255); px[i * 4 + 1] = (byte)(i >> 8); px[i * 4 + 2] = 255; }
        return new Dataset("toy", 2, 2, 3, null, px, l, ro, "toy rule");
    }

    [Fact]
    public void Train_and_test_are_balanced_disjoint_and_labelled_zero_for_A_one_for_B()
    {
        var d = Toy();
        var task = PairTask.Create(d, 1, 0, DataSize.Of(20), DataSize.Of(10), seed: 7);
        Assert.Equal(20, task.Train.Count);
        Assert.Equal(10, task.Test.Count);
        Assert.Empty(task.TrainIndices.Intersect(task.TestIndices));
        Assert.Equal(20, task.TrainIndices.Distinct().Count());
        Assert.All(task.TrainIndices, i => Assert.Equal(ImageRole.Train, d.Roles[i]));
        Assert.All(task.TestIndices, i => Assert.Equal(ImageRole.Test, d.Roles[i]));
        for (int k = 0; k < task.Train.Count; k++)
            Assert.Equal(d.Labels[task.TrainIndices[k]] == 1 ? 0 : 1, task.Train.Y[k]);
        Assert.Equal(10, task.Train.Y.Count(y => y == 0));
        Assert.Equal(5, task.Test.Y.Count(y => y == 0));
        // rows are the dataset's pixels divided by 255
        int idx = task.TrainIndices[3];
        Assert.Equal(d.Image(idx)[0] / 255f, task.Train.Row(3)[0]);
        Assert.Equal(1f, task.Train.Row(3)[2]);
        Assert.Equal("toy rule", task.SplitRule);
        // the two classes are mixed in the training order, not in two blocks
        Assert.Contains(Enumerable.Range(1, 19), k => task.Train.Y[k] != task.Train.Y[k - 1] && k != 10);
    }

    [Fact]
    public void Odd_sizes_give_class_A_the_extra_image_and_a_short_class_is_made_up_by_the_other()
    {
        var d = Toy();
        var odd = PairTask.Create(d, 0, 1, DataSize.Of(7), DataSize.Of(3), 1);
        Assert.Equal(4, odd.Train.Y.Count(y => y == 0));
        Assert.Equal(2, odd.Test.Y.Count(y => y == 0));
        // class 2 has 5 training images: all 5 are used and class 0 fills up to 12
        var shortB = PairTask.Create(d, 0, 2, DataSize.Of(12), DataSize.All, 1);
        Assert.Equal(5, shortB.Train.Y.Count(y => y == 1));
        Assert.Equal(7, shortB.Train.Y.Count(y => y == 0));
        Assert.Equal(12, shortB.Test.Count);
        var all = PairTask.Create(d, 0, 1, DataSize.All, DataSize.All, 1);
        Assert.Equal((55, 18), (all.Train.Count, all.Test.Count));
    }

    [Fact]
    public void Same_seed_same_task_other_seed_other_training_images_but_the_same_test_set()
    {
        var d = Toy();
        var a = PairTask.Create(d, 0, 1, DataSize.Of(10), DataSize.Of(6), 42);
        var b = PairTask.Create(d, 0, 1, DataSize.Of(10), DataSize.Of(6), 42);
        var c = PairTask.Create(d, 0, 1, DataSize.Of(10), DataSize.Of(6), 43);
        Assert.Equal(a.TrainIndices, b.TrainIndices);
        Assert.Equal(a.Train.X, b.Train.X);
        Assert.NotEqual(a.TrainIndices.Order(), c.TrainIndices.Order());
        Assert.Equal(a.TestIndices, c.TestIndices);
        // a larger size extends a smaller one's choice per class (prefix of one seeded shuffle)
        var big = PairTask.Create(d, 0, 1, DataSize.Of(20), DataSize.Of(6), 42);
        Assert.Subset(big.TrainIndices.ToHashSet(), a.TrainIndices.ToHashSet());
    }

    [Fact]
    public void Seeds_spread_the_choice_over_the_whole_training_pool()
    {
        // With 30 class-0 training images and 5 chosen per seed, 200 seeds should touch every image
        // roughly 200*5/30 = 33 times; a broken shuffle (e.g. always the first 5) fails this.
        var d = Toy();
        var hits = new Dictionary<int, int>();
        for (ulong s = 0; s < 200; s++)
            foreach (int i in PairTask.Create(d, 0, 1, DataSize.Of(10), DataSize.Of(2), s).TrainIndices.Where(i => d.Labels[i] == 0))
                hits[i] = hits.GetValueOrDefault(i) + 1;
        Assert.Equal(30, hits.Count);
        Assert.All(hits.Values, h => Assert.InRange(h, 15, 55));
    }

    [Fact]
    public void LoadAll_returns_every_image_of_the_pair_on_the_chosen_side()
    {
        var d = Toy();
        var train = PairTask.All(d, 2, 0, DataSplit.Train);
        var test = PairTask.All(d, 2, 0, DataSplit.Test);
        var all = PairTask.All(d, 2, 0, DataSplit.All);
        Assert.Equal((35, 12, 47), (train.Count, test.Count, all.Count));
        Assert.Equal(5, train.Y.Count(y => y == 0));
        Assert.Equal(7, all.Y.Count(y => y == 0));
    }

    [Fact]
    public void Bad_requests_name_the_problem_and_the_fix()
    {
        var d = Toy();
        Assert.Equal("class 11 is not in toy; classes are 0-2",
            Assert.Throws<DataException>(() => PairTask.Create(d, 0, 11, DataSize.All, DataSize.All, 1)).Message);
        Assert.Contains("names class 1 twice",
            Assert.Throws<DataException>(() => PairTask.Create(d, 1, 1, DataSize.All, DataSize.All, 1)).Message);
        Assert.Equal("--train-size 5000 is more than the 55 training images of classes 0,1 available in toy; use at most 55 or all",
            Assert.Throws<DataException>(() => PairTask.Create(d, 0, 1, DataSize.Of(5000), DataSize.All, 1)).Message);
        Assert.Contains("--test-size 19 is more than the 18 test images",
            Assert.Throws<DataException>(() => PairTask.Create(d, 0, 1, DataSize.Of(5), DataSize.Of(19), 1)).Message);
    }

    [Fact]
    public void Balanced_counts_follow_the_documented_rule()
    {
        Assert.Equal((3, 2), DatasetSplit.BalancedCounts(5, 10, 10));
        Assert.Equal((2, 8), DatasetSplit.BalancedCounts(10, 2, 10));
        Assert.Equal((9, 1), DatasetSplit.BalancedCounts(10, 10, 1));
        Assert.Equal((10, 1), DatasetSplit.BalancedCounts(11, 10, 1));
    }
}

public sealed class ParsingTests
{
    [Fact]
    public void Dataset_spec_parses_the_three_forms_and_lists_them_on_error()
    {
        Assert.Same(DatasetSpec.Mnist, DatasetSpec.Parse("mnist"));
        Assert.Same(DatasetSpec.FashionMnist, DatasetSpec.Parse(" Fashion-MNIST "));
        var idx = DatasetSpec.Parse("idx:/data/../data/mnist");
        Assert.Equal(DatasetKind.Idx, idx.Kind);
        Assert.Equal(Path.GetFullPath("/data/mnist"), idx.Path);
        Assert.Equal("idx:" + Path.GetFullPath("/data/mnist"), idx.Name);
        Assert.Equal(Path.GetFullPath("rel"), DatasetSpec.Parse("idx:rel").Path);
        var e = Assert.Throws<DataException>(() => DatasetSpec.Parse("cifar10"));
        Assert.StartsWith("unknown dataset 'cifar10'; use mnist, fashion-mnist or idx:PATH", e.Message);
        Assert.Contains("names no folder", Assert.Throws<DataException>(() => DatasetSpec.Parse("idx:")).Message);
    }

    [Fact]
    public void Sizes_and_classes_parse_or_explain()
    {
        Assert.True(DataSize.Parse("all").IsAll);
        Assert.Equal(20, DataSize.Parse("20").Count);
        Assert.Equal("all", DataSize.All.ToString());
        Assert.Equal("--train-size '-3' is not valid; use a positive whole number or all",
            Assert.Throws<DataException>(() => DataSize.Parse("-3", "--train-size")).Message);
        Assert.Throws<DataException>(() => DataSize.Parse("0", "--test-size"));
        Assert.Throws<DataException>(() => DataSize.Parse("1e3", "--test-size"));
        Assert.Equal((2, 3), PairTask.ParseClasses("2, 3"));
        Assert.Contains("use --classes A,B", Assert.Throws<DataException>(() => PairTask.ParseClasses("2;3")).Message);
        Assert.Throws<DataException>(() => PairTask.ParseClasses("1,2,3"));
    }
}
