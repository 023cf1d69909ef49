namespace QaActors.Sampling;

/// <summary>
/// A problem whose interaction graph is bipartite and dense between its two sides (the EBM's K×M, the star
/// for M = 1), laid out for the vector kernels: side A (the smaller) and side B, float32 biases, and the
/// couplings as a dense A × Bp row-major matrix with zeros for absent edges and for the padding of B to a
/// multiple of 16 lanes. Given side A, the spins of side B are conditionally independent and vice versa,
/// so each side can be updated as one block.
/// </summary>
internal sealed class DenseBipartite
{
    public const int Lanes = 16;
    // Below this edge density the dense matrix wastes more work than the sparse path costs.
    private const double MinDensity = 0.5;
    private const long MaxCells = 1L << 24;

    public int A { get; }
    public int B { get; }
    public int Bp { get; }
    public int[] AIndex { get; }
    public int[] BIndex { get; }
    public float[] HA { get; }
    public float[] HB { get; }
    /// <summary>Couplings, row a holds J between A[a] and every B[b], b &lt; Bp.</summary>
    public float[] J { get; }

    private DenseBipartite(int[] aIndex, int[] bIndex, float[] ha, float[] hb, float[] j, int bp)
    {
        AIndex = aIndex; BIndex = bIndex; HA = ha; HB = hb; J = j;
        A = aIndex.Length; B = bIndex.Length; Bp = bp;
    }

    /// <summary>The dense layout of a SPIN problem, or null when the graph is not bipartite or too sparse for it.</summary>
    public static DenseBipartite? TryCreate(Bqm spin)
    {
        if (spin.Vartype != Vartype.Spin) throw new ArgumentException("expects a SPIN problem", nameof(spin));
        int n = spin.NumVariables;
        // Every CPU takes this path (at its own vector width, with the same results), so which kernel a problem runs
        // never depends on the machine.
        if (n < 2 || spin.NumInteractions == 0) return null;
        var colour = new int[n];
        Array.Fill(colour, -1);
        var queue = new int[n];
        for (int start = 0; start < n; start++)
        {
            if (colour[start] >= 0 || spin.Degree(start) == 0) continue;
            int head = 0, tail = 0;
            colour[start] = 0;
            queue[tail++] = start;
            while (head < tail)
            {
                int i = queue[head++];
                foreach (int j in spin.Neighbours(i))
                {
                    if (colour[j] < 0) { colour[j] = 1 - colour[i]; queue[tail++] = j; }
                    else if (colour[j] == colour[i]) return null;
                }
            }
        }
        int c0 = 0, c1 = 0;
        for (int i = 0; i < n; i++) { if (colour[i] == 0) c0++; else if (colour[i] == 1) c1++; }
        int small = c0 <= c1 ? 0 : 1;
        // Isolated variables join the large side, where they cost one lane each and no couplings.
        var aList = new List<int>();
        var bList = new List<int>();
        for (int i = 0; i < n; i++) (colour[i] == small ? aList : bList).Add(i);
        int a = aList.Count, b = bList.Count;
        if ((long)a * b > MaxCells || spin.NumInteractions < MinDensity * a * b) return null;
        int bp = (b + Lanes - 1) / Lanes * Lanes;
        var posB = new int[n];
        for (int k = 0; k < b; k++) posB[bList[k]] = k;
        var ha = new float[a];
        var hb = new float[bp];
        var jm = new float[a * bp];
        for (int k = 0; k < b; k++) hb[k] = (float)spin.Linear[bList[k]];
        for (int r = 0; r < a; r++)
        {
            int i = aList[r];
            ha[r] = (float)spin.Linear[i];
            var nb = spin.Neighbours(i);
            var bias = spin.NeighbourBiases(i);
            for (int k = 0; k < nb.Length; k++) jm[r * bp + posB[nb[k]]] = (float)bias[k];
        }
        return new DenseBipartite(aList.ToArray(), bList.ToArray(), ha, hb, jm, bp);
    }
}

/// <summary>Greedy graph colouring (Welsh and Powell: highest degree first); variables of one colour share no edge.</summary>
internal static class GraphColouring
{
    /// <summary>Variable indices grouped by colour, and the start of each colour class in that order (plus the end).</summary>
    public static (int[] Order, int[] ClassStart) Colour(Bqm bqm)
    {
        int n = bqm.NumVariables;
        var byDegree = Enumerable.Range(0, n).OrderByDescending(bqm.Degree).ThenBy(i => i).ToArray();
        var colour = new int[n];
        Array.Fill(colour, -1);
        var used = new bool[n + 1];
        int numColours = 0;
        foreach (int i in byDegree)
        {
            foreach (int j in bqm.Neighbours(i)) if (colour[j] >= 0) used[colour[j]] = true;
            int c = 0;
            while (used[c]) c++;
            colour[i] = c;
            numColours = Math.Max(numColours, c + 1);
            foreach (int j in bqm.Neighbours(i)) if (colour[j] >= 0) used[colour[j]] = false;
        }
        var start = new int[numColours + 1];
        for (int i = 0; i < n; i++) start[colour[i] + 1]++;
        for (int c = 0; c < numColours; c++) start[c + 1] += start[c];
        var fill = (int[])start.Clone();
        var order = new int[n];
        for (int i = 0; i < n; i++) order[fill[colour[i]]++] = i;
        return (order, start);
    }
}

/// <summary>Pieces shared by the samplers: checks, output rows in the problem's vartype, per-read seeds.</summary>
internal static class SamplerCommon
{
    public static void Check(Bqm problem, SampleRequest request)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        if (problem.NumVariables == 0)
            throw new ArgumentException("the problem has no variables; add at least one linear or quadratic term", nameof(problem));
        if ((long)request.Reads * problem.NumVariables > Array.MaxLength)
            throw new ArgumentException($"{request.Reads} reads of {problem.NumVariables} variables exceed the largest sample array; request fewer reads per call", nameof(request));
    }

    /// <summary>The RNG of chain (or read) <paramref name="chain"/>: depends on the seed and the chain only, never on run order.</summary>
    public static Rng ChainRng(ulong seed, int chain) => SeedPolicy.For(seed, 0, chain, SeedPolicy.Purpose.Sample);

    /// <summary>A uniform strictly inside (0, 1), on the same grid as <see cref="LaneRng.NextSingle"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static float OpenUniform(ref Rng rng) => ((rng.NextUInt64() >> 41) + 0.5f) * (1f / (1 << 23));

    /// <summary>Writes spin value <paramref name="s"/> (±1) as the problem's value.</summary>
    public static sbyte Value(float s, Vartype vartype) =>
        vartype == Vartype.Spin ? (s > 0 ? (sbyte)1 : (sbyte)-1) : (s > 0 ? (sbyte)1 : (sbyte)0);

    public static sbyte Value(double s, Vartype vartype) => Value((float)s, vartype);
}
