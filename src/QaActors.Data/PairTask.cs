using System.Globalization;
using QaActors.Sampling;

namespace QaActors.Data;

/// <summary>
/// A two-class task (<c>--classes A,B</c>): label 0 for class A, 1 for class B, pixels in [0, 1].
/// Train and test are balanced, disjoint, and chosen as <see cref="DatasetSplit.SelectionRule"/> says; the
/// dataset's split rule (how its images were divided into train and test) is <see cref="SplitRule"/>.
/// </summary>
public sealed record PairTask(Dataset Dataset, int ClassA, int ClassB, LabeledSet Train, LabeledSet Test, string SplitRule)
{
    /// <summary>Dataset indices of <see cref="Train"/>'s rows, in row order.</summary>
    public required int[] TrainIndices { get; init; }
    /// <summary>Dataset indices of <see cref="Test"/>'s rows, in row order.</summary>
    public required int[] TestIndices { get; init; }

    /// <summary>Loads <paramref name="spec"/> from <paramref name="dataDir"/> (null: the default data directory) and builds the task.</summary>
    public static PairTask Load(DatasetSpec spec, int classA, int classB, DataSize trainSize, DataSize testSize, ulong seed, string? dataDir = null) =>
        Create(new DataStore(dataDir).Load(spec), classA, classB, trainSize, testSize, seed);

    /// <summary>Builds the task from an already loaded dataset.</summary>
    public static PairTask Create(Dataset dataset, int classA, int classB, DataSize trainSize, DataSize testSize, ulong seed)
    {
        CheckClasses(dataset, classA, classB);
        var trainA = dataset.IndicesOf(classA, ImageRole.Train);
        var trainB = dataset.IndicesOf(classB, ImageRole.Train);
        var testA = dataset.IndicesOf(classA, ImageRole.Test);
        var testB = dataset.IndicesOf(classB, ImageRole.Test);

        var train = Choose(dataset, classA, classB, trainA, trainB, trainSize, "--train-size", "training", seed, DatasetSplit.StepTrainChoice);
        // Mixing the two classes keeps every minibatch of a sequential pass two-class.
        DatasetSplit.Shuffle(train.AsSpan(), SeedPolicy.For(seed, DatasetSplit.StepTrainOrder, 0, SeedPolicy.Purpose.Split));
        var test = Choose(dataset, classA, classB, testA, testB, testSize, "--test-size", "test", DatasetSplit.FixedSplitSeed, DatasetSplit.StepTestChoice);
        Array.Sort(test);

        Func<byte, byte> label = PairLabel(classA);
        return new PairTask(dataset, classA, classB, dataset.ToLabeledSet(train, label), dataset.ToLabeledSet(test, label), dataset.SplitRule)
        {
            TrainIndices = train,
            TestIndices = test,
        };
    }

    /// <summary>Every image of the two classes on one side of the split (or both), in dataset order, labelled 0/1 (<c>qa eval --split</c>).</summary>
    public static LabeledSet LoadAll(DatasetSpec spec, int classA, int classB, DataSplit split, string? dataDir = null) =>
        All(new DataStore(dataDir).Load(spec), classA, classB, split);

    public static LabeledSet All(Dataset dataset, int classA, int classB, DataSplit split)
    {
        CheckClasses(dataset, classA, classB);
        var idx = new List<int>();
        for (int i = 0; i < dataset.Count; i++)
        {
            int l = dataset.Labels[i];
            if (l != classA && l != classB) continue;
            if (split == DataSplit.All || (split == DataSplit.Train) == (dataset.Roles[i] == ImageRole.Train)) idx.Add(i);
        }
        if (idx.Count == 0)
            throw new DataException($"classes {classA},{classB} have no {SplitWord(split)} images in {dataset.Name}; use --split all");
        return dataset.ToLabeledSet(idx.ToArray(), PairLabel(classA));
    }

    /// <summary>Parses <c>--classes A,B</c>.</summary>
    public static (int A, int B) ParseClasses(string? text)
    {
        var parts = (text ?? "").Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int a)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int b))
            return (a, b);
        throw new DataException($"--classes '{text}' is not two class numbers; use --classes A,B, for example --classes 0,1");
    }

    private static Func<byte, byte> PairLabel(int classA) => l => l == classA ? (byte)0 : (byte)1;

    private static string SplitWord(DataSplit s) => s switch { DataSplit.Train => "training", DataSplit.Test => "test", _ => "" };

    private static void CheckClasses(Dataset ds, int a, int b)
    {
        foreach (int c in new[] { a, b })
            if (c < 0 || c >= ds.ClassCount)
                throw new DataException($"class {c} is not in {ds.Name}; {ds.ClassRangeText}");
        if (a == b) throw new DataException($"--classes {a},{b} names class {a} twice; give two different classes, for example --classes 0,1");
        var n = ds.CountPerClass();
        foreach (int c in new[] { a, b })
            if (n[c] == 0) throw new DataException($"class {c} has no images in {ds.Name}; choose classes that occur in its labels");
    }

    private static int[] Choose(Dataset ds, int classA, int classB, int[] poolA, int[] poolB, DataSize size,
        string option, string side, ulong seed, long step)
    {
        int avail = poolA.Length + poolB.Length;
        if (avail == 0)
            throw new DataException($"classes {classA},{classB} have no {side} images in {ds.Name}; choose other classes or another dataset");
        int n = size.Count ?? avail;
        if (n > avail)
            throw new DataException($"{option} {n} is more than the {avail.ToString("N0", CultureInfo.InvariantCulture)} {side} images of classes {classA},{classB} available in {ds.Name}; use at most {avail} or all");
        var (na, nb) = DatasetSplit.BalancedCounts(n, poolA.Length, poolB.Length);
        var chosen = new int[n];
        Prefix(poolA, na, SeedPolicy.For(seed, step, classA, SeedPolicy.Purpose.Split)).CopyTo(chosen, 0);
        Prefix(poolB, nb, SeedPolicy.For(seed, step, classB, SeedPolicy.Purpose.Split)).CopyTo(chosen, na);
        return chosen;
    }

    /// <summary>The first <paramref name="k"/> of a seeded shuffle of <paramref name="pool"/> (the whole pool is shuffled, so the choice of k items is a prefix of the choice of k+1).</summary>
    private static int[] Prefix(int[] pool, int k, Rng rng)
    {
        var copy = (int[])pool.Clone();
        DatasetSplit.Shuffle(copy.AsSpan(), rng);
        return copy[..k];
    }
}
