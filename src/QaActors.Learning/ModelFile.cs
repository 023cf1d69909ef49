using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace QaActors.Learning;

/// <summary>A model file that cannot be read; the message names the file and what is wrong.</summary>
public sealed class ModelFormatException(string message) : Exception(message);

/// <summary>A parameter set with the string metadata stored beside it.</summary>
public sealed record ModelFileContent(MlpParameters Parameters, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// Model files in the safetensors format (huggingface/safetensors README, "Format"): an unsigned 64-bit
/// little-endian header length n, n bytes of UTF-8 JSON, then the raw tensor bytes. The JSON maps each tensor name
/// to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the byte buffer after the header) and
/// may hold "__metadata__", a string-to-string map. Tensors here: hidden.weight [K,N], hidden.bias [K],
/// output.weight [M,K], output.bias [M], all F32 little-endian, in that order, contiguous, so
/// safetensors.torch.load_file gives the state dict of nn.Sequential-style layers named hidden and output.
/// The header is padded with spaces to a multiple of 8 bytes, as the reference writer does, to keep data aligned.
/// </summary>
public static class ModelFile
{
    public static readonly string[] TensorNames = ["hidden.weight", "hidden.bias", "output.weight", "output.bias"];
    private const long MaxHeader = 100_000_000;

    /// <summary>The file's bytes (header and data) for these parameters and metadata.</summary>
    public static byte[] ToBytes(MlpParameters p, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var shapes = Shapes(p);
        var tensors = p.Tensors;
        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata.OrderBy(e => e.Key, StringComparer.Ordinal)) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            for (int t = 0; t < 4; t++)
            {
                w.WriteStartObject(TensorNames[t]);
                w.WriteString("dtype", "F32");
                w.WriteStartArray("shape");
                foreach (int d in shapes[t]) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += (long)tensors[t].Length * 4;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        var header = json.ToArray();
        int padded = (header.Length + 7) / 8 * 8;
        long dataLen = (long)p.Count * 4;
        var bytes = new byte[8 + padded + dataLen];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        header.CopyTo(bytes, 8);
        for (int i = 8 + header.Length; i < 8 + padded; i++) bytes[i] = (byte)' ';
        int pos = 8 + padded;
        foreach (var t in tensors)
        {
            for (int i = 0; i < t.Length; i++, pos += 4) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(pos), t[i]);
        }
        return bytes;
    }

    /// <summary>Writes atomically: a temporary file in the same folder, then a rename over the target.</summary>
    public static void Write(string path, MlpParameters p, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                fs.Write(ToBytes(p, metadata));
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    public static ModelFileContent Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (FileNotFoundException) { throw new ModelFormatException($"{path}: model file not found; pass the .safetensors file written by `qa train`"); }
        catch (DirectoryNotFoundException) { throw new ModelFormatException($"{path}: model file not found; pass the .safetensors file written by `qa train`"); }
        return Parse(bytes, path);
    }

    public static ModelFileContent Parse(byte[] bytes, string where = "model")
    {
        if (bytes.Length < 8) throw Bad(where, $"is {bytes.Length} bytes long, too short for a safetensors header");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (n > MaxHeader || (long)n > bytes.Length - 8) throw Bad(where, $"declares a {n}-byte header but holds {bytes.Length - 8} bytes after the length field (truncated or not a safetensors file)");
        int dataStart = 8 + (int)n;
        long dataLen = bytes.Length - dataStart;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes.AsMemory(8, (int)n)); }
        catch (JsonException e) { throw Bad(where, $"has a header that is not valid JSON ({e.Message})"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad(where, "has a header that is not a JSON object");
            var meta = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("__metadata__", out var md))
            {
                if (md.ValueKind != JsonValueKind.Object) throw Bad(where, "has a __metadata__ that is not an object");
                foreach (var e in md.EnumerateObject())
                {
                    if (e.Value.ValueKind != JsonValueKind.String) throw Bad(where, $"has metadata '{e.Name}' that is not a string");
                    meta[e.Name] = e.Value.GetString()!;
                }
            }
            var shapes = new int[4][];
            var ranges = new (long Begin, long End)[4];
            for (int t = 0; t < 4; t++)
            {
                if (!root.TryGetProperty(TensorNames[t], out var info)) throw Bad(where, $"has no tensor '{TensorNames[t]}' (a QaActors model needs {string.Join(", ", TensorNames)})");
                if (!info.TryGetProperty("dtype", out var dt) || dt.GetString() != "F32")
                    throw Bad(where, $"tensor '{TensorNames[t]}' is not F32 (dtype {(info.TryGetProperty("dtype", out var d2) ? d2.ToString() : "missing")})");
                if (!info.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array) throw Bad(where, $"tensor '{TensorNames[t]}' has no shape");
                shapes[t] = sh.EnumerateArray().Select(x => x.TryGetInt32(out int v) && v >= 0 ? v : throw Bad(where, $"tensor '{TensorNames[t]}' has a bad shape entry {x}")).ToArray();
                if (!info.TryGetProperty("data_offsets", out var off) || off.GetArrayLength() != 2) throw Bad(where, $"tensor '{TensorNames[t]}' has no data_offsets pair");
                long b = off[0].GetInt64(), e = off[1].GetInt64();
                long count = shapes[t].Aggregate(1L, (x, y) => x * y);
                if (b < 0 || e < b || e > dataLen) throw Bad(where, $"tensor '{TensorNames[t]}' spans bytes [{b}, {e}) outside the {dataLen}-byte data (truncated file?)");
                if (e - b != count * 4) throw Bad(where, $"tensor '{TensorNames[t]}' has {e - b} bytes but shape [{string.Join(",", shapes[t])}] needs {count * 4}");
                ranges[t] = (b, e);
            }
            if (shapes[0].Length != 2 || shapes[1].Length != 1 || shapes[2].Length != 2 || shapes[3].Length != 1)
                throw Bad(where, "tensor ranks are wrong: expected hidden.weight [K,N], hidden.bias [K], output.weight [M,K], output.bias [M]");
            int k = shapes[0][0], inputs = shapes[0][1], m = shapes[2][0];
            if (shapes[1][0] != k || shapes[2][1] != k || shapes[3][0] != m)
                throw Bad(where, $"tensor shapes disagree: hidden.weight [{k},{inputs}], hidden.bias [{shapes[1][0]}], output.weight [{shapes[2][0]},{shapes[2][1]}], output.bias [{shapes[3][0]}]");
            if (k < 1 || inputs < 1 || m < 1) throw Bad(where, "has an empty layer");
            if (m > Ebm.MaxOutputs) throw Bad(where, $"has {m} outputs; at most {Ebm.MaxOutputs} are supported");
            var p = new MlpParameters(inputs, k, m);
            var tensors = p.Tensors;
            for (int t = 0; t < 4; t++)
            {
                var src = bytes.AsSpan(dataStart + (int)ranges[t].Begin, (int)(ranges[t].End - ranges[t].Begin));
                var dst = tensors[t];
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadSingleLittleEndian(src.Slice(i * 4));
            }
            return new ModelFileContent(p, meta);
        }
    }

    private static int[][] Shapes(MlpParameters p) => [[p.Hidden, p.Inputs], [p.Hidden], [p.Outputs, p.Hidden], [p.Outputs]];

    private static ModelFormatException Bad(string where, string what) => new($"{where}: {what}; the file is not a valid QaActors model (re-create it with `qa train`)");
}
