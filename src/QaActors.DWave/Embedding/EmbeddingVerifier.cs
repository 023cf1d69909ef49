using QaActors.DWave.Topology;

namespace QaActors.DWave.Embedding;

/// <summary>
/// Checks an embedding before it is used (Ocean's embed_bqm raises on a missing edge or a disconnected chain,
/// dwave-system <c>dwave/embedding/transforms.py</c>): every logical variable has a non-empty chain of qubits present in
/// the target, each chain is connected in the target, chains are pairwise disjoint, and every logical edge has at
/// least one target coupler between its two chains.
/// </summary>
public static class EmbeddingVerifier
{
    /// <summary>Throws <see cref="EmbeddingException"/> naming the first violation found.</summary>
    public static void Verify(IEnumerable<(int U, int V)> sourceEdges, Graph target, MinorEmbedding embedding, IEnumerable<int>? sourceNodes = null)
    {
        var error = Check(sourceEdges, target, embedding, sourceNodes);
        if (error is not null) throw new EmbeddingException(error);
    }

    public static bool IsValid(IEnumerable<(int U, int V)> sourceEdges, Graph target, MinorEmbedding embedding, IEnumerable<int>? sourceNodes = null) =>
        Check(sourceEdges, target, embedding, sourceNodes) is null;

    /// <summary>The first violation as a sentence, or null when the embedding is valid.</summary>
    public static string? Check(IEnumerable<(int U, int V)> sourceEdges, Graph target, MinorEmbedding embedding, IEnumerable<int>? sourceNodes = null)
    {
        var edges = sourceEdges as IReadOnlyCollection<(int U, int V)> ?? sourceEdges.ToArray();
        var vars = new SortedSet<int>(sourceNodes ?? []);
        foreach (var (u, v) in edges)
        {
            if (u == v) return $"logical edge ({u},{v}) is a self-loop";
            vars.Add(u);
            vars.Add(v);
        }
        foreach (int v in vars)
        {
            if (!embedding.Contains(v)) return $"logical variable {v} has no chain";
        }
        var owner = new int[target.IdBound];
        Array.Fill(owner, int.MinValue);
        bool[] ownedSet = new bool[target.IdBound];
        foreach (var (v, chain) in embedding.Chains)
        {
            if (chain.Length == 0) return $"chain of variable {v} is empty";
            foreach (int q in chain)
            {
                if (!target.Contains(q)) return $"chain of variable {v} uses qubit {q}, which is not in the target graph (dead or out of range)";
                if (ownedSet[q]) return $"qubit {q} is in the chains of both variable {owner[q]} and variable {v}; chains must be disjoint";
                ownedSet[q] = true;
                owner[q] = v;
            }
        }
        var seen = new bool[target.IdBound];
        var stack = new Stack<int>();
        foreach (var (v, chain) in embedding.Chains)
        {
            int reached = 1;
            seen[chain[0]] = true;
            stack.Push(chain[0]);
            while (stack.Count > 0)
            {
                int x = stack.Pop();
                foreach (int y in target.Neighbours(x))
                {
                    if (!seen[y] && ownedSet[y] && owner[y] == v)
                    {
                        seen[y] = true;
                        reached++;
                        stack.Push(y);
                    }
                }
            }
            if (reached != chain.Length)
            {
                var cut = chain.Where(q => !seen[q]).Take(5);
                return $"chain of variable {v} ({chain.Length} qubits) is not connected in the target: qubit(s) {string.Join(",", cut)} cannot be reached from qubit {chain[0]} inside the chain";
            }
        }
        foreach (var (u, v) in edges)
        {
            var cu = embedding.Chain(u);
            var cv = embedding.Chain(v);
            // Walk the shorter chain's couplers.
            var (small, other) = cu.Length <= cv.Length ? (cu, v) : (cv, u);
            bool found = false;
            foreach (int q in small)
            {
                foreach (int r in target.Neighbours(q))
                {
                    if (ownedSet[r] && owner[r] == other) { found = true; break; }
                }
                if (found) break;
            }
            if (!found) return $"logical edge ({u},{v}) has no coupler between the chain of {u} and the chain of {v}";
        }
        return null;
    }
}
