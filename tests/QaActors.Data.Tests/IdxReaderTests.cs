namespace QaActors.Data.Tests;

public sealed class IdxReaderTests
{
    private static byte Pixel(int i, int j) => (byte)((i * 31 + j * 7) % 256);

    /// <summary>A 4x3-pixel IDX folder: 10 training images with labels i%3, 4 test images with labels (i+1)%3.</summary>
    private static void WriteFolder(string dir, bool gzip, bool dotted = false)
    {
        void Put(string name, byte[] data)
        {
            if (dotted) name = name.Replace("-idx", ".idx");
            File.WriteAllBytes(Path.Combine(dir, gzip ? name + ".gz" : name), gzip ? TestFiles.Gzip(data) : data);
        }
        Put("train-images-idx3-ubyte", TestFiles.IdxImages(10, 4, 3, Pixel));
        Put("train-labels-idx1-ubyte", TestFiles.IdxLabels(Enumerable.Range(0, 10).Select(i => (byte)(i % 3)).ToArray()));
        Put("t10k-images-idx3-ubyte", TestFiles.IdxImages(4, 4, 3, (i, j) => Pixel(100 + i, j)));
        Put("t10k-labels-idx1-ubyte", TestFiles.IdxLabels(Enumerable.Range(0, 4).Select(i => (byte)((i + 1) % 3)).ToArray()));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void LoadFolder_reads_both_splits_with_their_pixels_labels_and_roles(bool gzip, bool dotted)
    {
        using var t = new TempDir();
        WriteFolder(t.Path, gzip, dotted);
        var ds = DatasetSpec.Parse("idx:" + t.Path);
        var d = new DataStore(t.File("unused")).Load(ds);

        Assert.Equal("idx:" + t.Path, d.Name);
        Assert.Equal((4, 3, 14, 3), (d.Rows, d.Cols, d.Count, d.ClassCount));
        Assert.Equal(10, d.Roles.Count(r => r == ImageRole.Train));
        Assert.All(d.Roles.Skip(10), r => Assert.Equal(ImageRole.Test, r));
        Assert.Equal(new byte[] { 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1 }, d.Labels);
        for (int j = 0; j < 12; j++)
        {
            Assert.Equal(Pixel(7, j), d.Image(7)[j]);
            Assert.Equal(Pixel(102, j), d.Image(12)[j]);
        }
        Assert.Equal(DatasetSplit.IdxRule, d.SplitRule);
    }

    [Fact]
    public void Pair_task_on_an_idx_folder_uses_the_files_own_split()
    {
        using var t = new TempDir();
        WriteFolder(t.Path, gzip: true);
        // training labels i%3 over 10 images: class 0 has 4, class 1 has 3; test labels (i+1)%3 over 4: class 0 has 1, class 1 has 2
        var task = PairTask.Load(DatasetSpec.Parse("idx:" + t.Path), 0, 1, DataSize.All, DataSize.All, 3, t.File("unused"));
        Assert.Equal((7, 3), (task.Train.Count, task.Test.Count));
        Assert.All(task.TrainIndices, i => Assert.True(i < 10));
        Assert.All(task.TestIndices, i => Assert.True(i >= 10));
        Assert.Equal(DatasetSplit.IdxRule, task.SplitRule);
        Assert.Equal(4, task.Train.Y.Count(y => y == 0));
        Assert.Contains("--train-size 8 is more than the 7 training images",
            Assert.Throws<DataException>(() => PairTask.Create(task.Dataset, 0, 1, DataSize.Of(8), DataSize.All, 3)).Message);
    }

    [Fact]
    public void Gzip_is_detected_by_content_not_by_name()
    {
        using var t = new TempDir();
        string p = t.File("train-images-idx3-ubyte");
        File.WriteAllBytes(p, TestFiles.Gzip(TestFiles.IdxImages(2, 2, 2, Pixel)));
        var img = IdxReader.ReadImages(p);
        Assert.Equal((2, 2, 2), (img.Count, img.Rows, img.Cols));
        Assert.Equal(Pixel(1, 3), img.Pixels[7]);
    }

    [Fact]
    public void Wrong_magic_names_the_file_and_both_magics()
    {
        using var t = new TempDir();
        string p = t.File("labels-as-images");
        File.WriteAllBytes(p, TestFiles.IdxLabels([1, 2, 3]));
        var e = Assert.Throws<DataException>(() => IdxReader.ReadImages(p));
        Assert.Contains(p, e.Message);
        Assert.Contains("0x00000801", e.Message);
        Assert.Contains("0x00000803", e.Message);
        string q = t.File("images-as-labels");
        File.WriteAllBytes(q, TestFiles.IdxImages(1, 1, 1, Pixel));
        var e2 = Assert.Throws<DataException>(() => IdxReader.ReadLabels(q));
        Assert.Contains("not an IDX label file", e2.Message);
    }

    [Theory]
    [InlineData(3)]     // inside the magic
    [InlineData(10)]    // inside the dimensions
    [InlineData(16 + 5)] // inside the pixels
    public void Truncated_image_file_is_reported(int keep)
    {
        using var t = new TempDir();
        string p = t.File("imgs");
        File.WriteAllBytes(p, TestFiles.IdxImages(3, 2, 2, Pixel)[..keep]);
        var e = Assert.Throws<DataException>(() => IdxReader.ReadImages(p));
        Assert.Contains("truncated", e.Message);
        Assert.Contains("download it again", e.Message);
    }

    [Fact]
    public void Truncated_gzipped_file_is_reported()
    {
        using var t = new TempDir();
        string p = t.File("imgs.gz");
        var gz = TestFiles.Gzip(TestFiles.IdxImages(50, 28, 28, Pixel));
        File.WriteAllBytes(p, gz[..(gz.Length / 2)]);
        var e = Assert.Throws<DataException>(() => IdxReader.ReadImages(p));
        Assert.Contains(p, e.Message);
    }

    [Fact]
    public void Trailing_bytes_are_an_error()
    {
        using var t = new TempDir();
        string p = t.File("labels");
        File.WriteAllBytes(p, [.. TestFiles.IdxLabels([1, 2]), 9, 9]);
        var e = Assert.Throws<DataException>(() => IdxReader.ReadLabels(p));
        Assert.Contains("2 bytes after", e.Message);
    }

    [Fact]
    public void Image_and_label_count_mismatch_is_reported()
    {
        using var t = new TempDir();
        WriteFolder(t.Path, gzip: false);
        File.WriteAllBytes(t.File("t10k-labels-idx1-ubyte"), TestFiles.IdxLabels([0, 1, 2]));
        var e = Assert.Throws<DataException>(() => IdxReader.LoadFolder(t.Path));
        Assert.Contains("4 images", e.Message);
        Assert.Contains("3 labels", e.Message);
    }

    [Fact]
    public void Missing_file_and_missing_folder_name_what_is_needed()
    {
        using var t = new TempDir();
        WriteFolder(t.Path, gzip: false);
        File.Delete(t.File("t10k-images-idx3-ubyte"));
        var e = Assert.Throws<DataException>(() => IdxReader.LoadFolder(t.Path));
        Assert.Contains("has no t10k-images-idx3-ubyte", e.Message);
        var e2 = Assert.Throws<DataException>(() => IdxReader.LoadFolder(t.File("nope")));
        Assert.Contains("is not a folder", e2.Message);
    }
}
