using QaActors.Sampling;

namespace QaActors.Sampling.Tests;

public class BqmTests
{
    private static IEnumerable<sbyte[]> AllStates(int n, Vartype vartype)
    {
        sbyte lo = vartype == Vartype.Spin ? (sbyte)-1 : (sbyte)0;
        for (int s = 0; s < 1 << n; s++)
        {
            var v = new sbyte[n];
            for (int i = 0; i < n; i++) v[i] = ((s >> i) & 1) != 0 ? (sbyte)1 : lo;
            yield return v;
        }
    }

    private static sbyte[] Map(sbyte[] v, Vartype to) =>
        v.Select(x => to == Vartype.Spin ? (sbyte)(2 * x - 1) : (sbyte)((x + 1) / 2)).ToArray();

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void QuboAndIsingEnergiesAgreeOnEveryState(ulong seed)
    {
        var qubo = TestSupport.Random(9, 0.6, 2.0, 3.0, seed, Vartype.Binary);
        var ising = qubo.ToSpin();
        Assert.Equal(Vartype.Spin, ising.Vartype);
        foreach (var q in AllStates(9, Vartype.Binary))
            Assert.Equal(qubo.Energy(q), ising.Energy(Map(q, Vartype.Spin)), 10);

        var ising2 = TestSupport.Random(9, 0.6, 2.0, 3.0, seed + 10, Vartype.Spin);
        var qubo2 = ising2.ToBinary();
        foreach (var s in AllStates(9, Vartype.Spin))
            Assert.Equal(ising2.Energy(s), qubo2.Energy(Map(s, Vartype.Binary)), 10);
    }

    [Fact]
    public void RoundTripRestoresEveryCoefficient()
    {
        var qubo = TestSupport.Random(8, 0.5, 2.0, 3.0, 4, Vartype.Binary);
        var back = qubo.ToSpin().ToBinary();
        Assert.Equal(qubo.Labels.ToArray(), back.Labels.ToArray());
        for (int i = 0; i < qubo.NumVariables; i++) Assert.Equal(qubo.Linear[i], back.Linear[i], 12);
        for (int k = 0; k < qubo.NumInteractions; k++) Assert.Equal(qubo.QuadraticBias[k], back.QuadraticBias[k], 12);
        Assert.Equal(qubo.Offset, back.Offset, 12);
    }

    /// <summary>dimod's documented example of qubo_to_ising (docs/math.md, "QUBO to Ising").</summary>
    [Fact]
    public void DimodDocExample()
    {
        var b = new BqmBuilder(Vartype.Binary);
        b.AddVariable(1, 2); b.AddVariable(2, 1.5); b.AddVariable(3, -0.5); b.AddVariable(4, -1);
        b.AddInteraction(1, 2, 2); b.AddInteraction(1, 3, 1.5); b.AddInteraction(1, 4, 2);
        var ising = b.Build().ToSpin();
        Assert.Equal(2.375, ising.Linear[ising.IndexOf(1)], 12);
        Assert.Equal(1.25, ising.Linear[ising.IndexOf(2)], 12);
        Assert.Equal(0.125, ising.Linear[ising.IndexOf(3)], 12);
        Assert.Equal(0.0, ising.Linear[ising.IndexOf(4)], 12);
        var j = ising.QuadraticByLabel().ToDictionary(t => (t.U, t.V), t => t.Bias);
        Assert.Equal(0.5, j[(1, 2)], 12);
        Assert.Equal(0.375, j[(1, 3)], 12);
        Assert.Equal(0.5, j[(1, 4)], 12);
        Assert.Equal(2.375, ising.Offset, 12);
    }

    [Fact]
    public void ScaleMultipliesEveryEnergy()
    {
        var bqm = TestSupport.Random(6, 0.7, 1, 1, 5);
        var scaled = bqm.Scale(-1.0 / 16);
        foreach (var s in AllStates(6, Vartype.Spin)) Assert.Equal(bqm.Energy(s) * (-1.0 / 16), scaled.Energy(s), 12);
    }
}

public class ProblemJsonTests
{
    private const string Example = """
        {"vartype": "BINARY", "linear": [[5, -1.5], [9, 0.25]], "quadratic": [[5, 9, 2.0], [9, 12, -0.5]], "offset": 1.5}
        """;

    [Fact]
    public void ParsesTheDocumentedFormat()
    {
        var bqm = ProblemJson.Parse(Example);
        Assert.Equal(Vartype.Binary, bqm.Vartype);
        Assert.Equal(new[] { 5, 9, 12 }, bqm.Labels.ToArray());
        Assert.Equal(-1.5, bqm.Linear[bqm.IndexOf(5)]);
        Assert.Equal(0.0, bqm.Linear[bqm.IndexOf(12)]);
        Assert.Equal(2, bqm.NumInteractions);
        Assert.Equal(1.5, bqm.Offset);
        // q = (5:1, 9:1, 12:1): -1.5 + 0.25 + 2 - 0.5 + 1.5
        Assert.Equal(1.75, bqm.Energy(new sbyte[] { 1, 1, 1 }), 12);
    }

    [Fact]
    public void SerialiseThenParseKeepsEveryEnergy()
    {
        var bqm = TestSupport.Random(7, 0.5, 1, 1, 6);
        var back = ProblemJson.Parse(ProblemJson.ToJson(bqm).ToJsonString());
        Assert.Equal(bqm.Labels.ToArray(), back.Labels.ToArray());
        var rng = new Rng(1);
        for (int k = 0; k < 50; k++)
        {
            var s = Enumerable.Range(0, 7).Select(_ => rng.NextDouble() < 0.5 ? (sbyte)1 : (sbyte)-1).ToArray();
            Assert.Equal(bqm.Energy(s), back.Energy(s), 12);
        }
    }

    [Theory]
    [InlineData("[1,2]", "top level must be a JSON object")]
    [InlineData("""{"linear": []}""", "\"vartype\" is missing")]
    [InlineData("""{"vartype": "ISING"}""", "vartype 'ISING' is not known")]
    [InlineData("""{"vartype": "SPIN", "linear": [[1]]}""", "linear[0] must be [variable, bias]")]
    [InlineData("""{"vartype": "SPIN", "linear": [[1.5, 2]]}""", "linear[0][0] must be an integer variable label")]
    [InlineData("""{"vartype": "SPIN", "quadratic": [[1, 1, 2]]}""", "couples variable 1 with itself")]
    [InlineData("""{"vartype": "SPIN", "quadratic": [[1, 2, "x"]]}""", "quadratic[0][2] must be a finite number")]
    [InlineData("""{"vartype": "SPIN", "linear": {"1": 2}}""", "\"linear\" must be a list")]
    [InlineData("""{"vartype": "SPIN", "linear": [[0, 1]], "quadratics": [[0, 1, 2]]}""", "field \"quadratics\" is not known")]
    [InlineData("""{"vartype": "SPIN", "linear": [], "quadratic": []}""", "the problem has no variables")]
    [InlineData("""{"vartype": "BINARY", "offset": 1.5}""", "the problem has no variables")]
    public void BadInputNamesTheFieldAndTheFix(string json, string expected)
    {
        var e = Assert.Throws<ProblemFormatException>(() => ProblemJson.Parse(json, "p.json"));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("p.json:", e.Message);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        var e = Assert.Throws<ProblemFormatException>(() => ProblemJson.ReadFile("/nonexistent/problem.json"));
        Assert.Contains("/nonexistent/problem.json", e.Message);
    }

    [Fact]
    public void SampleSetJsonHasTheInterfaceKeys()
    {
        var bqm = ProblemJson.Parse(Example);
        var set = new ExactSampler().Run(bqm, 5, 1, 1);
        var json = ProblemJson.ToJson(set);
        foreach (var key in new[] { "variables", "samples", "energies", "num_occurrences", "info" }) Assert.True(json.ContainsKey(key), key);
        Assert.Equal(5, json["samples"]!.AsArray().Count);
        Assert.Equal("exact", json["info"]!["sampler"]!.GetValue<string>());
    }
}

public class RngTests
{
    [Fact]
    public void SameSeedSameStreamAndStateRestores()
    {
        var a = new Rng(42);
        var b = new Rng(42);
        for (int k = 0; k < 100; k++) Assert.Equal(a.NextUInt64(), b.NextUInt64());
        var saved = a.State;
        var x = Enumerable.Range(0, 10).Select(_ => a.NextUInt64()).ToArray();
        var c = Rng.FromState(saved);
        Assert.Equal(x, Enumerable.Range(0, 10).Select(_ => c.NextUInt64()).ToArray());
        Assert.NotEqual(new Rng(43).NextUInt64(), new Rng(42).NextUInt64());
    }

    [Fact]
    public void SeedPolicyDependsOnTheKeyNotOnTheOrder()
    {
        var keys = new List<(long Step, long Example, SeedPolicy.Purpose Purpose)>();
        for (long s = 0; s < 5; s++)
            for (long e = 0; e < 5; e++)
                foreach (var p in Enum.GetValues<SeedPolicy.Purpose>()) keys.Add((s, e, p));
        var forward = keys.ToDictionary(k => k, k => SeedPolicy.Derive(7, k.Step, k.Example, k.Purpose));
        var shuffled = keys.OrderBy(k => SeedPolicy.Derive(123, k.Step, k.Example, k.Purpose)).ToList();
        foreach (var k in shuffled) Assert.Equal(forward[k], SeedPolicy.Derive(7, k.Step, k.Example, k.Purpose));
        // Distinct keys give distinct streams, and the experiment seed matters.
        Assert.Equal(keys.Count, forward.Values.Distinct().Count());
        Assert.NotEqual(SeedPolicy.Derive(7, 1, 2, SeedPolicy.Purpose.Sample), SeedPolicy.Derive(8, 1, 2, SeedPolicy.Purpose.Sample));
    }

    [Fact]
    public void UniformsHaveTheRightMoments()
    {
        var r = new Rng(9);
        double sum = 0, sum2 = 0;
        const int n = 200000;
        for (int k = 0; k < n; k++) { double u = r.NextDouble(); Assert.InRange(u, 0, 1); sum += u; sum2 += u * u; }
        Assert.Equal(0.5, sum / n, 2);
        Assert.Equal(1.0 / 12, sum2 / n - (sum / n) * (sum / n), 3);
    }
}
