namespace QaActors.Cli.Tests;

/// <summary>Issue 12: `qa sample --sampler qpu` names what each β is and prints every time with its unit.</summary>
public class SampleQpuOutputTests
{
    [Fact]
    public void Qpu_sample_output_names_both_betas_and_gives_times_in_microseconds()
    {
        using var sim = SapiSimProcess.Start(0);
        string problem = Path.Combine(ReadmeTourTests.RepositoryRoot(), "examples", "p.json");
        var r = QaProcess.Run(["sample", "--problem", problem, "--sampler", "qpu", "--reads", "50"], new Dictionary<string, string>
        {
            ["DWAVE_API_ENDPOINT"] = sim.Endpoint, ["DWAVE_API_TOKEN"] = SapiSimProcess.Token, ["DWAVE_API_SOLVER"] = "Advantage_sim4.1",
        });
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.DoesNotContain("beta_requested", r.Stdout);
        Assert.Matches(@"beta_hardware_estimate [\d.]+ \(inverse temperature of the programmed problem", r.Stdout);
        Assert.Matches(@"beta_model_estimate [\d.]+ \(inverse temperature at which the given problem was sampled; target 1\)", r.Stdout);
        Assert.Matches(@"t_eff 16 \(temperature factor T", r.Stdout);
        Assert.Matches(@"timing\.qpu_access_time [\d.]+ µs", r.Stdout);
        foreach (var line in r.Stdout.Split('\n').Where(l => l.Contains("_time ", StringComparison.Ordinal)))
            Assert.Contains("µs", line);
    }
}
