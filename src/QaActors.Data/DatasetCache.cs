using System.Runtime.InteropServices;
using System.IO.Hashing;
using System.Text.Json;

namespace QaActors.Data;

/// <summary>
/// The compact cache file (<c>NAME-VERSION.vFORMAT.qads</c>) written once by <c>qa data fetch</c>:
/// <code>
/// "QADS"  int32 format version (=2)  int32 n  n bytes of UTF-8 JSON header (<see cref="CacheHeader"/>)
/// labels: count bytes   roles: count bytes (0 train, 1 test, 2 unassigned)   pixels: count·rows·cols bytes
/// </code>
/// All integers little-endian. The header carries the XXH3-64 checksum of everything after it, so a truncated or
/// altered cache is detected on load. Pixels are bytes 0..255 (pixel_encoding "u8/255"): the loader divides by
/// 255. For mnist the package's floats are quantised as round(v·255), which is exact for that package (see
/// <see cref="NpmDatasetPackage.Mnist"/>). Bytes, not floats, so 70,000 images are one 55 MB memory map.
/// </summary>
public static class DatasetCache
{
    public const int FormatVersion = 2; // 1 had a SHA-256 checksum
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
        string PayloadXxh3);

    /// <summary>Writes to a temporary file in the same folder, flushes it to disk, then renames it over
    /// <paramref name="path"/>, so a crash or a concurrent fetch never leaves a half-written cache.</summary>
    public static void Write(string path, NpmDatasetPackage package, ConversionResult r)
    {
        string checksum = Checksum(r.Labels, MemoryMarshal.AsBytes(r.Roles.AsSpan()), r.Pixels);
        var header = new CacheHeader(package.Name, package.PackageSpec, package.Integrity, r.Rows, r.Cols, r.Count,
            package.ClassNames.ToArray(), r.KeptPerClass, new Dictionary<string, int>(r.Skipped), r.Duplicates, "u8/255",
            checksum);
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
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"cannot write cache file {path} ({e.Message}); free disk space or choose a writable --data-dir", e);
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

    private static readonly Dictionary<(string Path, long Length, DateTime Written), (CacheHeader, byte[], ImageRole[], ReadOnlyMemory<byte>)> Mapped = [];

    /// <summary>
    /// Reads and verifies the whole cache (header sanity, exact length, payload checksum, label and role ranges).
    /// Labels and roles are fresh copies on every call; the pixels are a read-only memory map of the file, shared
    /// by all reads of the same file version in this process (see <see cref="MappedBytes"/>).
    /// </summary>
    public static unsafe (CacheHeader Header, byte[] Labels, ImageRole[] Roles, ReadOnlyMemory<byte> Pixels) Read(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new DataException($"cache file {path} does not exist; run `qa data fetch`");
        var key = (info.FullName, info.Length, info.LastWriteTimeUtc);
        lock (Mapped)
        {
            if (Mapped.TryGetValue(key, out var hit))
                return (hit.Item1, (byte[])hit.Item2.Clone(), (ImageRole[])hit.Item3.Clone(), hit.Item4);
        }

        // Share Delete: a concurrent fetch may rename a new cache over this one; our mapping keeps the old inode.
        FileStream fs;
        try
        {
            fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 12);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"cannot read cache file {path} ({e.Message}); check its permissions or choose another --data-dir", e);
        }
        CacheHeader h;
        long payload;
        byte* file;
        bool mapped = false;
        try
        {
            h = ReadHeader(fs, path);
            payload = fs.Position;
            long need = payload + 2L * h.Count + (long)h.Count * h.Rows * h.Cols;
            if (fs.Length != need) throw Corrupt(path, $"it has {fs.Length:N0} bytes, the header promises {need:N0}");
            if (need - payload > int.MaxValue) throw Corrupt(path, "its payload is larger than 2 GB");
            file = MappedBytes.MapWholeFile(fs); // owns fs from here on
            mapped = true;
        }
        finally
        {
            if (!mapped) fs.Dispose();
        }
        var labelSpan = new ReadOnlySpan<byte>(file + payload, h.Count);
        var roleSpan = new ReadOnlySpan<byte>(file + payload + h.Count, h.Count);
        int pixelCount = h.Count * h.Rows * h.Cols;
        var pixels = MappedBytes.Over(file + payload + 2L * h.Count, pixelCount);
        if (Checksum(labelSpan, roleSpan, pixels.Span) != h.PayloadXxh3) throw Corrupt(path, "its checksum does not match");
        var labels = labelSpan.ToArray();
        var roles = new ImageRole[h.Count];
        roleSpan.CopyTo(MemoryMarshal.AsBytes(roles.AsSpan()));
        int classes = h.ClassNames.Length;
        foreach (byte l in labels) if (l >= classes) throw Corrupt(path, $"label {l} is outside 0-{classes - 1}");
        foreach (var r in roles) if ((byte)r > (byte)ImageRole.Unassigned) throw Corrupt(path, $"image role {(byte)r} is unknown");
        lock (Mapped) Mapped[key] = (h, labels, roles, pixels);
        return (h, (byte[])labels.Clone(), (ImageRole[])roles.Clone(), pixels);
    }

    /// <summary>XXH3-64 of labels, roles and pixels in file order, as 16 hex digits. Detects damage, not tampering (the tarball's sha512 guards the download).</summary>
    private static string Checksum(ReadOnlySpan<byte> labels, ReadOnlySpan<byte> roles, ReadOnlySpan<byte> pixels)
    {
        var h = new XxHash3();
        h.Append(labels);
        h.Append(roles);
        h.Append(pixels);
        return Convert.ToHexStringLower(h.GetCurrentHash());
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
        if (h is null || h.ClassNames is null || h.KeptPerClass is null || h.Skipped is null || h.PayloadXxh3 is null || h.Dataset is null)
            throw Corrupt(path, "its header misses fields");
        if (h.Rows <= 0 || h.Cols <= 0 || h.Count < 0 || h.ClassNames.Length is 0 or > 256 || h.KeptPerClass.Length != h.ClassNames.Length || h.KeptPerClass.Sum() != h.Count)
            throw Corrupt(path, "its header is inconsistent");
        return h;
    }

    private static int ReadInt32(ReadOnlySpan<byte> b) => b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24;

    private static DataException Corrupt(string path, string why) =>
        new($"cache file {path} is corrupt: {why}; delete it and run `qa data fetch` again");
}
