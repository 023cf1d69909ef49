using QaActors.Orchestration.Gateway;

namespace QaActors.Orchestration.Tests;

/// <summary>Where a user's fair-share weight comes from: the registry's copy, else the configuration, else 1.</summary>
public class FairShareWeightsTests
{
    private static double Configured(string user) => user == "carol" ? 4 : user == "alice" ? 0.5 : 1;

    [Fact]
    public void The_registry_wins_the_configuration_is_the_fallback_and_updates_report_changes()
    {
        var w = new FairShareWeights(Configured);
        Assert.Equal(0.5, w.WeightOf("alice"));
        Assert.Equal(4, w.WeightOf("carol"));
        Assert.False(w.Knows("alice"));

        var changed = w.Update([("alice", 2.0), ("bob", 1.0)]);
        Assert.Equal(["alice"], changed); // bob's registry weight equals its configured one: no change
        Assert.Equal(2, w.WeightOf("alice"));
        Assert.True(w.Knows("bob"));
        Assert.Equal(4, w.WeightOf("carol"));

        // A user gone from the registry's copy falls back to the configuration.
        Assert.Equal(["alice", "carol"], w.Update([("bob", 1.0), ("carol", 3.0)]));
        Assert.Equal(0.5, w.WeightOf("alice"));
        Assert.Equal(3, w.WeightOf("carol"));
        Assert.Empty(w.Update([("bob", 1.0), ("carol", 3.0)]));
    }

    [Fact]
    public void A_copy_with_a_bad_weight_is_refused_whole()
    {
        var w = new FairShareWeights(Configured);
        w.Update([("alice", 2.0)]);
        Assert.Throws<ArgumentOutOfRangeException>(() => w.Update([("alice", 5.0), ("bob", 0)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => w.Update([("bob", double.NaN)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => w.Update([("bob", double.PositiveInfinity)]));
        Assert.Equal(2, w.WeightOf("alice")); // nothing half-applied
        Assert.False(w.Knows("bob"));
    }

    /// <summary>The queue reads the weight when service starts, so a changed weight steers what comes next.</summary>
    [Fact]
    public void A_weight_changed_in_the_registry_steers_the_fair_queue()
    {
        var w = new FairShareWeights(_ => 1);
        var q = new FairQueue<int>(w.WeightOf);
        w.Update([("a", 3.0), ("b", 1.0)]);
        var served = new Dictionary<string, int> { ["a"] = 0, ["b"] = 0 };
        for (int i = 0; i < 400; i++) { q.Enqueue("a", i); q.Enqueue("b", i); }
        for (int i = 0; i < 200; i++)
        {
            Assert.True(q.TryDequeue(out var user, out _));
            q.Start(user, 100);
            q.Done(user, 0);
            served[user]++;
        }
        Assert.Equal(150, served["a"]);
        Assert.Equal(50, served["b"]);
    }
}
