using System.CommandLine;
using System.Globalization;
using QaActors.DWave.Config;
using QaActors.DWave.Composites;
using QaActors.DWave.Sapi;
using QaActors.DWave.Structured;

namespace QaActors.Cli.Commands;

/// <summary>
/// The D-Wave options of <c>qa sample --sampler qpu</c> and <c>qa train --method qpu</c>. The token and endpoint come
/// from the usual Ocean configuration (DWAVE_API_TOKEN, DWAVE_API_ENDPOINT, DWAVE_API_SOLVER, dwave.conf); these flags
/// override it. There is deliberately no token flag: a token on a command line ends up in shell history and `ps`.
/// </summary>
public sealed class QpuOptions
{
    public readonly Option<string?> Solver = new("--solver") { Description = "QPU solver name (default: DWAVE_API_SOLVER / dwave.conf, else the largest online QPU)." };
    public readonly Option<string?> Endpoint = new("--endpoint") { Description = "SAPI endpoint URL (default: DWAVE_API_ENDPOINT / dwave.conf)." };
    public readonly Option<string?> Profile = new("--profile") { Description = "dwave.conf profile to use." };
    public readonly Option<string?> ConfigFile = new("--dwave-config") { Description = "dwave.conf file to read instead of the usual locations." };
    public readonly Option<double?> AnnealingTime = new("--annealing-time") { Description = "Annealing time in µs (solver default if absent)." };
    public readonly Option<double?> ChainStrength = new("--chain-strength") { Description = "Chain strength (default: Ocean's uniform torque compensation)." };
    public readonly Option<int> Tiles = new("--tiles") { Description = "qpu: problems of a step placed on the chip per call, as many as fit up to this (1 = one call per example).", DefaultValueFactory = _ => 1 };
    public readonly Option<double> DeadlineSeconds = new("--qpu-deadline") { Description = "Seconds every QPU call may take before it fails (no call waits forever).", DefaultValueFactory = _ => 300 };

    public void AddTo(Command cmd)
    {
        foreach (Option o in new Option[] { Solver, Endpoint, Profile, ConfigFile, AnnealingTime, ChainStrength, Tiles, DeadlineSeconds }) cmd.Add(o);
    }

    /// <summary>The QPU's temperature factor: "auto" (starting at the paper's 16) or a positive number; absent: the paper's 16.</summary>
    public static QpuTemperature ParseTEff(string? text)
    {
        const double paper = 16;
        if (text is null) return new QpuTemperature(paper);
        if (string.Equals(text, "auto", StringComparison.OrdinalIgnoreCase)) return new QpuTemperature(paper, Auto: true);
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double t) && t > 0 && double.IsFinite(t)) return new QpuTemperature(t);
        throw new UsageException($"--t-eff '{text}' must be a positive number (paper: 16) or auto.");
    }

    /// <summary>The QPU sampler the options describe; SAPI is contacted only when it is first used.</summary>
    public QpuSampler Create(ParseResult pr, QpuTemperature temperature)
    {
        Validate(pr);
        DWaveConfig config;
        try
        {
            config = DWaveConfig.Load(new DWaveConfigOverrides
            {
                Solver = pr.GetValue(Solver), Endpoint = pr.GetValue(Endpoint), Profile = pr.GetValue(Profile), ConfigFile = pr.GetValue(ConfigFile),
            });
            config.RequireToken();
        }
        catch (DWaveConfigException e) { throw new UsageException(e.Message); }
        var options = new QpuSamplerOptions
        {
            Call = new SapiCallOptions { Deadline = TimeSpan.FromSeconds(pr.GetValue(DeadlineSeconds)) },
            AnnealingTime = pr.GetValue(AnnealingTime),
            ChainStrength = pr.GetValue(ChainStrength),
            Temperature = temperature,
            MaxTiles = pr.GetValue(Tiles),
        };
        return QpuSampler.FromConfig(config, options);
    }

    public void Validate(ParseResult pr)
    {
        if (pr.GetValue(AnnealingTime) is double at) CommonOptions.RequireRange(at, "--annealing-time", 0, 1e7, loOpen: true);
        if (pr.GetValue(ChainStrength) is double cs) CommonOptions.RequireRange(cs, "--chain-strength", 0, 1e6, loOpen: true);
        CommonOptions.RequireRange(pr.GetValue(Tiles), "--tiles", 1, 1000);
        CommonOptions.RequireRange(pr.GetValue(DeadlineSeconds), "--qpu-deadline", 0, 86400, loOpen: true);
    }
}
