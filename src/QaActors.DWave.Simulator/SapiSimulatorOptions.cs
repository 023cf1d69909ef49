using System.Net;
using QaActors.Sampling;

namespace QaActors.DWave.Simulator;

/// <summary>
/// How the simulated QPU behaves. Defaults and why:
/// <list type="bullet">
/// <item><see cref="BetaHw"/> = 16: the simulator samples the programmed Ising problem at β_hw. The paper's grid search
/// found that dividing the EBM problem by T = 16 works best on the real QPU (docs/math.md, "Temperature");
/// a QPU with β_hw = 16 in problem units samples such a rescaled problem at exactly β = 1 of the original
/// model, i.e. the model's own distribution, which is what the grid search was hunting for. So with the default,
/// <c>--t-eff 16</c> against the simulator reproduces the situation the paper describes, and a wrong t-eff shows up as
/// a too hot or too cold model just as on hardware.</item>
/// <item><see cref="SigmaH"/> = 0.02, <see cref="SigmaJ"/> = 0.01 (absolute, in the problem's h/J units): integrated
/// control errors are drawn once per problem (a QPU programs h and J once per submission), Gaussian with these
/// standard deviations. They are of the order D-Wave describes for its ICE (a few hundredths of the J range), small
/// next to the chain strengths but visible on T = 16-rescaled biases, which are themselves of order 0.01–0.1.</item>
/// </list>
/// </summary>
public sealed record SapiSimulatorOptions
{
    /// <summary>A loopback address: the simulator is a test and drill tool and never listens beyond the machine.</summary>
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>0 picks a free port; <see cref="SapiSimulator.Port"/> tells which.</summary>
    public int Port { get; init; }
    public required IReadOnlyList<string> Tokens { get; init; }
    public required IReadOnlyList<SimulatedSolverSpec> Solvers { get; init; }
    /// <summary>The sampler that stands in for the annealer (the project's "anneal" sampler), called at β = <see cref="BetaHw"/>.</summary>
    public required ISampler Sampler { get; init; }
    public double BetaHw { get; init; } = 16;
    public double SigmaH { get; init; } = 0.02;
    public double SigmaJ { get; init; } = 0.01;
    public ulong Seed { get; init; } = 1;
    /// <summary>Problems sampled at once (a QPU runs one; more keeps a busy test suite moving).</summary>
    public int MaxConcurrentProblems { get; init; } = 2;
    /// <summary>At most this many unfinished problems per token (Leap: 1000 per member per solver queue; Ocean SDK admin.rst).</summary>
    public int MaxQueuedPerToken { get; init; } = 1000;
    /// <summary>How long a blocking submit (one problem POSTed as an object) waits for the answer before returning its status.</summary>
    public TimeSpan BlockingSubmitWait { get; init; } = TimeSpan.FromSeconds(5);
    public Action<string>? Log { get; init; }

    /// <summary>The QPU model every solver of this simulator samples with.</summary>
    public SimulatedQpuModel Model => new() { Sampler = Sampler, BetaHw = BetaHw, SigmaH = SigmaH, SigmaJ = SigmaJ, Seed = Seed };

    public void Validate()
    {
        if (!IPAddress.TryParse(Host, out var ip) || !IPAddress.IsLoopback(ip))
            throw new ArgumentException($"sapi-sim host '{Host}' is not a loopback address; the simulator only listens on 127.0.0.1 or ::1");
        if (Port is < 0 or > 65535) throw new ArgumentOutOfRangeException(nameof(Port), Port, "port must be 0..65535 (0 picks a free one)");
        if (Tokens.Count == 0 || Tokens.Any(string.IsNullOrWhiteSpace))
            throw new ArgumentException("sapi-sim needs at least one non-empty token (sapi-sim.tokens)");
        if (Solvers.Count == 0) throw new ArgumentException("sapi-sim needs at least one solver");
        if (Solvers.Select(s => s.Name).Distinct().Count() != Solvers.Count) throw new ArgumentException("solver names must be unique");
        if (!(BetaHw > 0) || double.IsInfinity(BetaHw)) throw new ArgumentOutOfRangeException(nameof(BetaHw), BetaHw, "beta-hw must be positive and finite");
        if (SigmaH < 0 || SigmaJ < 0 || !double.IsFinite(SigmaH) || !double.IsFinite(SigmaJ))
            throw new ArgumentOutOfRangeException(nameof(SigmaH), "control-error sigmas must be finite and non-negative");
        if (MaxConcurrentProblems < 1) throw new ArgumentOutOfRangeException(nameof(MaxConcurrentProblems), "at least one problem must be able to run");
    }
}

/// <summary>QPU access time charged to one token, as <c>qpu_access_time</c> sums (µs), and the problems completed.</summary>
public sealed record SimulatorUsage(double QpuAccessTimeMicroseconds, int ProblemsCompleted);
