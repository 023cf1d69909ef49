using System.Collections.Concurrent;
using Akka.Configuration;
using Akka.Persistence.TestKit;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Gateway;
using QaActors.Sampling;

namespace QaActors.Orchestration.Tests;

public static class TestConfig
{
    /// <summary>Local actor provider, the in-memory test journal (fault injection) and the project's persisted serializer.</summary>
    public static Config WithTestJournal(string extra = "") =>
        ConfigurationFactory.ParseString(extra + """

            akka.loglevel = WARNING
            akka.actor.serializers.qa-persisted = "QaActors.Orchestration.Persistence.PersistedSerializer, QaActors.Orchestration"
            akka.actor.serialization-bindings {
              "QaActors.Orchestration.Persistence.IPersisted, QaActors.Orchestration" = qa-persisted
            }
            """).WithFallback(CpuDispatcher.Definition()).WithFallback(ConfigurationFactory.FromResource<TestJournal>("Akka.Persistence.TestKit.config.conf"));

    public static GatewaySettings Gateway(int maxInFlight = 1, double rate = 1e5, int burst = 1000, int maxFailures = 3,
        double resetMs = 200, double retryMinMs = 20, double retryMaxMs = 100, double deadlineMarginMs = 0) =>
        GatewaySettings.Default with
        {
            MaxInFlight = maxInFlight,
            RatePerSecond = rate,
            Burst = burst,
            BreakerMaxFailures = maxFailures,
            BreakerResetTimeout = TimeSpan.FromMilliseconds(resetMs),
            BreakerMaxResetTimeout = TimeSpan.FromMilliseconds(resetMs * 4),
            RetryMinBackoff = TimeSpan.FromMilliseconds(retryMinMs),
            RetryMaxBackoff = TimeSpan.FromMilliseconds(retryMaxMs),
            DeadlineMargin = TimeSpan.FromMilliseconds(deadlineMarginMs),
            AskTimeout = TimeSpan.FromSeconds(10),
        };

    public static QuotaSettings Quotas(double defaultSeconds = 1000, double reserveFactor = 1.0) =>
        new(defaultSeconds, reserveFactor, new Dictionary<string, double>(), new Dictionary<string, double>());

    public static Bqm SmallProblem() =>
        Bqm.FromArrays(Vartype.Binary, [0.5, -0.25, 0.1], [0, 0], [1, 2], [-0.3, 0.2]);
}

/// <summary>A clock that moves only when told to (for token-bucket accounting without wall-time asserts).</summary>
public sealed class ManualClock : TimeProvider
{
    private long _ticks = DateTimeOffset.Parse("2026-01-01T00:00:00Z").UtcTicks;
    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);
    public override long GetTimestamp() => Interlocked.Read(ref _ticks);
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>
/// Independent random spins/bits seeded from the request: a stand-in classical sampler whose output is a
/// pure function of (problem, seed), which is all the orchestration tests need from a sampler.
/// </summary>
public sealed class SeededRandomSampler(string name) : ISampler
{
    public string Name => name;

    public Task<SampleSet> SampleAsync(Bqm problem, SampleRequest request, CancellationToken cancellationToken = default)
    {
        request.Validate();
        var rng = new Rng(request.Seed);
        int n = problem.NumVariables;
        var s = new sbyte[n * request.Reads];
        for (int i = 0; i < s.Length; i++)
        {
            int bit = (int)(rng.NextUInt64() >> 63);
            s[i] = problem.Vartype == Vartype.Spin ? (sbyte)(2 * bit - 1) : (sbyte)bit;
        }
        return Task.FromResult(SampleSet.FromSamples(problem, s, SampleInfo.For(name)));
    }
}

/// <summary>
/// A scriptable QPU: answers after an optional gate/delay with a qpu_access_time per user, fails while
/// <see cref="Failing"/> is set, and records what the gateway did (calls, concurrency, times, users).
/// </summary>
public sealed class FakeQpu(TimeProvider clock) : IQpuBackend
{
    private int _current;
    public int MaxConcurrent;
    public int Calls;
    public volatile bool Failing;
    /// <summary>Calls after this many fail (an outage that starts at a known point).</summary>
    public int FailAfter = int.MaxValue;
    public TimeSpan Delay = TimeSpan.Zero;
    public TaskCompletionSource? Gate;
    public Func<string, double> CostOf = _ => 1000;
    public double Estimate = 1000;
    public readonly ConcurrentQueue<(DateTimeOffset At, string User, double Cost)> Submissions = new();

    /// <summary>Problems one call may carry (the plan's copies).</summary>
    public int CopiesPerCall = 1;
    /// <summary>Planning waits for this when set (an embedding search that takes its time).</summary>
    public TaskCompletionSource? PlanGate;
    public volatile bool PlanFailing;
    public int Plans;
    public readonly ConcurrentQueue<int> CallSizes = new();

    public string Solver => "fake-solver";
    public string SamplerName => "qpu";
    public double EstimateAccessMicros(QpuPlan plan, int copies, SampleRequest request) => Estimate * copies;
    public QpuFailureKind Classify(Exception error) => DelegateQpuBackend.DefaultClassify(error);
    /// <summary>This fake fails before anything runs: nothing is ever in doubt.</summary>
    public IReadOnlyList<string> ProblemsInDoubt(Exception error) => [];
    /// <summary>The fake keeps no list of problems (as a local sampler): a reservation orphaned by a lost gateway stays charged.</summary>
    public Task<LabelUsage?> UsageOfLabelAsync(string label, CancellationToken ct) => Task.FromResult<LabelUsage?>(null);

    public async Task<QpuPlan> PlanAsync(Bqm problem, QpuJobSettings settings, CancellationToken ct)
    {
        Interlocked.Increment(ref Plans);
        if (PlanGate is { } g) await g.Task.WaitAsync(ct).ConfigureAwait(false);
        if (PlanFailing) throw new HttpRequestException("injected: solver unreachable");
        return new QpuPlan(CopiesPerCall);
    }

    public async Task<IReadOnlyList<SampleSet>> SampleAsync(IReadOnlyList<Bqm> problems, IReadOnlyList<SampleRequest> requests, QpuJobSettings settings, CancellationToken ct)
    {
        CallSizes.Enqueue(problems.Count);
        var sets = new SampleSet[problems.Count];
        var tasks = problems.Select((p, i) => SampleOneAsync(p, requests[i], ct)).ToArray();
        for (int i = 0; i < sets.Length; i++) sets[i] = await tasks[i].ConfigureAwait(false);
        return sets;
    }

    private async Task<SampleSet> SampleOneAsync(Bqm problem, SampleRequest request, CancellationToken ct)
    {
        // The user rides in the seed's low bits in these tests: see Job().
        string user = ((char)('a' + (int)(request.Seed % 26))).ToString();
        int call = Interlocked.Increment(ref Calls);
        int now = Interlocked.Increment(ref _current);
        int seen;
        while (now > (seen = Volatile.Read(ref MaxConcurrent)) && Interlocked.CompareExchange(ref MaxConcurrent, now, seen) != seen) { }
        double cost = CostOf(user);
        Submissions.Enqueue((clock.GetUtcNow(), user, cost));
        try
        {
            if (Gate is { } g) await g.Task.ConfigureAwait(false);
            if (Delay > TimeSpan.Zero) await Task.Delay(Delay, ct).ConfigureAwait(false);
            if (Failing || call > FailAfter) throw new HttpRequestException("injected: solver offline");
            var set = await new SeededRandomSampler("qpu").SampleAsync(problem, request, ct).ConfigureAwait(false);
            return set.WithInfo(set.Info.WithTiming("qpu_access_time", cost).WithProperty("chain_break_fraction", 0.01));
        }
        finally { Interlocked.Decrement(ref _current); }
    }

    /// <summary>A job for user "a".."z" (the letter is encoded in the seed so the fake can see it).</summary>
    public static SampleJob Job(string user, string fallback = Fallbacks.Gibbs, DateTimeOffset? deadline = null, ulong salt = 0) =>
        new(SampleJob.NextId(), user, "exp-test", TestConfig.SmallProblem(),
            new SampleRequest(4, 1.0, (ulong)(user[0] - 'a') + 26 * salt), fallback, deadline);
}
