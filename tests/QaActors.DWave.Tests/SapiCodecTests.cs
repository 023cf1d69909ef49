using System.Text.Json.Nodes;
using QaActors.DWave.Sapi;
using QaActors.Sampling;

namespace QaActors.DWave.Tests;

public class SapiCodecTests
{
    // Ocean SDK docs/leap_sapi/sapi_rest.rst example: h={30:-.5,31:.5}, J={(30,31):-1}.
    [Fact]
    public void PublishedVector_SapiRestExample_DecodesExactly()
    {
        var answer = new JsonObject
        {
            ["format"] = "qp",
            ["num_variables"] = 5760,
            ["active_variables"] = "HgAAAB8AAAA=",
            ["energies"] = "AAAAAAAA8L8AAAAAAADwvw==",
            ["num_occurrences"] = "BgAAAAQAAAA=",
            ["solutions"] = "AMA=",
            ["timing"] = new JsonObject { ["qpu_access_time"] = 15831.76, ["qpu_sampling_time"] = 769.4 },
        };
        var a = QpAnswer.Decode(answer, "ising");
        Assert.Equal(new[] { 30, 31 }, a.ActiveVariables);
        Assert.Equal(new[] { -1.0, -1.0 }, a.Energies);
        Assert.Equal(new[] { 6, 4 }, a.NumOccurrences);
        Assert.Equal(new sbyte[] { -1, -1, 1, 1 }, a.Solutions);
        Assert.Equal(5760, a.NumVariables);
        Assert.Equal(15831.76, a.Timing["qpu_access_time"]);
        // The decoded rows really have the energies SAPI claims for that problem.
        foreach (int r in new[] { 0, 1 })
        {
            double s0 = a.Solutions[2 * r], s1 = a.Solutions[2 * r + 1];
            Assert.Equal(a.Energies[r], -0.5 * s0 + 0.5 * s1 - 1 * s0 * s1);
        }
    }

    // dwave-cloud-client tests/api/mocks.py: K5 clique, h=1, J=-1, 100 reads of the all -1 state.
    [Fact]
    public void PublishedVector_CloudClientK5Mock_DecodesExactly()
    {
        var answer = new JsonObject
        {
            ["format"] = "qp",
            ["num_variables"] = 5,
            ["active_variables"] = "AAAAAAEAAAACAAAAAwAAAAQAAAA=",
            ["energies"] = "AAAAAAAALsA=",
            ["num_occurrences"] = "ZAAAAA==",
            ["solutions"] = "AAAAAA==",
        };
        // "AAAAAA==" is 4 zero bytes for one row of 5 variables: padded beyond ceil(5/8) = 1 byte, which the
        // reference client accepts (it reshapes by bytes per row), and so must we.
        var a = QpAnswer.Decode(answer, "ising");
        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, a.ActiveVariables);
        Assert.Equal(new[] { -15.0 }, a.Energies);
        Assert.Equal(new[] { 100 }, a.NumOccurrences);
        Assert.Equal(new sbyte[] { -1, -1, -1, -1, -1 }, a.Solutions);
        // Energy check: 5 h terms of +1·(−1) and 10 couplings of −1·(+1) = −15.
        Assert.Equal(-15.0, 5 * (1 * -1.0) + 10 * (-1 * 1.0));
    }

    [Fact]
    public void Solutions_AreMsbFirst_AndRowsPadToWholeBytes()
    {
        // 9 variables: row bytes = 2. First variable is bit 0x80 of byte 0; the 9th is bit 0x80 of byte 1.
        var row = new sbyte[] { 1, -1, -1, -1, -1, -1, -1, -1, 1 };
        string b64 = QpCodec.PackSolutions(row, 9);
        Assert.Equal(new byte[] { 0x80, 0x80 }, Convert.FromBase64String(b64));
        Assert.Equal(row, QpCodec.UnpackSolutions(b64, 1, 9, Vartype.Spin));
        Assert.Equal(new sbyte[] { 1, 0, 0, 0, 0, 0, 0, 0, 1 }, QpCodec.UnpackSolutions(b64, 1, 9, Vartype.Binary));
        Assert.Throws<SapiException>(() => QpCodec.UnpackSolutions(b64, 2, 9, Vartype.Spin));
        Assert.Throws<SapiException>(() => QpCodec.UnpackSolutions(b64, 3, 9, Vartype.Spin));
    }

    [Fact]
    public void RoundTrips_ArraysAndPackedSolutions()
    {
        var rng = new Rng(42);
        for (int trial = 0; trial < 50; trial++)
        {
            int n = 1 + rng.NextInt(40), rows = 1 + rng.NextInt(7);
            var d = Enumerable.Range(0, n).Select(_ => rng.NextGaussian() * 1e3).ToArray();
            d[0] = double.NaN;
            var back = QpCodec.DecodeFloat64(QpCodec.EncodeFloat64(d), "x");
            Assert.True(double.IsNaN(back[0]));
            Assert.Equal(d[1..], back[1..]);
            var ints = Enumerable.Range(0, n).Select(_ => (int)rng.NextUInt64()).ToArray();
            Assert.Equal(ints, QpCodec.DecodeInt32(QpCodec.EncodeInt32(ints), "x"));
            var sol = Enumerable.Range(0, n * rows).Select(_ => rng.NextDouble() < 0.5 ? (sbyte)-1 : (sbyte)1).ToArray();
            Assert.Equal(sol, QpCodec.UnpackSolutions(QpCodec.PackSolutions(sol, n), rows, n, Vartype.Spin));
        }
    }

    [Fact]
    public void AnswerEncodeDecode_RoundTrips_InBothModes()
    {
        var a = new QpAnswer(100, [3, 7, 9], [-2.5, 1.0], [4, 1], true, [1, -1, 1, -1, -1, 1], Vartype.Spin,
            new Dictionary<string, double> { ["qpu_access_time"] = 123.45 });
        var h = QpAnswer.Decode(a.Encode(includeOccurrences: true), "ising");
        Assert.Equal(a.ActiveVariables, h.ActiveVariables);
        Assert.Equal(a.Energies, h.Energies);
        Assert.Equal(a.NumOccurrences, h.NumOccurrences);
        Assert.Equal(a.Solutions, h.Solutions);
        Assert.Equal(123.45, h.Timing["qpu_access_time"]);
        // answer_mode=raw: num_occurrences absent, every row counts once.
        var raw = QpAnswer.Decode(a.Encode(includeOccurrences: false), "ising");
        Assert.False(raw.OccurrencesFromServer);
        Assert.Equal(new[] { 1, 1 }, raw.NumOccurrences);
    }

    [Fact]
    public void ToSampleSet_AddsOffset_AndCarriesTimingAndProblemId()
    {
        var a = new QpAnswer(10, [2, 5], [-1.0, 0.5], [3, 2], true, [0, 1, 1, 1], Vartype.Binary,
            new Dictionary<string, double> { ["qpu_access_time"] = 99 });
        var s = a.ToSampleSet(offset: 2.25, problemId: "p-1", solver: "S");
        Assert.Equal(new[] { 1.25, 2.75 }, s.Energies.ToArray());
        Assert.Equal(Vartype.Binary, s.Vartype);
        Assert.Equal(new[] { 2, 5 }, s.Variables.ToArray());
        Assert.Equal(5, s.TotalReads);
        Assert.Equal(99, s.Info.Timing["qpu_access_time"]);
        Assert.Equal("p-1", s.Info.Notes["problem_id"]);
    }

    [Fact]
    public void LinAndQuad_FollowSolverOrder_NaNForInactive_ZeroForCouplerOnly()
    {
        var solver = SapiTestSolvers.Small();
        // Solver qubits 10..15 (2x3 kings grid); h on 10 only; 11 active only through J(10,11).
        var p = new QpuProblem("ising", new Dictionary<int, double> { [10] = 0.5 },
            new Dictionary<(int, int), double> { [(10, 11)] = -1 });
        var data = QpProblemData.Encode(solver, p);
        var lin = QpCodec.DecodeFloat64(data.Lin, "lin");
        Assert.Equal(solver.Qubits.Length, lin.Length);
        Assert.Equal(0.5, lin[solver.QubitPosition(10)]);
        Assert.Equal(0.0, lin[solver.QubitPosition(11)]);
        Assert.True(double.IsNaN(lin[solver.QubitPosition(12)]));
        // Little-endian NaN as numpy writes it: 00 00 00 00 00 00 f8 7f.
        var raw = Convert.FromBase64String(data.Lin);
        int at = solver.QubitPosition(12) * 8;
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0xf8, 0x7f }, raw[at..(at + 8)]);
        // quad: only couplers with both ends active → exactly (10,11).
        Assert.Equal(new[] { -1.0 }, QpCodec.DecodeFloat64(data.Quad, "quad"));
        var back = data.Decode(solver, "ising");
        Assert.Equal(p.Linear[10], back.Linear[10]);
        Assert.Equal(0.0, back.Linear[11]);
        Assert.Equal(-1.0, back.Quadratic[(10, 11)]);
    }

    [Fact]
    public void Encode_QuadIncludesZeroForActiveCouplersWithoutTerm_AndDecodeRoundTripsRandomProblems()
    {
        var solver = SapiTestSolvers.Small(rows: 4, cols: 4);
        var rng = new Rng(7);
        for (int trial = 0; trial < 20; trial++)
        {
            var h = new Dictionary<int, double>();
            var j = new Dictionary<(int, int), double>();
            foreach (int q in solver.Qubits) if (rng.NextDouble() < 0.6) h[q] = Math.Round(rng.NextGaussian(), 3);
            foreach (var (u, v) in solver.Couplers) if (rng.NextDouble() < 0.3) j[(u, v)] = Math.Round(rng.NextGaussian(), 3);
            var p = new QpuProblem("ising", h, j, 1.5);
            var back = QpProblemData.Encode(solver, p).Decode(solver, "ising");
            var active = p.ActiveQubits();
            Assert.Equal(active, back.Linear.Keys.OrderBy(x => x).ToArray());
            foreach (int q in active) Assert.Equal(h.GetValueOrDefault(q), back.Linear[q]);
            foreach (var (k, v) in back.Quadratic) Assert.Equal(j.GetValueOrDefault(k), v);
            foreach (var (k, v) in j) Assert.Equal(v, back.Quadratic[k]);
            Assert.Equal(1.5, back.Offset);
        }
    }

    [Fact]
    public void FromBqm_MapsVartypeAndSumsReversedPairs()
    {
        var b = new BqmBuilder(Vartype.Binary);
        b.AddVariable(10, 1);
        b.AddVariable(11, -1);
        b.AddInteraction(10, 11, 2);
        b.AddInteraction(11, 10, 0.5);
        b.AddOffset(3);
        var p = QpuProblem.FromBqm(b.Build());
        Assert.Equal("qubo", p.Type);
        Assert.Equal(2.5, p.Quadratic[(10, 11)]);
        Assert.Equal(3, p.Offset);
    }
}

internal static class SapiTestSolvers
{
    /// <summary>A small solver record around a kings graph whose qubit ids start at 10, with Advantage's ranges and timing.</summary>
    public static SolverInfo Small(int rows = 2, int cols = 3, string status = "ONLINE")
    {
        var g = QaActors.DWave.Simulator.TestGraphs.Kings(rows, cols, first: 10);
        var spec = QaActors.DWave.Simulator.SimulatedSolverSpec.AdvantageLike("Small", g);
        var rec = new JsonObject
        {
            ["identity"] = new JsonObject { ["name"] = "Small", ["version"] = new JsonObject { ["graph_id"] = "g1" } },
            ["status"] = status,
            ["properties"] = spec.PropertiesJson(),
        };
        return SolverInfo.Parse(rec);
    }
}
