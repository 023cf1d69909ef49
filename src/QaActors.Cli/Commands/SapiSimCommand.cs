using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using QaActors.DWave.Simulator;
using QaActors.Orchestration.Configuration;

namespace QaActors.Cli.Commands;

/// <summary><c>qa sapi-sim</c>: the simulated D-Wave QPU on 127.0.0.1, speaking the SAPI subset the client uses.</summary>
public static class SapiSimCommand
{
    public static Command Create()
    {
        var port = new Option<int?>("--port") { Description = "Port on 127.0.0.1 (0 picks a free port and prints it). Default from the configuration (0)." };
        var config = new Option<string?>("--config") { Description = "HOCON file layered over hocon/sapi-sim.conf (solvers, tokens, beta-hw, control errors, faults)." };
        var token = new Option<string?>("--token") { Description = "The API token accepted (default from the configuration: sim-token)." };
        var betaHw = new Option<double?>("--beta-hw") { Description = "Hardware inverse temperature the programmed problem is sampled at (default 16)." };
        var seed = new Option<ulong?>("--seed") { Description = "Seed of the simulator's random streams." };
        var deadFraction = new Option<double?>("--dead-fraction") { Description = "Share of dead qubits on every solver (seeded)." };
        var outage = new Option<string?>("--outage") { Description = "Inject an outage from the start: http-503 or refuse, lasting --outage-duration." };
        var outageDuration = new Option<double>("--outage-duration") { Description = "Seconds the --outage lasts.", DefaultValueFactory = _ => 10 };
        var set = new Option<string[]>("--set") { Description = "Extra HOCON settings, e.g. --set 'sapi-sim.faults.slow-answers = 2s'." };
        var cmd = new Command("sapi-sim", "Run the simulated D-Wave QPU (SAPI REST on 127.0.0.1) until interrupted (Ctrl+C or SIGTERM).")
        {
            port, config, token, betaHw, seed, deadFraction, outage, outageDuration, set,
        };
        cmd.SetAction(async (pr, ct) =>
        {
            var settings = new List<string>(pr.GetValue(set) ?? []);
            if (pr.GetValue(port) is int p) CommonOptions.RequireRange(p, "--port", 0, 65535);
            if (pr.GetValue(betaHw) is double b) CommonOptions.RequireRange(b, "--beta-hw", 0, 1e6, loOpen: true);
            if (pr.GetValue(deadFraction) is double f)
            {
                CommonOptions.RequireRange(f, "--dead-fraction", 0, 0.5);
                string v = f.ToString("R", CultureInfo.InvariantCulture);
                settings.Add($"sapi-sim.solvers.advantage.dead-qubit-fraction = {v}");
                settings.Add($"sapi-sim.solvers.advantage2.dead-qubit-fraction = {v}");
            }
            if (pr.GetValue(outage) is string mode)
            {
                if (mode is not ("http-503" or "refuse")) throw new UsageException($"--outage '{mode}' is not known; use http-503 or refuse.");
                CommonOptions.RequireRange(pr.GetValue(outageDuration), "--outage-duration", 0, 1e6, loOpen: true);
                settings.Add($"sapi-sim.faults.outage {{ mode = {mode}, start-after = 0s, duration = {pr.GetValue(outageDuration).ToString("R", CultureInfo.InvariantCulture)}s }}");
            }
            CheckKeys(pr.GetValue(config), pr.GetValue(set) ?? []);
            var flags = new SapiSimFlags
            {
                ConfigFile = pr.GetValue(config), Port = pr.GetValue(port), Token = pr.GetValue(token),
                BetaHw = pr.GetValue(betaHw), Seed = pr.GetValue(seed), Settings = settings,
            };
            // SIGTERM (kill, systemd, docker stop, a script's trap) stops the simulator as Ctrl+C does: listener
            // closed, problems cancelled, usage printed, exit 0, within the host's 2 s shutdown budget.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
            {
                c.Cancel = true;
                stop.Cancel();
            });
            try
            {
                return await SapiSimHost.RunAsync(flags, Console.Out, stop.Token);
            }
            catch (Exception e) when (e is FormatException or ArgumentException or FileNotFoundException)
            {
                throw new UsageException($"sapi-sim configuration: {e.Message}");
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return Cli.ExitOk;
            }
        });
        return cmd;
    }

    /// <summary>Keys the simulator documents but whose defaults are commented out in hocon/sapi-sim.conf.</summary>
    private static readonly string[] OptionalKeys = ["sapi-sim.faults.reset", "sapi-sim.faults.outage.retry-after"];

    /// <summary>
    /// The simulator reads the keys it knows and ignores the rest, so a misspelt fault would silently not be injected:
    /// every key of the --config file and of each --set must be one hocon/sapi-sim.conf documents (solver blocks may
    /// have any name, with the keys a solver block takes).
    /// </summary>
    internal static void CheckKeys(string? configFile, IEnumerable<string> settings)
    {
        var defaults = Akka.Configuration.ConfigurationFactory.ParseString(SapiSimConfig.DefaultHocon);
        var sources = new List<(string Source, string Text)>();
        if (configFile is not null)
        {
            if (!File.Exists(configFile)) throw new UsageException($"--config {configFile} does not exist; give a HOCON file (see hocon/sapi-sim.conf) or omit --config.");
            sources.Add(($"--config {configFile}", File.ReadAllText(configFile)));
        }
        foreach (var line in settings) sources.Add(($"--set '{line}'", line));
        foreach (var (source, text) in sources)
        {
            HoconCheck.RequireBalanced(text, source);
            Akka.Configuration.Config parsed;
            try { parsed = Akka.Configuration.ConfigurationFactory.ParseString(text); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new UsageException($"{source} is not valid HOCON ({e.Message}).");
            }
            if (parsed.IsEmpty) continue;
            foreach (var top in parsed.Root.GetObject().Items.Keys)
                if (top != SapiSimConfig.Root)
                    throw new UsageException($"{source}: '{top}' is not a sapi-sim setting; every key starts with '{SapiSimConfig.Root}.' (see hocon/sapi-sim.conf).");
            HoconCheck.RequireKnownKeys(parsed, defaults, SapiSimConfig.Root, source, OptionalKeys, ["sapi-sim.solvers"]);
        }
    }
}
