using System.Net;
using QaActors.Orchestration.Users;

namespace QaActors.Orchestration.Tests;

public class BadTokenLimiterTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    private static (BadTokenLimiter Limiter, ManualClock Clock) Make(BadTokenPolicy? policy = null)
    {
        var clock = new ManualClock();
        return (new BadTokenLimiter(policy, clock), clock);
    }

    private static void Fail(BadTokenLimiter l, string client, int times)
    {
        for (int i = 0; i < times; i++)
        {
            Assert.True(l.Check(client).Allowed);
            l.RecordFailure(client);
        }
    }

    [Fact]
    public void Five_failures_within_a_minute_block_the_client_for_a_minute()
    {
        var (l, clock) = Make();
        for (int i = 0; i < 4; i++)
        {
            Assert.True(l.Check("10.0.0.1").Allowed);
            Assert.True(l.RecordFailure("10.0.0.1").Allowed);
            clock.Advance(TimeSpan.FromSeconds(10));
        }
        var fifth = l.RecordFailure("10.0.0.1");
        Assert.False(fifth.Allowed);
        Assert.Equal(Minute, fifth.RetryAfter);

        clock.Advance(TimeSpan.FromSeconds(45));
        var refused = l.Check("10.0.0.1");
        Assert.False(refused.Allowed);
        Assert.Equal(TimeSpan.FromSeconds(15), refused.RetryAfter);
        // Attempts while blocked are refused unchecked and do not extend the block.
        Assert.Equal(TimeSpan.FromSeconds(15), l.RecordFailure("10.0.0.1").RetryAfter);

        clock.Advance(TimeSpan.FromSeconds(15));
        Assert.True(l.Check("10.0.0.1").Allowed);
        // The block cleared the count: four more failures are allowed again.
        Fail(l, "10.0.0.1", 4);
        Assert.True(l.Check("10.0.0.1").Allowed);
    }

    [Fact]
    public void Failures_spread_wider_than_the_window_never_block()
    {
        var (l, clock) = Make();
        for (int i = 0; i < 100; i++)
        {
            Assert.True(l.Check("c").Allowed);
            Assert.True(l.RecordFailure("c").Allowed);
            clock.Advance(TimeSpan.FromSeconds(15)); // 4 per minute, one short of the limit
        }
    }

    [Fact]
    public void Each_further_block_doubles_up_to_the_maximum_and_a_quiet_client_starts_over()
    {
        var (l, clock) = Make();
        var expected = new[] { 1, 2, 4, 8, 16, 32, 60, 60 };
        foreach (int minutes in expected)
        {
            Fail(l, "c", 4);
            var d = l.RecordFailure("c");
            Assert.False(d.Allowed);
            Assert.Equal(TimeSpan.FromMinutes(minutes), d.RetryAfter);
            clock.Advance(d.RetryAfter);
        }
        // Six hours without a failure: the next block is the first one again.
        clock.Advance(TimeSpan.FromHours(6));
        Fail(l, "c", 4);
        Assert.Equal(Minute, l.RecordFailure("c").RetryAfter);
    }

    [Fact]
    public void Successes_reset_nothing_and_clients_are_limited_separately()
    {
        var (l, _) = Make();
        Fail(l, "attacker", 4);
        Fail(l, "bystander", 3);
        // The attacker also holds a valid token and uses it in between: its failures still count (a success has no
        // method to call, so there is nothing that could reset them).
        Assert.True(l.Check("attacker").Allowed);
        Assert.False(l.RecordFailure("attacker").Allowed);
        Assert.False(l.Check("attacker").Allowed);
        Assert.True(l.Check("bystander").Allowed);
        Assert.True(l.Check("someone-else").Allowed);
        Assert.True(l.RecordFailure("bystander").Allowed); // its 4th
        Assert.False(l.RecordFailure("bystander").Allowed); // 5th: now blocked too
    }

    [Fact]
    public void Many_clients_cannot_exhaust_memory_or_lift_a_block()
    {
        var policy = BadTokenPolicy.Default with { MaxClients = 100 };
        var (l, clock) = Make(policy);
        Fail(l, "blocked", 4);
        Assert.False(l.RecordFailure("blocked").Allowed);
        for (int i = 0; i < 10_000; i++)
        {
            l.RecordFailure("flood-" + i);
            if (i % 100 == 0) clock.Advance(TimeSpan.FromMilliseconds(1));
        }
        Assert.InRange(l.TrackedClients, 1, 100);
        Assert.False(l.Check("blocked").Allowed);
    }

    [Fact]
    public void Clients_that_no_longer_matter_are_dropped_first()
    {
        var policy = BadTokenPolicy.Default with { MaxClients = 3 };
        var (l, clock) = Make(policy);
        l.RecordFailure("old-1");
        l.RecordFailure("old-2");
        clock.Advance(TimeSpan.FromHours(7));
        l.RecordFailure("recent");
        l.RecordFailure("new"); // full: the two forgotten ones go, "recent" keeps its failure
        Assert.Equal(2, l.TrackedClients);
        Fail(l, "recent", 3);
        Assert.False(l.RecordFailure("recent").Allowed); // its first failure was kept: 5 in all
    }

    [Fact]
    public void Policies_that_make_no_sense_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BadTokenLimiter(BadTokenPolicy.Default with { MaxFailures = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BadTokenLimiter(BadTokenPolicy.Default with { MaxBlock = TimeSpan.FromSeconds(1) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BadTokenLimiter(BadTokenPolicy.Default with { ForgetAfter = TimeSpan.FromMinutes(5) }));
    }

    [Fact]
    public void Client_keys_group_an_ipv6_network_and_unmap_ipv4()
    {
        Assert.Equal("192.0.2.7", BadTokenLimiter.ClientKey(IPAddress.Parse("192.0.2.7")));
        Assert.Equal("192.0.2.7", BadTokenLimiter.ClientKey(IPAddress.Parse("::ffff:192.0.2.7")));
        Assert.Equal("2001:db8:1:2::/64", BadTokenLimiter.ClientKey(IPAddress.Parse("2001:db8:1:2:aaaa:bbbb:cccc:dddd")));
        Assert.Equal(BadTokenLimiter.ClientKey(IPAddress.Parse("2001:db8:1:2::1")), BadTokenLimiter.ClientKey(IPAddress.Parse("2001:db8:1:2:ffff::9")));
        Assert.NotEqual(BadTokenLimiter.ClientKey(IPAddress.Parse("2001:db8:1:2::1")), BadTokenLimiter.ClientKey(IPAddress.Parse("2001:db8:1:3::1")));
        Assert.Equal("::/64", BadTokenLimiter.ClientKey(IPAddress.IPv6Loopback));
        Assert.Equal("unknown", BadTokenLimiter.ClientKey(null));
    }

    [Fact]
    public async Task Concurrent_failures_are_all_counted()
    {
        var policy = BadTokenPolicy.Default with { MaxFailures = 1000 };
        var (l, _) = Make(policy);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => { for (int i = 0; i < 124; i++) l.RecordFailure("c"); })));
        Assert.True(l.Check("c").Allowed); // 992 failures
        for (int i = 0; i < 7; i++) Assert.True(l.RecordFailure("c").Allowed);
        Assert.False(l.RecordFailure("c").Allowed); // the 1000th
    }
}
