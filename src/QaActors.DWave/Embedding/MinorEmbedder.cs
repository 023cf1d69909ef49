using System.Diagnostics;
using QaActors.DWave.Topology;
using QaActors.Sampling;

namespace QaActors.DWave.Embedding;

/// <summary>Options of the general heuristic. Defaults are smaller than minorminer's (timeout 1000 s, tries 10) because the project's problems are small or take the constructive path.</summary>
public sealed record MinorEmbedderOptions
{
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(20);
    public ulong Seed { get; init; } = 1;
    /// <summary>Independent restarts (each from a fresh random initial placement).</summary>
    public int Tries { get; init; } = 10;
    /// <summary>Improvement passes without a smaller overlap before a try is abandoned.</summary>
    public int MaxNoImprovement { get; init; } = 10;
    /// <summary>Passes that shorten chains once an overlap-free embedding is found.</summary>
    public int ChainLengthPasses { get; init; } = 2;
    /// <summary>Initial penalty base: a qubit shared with k other chains weighs Base^k.</summary>
    public double InitialBase { get; init; } = 30;
    /// <summary>Factor by which the base rises after each improvement pass (capped at 1e6).</summary>
    public double BaseGrowth { get; init; } = 1.6;
    /// <summary>
    /// Relative random jitter of qubit weights, redrawn every pass. Single-chain moves can stall when every way out of
    /// a congested region costs the same overlap; jitter breaks those ties differently each pass.
    /// </summary>
    public double WeightJitter { get; init; } = 0.5;
}

/// <summary>
/// A general minor-embedding heuristic after Cai, Macready and Roy, "A practical heuristic for finding graph minors"
/// (arXiv:1406.2741), written from the paper's description (the method minorminer implements, see
/// docs/dwave.md, "From a logical problem to qubits and back"):
/// each variable's chain is torn out and re-placed as the union of shortest paths from a root qubit to the chains of
/// its embedded neighbours, where a path's cost is the sum of its qubits' weights and a qubit already used by k other
/// chains weighs base^k. Overlaps are allowed but grow ever more expensive pass after pass (the base rises), until
/// every qubit serves at most one chain. Then a few passes re-place chains with overlap forbidden and keep shorter ones.
/// The result is verified before it is returned.
/// </summary>
public static class MinorEmbedder
{
    public static MinorEmbedding Find(IEnumerable<(int U, int V)> sourceEdges, Graph target, MinorEmbedderOptions? options = null, IEnumerable<int>? sourceNodes = null) =>
        TryFind(sourceEdges, target, options, out var reason, sourceNodes) ?? throw new EmbeddingException(reason);

    public static MinorEmbedding? TryFind(IEnumerable<(int U, int V)> sourceEdges, Graph target, MinorEmbedderOptions? options, out string reason, IEnumerable<int>? sourceNodes = null)
    {
        options ??= new MinorEmbedderOptions();
        var edges = sourceEdges.ToArray();
        var labels = new SortedSet<int>(sourceNodes ?? []);
        foreach (var (u, v) in edges)
        {
            if (u == v) throw new ArgumentException($"source edge ({u},{v}) is a self-loop", nameof(sourceEdges));
            labels.Add(u);
            labels.Add(v);
        }
        var label = labels.ToArray();
        if (label.Length == 0)
        {
            reason = "";
            return new MinorEmbedding(new Dictionary<int, int[]>());
        }
        if (label.Length > target.NumNodes)
        {
            reason = $"the problem has {label.Length} variables but the target only {target.NumNodes} qubits";
            return null;
        }
        var index = new Dictionary<int, int>();
        for (int i = 0; i < label.Length; i++) index[label[i]] = i;
        var nbr = new List<int>[label.Length];
        for (int i = 0; i < nbr.Length; i++) nbr[i] = new List<int>();
        foreach (var (u, v) in edges)
        {
            int a = index[u], b = index[v];
            if (!nbr[a].Contains(b)) { nbr[a].Add(b); nbr[b].Add(a); }
        }
        var sw = Stopwatch.StartNew();
        var state = new Search(target, nbr, options.Seed);
        reason = "";
        int bestOverlap = int.MaxValue;
        for (int attempt = 0; attempt < Math.Max(1, options.Tries); attempt++)
        {
            if (sw.Elapsed > options.Timeout) break;
            int overlap = state.Run(options, sw);
            bestOverlap = Math.Min(bestOverlap, overlap);
            if (overlap != 0) continue;
            state.ShortenChains(options.ChainLengthPasses, sw, options.Timeout);
            var map = new Dictionary<int, int[]>();
            for (int i = 0; i < label.Length; i++) map[label[i]] = state.ChainOf(i);
            var result = new MinorEmbedding(map);
            var error = EmbeddingVerifier.Check(edges, target, result, label);
            if (error is not null) throw new InvalidOperationException($"internal error: heuristic embedding failed verification: {error}");
            return result;
        }
        reason = $"no embedding of {label.Length} variables / {edges.Length} edges into {target} found within {options.Timeout.TotalSeconds:G} s and {options.Tries} tries " +
                 $"(best attempt left {(bestOverlap == int.MaxValue ? "no complete placement" : bestOverlap + " qubit(s) shared by two chains")}); " +
                 "try a longer timeout, more tries, or a larger target";
        return null;
    }

    /// <summary>The mutable search state of one embedding problem.</summary>
    private sealed class Search
    {
        private readonly Graph _g;
        private readonly List<int>[] _nbr;
        private readonly int[] _usage;
        private readonly List<int>[] _chain;
        private readonly bool[] _placed;
        private Rng _rng;
        private double _base = 2;
        // Per-neighbour Dijkstra buffers, reused across placements (distances and parents by qubit id).
        private readonly List<double[]> _dist = new();
        private readonly List<int[]> _parent = new();
        private readonly PriorityQueue<int, double> _queue = new();

        public Search(Graph g, List<int>[] nbr, ulong seed)
        {
            _g = g;
            _nbr = nbr;
            _usage = new int[g.IdBound];
            _chain = new List<int>[nbr.Length];
            for (int i = 0; i < nbr.Length; i++) _chain[i] = new List<int>();
            _placed = new bool[nbr.Length];
            _rng = new Rng(seed);
        }

        public int[] ChainOf(int v) => _chain[v].ToArray();

        private int Overlap()
        {
            int o = 0;
            foreach (int q in _g.Nodes) if (_usage[q] > 1) o += _usage[q] - 1;
            return o;
        }

        /// <summary>One try: a fresh initial placement, then improvement passes. Returns the final overlap (0 = success).</summary>
        public int Run(MinorEmbedderOptions options, Stopwatch sw)
        {
            Array.Clear(_usage);
            for (int v = 0; v < _chain.Length; v++) { _chain[v].Clear(); _placed[v] = false; }
            _base = options.InitialBase;
            _noise = options.WeightJitter;
            Rejitter();
            // Initial order: breadth-first from random roots so that most variables have placed neighbours.
            var order = new List<int>(_nbr.Length);
            var seen = new bool[_nbr.Length];
            var perm = Permutation(_nbr.Length);
            foreach (int r in perm)
            {
                if (seen[r]) continue;
                seen[r] = true;
                var q = new Queue<int>();
                q.Enqueue(r);
                while (q.Count > 0)
                {
                    int x = q.Dequeue();
                    order.Add(x);
                    foreach (int y in _nbr[x]) if (!seen[y]) { seen[y] = true; q.Enqueue(y); }
                }
            }
            foreach (int v in order)
            {
                if (sw.Elapsed > options.Timeout) return int.MaxValue;
                Place(v, forbidOverlap: false);
            }
            int best = Overlap();
            int stale = 0;
            while (best > 0 && stale < options.MaxNoImprovement)
            {
                if (sw.Elapsed > options.Timeout) return best;
                _base = Math.Min(_base * options.BaseGrowth, 1e6);
                Rejitter();
                foreach (int v in Permutation(_nbr.Length))
                {
                    Remove(v);
                    Place(v, forbidOverlap: false);
                }
                int o = Overlap();
                if (o < best) { best = o; stale = 0; }
                else stale++;
            }
            return best;
        }

        /// <summary>Re-places each chain with overlap forbidden and keeps the new one when it is not longer.</summary>
        public void ShortenChains(int passes, Stopwatch sw, TimeSpan timeout)
        {
            for (int p = 0; p < passes; p++)
            {
                bool improved = false;
                foreach (int v in Permutation(_nbr.Length))
                {
                    if (sw.Elapsed > timeout) return;
                    var old = _chain[v].ToArray();
                    Remove(v);
                    if (Place(v, forbidOverlap: true) && _chain[v].Count <= old.Length)
                    {
                        if (_chain[v].Count < old.Length) improved = true;
                        continue;
                    }
                    Remove(v);
                    _chain[v].AddRange(old);
                    foreach (int q in old) _usage[q]++;
                    _placed[v] = true;
                }
                if (!improved) return;
            }
        }

        private void Remove(int v)
        {
            foreach (int q in _chain[v]) _usage[q]--;
            _chain[v].Clear();
            _placed[v] = false;
        }

        private double _noise;
        private double[]? _jitter;

        private double Weight(int q, bool forbidOverlap)
        {
            double j = _jitter is null ? 1 : _jitter[q];
            return _usage[q] == 0 ? j : forbidOverlap ? double.PositiveInfinity : j * Math.Pow(_base, _usage[q]);
        }

        private void Rejitter()
        {
            if (_noise <= 0) return;
            _jitter ??= new double[_g.IdBound];
            for (int i = 0; i < _jitter.Length; i++) _jitter[i] = 1 + _noise * _rng.NextDouble();
        }

        /// <summary>Places v's chain; false when forbidOverlap leaves no way to reach some neighbour.</summary>
        private bool Place(int v, bool forbidOverlap)
        {
            var placedNbrs = _nbr[v].Where(u => _placed[u]).ToList();
            var chain = _chain[v];
            if (placedNbrs.Count == 0)
            {
                chain.Add(RandomLightQubit());
                Commit(v);
                return true;
            }
            while (_dist.Count < placedNbrs.Count)
            {
                _dist.Add(new double[_g.IdBound]);
                _parent.Add(new int[_g.IdBound]);
            }
            for (int i = 0; i < placedNbrs.Count; i++) Dijkstra(_chain[placedNbrs[i]], _dist[i], _parent[i], forbidOverlap);

            // Root: the qubit minimising its own weight plus each neighbour's path cost to it (each path counted
            // without the root's weight, which every path includes).
            double bestCost = double.PositiveInfinity;
            int root = -1, ties = 0;
            foreach (int q in _g.Nodes)
            {
                double wq = Weight(q, forbidOverlap);
                if (double.IsPositiveInfinity(wq)) continue;
                double cost = wq;
                for (int i = 0; i < placedNbrs.Count && cost < bestCost + 1e-12; i++)
                {
                    double d = _dist[i][q];
                    cost += d == 0 ? 0 : d - wq;
                }
                if (cost < bestCost - 1e-12) { bestCost = cost; root = q; ties = 1; }
                else if (cost <= bestCost + 1e-12 && root >= 0 && _rng.NextInt(++ties) == 0) root = q;
            }
            if (root < 0 || double.IsPositiveInfinity(bestCost))
            {
                if (!forbidOverlap) chain.Add(RandomLightQubit());
                if (chain.Count > 0) Commit(v);
                return false;
            }
            var inChain = new HashSet<int> { root };
            chain.Add(root);
            for (int i = 0; i < placedNbrs.Count; i++)
            {
                var dist = _dist[i];
                var parent = _parent[i];
                int x = root;
                while (dist[x] != 0)
                {
                    int p = parent[x];
                    if (dist[p] == 0) break;          // p is in the neighbour's chain: stop next to it
                    if (inChain.Add(p)) chain.Add(p);
                    x = p;
                }
            }
            Commit(v);
            return true;
        }

        private void Commit(int v)
        {
            foreach (int q in _chain[v]) _usage[q]++;
            _placed[v] = true;
        }

        private void Dijkstra(List<int> sources, double[] dist, int[] parent, bool forbidOverlap)
        {
            Array.Fill(dist, double.PositiveInfinity);
            _queue.Clear();
            foreach (int s in sources)
            {
                dist[s] = 0;
                parent[s] = -1;
                _queue.Enqueue(s, 0);
            }
            while (_queue.TryDequeue(out int x, out double dx))
            {
                if (dx > dist[x]) continue;
                foreach (int y in _g.Neighbours(x))
                {
                    double nd = dx + Weight(y, forbidOverlap);
                    if (nd < dist[y])
                    {
                        dist[y] = nd;
                        parent[y] = x;
                        _queue.Enqueue(y, nd);
                    }
                }
            }
        }

        private int RandomLightQubit()
        {
            var nodes = _g.Nodes;
            int min = int.MaxValue;
            foreach (int q in nodes) min = Math.Min(min, _usage[q]);
            int pick = -1, count = 0;
            foreach (int q in nodes)
            {
                if (_usage[q] != min) continue;
                if (_rng.NextInt(++count) == 0) pick = q;
            }
            return pick;
        }

        private int[] Permutation(int n)
        {
            var p = Enumerable.Range(0, n).ToArray();
            for (int i = n - 1; i > 0; i--)
            {
                int j = _rng.NextInt(i + 1);
                (p[i], p[j]) = (p[j], p[i]);
            }
            return p;
        }
    }
}
