using System.Buffers.Binary;
using System.IO.Compression;

namespace QaActors.Data;

/// <summary>
/// Reader for the IDX files of MNIST-style datasets (format as documented by LeCun, Cortes and Burges at
/// yann.lecun.com/exdb/mnist and reused by Fashion-MNIST): a big-endian header of two zero bytes, a type
/// byte (0x08 = unsigned byte), the number of dimensions, then each dimension as a big-endian int32, then the
/// data. Image files are 0x00000803 (count, rows, cols), label files 0x00000801 (count). Files may be gzipped
/// (detected by the gzip magic, whatever the name says).
/// </summary>
public static class IdxReader
{
    public const uint ImagesMagic = 0x00000803;
    public const uint LabelsMagic = 0x00000801;

    public sealed record IdxImages(int Count, int Rows, int Cols, byte[] Pixels);

    /// <summary>The four standard base names (without .gz).</summary>
    public static readonly string[] StandardFiles =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    public static IdxImages ReadImages(string path)
    {
        var data = ReadAllDecompressed(path);
        var dims = ParseHeader(data, path, ImagesMagic, "image", 3);
        int count = dims[0], rows = dims[1], cols = dims[2];
        if (rows == 0 || cols == 0) throw new DataException($"{path} declares images of {rows}x{cols} pixels; the file is corrupt, download it again");
        long body = (long)count * rows * cols;
        CheckLength(data, path, 16, body, $"{count:N0} images of {rows}x{cols}");
        return new IdxImages(count, rows, cols, data.AsSpan(16, (int)body).ToArray());
    }

    public static byte[] ReadLabels(string path)
    {
        var data = ReadAllDecompressed(path);
        int count = ParseHeader(data, path, LabelsMagic, "label", 1)[0];
        CheckLength(data, path, 8, count, $"{count:N0} labels");
        return data.AsSpan(8, count).ToArray();
    }

    /// <summary>
    /// Finds a standard file in <paramref name="folder"/>: the exact name, with <c>.gz</c>, or with the dotted
    /// variant some downloads use (<c>train-images.idx3-ubyte</c>). Null if absent.
    /// </summary>
    public static string? FindFile(string folder, string baseName)
    {
        int dash = baseName.LastIndexOf("-idx", StringComparison.Ordinal);
        string dotted = baseName[..dash] + "." + baseName[(dash + 1)..];
        foreach (string name in new[] { baseName, baseName + ".gz", dotted, dotted + ".gz" })
        {
            string p = Path.Combine(folder, name);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>
    /// Loads an IDX folder as a dataset (name <c>idx:FOLDER</c>): train-* files are the training pool, t10k-* the
    /// test set. Classes are 0 .. (largest label).
    /// </summary>
    public static Dataset LoadFolder(string folder)
    {
        string full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
            throw new DataException($"idx:{full} is not a folder; use --dataset idx:PATH with the folder holding {string.Join(", ", StandardFiles)}");
        var paths = new string[4];
        for (int i = 0; i < 4; i++)
            paths[i] = FindFile(full, StandardFiles[i])
                ?? throw new DataException($"idx:{full} has no {StandardFiles[i]} (or .gz); the folder needs {string.Join(", ", StandardFiles)}, each optionally gzipped");
        var trainX = ReadImages(paths[0]);
        var trainY = ReadLabels(paths[1]);
        var testX = ReadImages(paths[2]);
        var testY = ReadLabels(paths[3]);
        if (trainX.Count != trainY.Length)
            throw new DataException($"{paths[0]} holds {trainX.Count:N0} images but {paths[1]} {trainY.Length:N0} labels; the files do not belong together, download them again");
        if (testX.Count != testY.Length)
            throw new DataException($"{paths[2]} holds {testX.Count:N0} images but {paths[3]} {testY.Length:N0} labels; the files do not belong together, download them again");
        if (trainX.Rows != testX.Rows || trainX.Cols != testX.Cols)
            throw new DataException($"{paths[0]} has {trainX.Rows}x{trainX.Cols} images but {paths[2]} {testX.Rows}x{testX.Cols}; the files do not belong together");
        int count = trainX.Count + testX.Count;
        if (count == 0) throw new DataException($"idx:{full} holds no images");

        var pixels = new byte[(long)count * trainX.Rows * trainX.Cols];
        trainX.Pixels.CopyTo(pixels, 0);
        testX.Pixels.CopyTo(pixels, trainX.Pixels.Length);
        var labels = new byte[count];
        trainY.CopyTo(labels, 0);
        testY.CopyTo(labels, trainY.Length);
        var roles = new ImageRole[count];
        Array.Fill(roles, ImageRole.Test, trainX.Count, testX.Count);
        int classes = labels.Max() + 1;
        return new Dataset("idx:" + full, trainX.Rows, trainX.Cols, classes, null, pixels, labels, roles, DatasetSplit.IdxRule);
    }

    private static byte[] ReadAllDecompressed(string path)
    {
        byte[] raw;
        try
        {
            raw = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"cannot read {path} ({e.Message}); check the path and its permissions", e);
        }
        if (raw.Length < 2 || raw[0] != 0x1f || raw[1] != 0x8b) return raw;
        try
        {
            using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var outStream = new MemoryStream(raw.Length * 4);
            gz.CopyTo(outStream);
            return outStream.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new DataException($"{path} is a damaged gzip file ({e.Message}); download it again", e);
        }
    }

    private static int[] ParseHeader(byte[] data, string path, uint magic, string kind, int dims)
    {
        int headerBytes = 4 + 4 * dims;
        if (data.Length < 4)
            throw new DataException($"{path} is truncated: {data.Length} bytes, shorter than an IDX header; download it again");
        uint actual = BinaryPrimitives.ReadUInt32BigEndian(data);
        if (actual != magic)
            throw new DataException($"{path} is not an IDX {kind} file: magic 0x{actual:X8}, expected 0x{magic:X8}; check that the file is the {kind} file and not damaged");
        if (data.Length < headerBytes)
            throw new DataException($"{path} is truncated: {data.Length} bytes, shorter than its {headerBytes}-byte header; download it again");
        var d = new int[dims];
        for (int i = 0; i < dims; i++)
        {
            uint v = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(4 + 4 * i));
            if (v > int.MaxValue) throw new DataException($"{path} declares dimension {v}; the file is corrupt, download it again");
            d[i] = (int)v;
        }
        return d;
    }

    private static void CheckLength(byte[] data, string path, int header, long body, string what)
    {
        long need = header + body;
        if (data.Length < need)
            throw new DataException($"{path} is truncated: {data.Length:N0} bytes, but {what} need {need:N0}; download it again");
        if (data.Length > need)
            throw new DataException($"{path} has {data.Length - need:N0} bytes after the {what} its header declares; the file is damaged or not an IDX file, download it again");
        if (body > Array.MaxLength) throw new DataException($"{path} declares {what}, too large to load");
    }
}
