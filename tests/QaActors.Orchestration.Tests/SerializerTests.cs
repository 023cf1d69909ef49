using System.Collections.Immutable;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using QaActors.Orchestration.Persistence;

namespace QaActors.Orchestration.Tests;

/// <summary>
/// The persisted format is stable: events written by an earlier build (the committed fixture, written once by
/// <see cref="WriteFixture"/>) are read by the current code, and every record round-trips.
/// </summary>
public class SerializerTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The events as they were when the fixture was written (never change these values).</summary>
    public static IReadOnlyList<IPersisted> FixtureEvents()
    {
        var spec = new ExperimentSpec("mnist-0-1-gibbs-0123456789", "gibbs", "anneal", "alice", "", 42, 250,
            "{\"Method\":\"Gibbs\",\"Hidden\":548}", "{\"Dataset\":\"mnist\"}", At);
        var prov = new Provenance(
            ImmutableSortedDictionary<string, long>.Empty.Add("anneal", 2).Add("qpu", 3),
            ImmutableSortedDictionary<string, long>.Empty.Add("breaker-open", 2),
            123456.5, 0.125, 3, 7);
        var metrics = new StepStats(17, [new("train_loss", 0.6931), new("test_accuracy", 0.75)]);
        var state = Enumerable.Range(0, 300).Select(i => (byte)(i * 7)).ToArray();
        var checkpoint = new StepCheckpoint(17, state, (1UL, 2UL, ulong.MaxValue, 0x0123456789ABCDEFUL), metrics, prov);
        return
        [
            new ExperimentCreated(spec),
            checkpoint,
            new ExperimentSnapshot(spec, checkpoint, [new StepStats(0, []), metrics], prov),
            new QuotaLimitSet("alice", 60e6, At),
            new QuotaReserved("alice", 9, 12500),
            new QuotaCharged("alice", 9, 11000.25),
            new QuotaReleased("bob", 10),
            new QuotaLedgerSnapshot(11, [new QuotaUserState("alice", 60e6, 11000.25, ImmutableSortedDictionary<long, double>.Empty.Add(12, 5.5)),
                                         new QuotaUserState("bob", null, 0, ImmutableSortedDictionary<long, double>.Empty)]),
            new ExperimentRegistered("exp-1", "qpu", "bob", At),
            new RegistrySnapshot([new ExperimentRegistered("exp-1", "qpu", "bob", At)]),
        ];
    }

    private static string FixturePath => Path.Combine(AppContext.BaseDirectory, "Fixtures", "persisted-v1.txt");

    /// <summary>How the committed fixture was made: QA_WRITE_FIXTURE=&lt;repo&gt;/tests/.../Fixtures/persisted-v1.txt, once, with the v1 code.</summary>
    private static void WriteFixture(string path)
    {
        var lines = FixtureEvents().Select(e => PersistedSerializerManifest(e).Replace(".v2", ".v1") + " " + Convert.ToBase64String(PersistedSerializer.EncodeV1(e)));
        File.WriteAllLines(path, lines);
    }

    private static string PersistedSerializerManifest(object e)
    {
        using var sys = ActorSystem.Create("m", TestConfig.WithTestJournal());
        return ((SerializerWithStringManifest)sys.Serialization.FindSerializerFor(e)).Manifest(e);
    }

    [Fact]
    public void Step_replay_events_round_trip_exactly_and_reject_truncation()
    {
        var e = new StepReplay(7,
        [
            new ReplaySamples([548], true, [1, -1], [60, 40]),
            new ReplaySamples([548, 549], false, [0, 1, 1, 1], [3, 97]),
        ],
            new StepStats(7, [KeyValuePair.Create("test_accuracy", 0.5)]),
            Provenance.Empty);
        byte[] bytes = PersistedSerializer.Encode(e);
        var back = (StepReplay)PersistedSerializer.Decode(bytes, PersistedSerializer.StepReplayV2);
        Assert.Equal(e.Step, back.Step);
        Assert.Equal(2, back.Samples.Length);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(e.Samples[i].Variables, back.Samples[i].Variables);
            Assert.Equal(e.Samples[i].Spin, back.Samples[i].Spin);
            Assert.Equal(e.Samples[i].Values, back.Samples[i].Values);
            Assert.Equal(e.Samples[i].Counts, back.Samples[i].Counts);
        }
        Assert.Equal(bytes, PersistedSerializer.Encode(back));
        Assert.ThrowsAny<Exception>(() => PersistedSerializer.Decode(bytes[..^3], PersistedSerializer.StepReplayV2));
        Assert.ThrowsAny<Exception>(() => PersistedSerializer.Decode(PersistedSerializer.EncodeV1(e)[..^3], PersistedSerializer.StepReplayV1));
    }

    [Fact]
    public void Checkpoints_written_by_an_earlier_version_are_read()
    {
        if (Environment.GetEnvironmentVariable("QA_WRITE_FIXTURE") is { Length: > 0 } target) WriteFixture(target);
        var lines = File.ReadAllLines(FixturePath).Where(l => l.Length > 0).ToArray();
        var expected = FixtureEvents();
        Assert.Equal(expected.Count, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            var parts = lines[i].Split(' ');
            var decoded = PersistedSerializer.Decode(Convert.FromBase64String(parts[1]), parts[0]);
            AssertSame(expected[i], decoded);
            // And the v1 body the current writer checksums is still exactly those bytes (the format did not drift).
            Assert.Equal(parts[1], Convert.ToBase64String(PersistedSerializer.EncodeV1(decoded)));
        }
        Assert.Contains(lines, l => l.StartsWith(PersistedSerializer.CheckpointV1 + " "));
    }

    [Fact]
    public void The_actor_system_uses_the_string_manifest_serializer_for_persisted_records_only()
    {
        using var sys = ActorSystem.Create("ser", TestConfig.WithTestJournal());
        foreach (var e in FixtureEvents())
        {
            var ser = sys.Serialization.FindSerializerFor(e);
            Assert.IsType<PersistedSerializer>(ser);
            var m = ((SerializerWithStringManifest)ser).Manifest(e);
            // The current version of each format: v2 (checksummed), v3 for a reservation (with its call), v4 for the
            // ledger's snapshot (with in-doubt charges and calls).
            Assert.EndsWith(e switch { QuotaLedgerSnapshot => ".v4", QuotaReserved => ".v3", _ => ".v2" }, m);
            AssertSame(e, sys.Serialization.Deserialize(ser.ToBinary(e), ser.Identifier, m));
        }
        Assert.Throws<SerializationException>(() => PersistedSerializer.Decode([1, 2, 3], "checkpoint.v99"));
        Assert.Throws<SerializationException>(() => PersistedSerializer.Decode([.. PersistedSerializer.EncodeV1(new QuotaReleased("x", 1)), 0], PersistedSerializer.QuotaReleasedV1));
    }

    /// <summary>Every bit of every checksummed record matters: one flip anywhere is caught and reported, never read as other data.</summary>
    [Fact]
    public void One_flipped_bit_anywhere_in_a_record_is_detected()
    {
        using var sys = ActorSystem.Create("crc", TestConfig.WithTestJournal());
        var ser = (SerializerWithStringManifest)sys.Serialization.FindSerializerFor(new QuotaReleased("x", 1));
        var events = FixtureEvents().Append(new StepReplay(17, [new ReplaySamples([548], true, [1, -1, 1], [2, 1, 4])],
            new StepStats(17, []), Provenance.Empty)).Append(new JournalIdentityCreated(Guid.Empty.ToString("D"), At));
        foreach (var e in events)
        {
            string manifest = ser.Manifest(e);
            byte[] good = ser.ToBinary(e);
            AssertSame(e, ser.FromBinary(good, manifest));
            var rng = new Sampling.Rng((ulong)manifest.Length);
            // every bit of small records, 200 random bits of the large ones
            int bits = good.Length * 8;
            var positions = bits <= 4096 ? Enumerable.Range(0, bits) : Enumerable.Range(0, 200).Select(_ => rng.NextInt(bits));
            foreach (int bit in positions)
            {
                var bad = (byte[])good.Clone();
                bad[bit / 8] ^= (byte)(1 << (bit % 8));
                Assert.Throws<SerializationException>(() => PersistedSerializer.Decode(bad, manifest));
                var damaged = Assert.IsType<DamagedRecord>(ser.FromBinary(bad, manifest));
                Assert.Equal(manifest, damaged.Manifest);
            }
        }
        // The step a damaged step record names, when its bytes still parse.
        var replay = PersistedSerializer.Encode(new StepReplay(23, [], new StepStats(23, []), Provenance.Empty));
        replay[^1] ^= 0x10; // in the checksum itself
        Assert.Equal(23, Assert.IsType<DamagedRecord>(ser.FromBinary(replay, PersistedSerializer.StepReplayV2)).ClaimedStep);
        // A v1 record that does not parse is damaged too (old journals have no checksum to check).
        Assert.IsType<DamagedRecord>(ser.FromBinary([1, 2, 3], PersistedSerializer.CheckpointV1));
        Assert.Throws<SerializationException>(() => ser.FromBinary([1, 2, 3], "checkpoint.v99"));
    }

    private static void AssertSame(object expected, object actual)
    {
        Assert.Equal(expected.GetType(), actual.GetType());
        switch (expected)
        {
            case StepCheckpoint c: SameCheckpoint(c, (StepCheckpoint)actual); break;
            case ExperimentSnapshot s:
                var a = (ExperimentSnapshot)actual;
                Assert.Equal(s.Spec, a.Spec);
                SameCheckpoint(s.Last!, a.Last!);
                Assert.Equal(s.History.Length, a.History.Length);
                for (int i = 0; i < s.History.Length; i++) Assert.Equal(s.History[i].Values.ToArray(), a.History[i].Values.ToArray());
                Assert.True(s.Totals.ContentEquals(a.Totals));
                break;
            case QuotaLedgerSnapshot q:
                var b = (QuotaLedgerSnapshot)actual;
                Assert.Equal(q.NextReservationId, b.NextReservationId);
                Assert.Equal(q.Users.Length, b.Users.Length);
                for (int i = 0; i < q.Users.Length; i++)
                {
                    Assert.Equal(q.Users[i].User, b.Users[i].User);
                    Assert.Equal(q.Users[i].LimitMicros, b.Users[i].LimitMicros);
                    Assert.Equal(q.Users[i].ChargedMicros, b.Users[i].ChargedMicros);
                    Assert.Equal(q.Users[i].Reservations, b.Users[i].Reservations);
                }
                break;
            case RegistrySnapshot r: Assert.Equal(r.Experiments.ToArray(), ((RegistrySnapshot)actual).Experiments.ToArray()); break;
            case StepReplay: Assert.Equal(PersistedSerializer.EncodeV1(expected), PersistedSerializer.EncodeV1(actual)); break;
            default: Assert.Equal(expected, actual); break;
        }
    }

    private static void SameCheckpoint(StepCheckpoint e, StepCheckpoint a)
    {
        Assert.Equal(e.Step, a.Step);
        Assert.Equal(e.State, a.State);
        Assert.Equal(e.RngState, a.RngState);
        Assert.Equal(e.Metrics.Step, a.Metrics.Step);
        Assert.Equal(e.Metrics.Values.ToArray(), a.Metrics.Values.ToArray());
        Assert.True(e.Provenance.ContentEquals(a.Provenance));
    }
}
