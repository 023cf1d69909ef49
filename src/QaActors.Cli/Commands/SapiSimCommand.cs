using System.CommandLine;
using System.Globalization;
using QaActors.DWave.Simulator;
using QaActors.DWave.Topology;
using Spectre.Console;

namespace QaActors.Cli.Commands;

/// <summary><c>qa sapi-sim</c>: the simulated D-Wave QPU on 127.0.0.1, speaking the SAPI subset the client uses.</summary>
public static class SapiSimCommand
{
    public static string DefaultHocon()
    {
        using var s = typeof(SapiSimCommand).Assembly.GetManifestResourceStream("hocon/sapi-sim.conf")
            ?? throw new InvalidOperationException("the embedded hocon/sapi-sim.conf is missing from this build");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    /// <summary>Solver graphs from the project's Pegasus and Zephyr generators (dwave-networkx indexing).</summary>
    public static readonly ISolverGraphSource LatticeGraphs = new DelegateGraphSource((topology, shape) =>
    {
        switch (topology)
        {
            case "pegasus" when shape.Length == 1:
            {
                var g = Pegasus.Create(shape[0]);
                int m = shape[0];
                return SolverGraph.FromEdges(24 * m * (m - 1), g.Nodes.ToArray(), g.Edges(), "pegasus", shape);
            }
            case "zephyr" when shape.Length is 1 or 2:
            {
                int m = shape[0], t = shape.Length == 2 ? shape[1] : 4;
                var g = Zephyr.Create(m, t);
                return SolverGraph.FromEdges(Zephyr.NumNodes(m, t), g.Nodes.ToArray(), g.Edges(), "zephyr", [m, t]);
            }
            default:
                throw new FormatException($"sapi-sim solver topology '{topology}' with shape [{string.Join(",", shape)}] is not known; use topology = \"pegasus\", shape = [16] or topology = \"zephyr\", shape = [6, 4]");
        }
    });

    public static Command Create()
    {
        var port = new Option<int?>("--port") { Description = "Port on 127.0.0.1 (0 picks a free port and prints it). Default from the configuration (0)." };
        var config = new Option<string?>("--config") { Description = "HOCON file overriding hocon/sapi-sim.conf (solvers, tokens, beta-hw, control errors, faults)." };
        var token = new Option<string[]>("--token") { Description = "Accepted API token(s) (default from the configuration: sim-token).", AllowMultipleArgumentsPerToken = true };
        var betaHw = new Option<double?>("--beta-hw") { Description = "Hardware inverse temperature the programmed problem is sampled at (default 16)." };
        var deadFraction = new Option<double?>("--dead-fraction") { Description = "Share of dead qubits on every solver (seeded)." };
        var outage = new Option<string?>("--outage") { Description = "Inject an outage from the start: http-503 or refuse, for --outage-duration." };
        var outageDuration = new Option<double>("--outage-duration") { Description = "Seconds the --outage lasts.", DefaultValueFactory = _ => 10 };
        var cmd = new Command("sapi-sim", "Run the simulated D-Wave QPU (SAPI REST on 127.0.0.1) until interrupted.")
        {
            port, config, token, betaHw, deadFraction, outage, outageDuration,
        };
        cmd.SetAction(async (pr, ct) =>
        {
            string hocon = DefaultHocon();
            if (pr.GetValue(config) is string path)
            {
                if (!File.Exists(path)) throw new UsageException($"--config {path}: file not found; give a HOCON file like hocon/sapi-sim.conf.");
                hocon = File.ReadAllText(path) + "\n" + hocon;
            }
            var overrides = new List<string>();
            if (pr.GetValue(port) is int p) { CommonOptions.RequireRange(p, "--port", 0, 65535); overrides.Add($"sapi-sim.port = {p}"); }
            if (pr.GetValue(token) is { Length: > 0 } tokens) overrides.Add($"sapi-sim.tokens = [{string.Join(",", tokens.Select(t => "\"" + t.Replace("\"", "") + "\""))}]");
            if (pr.GetValue(betaHw) is double b) { CommonOptions.RequireRange(b, "--beta-hw", 0, 1e6, loOpen: true); overrides.Add($"sapi-sim.beta-hw = {b.ToString("R", CultureInfo.InvariantCulture)}"); }
            if (pr.GetValue(deadFraction) is double f)
            {
                CommonOptions.RequireRange(f, "--dead-fraction", 0, 0.5);
                overrides.Add($"sapi-sim.solvers.advantage.dead-qubit-fraction = {f.ToString("R", CultureInfo.InvariantCulture)}");
                overrides.Add($"sapi-sim.solvers.advantage2.dead-qubit-fraction = {f.ToString("R", CultureInfo.InvariantCulture)}");
            }
            // HOCON: earlier definitions win over later fallbacks when concatenated first, so overrides go in front.
            string full = string.Join("\n", overrides) + "\n" + hocon;
            SapiSimulatorOptions options;
            try { options = SapiSimConfig.Load(full, LatticeGraphs, new HardwareAnnealer(), line => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]")); }
            catch (Exception e) when (e is FormatException or ArgumentException) { throw new UsageException($"sapi-sim configuration: {e.Message}"); }
            await using var sim = await SapiSimulator.StartAsync(options, ct);
            if (pr.GetValue(outage) is string mode)
            {
                if (mode is not ("http-503" or "refuse")) throw new UsageException($"--outage '{mode}' is not known; use http-503 or refuse.");
                SapiSimConfig.ApplyFaults(sim.Faults, $"faults {{ outage {{ mode = {mode}, start-after = 0s, duration = {pr.GetValue(outageDuration).ToString("R", CultureInfo.InvariantCulture)}s }} }}");
            }
            Console.Out.WriteLine($"sapi-sim listening: DWAVE_API_ENDPOINT={sim.SapiEndpoint} DWAVE_API_TOKEN={options.Tokens[0]}");
            Console.Out.WriteLine($"solvers: {string.Join(", ", sim.Solvers.Select(s => s.Name))}; beta_hw {options.BetaHw}; stop with Ctrl-C");
            Console.Out.Flush();
            try { await sim.WaitUntilCancelledAsync(ct); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
            foreach (var t in options.Tokens)
            {
                var u = sim.Usage(t);
                Console.Out.WriteLine($"token {t[..Math.Min(4, t.Length)]}...: {u.ProblemsCompleted} problems, qpu_access_time {u.QpuAccessTimeMicroseconds / 1e6:F3} s");
            }
            return Cli.ExitOk;
        });
        return cmd;
    }
}
