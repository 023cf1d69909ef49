using System.Collections.Immutable;
using System.Reflection;
using Akka.Actor;
using Akka.Cluster;
using QaActors.Learning;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Gateway;
using QaActors.Orchestration.Persistence;
using QaActors.Orchestration.Training;
using QaActors.Orchestration.Users;
using QaActors.Sampling;
using Xunit.Abstractions;

namespace QaActors.Orchestration.Tests;

/// <summary>
/// What crosses a node: every <see cref="IQaMessage"/> type (found by reflection), bound to Hyperion, free of
/// members typed object, and equal after a round trip through a real two-node cluster (two actor systems with the
/// production configuration on 127.0.0.1, the second joining the first, an echo actor on the second). Sample replies
/// are reduced at the source and so stay below the remote frame size.
/// </summary>
public sealed class RemoteMessageTests(ITestOutputHelper output)
{
    private static readonly Assembly Orchestration = typeof(IQaMessage).Assembly;

    private static IEnumerable<Type> Concrete<T>() =>
        Orchestration.GetTypes().Where(t => typeof(T).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false });

    private static readonly Bqm Problem = Bqm.FromArrays(Vartype.Binary, [0.5, -1.25, 2], [0, 1], [1, 2], [0.75, -0.5], labels: [10, 20, 30]);

    private static ExperimentSpec Spec() => new("exp-1", "qpu", Fallbacks.Gibbs, "alice", "Sim_P4", 42, 20, """{"Steps":20}""",
        """{"Dataset":"mnist"}""", new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero));

    private static Provenance SomeProvenance() => Provenance.ForExample("qpu", null,
        SampleInfo.For("qpu").WithTiming("qpu_access_time", 1500).WithProperty("chain_break_fraction", 0.25))
        .Add(Provenance.ForExample("gibbs", FallbackReasons.BreakerOpen, SampleInfo.For("gibbs")));

    private static UserInfo User() => new("alice", false, 2, new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero), null, "0a1b2c3d");

    private static StepStats Stats(long step) => new(step, [new("train_loss", 0.5 + step), new("test_accuracy", 0.75)]);

    private static SampleJob Job(long id, ImmutableArray<int>? keep = null) =>
        new(id, "alice", "exp-1", Problem, new SampleRequest(3, 1.5, 99), Fallbacks.Anneal, new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero),
            new QpuJobSettings(16, false, 5), new ClassicalSettings(20, 0.5), KeepLabels: keep);

    /// <summary>A representative instance of every cross-node type; <paramref name="someone"/> stands for a reply address.</summary>
    private static IReadOnlyList<IQaMessage> Representatives(IActorRef someone)
    {
        var set = SampleSet.FromSamples(Problem, [1, 0, 1, 0, 0, 1, 1, 0, 1], SampleInfo.For("qpu").WithTiming("qpu_access_time", 1234.5).WithNote("fallback_reason", "x"));
        var summary = new ExperimentSummary(Spec(), 3, [Stats(0), Stats(1), Stats(2), Stats(3)], SomeProvenance(), Running: true);
        return
        [
            StopSingleton.Instance,
            new QpuJobSettings(16, true, 5),
            new ClassicalSettings(null, 1.0),
            Job(7),
            Job(8, ImmutableArray.Create(20, 30)),
            new SampleReply(7, set, "qpu", null, 1234.5),
            new SampleRefused(7, "quota spent"),
            new SampleFailed(7, "sampler failed"),
            new SampleBatch([Job(1), Job(2), Job(3)]),
            new SampleBatchAccepted(1),
            GetGatewayStatus.Instance,
            new GatewayStatus("Sim_P4", BreakerState.HalfOpen, 1, 4, 10, 8, 2, ImmutableSortedDictionary<string, double>.Empty.Add("alice", 1500).Add("bob", 250), 3,
                [new GatewayUserState("alice", 2, 3, 1500, 4), new GatewayUserState("bob", 1, 1, 250, 0)]),
            new GatewayUserState("alice", 2, 3, 1500, 4),
            new BreakerStateChanged("Sim_P4", BreakerState.Open, "3 consecutive failures"),
            new ClassicalJob(Job(9), FallbackReasons.Deadline, someone),
            new ReserveQuota("alice", 1500),
            new ReserveQuota("alice", 1500, "Advantage_sim4.1"),
            new QuotaReservedReply(17, 1500, QuotaLabels.For(17, new DateTimeOffset(2026, 12, 2, 2, 0, 0, TimeSpan.Zero))),
            new AdoptCalls("Advantage_sim4.1"),
            new CallInDoubt("bob", 18, 900, "qaactors-reservation-18-1796176800000", new DateTimeOffset(2026, 12, 2, 2, 0, 0, TimeSpan.Zero), false),
            new CallsInDoubt([new CallInDoubt("alice", 17, 1500, "qaactors-reservation-17-1796176800000", new DateTimeOffset(2026, 12, 2, 2, 0, 0, TimeSpan.Zero), true)]),
            new QuotaDenied("alice", "quota of 2 s spent"),
            new ChargeQuota("alice", 17, 1432.5),
            new ReleaseQuota("alice", 17),
            new ChargeQuotaInDoubt("alice", 18),
            new SettleQuota("alice", 18, 1200.25),
            new SetQuota("alice", 2),
            new GetQuota("alice"),
            new GetQuota(null),
            new QuotaAccount("alice", 2, 0.5, 0.25, true),
            new QuotaReport([new QuotaAccount("alice", 2, 0.5, 0.25, true), new QuotaAccount("bob", 60, 0, 0, false)]),
            new RegisterExperiment(new ExperimentRegistered("exp-1", "qpu", "alice", new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero))),
            new ListRegisteredExperiments(),
            new RegisteredExperiments([new ExperimentRegistered("exp-1", "qpu", "alice", new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero))]),
            Spec(),
            Stats(4),
            SomeProvenance(),
            new StartExperiment(Spec(), someone),
            new ResumeExperiment("exp-1", someone),
            new AttachExperiment("exp-1", someone, StateHere: false, ContinueInterrupted: false),
            new ExperimentAttached("exp-1", 4),
            new PauseExperiment("exp-1", 7),
            new PauseExperiment("exp-1"),
            new ExperimentPaused("exp-1"),
            new GetExperimentSummary("exp-1"),
            summary,
            new StepReport("exp-1", 3, 20, Stats(3), SomeProvenance(), SomeProvenance()),
            new ExperimentCompleted(summary with { Running = false }, 1),
            new ExperimentFailed("exp-1", "paused"),
            new AddUser("alice", false, 2, TokenHash.Of("qa_not-a-real-token-1")),
            new UserAdded(User()),
            new ListUsers(),
            new UserList([User(), User() with { Name = "bob", Revoked = new DateTimeOffset(2026, 12, 1, 11, 0, 0, TimeSpan.Zero) }]),
            new RevokeUser("bob"),
            new UserRevokedReply(User()),
            new Authenticate(TokenHash.Of("qa_not-a-real-token-2")),
            new AuthenticatedUser("alice", false, 2),
            new AuthenticationFailed(AuthenticationFailure.Revoked, "token revoked"),
            new EnsureAdmin(TokenHash.Of("qa_not-a-real-token-3")),
            new AdminEnsured(true),
            User(),
            new UserRequestRejected(UserRejection.LastAdmin, "the last admin cannot be revoked"),
            new Campaigns.CreateCampaign("paper-1a2b3c4d", "alice", "paper", "paper.conf", "campaign { name = paper }", "/data", "Sim_P4",
                System.Collections.Immutable.ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create("mnist:0,1:20:all", new QaActors.Campaigns.DataSizes(20, 2115))])),
            new Campaigns.CampaignAccepted("paper-1a2b3c4d", true),
            new Campaigns.CampaignRejected("paper-1a2b3c4d", "belongs to another user"),
            new Campaigns.GetCampaignStatus("paper-1a2b3c4d", 8),
            new Campaigns.GetCampaignStatus("paper-1a2b3c4d", WithCells: false),
            new Campaigns.CancelCampaign("paper-1a2b3c4d"),
            new Campaigns.RetryFailedCells("paper-1a2b3c4d"),
            new Campaigns.WakeCampaign("paper-1a2b3c4d"),
            new Campaigns.CampaignStatus("paper-1a2b3c4d", "alice", "paper", "running", 4, 1, 2, 1, 0, 0, "[{\"experiment_id\":\"x\"}]", 1,
                ImmutableSortedDictionary<string, long>.Empty.Add("paper-1a2b3c4d-m-0-1-gibbs-s1", 7)),
            new Campaigns.CampaignUnknown("nobody-00000000"),
            new Campaigns.GetCampaignSpec("paper-1a2b3c4d"),
            new Campaigns.CampaignSpecText("paper-1a2b3c4d", "alice", "paper", "paper.conf", "campaign { name = paper }"),
            new Campaigns.RegisterCampaign("paper-1a2b3c4d", "alice", "paper"),
            new Campaigns.CampaignSettledNotice("paper-1a2b3c4d", "completed"),
            new Campaigns.CampaignReopenedNotice("paper-1a2b3c4d"),
            Campaigns.ListCampaigns.Instance,
            new Campaigns.CampaignEntry("paper-1a2b3c4d", "alice", "paper", new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero), null),
            new Campaigns.CampaignList([new Campaigns.CampaignEntry("paper-1a2b3c4d", "alice", "paper", new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero), "completed")]),
        ];
    }

    [Fact]
    public void Every_cross_node_type_is_bound_to_hyperion_carries_no_object_and_no_local_type_is_one()
    {
        var types = Concrete<IQaMessage>().ToList();
        output.WriteLine($"{types.Count} IQaMessage types: {string.Join(", ", types.Select(t => t.Name).Order(StringComparer.Ordinal))}");
        Assert.NotEmpty(types);
        var covered = Representatives(ActorRefs.Nobody).Select(m => m.GetType()).ToHashSet();
        Assert.Empty(types.Where(t => !covered.Contains(t)).Select(t => t.Name)); // a new type needs a representative here

        foreach (var t in types)
        {
            Assert.False(typeof(ILocalMessage).IsAssignableFrom(t), $"{t.Name} is marked both cross-node and local-only");
            foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0))
                foreach (var inner in Constituents(p.PropertyType))
                {
                    Assert.False(inner == typeof(object), $"{t.Name}.{p.Name} is typed object: a node could be sent anything");
                    Assert.False(typeof(ILocalMessage).IsAssignableFrom(inner) || inner == typeof(ITrainingProcedure) || typeof(Exception).IsAssignableFrom(inner),
                        $"{t.Name}.{p.Name} ({inner.Name}) cannot cross a node");
                }
        }
        // The local-only types exist and are not Hyperion's (they are never meant to be serialized).
        Assert.Contains(Concrete<ILocalMessage>(), t => t.Name == "FinalState");
        Assert.Contains(Concrete<ILocalMessage>(), t => t.Name == "AggregatorState");

        using var dir = new TempDir();
        var settings = QaConfig.Load(dataDir: dir.Path);
        using var sys = ActorSystem.Create("bind", settings.Akka);
        foreach (var m in Representatives(ActorRefs.Nobody))
            Assert.Equal("HyperionSerializer", sys.Serialization.FindSerializerFor(m).GetType().Name);
    }

    /// <summary>The type and, for generic and array types, the types inside it.</summary>
    private static IEnumerable<Type> Constituents(Type t)
    {
        yield return t;
        if (t.IsArray) foreach (var e in Constituents(t.GetElementType()!)) yield return e;
        if (t.IsGenericType) foreach (var a in t.GetGenericArguments()) foreach (var e in Constituents(a)) yield return e;
    }

    /// <summary>Two nodes of one cluster on loopback: A joins itself, B joins A; an echo actor on B.</summary>
    private sealed class TwoNodes : IAsyncDisposable
    {
        private readonly TempDir _dirA = new(), _dirB = new();
        public ActorSystem A { get; private set; } = null!;
        public ActorSystem B { get; private set; } = null!;
        public IActorRef EchoOnB { get; private set; } = ActorRefs.Nobody;

        public static async Task<TwoNodes> StartAsync()
        {
            var n = new TwoNodes();
            var a = QaConfig.Load(dataDir: n._dirA.Path);
            var b = QaConfig.Load(dataDir: n._dirB.Path);
            n.A = ActorSystem.Create(a.SystemName, a.Akka);
            n.B = ActorSystem.Create(b.SystemName, b.Akka);
            var clusterA = Cluster.Get(n.A);
            await Up(clusterA, clusterA.SelfAddress);
            await Up(Cluster.Get(n.B), clusterA.SelfAddress);
            n.B.ActorOf(Props.Create(() => new Echo()), "echo");
            var bAddress = Cluster.Get(n.B).SelfAddress;
            Assert.NotEqual(clusterA.SelfAddress, bAddress);
            n.EchoOnB = await n.A.ActorSelection(new RootActorPath(bAddress) / "user" / "echo").ResolveOne(TimeSpan.FromSeconds(10));
            return n;
        }

        private static async Task Up(Cluster cluster, Address seed)
        {
            var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            cluster.RegisterOnMemberUp(() => up.TrySetResult());
            cluster.Join(seed);
            if (await Task.WhenAny(up.Task, Task.Delay(TimeSpan.FromSeconds(30))) != up.Task)
                throw new TimeoutException($"{cluster.SelfAddress} did not become Up joining {seed}");
        }

        public async ValueTask DisposeAsync()
        {
            await Task.WhenAll(B.Terminate(), A.Terminate());
            _dirA.Dispose();
            _dirB.Dispose();
        }

        private sealed class Echo : ReceiveActor
        {
            public Echo() => ReceiveAny(m => Sender.Tell(m));
        }
    }

    [Fact]
    public async Task Every_cross_node_message_survives_a_round_trip_through_a_two_node_cluster()
    {
        await using var nodes = await TwoNodes.StartAsync();
        var someone = nodes.A.ActorOf(Props.Empty, "someone");
        var ser = nodes.A.Serialization;
        var messages = Representatives(someone);
        foreach (var m in messages)
        {
            var back = await nodes.EchoOnB.Ask<object>(m, TimeSpan.FromSeconds(10));
            Assert.IsType(m.GetType(), back);
            Assert.NotSame(m, back); // it did travel
            // Structural equality: the same serialized form (the serializer is deterministic, and references back to
            // node A resolve to the same actors).
            var s = ser.FindSerializerFor(m);
            Assert.Equal(s.ToBinary(m), s.ToBinary(back));
        }
        // Records without arrays compare as values too.
        Assert.Equal(new ChargeQuota("alice", 17, 1432.5), await nodes.EchoOnB.Ask<ChargeQuota>(new ChargeQuota("alice", 17, 1432.5), TimeSpan.FromSeconds(10)));
        var start = await nodes.EchoOnB.Ask<StartExperiment>(new StartExperiment(Spec(), someone), TimeSpan.FromSeconds(10));
        Assert.Equal(someone, start.ReportTo);
        Assert.Equal(Spec(), start.Spec);
        output.WriteLine($"{messages.Count} messages of {messages.Select(x => x.GetType()).Distinct().Count()} types went A -> B -> A");
    }

    /// <summary>A Sec. 5.2 example: 548 hidden units and one output, 549 variables.</summary>
    private static (Bqm Problem, SampleSet Samples, int Output) Sec52Sample(int reads)
    {
        const int hidden = 548;
        int n = hidden + 1, output = EbmProblemBuilder.OutputLabel(hidden, 0);
        var r = new Random(5);
        var linear = Enumerable.Range(0, n).Select(_ => r.NextDouble() - 0.5).ToArray();
        var u = Enumerable.Range(0, hidden).ToArray();
        var v = Enumerable.Repeat(hidden, hidden).ToArray();
        var bias = Enumerable.Range(0, hidden).Select(_ => r.NextDouble() - 0.5).ToArray();
        var bqm = Bqm.FromArrays(Vartype.Binary, linear, u, v, bias);
        var values = new sbyte[reads * n];
        for (int i = 0; i < values.Length; i++) values[i] = (sbyte)r.Next(2);
        return (bqm, SampleSet.FromSamples(bqm, values, SampleInfo.For("qpu").WithTiming("qpu_access_time", 20_000)), output);
    }

    [Fact]
    public async Task A_reply_of_2000_reads_of_549_variables_fits_the_frame_after_reduction_and_crosses_the_cluster()
    {
        using var dir = new TempDir();
        var settings = QaConfig.Load(dataDir: dir.Path);
        long frame = settings.Akka.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size") ?? 128000;
        var (problem, samples, label) = Sec52Sample(2000);
        var job = new SampleJob(1, "alice", "exp-1", problem, new SampleRequest(2000, 1, 7), Fallbacks.Gibbs, null, KeepLabels: ImmutableArray.Create(label));
        var full = new SampleReply(1, samples, "qpu", null, 20_000);
        var reduced = new SampleReply(1, job.ForReply(samples), "qpu", null, 20_000);

        await using var nodes = await TwoNodes.StartAsync();
        var ser = nodes.A.Serialization.FindSerializerFor(reduced);
        int fullBytes = ser.ToBinary(full).Length, reducedBytes = ser.ToBinary(reduced).Length;
        // A Sec. 5.2 step's batch (5 problems) to the gateway, too.
        var batch = new SampleBatch(Enumerable.Range(0, 5).Select(i => job with { JobId = i + 1 }).ToImmutableArray());
        int batchBytes = ser.ToBinary(batch).Length;
        output.WriteLine($"frame {frame} B; reply unreduced {fullBytes} B, reduced {reducedBytes} B ({reduced.Samples.NumRows} rows of {reduced.Samples.NumVariables} variable); batch of 5 problems {batchBytes} B");
        Assert.True(fullBytes > frame, "the unreduced reply would not fit: the reduction is what makes it remote-safe");
        Assert.True(reducedBytes < frame / 10, $"reduced reply of {reducedBytes} B");
        Assert.True(batchBytes < frame, $"a step's batch of {batchBytes} B exceeds the frame");

        // Same occurrence-weighted output column: what the gradient reads.
        Assert.Equal(2000, reduced.Samples.TotalReads);
        Assert.Equal(samples.Means()[samples.ColumnOf(label)], reduced.Samples.Means()[0]);
        Assert.Equal(samples.Info, reduced.Samples.Info);

        var back = await nodes.EchoOnB.Ask<SampleReply>(reduced, TimeSpan.FromSeconds(10));
        Assert.Equal(reduced.Samples.Samples.ToArray(), back.Samples.Samples.ToArray());
        Assert.Equal(reduced.Samples.NumOccurrences.ToArray(), back.Samples.NumOccurrences.ToArray());
        Assert.Equal(5, (await nodes.EchoOnB.Ask<SampleBatch>(batch, TimeSpan.FromSeconds(10))).Jobs.Length);
    }
}
