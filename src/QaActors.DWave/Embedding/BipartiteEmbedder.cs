using System.Numerics;
using QaActors.DWave.Topology;
using QaActors.Sampling;

namespace QaActors.DWave.Embedding;

/// <summary>Options for the constructive K×M embedding.</summary>
public sealed record BipartiteOptions
{
    /// <summary>Qubit where the hub chains start; null picks the graph's approximate centre (first try) and then seeded random qubits.</summary>
    public int? StartQubit { get; init; }
    /// <summary>Number of different start qubits tried before giving up.</summary>
    public int Tries { get; init; } = 8;
    public ulong Seed { get; init; } = 1;
}

/// <summary>
/// A fast constructive embedding of the complete bipartite graph K×M (the EBM's hidden units × outputs; the star for
/// M = 1). The M "hub" variables become long connected chains that are grown together, one qubit at a time, always
/// adding the free qubit that makes the most new qubits adjacent to every hub chain; the K "leaf" variables are then
/// single qubits each adjacent to all M hub chains. Growth stops as soon as K such qubits exist, so the hub chains
/// are as short as the greedy rule gets them, and the result is compact (nearest-to-start ties), which leaves room
/// for further copies when tiling. Works on any graph, including working graphs with dead qubits; the result is verified.
/// </summary>
public static class BipartiteEmbedder
{
    /// <summary>Variables 0..K−1 are the leaves (hidden units k_j), K..K+M−1 the hubs (outputs y_m), as docs/math.md orders q = (k, y) ("The per-example problem").</summary>
    public static MinorEmbedding Find(int k, int m, Graph target, BipartiteOptions? options = null) =>
        Find(Enumerable.Range(0, k).ToArray(), Enumerable.Range(k, m).ToArray(), target, options);

    public static MinorEmbedding Find(IReadOnlyList<int> leaves, IReadOnlyList<int> hubs, Graph target, BipartiteOptions? options = null) =>
        TryFind(leaves, hubs, target, options, out var why) ?? throw new EmbeddingException(why);

    public static MinorEmbedding? TryFind(IReadOnlyList<int> leaves, IReadOnlyList<int> hubs, Graph target, BipartiteOptions? options, out string reason)
    {
        options ??= new BipartiteOptions();
        int k = leaves.Count, m = hubs.Count;
        if (m < 1 || k < 1) throw new ArgumentException($"K×M needs K ≥ 1 and M ≥ 1 (got K={k}, M={m})");
        if (m > 63) throw new ArgumentException($"M={m} hubs: the constructive embedding handles at most 63; use MinorEmbedder");
        if (leaves.Concat(hubs).Distinct().Count() != k + m) throw new ArgumentException("leaf and hub labels must be distinct");
        if (k + m > target.NumNodes)
        {
            reason = $"K×M = {k}×{m} needs at least {k + m} qubits; the target has {target.NumNodes}";
            return null;
        }
        var rng = new Rng(options.Seed);
        reason = "no start qubit tried";
        for (int attempt = 0; attempt < Math.Max(1, options.Tries); attempt++)
        {
            int start = attempt == 0
                ? options.StartQubit ?? GraphSearch.ApproximateCentre(target)
                : target.Nodes[rng.NextInt(target.NumNodes)];
            if (!target.Contains(start)) throw new ArgumentException($"start qubit {start} is not in the target graph");
            var result = Grow(leaves, hubs, target, start, out reason);
            if (result is null) continue;
            var edges = from l in leaves from h in hubs select (l, h);
            var error = EmbeddingVerifier.Check(edges, target, result);
            if (error is not null) throw new InvalidOperationException($"internal error: constructive K×M embedding failed verification: {error}");
            return result;
        }
        reason = $"no K×M = {k}×{m} embedding found on {target} after {options.Tries} start qubit(s): {reason}";
        return null;
    }

    private static MinorEmbedding? Grow(IReadOnlyList<int> leaves, IReadOnlyList<int> hubs, Graph g, int start, out string reason)
    {
        int k = leaves.Count, m = hubs.Count;
        ulong full = m == 64 ? ulong.MaxValue : (1UL << m) - 1;
        int n = g.IdBound;
        var hubOf = new int[n];
        Array.Fill(hubOf, -1);
        var mask = new ulong[n];            // for free qubits: which hub chains they touch
        var dist = GraphSearch.Bfs(g, [start]);
        var chains = new List<int>[m];
        for (int j = 0; j < m; j++) chains[j] = new List<int>();
        int common = 0;                     // free qubits touching every hub

        void AddToHub(int q, int j)
        {
            if (mask[q] == full) common--;
            hubOf[q] = j;
            chains[j].Add(q);
            ulong bit = 1UL << j;
            foreach (int r in g.Neighbours(q))
            {
                if (hubOf[r] >= 0 || (mask[r] & bit) != 0) continue;
                mask[r] |= bit;
                if (mask[r] == full) common++;
            }
        }

        // Seeds: a clique of M qubits around the start when the lattice has one (Pegasus and Zephyr contain K4),
        // otherwise the nearest free qubits, so the hub chains begin side by side.
        var seeds = new List<int> { start };
        while (seeds.Count < m)
        {
            int best = -1, bestDeg = -1;
            foreach (int c in g.Neighbours(seeds[0]))
            {
                if (seeds.Contains(c)) continue;
                bool all = seeds.All(s => g.HasEdge(s, c));
                int score = (all ? 1000 : 0) + seeds.Count(s => g.HasEdge(s, c)) * 20 + g.Degree(c);
                if (score > bestDeg) { bestDeg = score; best = c; }
            }
            if (best < 0)
            {
                reason = $"start qubit {start} has too few neighbours to seed {m} hub chains";
                return null;
            }
            seeds.Add(best);
        }
        for (int j = 0; j < m; j++) AddToHub(seeds[j], j);

        double eps = 1.0 / (16.0 * (m + 1));
        int maxSteps = g.NumNodes;
        int hubTotal = m;
        while (common < k)
        {
            if (hubTotal + k > g.NumNodes || maxSteps-- <= 0)
            {
                reason = $"hub chains grew to {hubTotal} qubits with only {common} of {k} leaf qubits available";
                return null;
            }
            double bestScore = double.NegativeInfinity;
            int bq = -1, bj = -1;
            // Candidates: free qubits adjacent to a hub chain (their mask is non-zero).
            foreach (int q in g.Nodes)
            {
                ulong mq = mask[q];
                if (mq == 0 || hubOf[q] >= 0) continue;
                for (int j = 0; j < m; j++)
                {
                    ulong bit = 1UL << j;
                    if ((mq & bit) == 0) continue;
                    int completes = 0;
                    double progress = 0;
                    foreach (int r in g.Neighbours(q))
                    {
                        if (hubOf[r] >= 0 || (mask[r] & bit) != 0) continue;
                        int after = BitOperations.PopCount(mask[r]) + 1;
                        progress += (double)after * after;
                        if ((mask[r] | bit) == full) completes++;
                    }
                    double lost = mq == full ? 1 : 0;
                    // Completed leaf qubits first; among equals, progress towards completion (a neighbour touching more
                    // hubs counts quadratically more, which pulls the M hub chains alongside each other); then compactness.
                    double score = completes - lost + eps * progress / (m * m) - 1e-4 * dist[q] - 1e-6 * chains[j].Count;
                    if (score > bestScore) { bestScore = score; bq = q; bj = j; }
                }
            }
            if (bq < 0)
            {
                reason = $"the hub chains cannot grow further (reached {hubTotal} qubits, {common} of {k} leaf qubits available)";
                return null;
            }
            AddToHub(bq, bj);
            hubTotal++;
        }
        // Leaves: of the qubits touching every hub, take first those with the fewest other free neighbours (they would
        // be stranded otherwise), then those closest to the start; the unused rest stays well connected for later copies.
        var candidates = g.Nodes.ToArray().Where(q => hubOf[q] < 0 && mask[q] == full).ToArray();
        var isCandidate = new bool[n];
        foreach (int q in candidates) isCandidate[q] = true;
        int Outside(int q)
        {
            int c = 0;
            foreach (int r in g.Neighbours(q)) if (hubOf[r] < 0 && !isCandidate[r]) c++;
            return c;
        }
        var leafQubits = candidates.OrderBy(Outside).ThenBy(q => dist[q]).ThenBy(q => q).Take(k).ToArray();
        var map = new Dictionary<int, int[]>(k + m);
        for (int i = 0; i < k; i++) map[leaves[i]] = [leafQubits[i]];
        for (int j = 0; j < m; j++) map[hubs[j]] = chains[j].ToArray();
        reason = "";
        return new MinorEmbedding(map);
    }

    /// <summary>
    /// Recognises a complete bipartite K×M problem graph (every one of M "hubs" joined to each of K "leaves", no other
    /// edges) with K ≥ M, so callers can take the constructive path. Returns false for any other graph.
    /// </summary>
    public static bool TryRecognise(IEnumerable<(int U, int V)> edges, out int[] leaves, out int[] hubs)
    {
        leaves = [];
        hubs = [];
        var adj = new Dictionary<int, HashSet<int>>();
        int count = 0;
        foreach (var (u, v) in edges)
        {
            if (u == v) return false;
            if (!adj.TryGetValue(u, out var su)) adj[u] = su = new HashSet<int>();
            if (!adj.TryGetValue(v, out var sv)) adj[v] = sv = new HashSet<int>();
            if (su.Add(v)) count++;
            sv.Add(u);
        }
        if (adj.Count < 2) return false;
        // Hubs have the largest degree; in K×M with K ≥ M the hubs' degree K is at least the leaves' degree M.
        int maxDeg = adj.Values.Max(s => s.Count);
        var h = adj.Where(p => p.Value.Count == maxDeg).Select(p => p.Key).Order().ToArray();
        var l = adj.Keys.Except(h).Order().ToArray();
        if (l.Length == 0)
        {
            // K = M: any balanced split; take a vertex and its neighbours as the leaves.
            if (h.Length % 2 != 0) return false;
            int first = h[0];
            l = adj[first].Order().ToArray();
            h = adj.Keys.Except(l).Order().ToArray();
        }
        if ((long)l.Length * h.Length != count || l.Length < h.Length) return false;
        var hs = new HashSet<int>(h);
        foreach (int x in l)
        {
            if (adj[x].Count != h.Length || !adj[x].SetEquals(hs)) return false;
        }
        leaves = l;
        hubs = h;
        return true;
    }
}
