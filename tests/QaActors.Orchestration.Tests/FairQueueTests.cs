using QaActors.Orchestration.Gateway;
using Xunit.Abstractions;

namespace QaActors.Orchestration.Tests;

/// <summary>
/// The gateway's weighted fair queue on its own: a simulated QPU serves the units the queue picks, one at a time or
/// several in flight, with per-user costs that differ and estimates that over-state the real cost by a per-user factor
/// (so the refunds matter). Shares are measured in real (charged) QPU time.
/// </summary>
public class FairQueueTests(ITestOutputHelper output)
{
    private sealed record Work(string User, double Estimate, double Actual);

    /// <summary>
    /// Both users always have work waiting; the QPU serves up to <paramref name="inFlight"/> units at once, each finishing
    /// after its real cost. Returns each user's QPU time.
    /// </summary>
    private static Dictionary<string, double> Simulate(FairQueue<Work> q, Func<string, Work> next, string[] users, int inFlight, double horizon)
    {
        foreach (var u in users) { q.Enqueue(u, next(u)); q.Enqueue(u, next(u)); }
        var used = users.ToDictionary(u => u, _ => 0.0);
        var running = new PriorityQueue<Work, double>();
        double now = 0;
        while (now < horizon)
        {
            while (running.Count < inFlight && q.TryDequeue(out var user, out var w))
            {
                Assert.Equal(user, w.User);
                q.Start(user, w.Estimate);
                running.Enqueue(w, now + w.Actual);
                q.Enqueue(user, next(user)); // always waiting
            }
            running.TryDequeue(out var done, out now);
            q.Done(done!.User, done.Estimate - done.Actual);
            used[done.User] += done.Actual;
        }
        return used;
    }

    // a: small units (800 µs real) estimated at twice their cost; b: large ones (3000 µs real) estimated exactly.
    private static Work Next(string user) => user == "a" ? new Work("a", 1600, 800) : new Work("b", 3000, 3000);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Equal_weights_and_both_always_waiting_give_each_half_the_qpu_time(int inFlight)
    {
        var q = new FairQueue<Work>(_ => 1.0);
        var used = Simulate(q, Next, ["a", "b"], inFlight, 10_000_000);
        double share = used["a"] / (used["a"] + used["b"]);
        output.WriteLine($"in flight {inFlight}: a {used["a"]:F0} µs, b {used["b"]:F0} µs, a's share {share:P2}");
        Assert.InRange(share, 0.5 * 0.9, 0.5 * 1.1);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Weights_two_to_one_give_two_thirds_and_one_third(int inFlight)
    {
        var q = new FairQueue<Work>(u => u == "a" ? 2.0 : 1.0);
        var used = Simulate(q, Next, ["a", "b"], inFlight, 10_000_000);
        double share = used["a"] / (used["a"] + used["b"]);
        output.WriteLine($"in flight {inFlight}: a {used["a"]:F0} µs, b {used["b"]:F0} µs, a's share {share:P2}");
        Assert.InRange(share, 2.0 / 3 * 0.9, 2.0 / 3 * 1.1);
        Assert.InRange(1 - share, 1.0 / 3 * 0.9, 1.0 / 3 * 1.1);
    }

    [Fact]
    public void Without_refunds_the_over_estimating_user_would_get_less_so_refunds_are_what_makes_it_fair()
    {
        // The same run with the refunds withheld (Done with 0): a is charged its estimate, twice its real use.
        var q = new FairQueue<Work>(_ => 1.0);
        q.Enqueue("a", Next("a")); q.Enqueue("b", Next("b"));
        var used = new Dictionary<string, double> { ["a"] = 0, ["b"] = 0 };
        for (int i = 0; i < 20_000; i++)
        {
            Assert.True(q.TryDequeue(out var user, out var w));
            q.Start(user, w.Estimate);
            q.Done(user, 0);
            used[user] += w.Actual;
            q.Enqueue(user, Next(user));
        }
        double share = used["a"] / (used["a"] + used["b"]);
        output.WriteLine($"no refunds: a's share {share:P2}");
        Assert.InRange(share, 0.30, 0.36); // 1/3: a's virtual time grows twice as fast as its use
    }

    [Fact]
    public void An_idle_user_earns_no_credit_for_the_time_it_was_away()
    {
        var q = new FairQueue<Work>(_ => 1.0);
        // a alone for 1000 units.
        for (int i = 0; i < 1000; i++)
        {
            q.Enqueue("a", new Work("a", 1000, 1000));
            Assert.True(q.TryDequeue(out var u, out var w));
            q.Start(u, w.Estimate);
            q.Done(u, 0);
        }
        // b arrives with plenty of work, a keeps sending: b starts at the system virtual time, not at 0,
        // so the next 100 services alternate instead of being b's for the next 1000.
        for (int i = 0; i < 200; i++) q.Enqueue("b", new Work("b", 1000, 1000));
        q.Enqueue("a", new Work("a", 1000, 1000));
        int bServed = 0;
        for (int i = 0; i < 100; i++)
        {
            Assert.True(q.TryDequeue(out var u, out var w));
            q.Start(u, w.Estimate);
            q.Done(u, 0);
            if (u == "b") bServed++;
            else q.Enqueue("a", new Work("a", 1000, 1000));
        }
        output.WriteLine($"b served {bServed} of the 100 services after its arrival");
        Assert.InRange(bServed, 49, 51);
    }

    [Fact]
    public void Requeue_returns_the_estimate_and_puts_the_unit_first_and_remove_where_takes_only_matches()
    {
        var q = new FairQueue<Work>(_ => 1.0);
        var first = new Work("a", 500, 500);
        q.Enqueue("a", first);
        q.Enqueue("a", new Work("a", 700, 700));
        Assert.True(q.TryDequeue(out _, out var w));
        Assert.Same(first, w);
        q.Start("a", 500);
        Assert.Equal(500, q.VirtualTimeOf("a"));
        q.Requeue("a", w, 500);
        Assert.Equal(0, q.VirtualTimeOf("a"));
        Assert.True(q.TryDequeue(out _, out var again));
        Assert.Same(first, again); // back in front
        q.Done("a", 0);
        q.Enqueue("b", new Work("b", 1, 1));
        var removed = q.RemoveWhere(x => x.Estimate == 700);
        Assert.Equal([("a", 700.0)], removed.Select(r => (r.User, r.Item.Estimate)));
        Assert.Equal(1, q.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => new FairQueue<Work>(_ => 0).Start("x", 1));
    }

    /// <summary>
    /// QPU time used outside the books (a lost answer found later) moves the user's virtual time by time / weight, so the
    /// other user is served until they are even again.
    /// </summary>
    [Fact]
    public void An_adjustment_counts_qpu_time_used_outside_service()
    {
        var q = new FairQueue<Work>(u => u == "a" ? 2.0 : 1.0);
        for (int i = 0; i < 10; i++) { q.Enqueue("a", new Work("a", 100, 100)); q.Enqueue("b", new Work("b", 100, 100)); }
        q.Adjust("a", 600); // weight 2: 300 of virtual time
        Assert.Equal(300, q.VirtualTimeOf("a"));
        var order = new List<string>();
        for (int i = 0; i < 4; i++)
        {
            Assert.True(q.TryDequeue(out var user, out var w));
            q.Start(user, w.Estimate);
            q.Done(user, 0);
            order.Add(user);
        }
        // b runs at 0, 100, 200 (below a's 300); then a and b tie at 300 and the ordinal order picks a.
        Assert.Equal(["b", "b", "b", "a"], order);
        q.Adjust("a", -200); // less was used than counted
        Assert.Equal(250, q.VirtualTimeOf("a"));
    }
}
