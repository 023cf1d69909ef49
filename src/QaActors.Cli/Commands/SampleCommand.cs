using System.CommandLine;
using System.Globalization;
using QaActors.Sampling;
using Spectre.Console;

namespace QaActors.Cli.Commands;

public static class SampleCommand
{
    public static Command Create()
    {
        var problem = new Option<string>("--problem") { Description = "Problem JSON file: {\"vartype\": \"SPIN\"|\"BINARY\", \"linear\": [[v, bias], ...], \"quadratic\": [[u, v, bias], ...], \"offset\": 0.0}.", Required = true };
        var sampler = new Option<string>("--sampler") { Description = "exact | gibbs | anneal | qpu", Required = true };
        sampler.AcceptOnlyFromAmong("exact", "gibbs", "anneal", "qpu");
        var reads = new Option<int>("--reads") { Description = "Number of samples to draw.", DefaultValueFactory = _ => 100 };
        var beta = new Option<double?>("--beta") { Description = "Inverse temperature to sample at (exact, gibbs: default 1; anneal: a constant schedule at this beta)." };
        var sweeps = new Option<int?>("--sweeps") { Description = "Sweeps per read (gibbs, anneal; default 1000)." };
        var betaRange = new Option<string?>("--beta-range") { Description = "anneal only: LO,HI geometric schedule (default: Ocean's rule from the problem's biases)." };
        var seed = new Option<ulong>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 1UL };
        var tEff = new Option<string?>("--t-eff") { Description = "qpu only: the QPU's temperature factor T (default 16, as qa train): the problem is multiplied by 1/T before it is programmed, so the QPU samples it near beta 1; or auto (T from the running beta estimate)." };
        var json = CommonOptions.Json();
        var qpu = new QpuOptions();
        var cmd = new Command("sample", "Draw samples of a binary quadratic model with one of the samplers.")
        {
            problem, sampler, reads, beta, sweeps, betaRange, seed, tEff, json,
        };
        qpu.AddTo(cmd);
        cmd.SetAction(async (pr, ct) =>
        {
            var bqm = ProblemJson.ReadFile(pr.GetValue(problem)!);
            string name = pr.GetValue(sampler)!;
            int n = pr.GetValue(reads);
            CommonOptions.RequireRange(n, "--reads", 1, 1_000_000);
            double? b = pr.GetValue(beta);
            if (b is double bv) CommonOptions.RequireRange(bv, "--beta", 0, 1e6, loOpen: true);
            int? s = pr.GetValue(sweeps);
            if (s is int sv) CommonOptions.RequireRange(sv, "--sweeps", 1, 10_000_000);
            string? range = pr.GetValue(betaRange);
            if (range != null && b != null) throw new UsageException("give either --beta (constant schedule) or --beta-range (geometric schedule), not both.");
            if (name == "exact" && bqm.NumVariables > ExactSampler.MaxVariables)
                throw new UsageException($"--sampler exact enumerates all states and takes at most {ExactSampler.MaxVariables} variables; {pr.GetValue(problem)} has {bqm.NumVariables}. Use --sampler gibbs or anneal.");
            ISampler smp;
            if (name == "qpu")
            {
                if (b != null || s != null || range != null) throw new UsageException("--beta, --sweeps and --beta-range are for the classical samplers; a QPU's temperature is set with --t-eff.");
                using var q = qpu.Create(pr, QpuOptions.ParseTEff(pr.GetValue(tEff)));
                var qset = await q.SampleAsync(bqm, new SampleRequest(n, 1.0, pr.GetValue(seed)), ct);
                if (pr.GetValue(json)) { Cli.WriteJson(ProblemJson.ToJson(qset)); return Cli.ExitOk; }
                Render(qset);
                return Cli.ExitOk;
            }
            if (pr.GetValue(tEff) != null) throw new UsageException("--t-eff applies to --sampler qpu; classical samplers take --beta.");
            try { smp = ClassicalSamplers.Create(name, s, range is null ? null : ParseBetaRange(range), fixedBeta: b is not null); }
            catch (ArgumentException e) { throw new UsageException(e.Message + "."); }
            var request = new SampleRequest(n, b ?? 1.0, pr.GetValue(seed));
            var set = await smp.SampleAsync(bqm, request, ct);
            if (pr.GetValue(json)) { Cli.WriteJson(ProblemJson.ToJson(set)); return Cli.ExitOk; }
            Render(set);
            return Cli.ExitOk;
        });
        return cmd;
    }

    /// <summary>What a reported property is measured in (see docs/dwave.md, "Temperature").</summary>
    private static string UnitOf(string key) => key switch
    {
        "beta_hardware_estimate" => " (inverse temperature of the programmed problem, 1/energy unit)",
        "beta_model_estimate" => " (inverse temperature at which the given problem was sampled; target 1)",
        "t_eff" => " (temperature factor T applied on the QPU side)",
        "problem_scale" => " (factor the problem was multiplied by before programming)",
        _ when key.Contains("time", StringComparison.Ordinal) => " µs",
        _ => "",
    };

    private static (double Lo, double Hi) ParseBetaRange(string range)
    {
        var parts = range.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double lo)
            || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double hi) || !(lo > 0) || !(hi >= lo) || !double.IsFinite(hi))
            throw new UsageException($"--beta-range '{range}' must be LO,HI with 0 < LO <= HI, for example --beta-range 0.1,3.");
        return (lo, hi);
    }

    private static void Render(SampleSet set)
    {
        var agg = set.Aggregate();
        var order = Enumerable.Range(0, agg.NumRows).OrderBy(r => agg.Energies[r]).ToArray();
        var table = new Table().Title($"{set.TotalReads} reads by {set.Info.Sampler}, {agg.NumRows} distinct states (lowest energy first)");
        table.AddColumn("energy");
        table.AddColumn("count");
        table.AddColumn($"state ({string.Join(" ", set.Variables.ToArray().Take(24))}{(set.NumVariables > 24 ? " ..." : "")})");
        foreach (int r in order.Take(10))
        {
            string state = string.Join(" ", agg.Row(r).ToArray().Take(24).Select(v => set.Vartype == Vartype.Spin ? (v < 0 ? "-" : "+") : v.ToString(CultureInfo.InvariantCulture)));
            table.AddRow(agg.Energies[r].ToString("G6", CultureInfo.InvariantCulture), agg.NumOccurrences[r].ToString(CultureInfo.InvariantCulture), state);
        }
        AnsiConsole.Write(table);
        foreach (var (k, v) in set.Info.Timing) AnsiConsole.MarkupLineInterpolated($"[grey]timing.{k}[/] {v:G6} µs");
        foreach (var (k, v) in set.Info.Properties) AnsiConsole.MarkupLineInterpolated($"[grey]{k}[/] {v:G6}{UnitOf(k)}");
        foreach (var (k, v) in set.Info.Notes) AnsiConsole.MarkupLineInterpolated($"[grey]{k}[/] {v}");
    }
}
