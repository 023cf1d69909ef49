using System.Buffers.Binary;
using System.Text.Json.Nodes;
using QaActors.Sampling;

namespace QaActors.DWave.Sapi;

/// <summary>
/// Base64 little-endian arrays and MSB-first bit packing, the building blocks of SAPI's <c>qp</c> format
/// (Ocean SDK <c>docs/shared/sapi_rest.rst</c> "Problem data Field and Encoding"; dwave-cloud-client
/// <c>coders.py: encode_problem_as_qp, decode_qp</c>).
/// </summary>
public static class QpCodec
{
    public static string EncodeFloat64(ReadOnlySpan<double> values)
    {
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++)
        {
            // .NET's double.NaN has the sign bit set (ff f8 …); numpy's nan, which SAPI's reference client sends for
            // inactive qubits, is the positive quiet NaN 0x7ff8000000000000. Send exactly that.
            if (double.IsNaN(values[i])) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), 0x7FF8000000000000L);
            else BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * 8), values[i]);
        }
        return Convert.ToBase64String(bytes);
    }

    public static double[] DecodeFloat64(string b64, string field)
    {
        var bytes = FromBase64(b64, field);
        if (bytes.Length % 8 != 0) throw Bad($"{field}: {bytes.Length} bytes is not a whole number of float64 values");
        var r = new double[bytes.Length / 8];
        for (int i = 0; i < r.Length; i++) r[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(i * 8));
        return r;
    }

    public static string EncodeInt32(ReadOnlySpan<int> values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), values[i]);
        return Convert.ToBase64String(bytes);
    }

    public static int[] DecodeInt32(string b64, string field)
    {
        var bytes = FromBase64(b64, field);
        if (bytes.Length % 4 != 0) throw Bad($"{field}: {bytes.Length} bytes is not a whole number of int32 values");
        var r = new int[bytes.Length / 4];
        for (int i = 0; i < r.Length; i++) r[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(i * 4));
        return r;
    }

    /// <summary>
    /// Packs rows of n values (true = +1 or 1), each row padded to ceil(n/8) bytes; the first variable is bit
    /// 0x80 of the first byte. SAPI's docs call this "little-endian" but the client (np.unpackbits) and the
    /// documented example are MSB-first, and so is this.
    /// </summary>
    public static string PackSolutions(ReadOnlySpan<sbyte> rows, int n)
    {
        if (n == 0) return "";
        int rowBytes = (n + 7) / 8, count = rows.Length / n;
        var bytes = new byte[rowBytes * count];
        for (int r = 0; r < count; r++)
            for (int i = 0; i < n; i++)
                if (rows[r * n + i] > 0) bytes[r * rowBytes + (i >> 3)] |= (byte)(0x80 >> (i & 7));
        return Convert.ToBase64String(bytes);
    }

    /// <summary>Unpacks to ±1 (SPIN) or 0/1 (BINARY) values, <paramref name="rows"/> × <paramref name="n"/>.</summary>
    public static sbyte[] UnpackSolutions(string b64, int rows, int n, Vartype vartype)
    {
        var bytes = FromBase64(b64, "solutions");
        // Rows are at least ceil(n/8) bytes; like dwave-cloud-client (decode_qp_numpy reshapes by bytes per row)
        // accept wider padding as long as every row has the same width (its K5 test vector pads 1 row to 4 bytes).
        int minRow = (n + 7) / 8;
        int rowBytes = rows == 0 ? minRow : bytes.Length / rows;
        if (rows > 0 && (bytes.Length % rows != 0 || rowBytes < minRow) || rows == 0 && bytes.Length != 0)
            throw Bad($"solutions: {bytes.Length} bytes cannot hold {rows} rows of at least {minRow} bytes for {n} active variables");
        sbyte zero = vartype == Vartype.Spin ? (sbyte)-1 : (sbyte)0;
        var s = new sbyte[rows * n];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < n; i++)
                s[r * n + i] = (bytes[r * rowBytes + (i >> 3)] & (0x80 >> (i & 7))) != 0 ? (sbyte)1 : zero;
        return s;
    }

    private static byte[] FromBase64(string b64, string field)
    {
        try { return Convert.FromBase64String(b64); }
        catch (FormatException e) { throw new SapiException(SapiErrorKind.Protocol, $"{field}: not valid base64 ({e.Message})", inner: e); }
    }

    // Decoding faults are the sender's: a malformed answer is a protocol error (not "the problem does not fit"); the
    // simulator, decoding a submitted problem, turns them into BadProblem (QpProblemData.Decode).
    internal static SapiException Bad(string msg) => new(SapiErrorKind.Protocol, msg);
}

/// <summary>
/// An Ising or QUBO problem over qubit labels: linear terms by qubit, quadratic by (u,v) coupler. For QUBO the
/// "linear" terms are Q's diagonal and are sent as they are (SAPI converts server-side; dwave-cloud-client
/// <c>utils/qubo.py: reformat_qubo_as_ising</c>).
/// </summary>
public sealed record QpuProblem(
    string Type,
    IReadOnlyDictionary<int, double> Linear,
    IReadOnlyDictionary<(int U, int V), double> Quadratic,
    double Offset = 0)
{
    public const string Ising = "ising";
    public const string Qubo = "qubo";

    public Vartype Vartype => Type == Ising ? Vartype.Spin : Vartype.Binary;

    /// <summary>Maps a BQM whose labels are qubits: SPIN becomes "ising" and BINARY "qubo" (as Ocean does).</summary>
    public static QpuProblem FromBqm(Bqm bqm)
    {
        var lin = new Dictionary<int, double>(bqm.NumVariables);
        for (int i = 0; i < bqm.NumVariables; i++) lin[bqm.Labels[i]] = bqm.Linear[i];
        var quad = new Dictionary<(int, int), double>(bqm.NumInteractions);
        foreach (var (u, v, b) in bqm.QuadraticByLabel())
        {
            var key = (Math.Min(u, v), Math.Max(u, v));
            quad[key] = quad.GetValueOrDefault(key) + b;
        }
        return new QpuProblem(bqm.Vartype == Vartype.Spin ? Ising : Qubo, lin, quad, bqm.Offset);
    }

    /// <summary>Active qubits: those with a linear term or an end of any quadratic term (utils/qubo.py: active_qubits), sorted.</summary>
    public int[] ActiveQubits()
    {
        var set = new HashSet<int>(Linear.Keys);
        foreach (var (u, v) in Quadratic.Keys) { set.Add(u); set.Add(v); }
        var a = set.ToArray();
        Array.Sort(a);
        return a;
    }
}

/// <summary>The <c>data</c> object of a submission in <c>qp</c> format.</summary>
public sealed record QpProblemData(string Lin, string Quad, double Offset)
{
    public JsonObject ToJson() => new() { ["format"] = "qp", ["lin"] = Lin, ["quad"] = Quad, ["offset"] = Offset };

    /// <summary>
    /// lin: one float64 per qubit of <c>properties.qubits</c> in that order, NaN for inactive ones; quad: one
    /// float64 per coupler of <c>properties.couplers</c> whose two ends are active, in that order, zeros allowed
    /// (Ocean SDK sapi_rest.rst; dwave-cloud-client coders.py: encode_problem_as_qp). (u,v) and (v,u) are summed
    /// by <see cref="QpuProblem"/> already. The caller validates the structure first.
    /// </summary>
    public static QpProblemData Encode(SolverInfo solver, QpuProblem problem)
    {
        var active = new HashSet<int>(problem.ActiveQubits());
        var lin = new double[solver.Qubits.Length];
        for (int i = 0; i < lin.Length; i++)
        {
            int q = solver.Qubits[i];
            lin[i] = active.Contains(q) ? problem.Linear.GetValueOrDefault(q) : double.NaN;
        }
        var quad = new List<double>();
        foreach (var (u, v) in solver.Couplers)
            if (active.Contains(u) && active.Contains(v))
                quad.Add(problem.Quadratic.GetValueOrDefault((u, v)));
        return new QpProblemData(QpCodec.EncodeFloat64(lin), QpCodec.EncodeFloat64(quad.ToArray()), problem.Offset);
    }

    /// <summary>The inverse of <see cref="Encode"/> (used by the simulator): h over active qubits, J over active couplers.
    /// A malformed submission is a <see cref="SapiErrorKind.BadProblem"/>.</summary>
    public QpuProblem Decode(SolverInfo solver, string type)
    {
        try { return DecodeCore(solver, type); }
        catch (SapiException e) when (e.Kind == SapiErrorKind.Protocol) { throw new SapiException(SapiErrorKind.BadProblem, e.Message, inner: e); }
    }

    private QpuProblem DecodeCore(SolverInfo solver, string type)
    {
        var lin = QpCodec.DecodeFloat64(Lin, "lin");
        if (lin.Length != solver.Qubits.Length)
            throw QpCodec.Bad($"lin holds {lin.Length} values but solver {solver.Name} has {solver.Qubits.Length} qubits; send one value per qubit, NaN for inactive ones");
        var h = new Dictionary<int, double>();
        for (int i = 0; i < lin.Length; i++) if (!double.IsNaN(lin[i])) h[solver.Qubits[i]] = lin[i];
        var quadVals = QpCodec.DecodeFloat64(Quad, "quad");
        var j = new Dictionary<(int, int), double>();
        int k = 0;
        foreach (var (u, v) in solver.Couplers)
        {
            if (!h.ContainsKey(u) || !h.ContainsKey(v)) continue;
            if (k >= quadVals.Length) throw QpCodec.Bad($"quad holds {quadVals.Length} values, fewer than the couplers between active qubits");
            if (double.IsNaN(quadVals[k])) throw QpCodec.Bad($"quad value for coupler ({u},{v}) is NaN");
            j[(u, v)] = quadVals[k++];
        }
        if (k != quadVals.Length) throw QpCodec.Bad($"quad holds {quadVals.Length} values but there are {k} couplers between active qubits");
        return new QpuProblem(type, h, j, Offset);
    }
}

/// <summary>
/// A decoded <c>qp</c> answer (Ocean SDK <c>docs/shared/sapi_rest.rst</c>; dwave-cloud-client <c>coders.py: decode_qp</c>).
/// Solutions are over <see cref="ActiveVariables"/> only, row-major; energies as SAPI sent them (without the
/// offset, which <see cref="ToSampleSet"/> adds, as dwave-cloud-client's <c>_patch_offset</c> does).
/// </summary>
public sealed record QpAnswer(
    int NumVariables,
    int[] ActiveVariables,
    double[] Energies,
    int[] NumOccurrences,
    bool OccurrencesFromServer,
    sbyte[] Solutions,
    Vartype Vartype,
    IReadOnlyDictionary<string, double> Timing)
{
    public int NumRows => Energies.Length;
    /// <summary>The <c>offset</c> SAPI sent with the answer, if it did; it then replaces the client's own offset.</summary>
    public double? Offset { get; init; }

    public static QpAnswer Decode(JsonObject answer, string problemType)
    {
        string fmt = answer["format"] is JsonValue fv && fv.TryGetValue(out string? f) ? f : answer["format"] is null ? "qp" : throw QpCodec.Bad("answer format is not a string");
        if (fmt != "qp") throw QpCodec.Bad($"answer format '{fmt}' is not supported; only 'qp' (QPU solvers) is");
        var vartype = problemType == QpuProblem.Qubo ? Vartype.Binary : Vartype.Spin;
        int numVars = answer["num_variables"] is JsonValue nv && nv.TryGetValue(out int nvi) ? nvi : throw QpCodec.Bad("answer lacks an integer num_variables");
        var active = QpCodec.DecodeInt32(Str(answer, "active_variables"), "active_variables");
        var energies = QpCodec.DecodeFloat64(Str(answer, "energies"), "energies");
        bool fromServer = answer["num_occurrences"] is JsonValue;
        // answer_mode=raw omits num_occurrences: every row is one read.
        var occ = fromServer ? QpCodec.DecodeInt32(Str(answer, "num_occurrences"), "num_occurrences") : Enumerable.Repeat(1, energies.Length).ToArray();
        if (occ.Length != energies.Length) throw QpCodec.Bad($"num_occurrences has {occ.Length} entries, energies {energies.Length}");
        var sol = QpCodec.UnpackSolutions(Str(answer, "solutions"), energies.Length, active.Length, vartype);
        var timing = new Dictionary<string, double>();
        if (answer["timing"] is JsonObject t)
            foreach (var (k, v) in t)
                if (v is JsonValue jv && jv.TryGetValue(out double d)) timing[k] = d;
        double? offset = answer["offset"] switch
        {
            null => null,
            JsonValue ov when ov.TryGetValue(out double o) && double.IsFinite(o) => o,
            var other => throw QpCodec.Bad($"answer offset is {other.ToJsonString()}, not a finite number"),
        };
        return new QpAnswer(numVars, active, energies, occ, fromServer, sol, vartype, timing) { Offset = offset };
    }

    public JsonObject Encode(bool includeOccurrences)
    {
        var o = new JsonObject
        {
            ["format"] = "qp",
            ["num_variables"] = NumVariables,
            ["active_variables"] = QpCodec.EncodeInt32(ActiveVariables),
            ["energies"] = QpCodec.EncodeFloat64(Energies),
            ["solutions"] = QpCodec.PackSolutions(Solutions, ActiveVariables.Length),
            ["timing"] = new JsonObject(Timing.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        };
        if (includeOccurrences) o["num_occurrences"] = QpCodec.EncodeInt32(NumOccurrences);
        return o;
    }

    private static string Str(JsonObject o, string k) => o[k] is JsonValue v && v.TryGetValue(out string? s) ? s : throw QpCodec.Bad($"answer lacks a string {k}");

    /// <summary>The answer as the project's sample set over qubit labels, offset added (SAPI's <see cref="Offset"/> when it
    /// sent one, else <paramref name="offset"/>), SAPI timing keys in µs.</summary>
    public SampleSet ToSampleSet(double offset, string problemId, string solver)
    {
        offset = Offset ?? offset;
        var info = SampleInfo.For("qpu").WithNote("problem_id", problemId).WithNote("solver", solver);
        foreach (var (k, v) in Timing) info = info.WithTiming(k, v);
        var e = Energies.Select(x => x + offset).ToArray();
        return new SampleSet(Vartype, (int[])ActiveVariables.Clone(), (sbyte[])Solutions.Clone(), e, (int[])NumOccurrences.Clone(), info);
    }
}
