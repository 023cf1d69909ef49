using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;

namespace QaActors.Data;

/// <summary>
/// The compact cache file (<c>NAME-VERSION.qads</c>) written once by <c>qa data fetch</c>:
/// <code>
/// "QADS"  int32 version (=1)  int32 n  n bytes of UTF-8 JSON header (<see cref="CacheHeader"/>)
/// labels: count bytes   roles: count bytes (0 train, 1 test, 2 unassigned)   pixels: count·rows·cols bytes
/// </code>
/// All integers little-endian. The header carries the SHA-256 of everything after it, so a truncated or
/// altered cache is detected on load. Pixels are bytes 0..255 (pixel_encoding "u8/255"): the loader divides by
/// 255. For mnist the package's floats are quantised as round(v·255), which is exact for that package (see
/// <see cref="NpmDatasetPackage.Mnist"/>). Bytes, not floats, so 70,000 images are one 55 MB read.
/// </summary>
public static class DatasetCache
{
    public const int FormatVersion = 1;
    private static ReadOnlySpan<byte> Magic => "QADS"u8;

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
    };

    /// <summary>Everything a fetch report needs, readable without loading the pixels.</summary>
    public sealed record CacheHeader(
        string Dataset,
        string Package,
        string Integrity,
        int Rows,
        int Cols,
        int Count,
        string[] ClassNames,
        int[] KeptPerClass,
        Dictionary<string, int> Skipped,
        int Duplicates,
        string PixelEncoding,
        string PayloadSha256);

    /// <summary>Writes to a temporary file in the same folder, flushes it to disk, then renames it over
    /// <paramref name="path"/>, so a crash or a concurrent fetch never leaves a half-written cache.</summary>
    public static void Write(string path, NpmDatasetPackage package, ConversionResult r)
    {
        var payloadHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        payloadHash.AppendData(r.Labels);
        payloadHash.AppendData(MemoryMarshal.AsBytes(r.Roles.AsSpan()));
        payloadHash.AppendData(r.Pixels);
        var header = new CacheHeader(package.Name, package.PackageSpec, package.Integrity, r.Rows, r.Cols, r.Count,
            package.ClassNames.ToArray(), r.KeptPerClass, new Dictionary<string, int>(r.Skipped), r.Duplicates, "u8/255",
            Convert.ToHexStringLower(payloadHash.GetHashAndReset()));
        byte[] headerJson = JsonSerializer.SerializeToUtf8Bytes(header, JsonOptions);

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        string tmp = $"{path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> ints = stackalloc byte[8];
                fs.Write(Magic);
                BitConverter.TryWriteBytes(ints[..4], FormatVersion);
                BitConverter.TryWriteBytes(ints[4..], headerJson.Length);
                if (!BitConverter.IsLittleEndian) { ints[..4].Reverse(); ints[4..].Reverse(); }
                fs.Write(ints);
                fs.Write(headerJson);
                fs.Write(r.Labels);
                fs.Write(MemoryMarshal.AsBytes(r.Roles.AsSpan()));
                fs.Write(r.Pixels);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    public static CacheHeader ReadHeader(string path)
    {
        using var fs = OpenRead(path);
        return ReadHeader(fs, path);
    }

    /// <summary>Reads and verifies the whole cache (header sanity, exact length, payload SHA-256, label and role ranges).</summary>
    public static (CacheHeader Header, byte[] Labels, ImageRole[] Roles, byte[] Pixels) Read(string path)
    {
        using var fs = OpenRead(path);
        var h = ReadHeader(fs, path);
        long need = fs.Position + 2L * h.Count + (long)h.Count * h.Rows * h.Cols;
        if (fs.Length != need) throw Corrupt(path, $"it has {fs.Length:N0} bytes, the header promises {need:N0}");
        var labels = new byte[h.Count];
        var roles = new ImageRole[h.Count];
        var pixels = new byte[(long)h.Count * h.Rows * h.Cols];
        fs.ReadExactly(labels);
        fs.ReadExactly(MemoryMarshal.AsBytes(roles.AsSpan()));
        fs.ReadExactly(pixels);
        var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(labels);
        sha.AppendData(MemoryMarshal.AsBytes(roles.AsSpan()));
        sha.AppendData(pixels);
        if (Convert.ToHexStringLower(sha.GetHashAndReset()) != h.PayloadSha256) throw Corrupt(path, "its checksum does not match");
        int classes = h.ClassNames.Length;
        foreach (byte l in labels) if (l >= classes) throw Corrupt(path, $"label {l} is outside 0-{classes - 1}");
        foreach (var r in roles) if ((byte)r > (byte)ImageRole.Unassigned) throw Corrupt(path, $"image role {(byte)r} is unknown");
        return (h, labels, roles, pixels);
    }

    private static FileStream OpenRead(string path) => new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);

    private static CacheHeader ReadHeader(FileStream fs, string path)
    {
        Span<byte> pre = stackalloc byte[12];
        if (fs.Read(pre) != 12 || !pre[..4].SequenceEqual(Magic)) throw Corrupt(path, "it does not start with the QADS magic");
        int version = ReadInt32(pre[4..8]);
        if (version != FormatVersion) throw Corrupt(path, $"it is format version {version}, this build reads {FormatVersion}");
        int n = ReadInt32(pre[8..12]);
        if (n <= 0 || n > 1 << 20 || n > fs.Length - 12) throw Corrupt(path, $"its header length {n} is impossible");
        var json = new byte[n];
        fs.ReadExactly(json);
        CacheHeader? h;
        try { h = JsonSerializer.Deserialize<CacheHeader>(json, JsonOptions); }
        catch (JsonException e) { throw Corrupt(path, $"its header is not valid JSON ({e.Message})"); }
        if (h is null || h.ClassNames is null || h.KeptPerClass is null || h.Skipped is null || h.PayloadSha256 is null || h.Dataset is null)
            throw Corrupt(path, "its header misses fields");
        if (h.Rows <= 0 || h.Cols <= 0 || h.Count < 0 || h.ClassNames.Length is 0 or > 256 || h.KeptPerClass.Length != h.ClassNames.Length || h.KeptPerClass.Sum() != h.Count)
            throw Corrupt(path, "its header is inconsistent");
        return h;
    }

    private static int ReadInt32(ReadOnlySpan<byte> b) => b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24;

    private static DataException Corrupt(string path, string why) =>
        new($"cache file {path} is corrupt: {why}; delete it and run `qa data fetch` again");
}
