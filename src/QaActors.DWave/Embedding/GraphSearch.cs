using QaActors.DWave.Topology;

namespace QaActors.DWave.Embedding;

/// <summary>Breadth-first helpers shared by the embedders.</summary>
internal static class GraphSearch
{
    /// <summary>Hop distances from the sources over nodes that <paramref name="usable"/> allows (int.MaxValue where unreachable).</summary>
    public static int[] Bfs(Graph g, IEnumerable<int> sources, Func<int, bool>? usable = null)
    {
        var dist = new int[g.IdBound];
        Array.Fill(dist, int.MaxValue);
        var queue = new Queue<int>();
        foreach (int s in sources)
        {
            if (!g.Contains(s) || dist[s] == 0) continue;
            dist[s] = 0;
            queue.Enqueue(s);
        }
        while (queue.Count > 0)
        {
            int x = queue.Dequeue();
            foreach (int y in g.Neighbours(x))
            {
                if (dist[y] != int.MaxValue || (usable is not null && !usable(y))) continue;
                dist[y] = dist[x] + 1;
                queue.Enqueue(y);
            }
        }
        return dist;
    }

    /// <summary>
    /// An approximate centre of the graph's largest reachable region: two sweeps find a long path a..b, and the centre
    /// is the node best balanced between its ends. Three BFS, no all-pairs work.
    /// </summary>
    public static int ApproximateCentre(Graph g)
    {
        if (g.NumNodes == 0) throw new EmbeddingException("the target graph has no qubits");
        int start = g.Nodes[g.NumNodes / 2];
        int a = Farthest(g, Bfs(g, [start]));
        var da = Bfs(g, [a]);
        int b = Farthest(g, da);
        var db = Bfs(g, [b]);
        int best = a;
        long bestScore = long.MaxValue;
        foreach (int n in g.Nodes)
        {
            if (da[n] == int.MaxValue || db[n] == int.MaxValue) continue;
            long score = (long)Math.Max(da[n], db[n]) * 64 - g.Degree(n);
            if (score < bestScore) { bestScore = score; best = n; }
        }
        return best;
    }

    private static int Farthest(Graph g, int[] dist)
    {
        int best = -1, bd = -1;
        foreach (int n in g.Nodes)
        {
            if (dist[n] != int.MaxValue && dist[n] > bd) { bd = dist[n]; best = n; }
        }
        return best;
    }
}
