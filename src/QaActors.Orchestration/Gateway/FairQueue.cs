namespace QaActors.Orchestration.Gateway;

/// <summary>
/// Weighted fair queueing of QPU time between users: start-time fair queueing (Goyal, Vin and Cheng, 1996) where the
/// "length" of a piece of work is its QPU access time. Each user has a virtual time; the next item served is the first
/// one of the user with the lowest virtual time (ties: the user name in ordinal order), and starting it advances that
/// user's virtual time by estimate / weight. When the real cost is known, the unused part of the estimate is refunded,
/// so over time every user's virtual time grows by (QPU time used) / weight, and users who always have work waiting
/// share the QPU in proportion to their weights. A user who was idle (nothing queued, nothing in service) comes back
/// at the system virtual time, the start tag of the newest service, so idling earns no credit to be spent later.
/// Pure and single-threaded: the gateway actor owns one (docs/architecture.md, "Gateway").
/// </summary>
public sealed class FairQueue<T>
{
    private sealed class Flow
    {
        public readonly LinkedList<T> Items = new();
        public double VirtualTime;
        public int Active; // taken out and not yet done (planning, reserving, waiting for a token, in flight)
    }

    private readonly Func<string, double> _weightOf;
    private readonly SortedDictionary<string, Flow> _flows = new(StringComparer.Ordinal);
    private double _systemVirtualTime;

    /// <param name="weightOf">Each user's weight (&gt; 0); a user with weight 2 gets twice the QPU time of one with weight 1.</param>
    public FairQueue(Func<string, double> weightOf) => _weightOf = weightOf;

    /// <summary>Items waiting, over all users.</summary>
    public int Count => _flows.Values.Sum(f => f.Items.Count);

    /// <summary>The waiting items, user by user in ordinal order, each user's in queue order.</summary>
    public IEnumerable<(string User, T Item)> Queued => _flows.SelectMany(kv => kv.Value.Items.Select(i => (kv.Key, i)));

    public double VirtualTimeOf(string user) => _flows.TryGetValue(user, out var f) ? f.VirtualTime : 0;

    public double SystemVirtualTime => _systemVirtualTime;

    /// <summary>Adds work at the end of the user's queue.</summary>
    public void Enqueue(string user, T item)
    {
        var f = FlowOf(user);
        if (f.Items.Count == 0 && f.Active == 0) f.VirtualTime = Math.Max(f.VirtualTime, _systemVirtualTime); // no credit for idle time
        f.Items.AddLast(item);
    }

    /// <summary>Puts work in front of the user's queue (the rest of a split unit, which goes next), leaving the books as they are.</summary>
    public void PushFront(string user, T item) => FlowOf(user).Items.AddFirst(item);

    /// <summary>Takes the next item: the first of the user with the lowest virtual time. It counts as active until <see cref="Done"/> or <see cref="Requeue"/>.</summary>
    public bool TryDequeue(out string user, out T item)
    {
        user = "";
        item = default!;
        Flow? best = null;
        foreach (var (u, f) in _flows)
        {
            if (f.Items.Count == 0) continue;
            if (best is null || f.VirtualTime < best.VirtualTime) { best = f; user = u; }
        }
        if (best is null) return false;
        item = best.Items.First!.Value;
        best.Items.RemoveFirst();
        best.Active++;
        return true;
    }

    /// <summary>Service of <paramref name="estimate"/> (µs of QPU time) starts for the user: its start tag becomes the system virtual time.</summary>
    public void Start(string user, double estimate)
    {
        var f = FlowOf(user);
        _systemVirtualTime = Math.Max(_systemVirtualTime, f.VirtualTime);
        f.VirtualTime += estimate / Weight(user);
    }

    /// <summary>An item taken out is finished; <paramref name="refund"/> µs of its estimate were not used (negative: it used more).</summary>
    public void Done(string user, double refund)
    {
        var f = FlowOf(user);
        f.Active--;
        f.VirtualTime -= refund / Weight(user);
    }

    /// <summary>
    /// QPU time used outside an item's service books (<paramref name="micros"/> µs; negative: less than counted), e.g. a
    /// call whose answer was lost and found later: the user's virtual time follows what the user really used.
    /// </summary>
    public void Adjust(string user, double micros) => FlowOf(user).VirtualTime += micros / Weight(user);

    /// <summary>An item taken out goes back to the front of its user's queue, with <paramref name="refund"/> µs of its estimate returned.</summary>
    public void Requeue(string user, T item, double refund)
    {
        Done(user, refund);
        FlowOf(user).Items.AddFirst(item);
    }

    /// <summary>Removes every waiting item that matches and returns them (user, item), in <see cref="Queued"/> order.</summary>
    public List<(string User, T Item)> RemoveWhere(Func<T, bool> match)
    {
        var removed = new List<(string, T)>();
        foreach (var (u, f) in _flows)
        {
            var node = f.Items.First;
            while (node is not null)
            {
                var next = node.Next;
                if (match(node.Value))
                {
                    f.Items.Remove(node);
                    removed.Add((u, node.Value));
                }
                node = next;
            }
        }
        return removed;
    }

    private double Weight(string user)
    {
        double w = _weightOf(user);
        if (!(w > 0) || double.IsInfinity(w)) throw new ArgumentOutOfRangeException(nameof(user), w, $"the fair-share weight of '{user}' must be a positive number");
        return w;
    }

    private Flow FlowOf(string user)
    {
        if (!_flows.TryGetValue(user, out var f)) _flows[user] = f = new Flow();
        return f;
    }
}
