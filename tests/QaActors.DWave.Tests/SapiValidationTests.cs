using QaActors.DWave.Sapi;

namespace QaActors.DWave.Tests;

public class SapiValidationTests
{
    private static QpuProblem Ising(Dictionary<int, double> h, Dictionary<(int, int), double>? j = null) =>
        new("ising", h, j ?? new Dictionary<(int, int), double>());

    [Fact]
    public void AccessTimeEstimate_MatchesPublishedFigures()
    {
        var d = ProblemTimingData.Advantage41;
        // Advantage_system4.1's published timing data (docs/dwave.md, "Timing and quota"): readout 34.6 (1 qubit), 152.6 (100), 235.3 (5627).
        Assert.Equal(34.6, AccessTimeEstimator.Readout(d, 1), 1);
        Assert.Equal(152.6, AccessTimeEstimator.Readout(d, 100), 1);
        Assert.Equal(235.3, AccessTimeEstimator.Readout(d, 5627), 1);
        // 5627 qubits, 100 reads: 42 657 µs (dwave-cloud-client estimate_qpu_access_time docstring).
        var e = AccessTimeEstimator.Estimate(d, 5627, new TimingParameters(100));
        Assert.Equal(42657, e.QpuAccessTime, 0);
        Assert.Equal(14072.88 + 1000, e.ProgrammingTime, 6);
        // Terms add up as the published decomposition says.
        Assert.Equal(e.ProgrammingTime + 100 * (20 + e.ReadoutTimePerSample + 20.54), e.QpuAccessTime, 6);
        // Longer anneal and readout thermalization enter per read; decorrelation takes the max with readout thermalization.
        var f = AccessTimeEstimator.Estimate(d, 5627, new TimingParameters(100, AnnealingTime: 100, ReadoutThermalization: 50));
        Assert.Equal(e.QpuAccessTime + 100 * (80 + 50), f.QpuAccessTime, 6);
        var g = AccessTimeEstimator.Estimate(d, 5627, new TimingParameters(10, AnnealingTime: 2000, ReduceIntersampleCorrelation: true));
        Assert.Equal(e.ProgrammingTime + 10 * (2000 + e.ReadoutTimePerSample + 20.54 + 10000), g.QpuAccessTime, 6);
    }

    [Fact]
    public void SolverInfo_ParsesTypedProperties()
    {
        var s = SapiTestSolvers.Small();
        Assert.Equal("Small", s.Name);
        Assert.Equal("g1", s.GraphId);
        Assert.Equal(new ValueRange(-4, 4), s.HRange);
        Assert.Equal(new ValueRange(-1, 1), s.JRange);
        Assert.Equal(new ValueRange(1, 10000), s.NumReadsRange);
        Assert.Equal(new ValueRange(0.5, 2000), s.AnnealingTimeRange);
        Assert.Equal(6, s.Qubits.Length);
        Assert.True(s.HasCoupler(11, 10));
        Assert.False(s.HasCoupler(10, 15));
        Assert.Contains("num_reads", s.Parameters.Keys);
        Assert.Equal(14072.88, s.TimingData!.TypicalProgrammingTime);
        Assert.Equal("kings", s.TopologyType);
    }

    [Fact]
    public void Validation_ReportsEveryKindOfMistake_BeforeSending()
    {
        var s = SapiTestSolvers.Small();
        var ok = new QpuParameters { NumReads = 10, AutoScale = false };
        QpuProblemValidator.Validate(s, Ising(new() { [10] = 1 }, new() { [(10, 11)] = -1 }), ok);

        void Bad(QpuProblem p, QpuParameters prm, string expect)
        {
            var e = Assert.Throws<SapiValidationException>(() => QpuProblemValidator.Validate(s, p, prm));
            Assert.Equal(SapiErrorKind.BadProblem, e.Kind);
            Assert.Contains(expect, e.Message);
        }
        Bad(Ising(new() { [99] = 1 }), ok, "qubit 99 is not in the working graph");
        Bad(Ising(new() { [10] = 1 }, new() { [(10, 15)] = 1 }), ok, "coupler (10,15)");
        Bad(Ising(new() { [10] = double.NaN }), ok, "finite");
        Bad(Ising(new() { [10] = 5 }), ok, "outside h_range");
        Bad(Ising(new() { [10] = 0 }, new() { [(10, 11)] = -3 }), ok, "outside extended_j_range");
        Bad(Ising(new() { [10] = 1 }), ok with { NumReads = 0 }, "num_reads 0");
        Bad(Ising(new() { [10] = 1 }), ok with { AnnealingTime = 5000 }, "annealing_time 5000");
        Bad(Ising(new() { [10] = 1 }), ok with { AnswerMode = "all" }, "answer_mode");
        Bad(Ising(new() { [10] = 1 }), ok with { Extra = new Dictionary<string, System.Text.Json.Nodes.JsonNode?> { ["bogus"] = 1 } }, "parameter 'bogus'");
        Bad(Ising(new() { [10] = 1 }), ok with { NumReads = 10000, AnnealingTime = 2000 }, "problem_run_duration_range");
        // x_ parameters pass through; with auto_scale on, out-of-range biases are the server's to scale.
        QpuProblemValidator.Validate(s, Ising(new() { [10] = 5 }), new QpuParameters { Extra = new Dictionary<string, System.Text.Json.Nodes.JsonNode?> { ["x_test"] = 1 } });
    }
}
