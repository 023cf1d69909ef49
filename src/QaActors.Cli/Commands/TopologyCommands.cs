using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using QaActors.DWave.Embedding;
using QaActors.DWave.Topology;
using QaActors.Sampling;
using Spectre.Console;

namespace QaActors.Cli.Commands;

/// <summary><c>qa topology</c> (hardware graph facts) and <c>qa embed</c> (minor-embed a problem on one).</summary>
public static class TopologyCommands
{
    private const int PegasusMinM = 2, MaxM = 32, MaxT = 16;

    public static Command Topology()
    {
        var kind = new Argument<string>("kind") { Description = "pegasus | zephyr" };
        var m = new Argument<int>("m") { Description = $"Lattice size M: pegasus {PegasusMinM}..{MaxM}, zephyr 1..{MaxM} (Advantage: pegasus 16; Advantage2: zephyr 15 4 or 6 4)." };
        var t = new Argument<int?>("t") { Description = $"Zephyr tile parameter T, 1..{MaxT} (default 4).", Arity = ArgumentArity.ZeroOrOne };
        var dead = new Option<double>("--dead-fraction") { Description = "Remove this fraction of qubits at random (seeded), as on a real chip.", DefaultValueFactory = _ => 0 };
        var seed = new Option<ulong>("--seed") { DefaultValueFactory = _ => 1UL, Description = "Seed for --dead-fraction." };
        var json = CommonOptions.Json();
        var cmd = new Command("topology", "Node and edge counts and degrees of a Pegasus or Zephyr graph (dwave-networkx indexing).") { kind, m, t, dead, seed, json };
        cmd.SetAction(pr =>
        {
            string k = pr.GetValue(kind)!;
            int mv = pr.GetValue(m);
            int? tv = pr.GetValue(t);
            string text = k.ToLowerInvariant() == "zephyr" ? $"zephyr:{mv},{tv ?? 4}" : $"{k}:{mv}";
            if (k.ToLowerInvariant() == "pegasus" && tv is not null) throw new UsageException("pegasus takes one size, M (for example `qa topology pegasus 16`); T is for zephyr only.");
            var g = ParseTopology(text);
            CommonOptions.RequireRange(pr.GetValue(dead), "--dead-fraction", 0, 0.5);
            if (pr.GetValue(dead) > 0) g = g.WithoutNodes(HardwareGraph.RandomDeadQubits(g, pr.GetValue(dead), pr.GetValue(seed)));
            var hist = new SortedDictionary<int, int>();
            foreach (int n in g.Nodes) hist[g.Degree(n)] = hist.GetValueOrDefault(g.Degree(n)) + 1;
            var report = new JsonObject
            {
                ["topology"] = g.Shape.ToString(),
                ["nodes"] = g.NumNodes,
                ["edges"] = g.NumEdges,
                ["max_degree"] = g.MaxDegree(),
                ["min_degree"] = hist.Count == 0 ? 0 : hist.Keys.First(),
                ["mean_degree"] = g.NumNodes == 0 ? 0 : 2.0 * g.NumEdges / g.NumNodes,
                ["degree_histogram"] = new JsonObject(hist.Select(kv => KeyValuePair.Create(kv.Key.ToString(CultureInfo.InvariantCulture), (JsonNode?)kv.Value))),
                ["components"] = g.ConnectedComponents(),
            };
            if (pr.GetValue(json)) { Cli.WriteJson(report); return Cli.ExitOk; }
            var table = new Table().Title(g.Shape.ToString()).HideHeaders().AddColumn("k").AddColumn("v");
            table.AddRow("nodes", g.NumNodes.ToString("N0", CultureInfo.InvariantCulture));
            table.AddRow("edges", g.NumEdges.ToString("N0", CultureInfo.InvariantCulture));
            table.AddRow("degree min / mean / max", $"{hist.Keys.FirstOrDefault()} / {(g.NumNodes == 0 ? 0 : 2.0 * g.NumEdges / g.NumNodes):F2} / {g.MaxDegree()}");
            table.AddRow("degree histogram", string.Join("  ", hist.Select(kv => $"{kv.Key}:{kv.Value}")));
            table.AddRow("connected components", g.ConnectedComponents().ToString(CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            return Cli.ExitOk;
        });
        return cmd;
    }

    public static Graph ParseTopology(string text)
    {
        LatticeShape shape;
        try { shape = HardwareGraph.ParseShape(text); }
        catch (FormatException e) { throw new UsageException(e.Message + "."); }
        // Pegasus P(1) has no complete unit cell (the generator needs M >= 2); Zephyr Z(1, T) is a valid graph.
        int minM = shape.Kind == LatticeKind.Pegasus ? PegasusMinM : 1;
        if (shape.M < minM || shape.M > MaxM || shape.T < 1 || shape.T > MaxT)
            throw new UsageException(shape.Kind == LatticeKind.Pegasus
                ? $"topology {text}: pegasus M must be {PegasusMinM}..{MaxM} (Advantage is pegasus 16)."
                : $"topology {text}: zephyr M must be 1..{MaxM} and T 1..{MaxT} (Advantage2 is zephyr 6,4 or 15,4).");
        return HardwareGraph.Ideal(shape);
    }

    public static Command Embed()
    {
        var problem = new Option<string>("--problem") { Description = "Problem JSON file (the format of qa sample).", Required = true };
        var topology = new Option<string>("--topology") { Description = "Target graph: pegasus:M or zephyr:M,T.", DefaultValueFactory = _ => "pegasus:16" };
        var dead = new Option<double>("--dead-fraction") { Description = "Remove this fraction of qubits at random (seeded) first.", DefaultValueFactory = _ => 0 };
        var timeout = new Option<double>("--timeout") { Description = "Seconds the general heuristic may search.", DefaultValueFactory = _ => 20 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the heuristic and of --dead-fraction.", DefaultValueFactory = _ => 1UL };
        var json = CommonOptions.Json();
        var cmd = new Command("embed", "Minor-embed a problem's graph on a hardware graph and print the chains.") { problem, topology, dead, timeout, seed, json };
        cmd.SetAction(pr =>
        {
            var bqm = ProblemJson.ReadFile(pr.GetValue(problem)!);
            var g = ParseTopology(pr.GetValue(topology)!);
            CommonOptions.RequireRange(pr.GetValue(dead), "--dead-fraction", 0, 0.5);
            CommonOptions.RequireRange(pr.GetValue(timeout), "--timeout", 0, 3600, loOpen: true);
            if (pr.GetValue(dead) > 0) g = g.WithoutNodes(HardwareGraph.RandomDeadQubits(g, pr.GetValue(dead), pr.GetValue(seed)));
            var edges = bqm.QuadraticByLabel().Select(q => (q.U, q.V)).ToList();
            var watch = Stopwatch.StartNew();
            MinorEmbedding embedding;
            try { embedding = EmbeddingFinder.Find(bqm, g, new MinorEmbedderOptions { Timeout = TimeSpan.FromSeconds(pr.GetValue(timeout)), Seed = pr.GetValue(seed) }); }
            catch (EmbeddingException e)
            {
                Console.Error.WriteLine($"qa: no embedding of {pr.GetValue(problem)} ({bqm.NumVariables} variables, {edges.Count} interactions) on {g.Shape} within {pr.GetValue(timeout)} s: {e.Message} Try a larger --timeout, another --seed or a larger topology.");
                return Cli.ExitFailure;
            }
            double seconds = watch.Elapsed.TotalSeconds;
            EmbeddingVerifier.Verify(edges, g, embedding, bqm.Labels.ToArray());
            var report = new JsonObject
            {
                ["topology"] = g.Shape.ToString(),
                ["seconds"] = seconds,
                ["variables"] = embedding.NumVariables,
                ["qubits"] = embedding.TotalQubits,
                ["max_chain_length"] = embedding.MaxChainLength,
                ["mean_chain_length"] = embedding.MeanChainLength,
                ["chains"] = new JsonObject(embedding.Chains.OrderBy(c => c.Key).Select(c =>
                    KeyValuePair.Create(c.Key.ToString(CultureInfo.InvariantCulture), (JsonNode?)new JsonArray(c.Value.Select(q => (JsonNode)q).ToArray())))),
            };
            if (pr.GetValue(json)) { Cli.WriteJson(report); return Cli.ExitOk; }
            AnsiConsole.MarkupLineInterpolated($"{embedding.Summary()} on {g.Shape.ToString()} in {seconds:F3} s (verified)");
            var table = new Table().AddColumn("variable").AddColumn("chain length").AddColumn("qubits");
            foreach (var c in embedding.Chains.OrderBy(c => c.Key).Take(20))
                table.AddRow(c.Key.ToString(CultureInfo.InvariantCulture), c.Value.Length.ToString(CultureInfo.InvariantCulture),
                    string.Join(" ", c.Value.Take(12)) + (c.Value.Length > 12 ? " ..." : ""));
            AnsiConsole.Write(table);
            if (embedding.NumVariables > 20) AnsiConsole.MarkupLineInterpolated($"[grey]... {embedding.NumVariables - 20} more chains (--json lists all)[/]");
            return Cli.ExitOk;
        });
        return cmd;
    }
}
