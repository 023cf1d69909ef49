using Akka.Actor;
using Microsoft.Data.Sqlite;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Gateway;
using QaActors.Orchestration.Persistence;
using QaActors.Orchestration.Training;
using QaActors.Sampling;
using Xunit.Abstractions;

namespace QaActors.Orchestration.Tests;

/// <summary>
/// Damage to the SQLite journal on disk is caught, never resumed from: a flipped bit in a persisted step, an emptied
/// or swapped qa.db. And the ledger's events do not pile up forever.
/// </summary>
public class PersistenceIntegrityTests(ITestOutputHelper output)
{
    private static QaServices Toy() => new()
    {
        ProcedureFor = s => new ToyProcedure(s.Seed, s.TotalSteps),
        ClassicalSamplers = new Dictionary<string, Func<QaActors.Orchestration.Gateway.ClassicalSettings, ISampler>> { ["gibbs"] = _ => new SeededRandomSampler("gibbs") },
    };

    private static QaSettings Settings(string dir) =>
        QaConfig.Load(dataDir: dir, extraHocon: "qa.samplers.pool-size = 2\nqa.persistence.snapshot-every = 100");

    private static SqliteConnection Open(string dir)
    {
        var c = new SqliteConnection($"Data Source={Path.Combine(dir, "qa.db")};Pooling=False");
        c.Open();
        return c;
    }

    private static long Rows(string dir, string table, string persistenceId)
    {
        using var c = Open(dir);
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT COUNT(*) FROM {table} WHERE persistence_id = $p";
        cmd.Parameters.AddWithValue("$p", persistenceId);
        return (long)cmd.ExecuteScalar()!;
    }

    /// <summary>Runs a toy experiment of 500 steps and pauses it after step 4 or soon after (all steps persisted as replays); returns its last step.</summary>
    private static async Task<long> RunAndPause(QaSettings settings, string id)
    {
        await using var qa = await QaActorSystem.StartAsync(settings, Toy());
        var runner = new ExperimentRunner(qa);
        var progress = new Inline<StepReport>(r => { if (r.Step == 1) qa.Trainers.Tell(new PauseExperiment(id, AfterStep: 4), ActorRefs.NoSender); });
        var paused = await Assert.ThrowsAsync<ExperimentFailedException>(() => runner.RunAsync(ToyProcedure.Spec(id, 500), progress));
        Assert.Equal("paused", paused.Reason);
        long last = (await runner.ShowAsync(id)).LastStep;
        Assert.InRange(last, 4, 99); // before the first snapshot (snapshot-every = 100), so step 3 is a replay record
        return last;
    }

    /// <summary>Flips one bit in the middle of the stored bytes of step <paramref name="step"/> of experiment <paramref name="id"/>.</summary>
    private static void FlipABitOfStep(string dir, string id, long step)
    {
        long? ordering = null;
        using (var c = Open(dir))
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = "SELECT ordering, message, manifest FROM journal WHERE persistence_id = $p";
            cmd.Parameters.AddWithValue("$p", AggregatorActor.PersistenceIdOf(id));
            using var rd = cmd.ExecuteReader();
            while (rd.Read())
                if (PersistedSerializer.Decode((byte[])rd["message"], rd.GetString(2)) is StepReplay r && r.Step == step) ordering = rd.GetInt64(0);
        }
        Assert.NotNull(ordering);
        FlipABitOf(dir, AggregatorActor.PersistenceIdOf(id), $"AND ordering = {ordering}");
    }

    /// <summary>Flips one bit in the middle of the one journal row of <paramref name="persistenceId"/> that <paramref name="where"/> selects.</summary>
    private static void FlipABitOf(string dir, string persistenceId, string where)
    {
        using var c = Open(dir);
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT ordering, message FROM journal WHERE persistence_id = $p {where}";
        cmd.Parameters.AddWithValue("$p", persistenceId);
        long ordering;
        byte[] bytes;
        using (var rd = cmd.ExecuteReader())
        {
            Assert.True(rd.Read());
            ordering = rd.GetInt64(0);
            bytes = (byte[])rd["message"];
            Assert.False(rd.Read());
        }
        bytes[bytes.Length / 2] ^= 0x04;
        using var up = c.CreateCommand();
        up.CommandText = "UPDATE journal SET message = $m WHERE ordering = $o";
        up.Parameters.AddWithValue("$m", bytes);
        up.Parameters.AddWithValue("$o", ordering);
        Assert.Equal(1, up.ExecuteNonQuery());
    }

    [Fact]
    public async Task A_flipped_bit_in_a_persisted_step_stops_recovery_naming_the_experiment_and_step()
    {
        using var dir = new TempDir();
        var settings = Settings(dir.Path);
        await RunAndPause(settings, "bitflip");
        FlipABitOfStep(dir.Path, "bitflip", 3);
        SqliteConnection.ClearAllPools();

        await using var qa = await QaActorSystem.StartAsync(settings, Toy());
        var failed = await Assert.ThrowsAsync<ExperimentFailedException>(() => new ExperimentRunner(qa).ResumeAsync("bitflip"));
        output.WriteLine(failed.Reason);
        Assert.Contains("experiment 'bitflip'", failed.Reason);
        Assert.Contains("step 3 is damaged", failed.Reason);
        Assert.Contains("checksum", failed.Reason);
    }

    [Fact]
    public async Task An_emptied_or_swapped_journal_is_refused_naming_the_files()
    {
        using var dir = new TempDir();
        using var other = new TempDir();
        var settings = Settings(dir.Path);
        long last = await RunAndPause(settings, "kept");
        string marker = Path.Combine(dir.Path, JournalIdentity.MarkerFileName);
        string id = JournalIdentity.ReadMarker(marker)!;
        Assert.True(Guid.TryParse(id, out _));

        // Another node's journal in its place: refused, both ids named.
        await (await QaActorSystem.StartAsync(Settings(other.Path), Toy())).DisposeAsync();
        string otherId = JournalIdentity.ReadMarker(Path.Combine(other.Path, JournalIdentity.MarkerFileName))!;
        SqliteConnection.ClearAllPools();
        string db = Path.Combine(dir.Path, "qa.db");
        File.Move(db, db + ".mine");
        foreach (var ext in new[] { "-wal", "-shm" }) if (File.Exists(db + ext)) File.Move(db + ext, db + ".mine" + ext);
        File.Copy(Path.Combine(other.Path, "qa.db"), db);
        var swapped = await Assert.ThrowsAsync<JournalRefusedException>(() => QaActorSystem.StartAsync(settings, Toy()));
        output.WriteLine(swapped.Message);
        Assert.Contains(db, swapped.Message);
        Assert.Contains(otherId, swapped.Message);
        Assert.Contains(id, swapped.Message);
        Assert.Contains(marker, swapped.Message);

        // The node's own journal emptied (a zero-byte qa.db): refused, not taken for a new journal.
        SqliteConnection.ClearAllPools();
        File.WriteAllBytes(db, []);
        foreach (var ext in new[] { "-wal", "-shm" }) File.Delete(db + ext);
        var emptied = await Assert.ThrowsAsync<JournalRefusedException>(() => QaActorSystem.StartAsync(settings, Toy()));
        output.WriteLine(emptied.Message);
        Assert.Contains(db, emptied.Message);
        Assert.Contains("emptied or replaced", emptied.Message);
        Assert.Contains("delete " + marker, emptied.Message);

        // With its own journal back, the node starts and the experiment is there.
        SqliteConnection.ClearAllPools();
        File.Delete(db);
        foreach (var ext in new[] { "-wal", "-shm" }) if (File.Exists(db + ext)) File.Delete(db + ext);
        File.Move(db + ".mine", db);
        foreach (var ext in new[] { "-wal", "-shm" }) if (File.Exists(db + ".mine" + ext)) File.Move(db + ".mine" + ext, db + ext);
        await using var qa = await QaActorSystem.StartAsync(settings, Toy());
        Assert.Equal(last, (await new ExperimentRunner(qa).ShowAsync("kept")).LastStep);
    }

    /// <summary>A journal given with --db keeps its own marker, so one data dir can hold several journals, each checked.</summary>
    [Fact]
    public async Task A_journal_given_with_db_has_its_own_marker()
    {
        using var dir = new TempDir();
        await (await QaActorSystem.StartAsync(Settings(dir.Path), Toy())).DisposeAsync();
        string own = JournalIdentity.ReadMarker(Path.Combine(dir.Path, JournalIdentity.MarkerFileName))!;
        var other = QaConfig.Load(dataDir: dir.Path, db: Path.Combine(dir.Path, "other.db"), extraHocon: "qa.samplers.pool-size = 2");
        await (await QaActorSystem.StartAsync(other, Toy())).DisposeAsync();
        var markers = Directory.GetFiles(dir.Path, JournalIdentity.MarkerFileName + "*").Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(2, markers.Length);
        Assert.Equal(own, JournalIdentity.ReadMarker(Path.Combine(dir.Path, JournalIdentity.MarkerFileName)));
        // and both start again
        await (await QaActorSystem.StartAsync(Settings(dir.Path), Toy())).DisposeAsync();
        await (await QaActorSystem.StartAsync(other, Toy())).DisposeAsync();
    }

    [Fact]
    public void The_identity_rule()
    {
        static JournalIdentity.Decision D(string? journal, string? marker) => JournalIdentity.Decide(journal, marker, "the journal J", "M", () => "new");
        Assert.Equal(new JournalIdentity.Decision.Use("a"), D("a", "a"));
        Assert.Equal(new JournalIdentity.Decision.Adopt("a"), D("a", null));
        Assert.Equal(new JournalIdentity.Decision.Create("new"), D(null, null));
        var swapped = Assert.IsType<JournalIdentity.Decision.Refuse>(D("a", "b"));
        Assert.Contains("the journal J is journal a", swapped.Reason);
        Assert.Contains("belongs to journal b (M)", swapped.Reason);
        var emptied = Assert.IsType<JournalIdentity.Decision.Refuse>(D(null, "b"));
        Assert.Contains("emptied or replaced", emptied.Reason);
        Assert.Contains("delete M", emptied.Reason);
    }

    [Fact]
    public async Task The_registry_snapshots_and_prunes()
    {
        using var dir = new TempDir();
        var settings = QaConfig.Load(dataDir: dir.Path);
        const string pid = "registry-prune";
        var sys1 = ActorSystem.Create("registry", settings.Akka);
        try
        {
            var registry = sys1.ActorOf(ExperimentRegistryActor.Props(pid, snapshotEvery: 10));
            for (int k = 0; k < 35; k++)
                await registry.Ask<Status.Success>(new RegisterExperiment(new ExperimentRegistered($"e{k}", "gibbs", "u", DateTimeOffset.UnixEpoch)), TimeSpan.FromSeconds(20));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (Rows(dir.Path, "journal", pid) > 10 && DateTime.UtcNow < deadline) await Task.Delay(100);
        }
        finally { await sys1.Terminate(); }
        output.WriteLine($"35 events written, {Rows(dir.Path, "journal", pid)} kept, {Rows(dir.Path, "snapshot", pid)} snapshot(s)");
        Assert.InRange(Rows(dir.Path, "journal", pid), 0, 10);
        Assert.InRange(Rows(dir.Path, "snapshot", pid), 1, 2);
        SqliteConnection.ClearAllPools();
        var sys2 = ActorSystem.Create("registry", settings.Akka);
        try
        {
            var registry = sys2.ActorOf(ExperimentRegistryActor.Props(pid, snapshotEvery: 10));
            var list = await registry.Ask<RegisteredExperiments>(new ListRegisteredExperiments(), TimeSpan.FromSeconds(20));
            Assert.Equal(Enumerable.Range(0, 35).Select(k => $"e{k}"), list.Entries.Select(e => e.ExperimentId));
        }
        finally { await sys2.Terminate(); }
    }

    [Fact]
    public async Task The_ledger_snapshots_and_prunes_and_a_damaged_ledger_grants_nothing()
    {
        using var dir = new TempDir();
        var settings = QaConfig.Load(dataDir: dir.Path);
        const string pid = "ledger-prune";
        var quotas = TestConfig.Quotas();
        var sys1 = ActorSystem.Create("ledger", settings.Akka);
        try
        {
            var ledger = sys1.ActorOf(QuotaLedgerActor.Props(quotas, pid, snapshotEvery: 10));
            for (int k = 0; k < 30; k++)
            {
                var r = await ledger.Ask<QuotaReservedReply>(new ReserveQuota("alice", 1000), TimeSpan.FromSeconds(20));
                await ledger.Ask<Status.Success>(new ChargeQuota("alice", r.ReservationId, 500), TimeSpan.FromSeconds(10));
            }
            // Deletion follows each snapshot asynchronously: wait (bounded) for the last one to land.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (Rows(dir.Path, "journal", pid) > 10 && DateTime.UtcNow < deadline) await Task.Delay(100);
        }
        finally { await sys1.Terminate(); }

        long events = Rows(dir.Path, "journal", pid), snapshots = Rows(dir.Path, "snapshot", pid);
        output.WriteLine($"60 events written, {events} kept, {snapshots} snapshot(s)");
        Assert.InRange(events, 0, 10);
        Assert.InRange(snapshots, 1, 2);

        // Recovered from the snapshot: every charge is there.
        SqliteConnection.ClearAllPools();
        var sys2 = ActorSystem.Create("ledger", settings.Akka);
        try
        {
            var ledger = sys2.ActorOf(QuotaLedgerActor.Props(quotas, pid, snapshotEvery: 10));
            var acc = (await ledger.Ask<QuotaReport>(new GetQuota("alice"), TimeSpan.FromSeconds(20))).Accounts[0];
            Assert.Equal(30 * 500 / 1e6, acc.ChargedSeconds, 12);
            Assert.Equal(0, acc.ReservedSeconds);
            // one more event after the snapshot, to damage below
            var r = await ledger.Ask<QuotaReservedReply>(new ReserveQuota("alice", 1000), TimeSpan.FromSeconds(10));
            await ledger.Ask<Status.Success>(new ChargeQuota("alice", r.ReservationId, 700), TimeSpan.FromSeconds(10));
        }
        finally { await sys2.Terminate(); }

        SqliteConnection.ClearAllPools();
        FlipABitOf(dir.Path, pid, "AND sequence_number = (SELECT MAX(sequence_number) FROM journal WHERE persistence_id = $p)");
        SqliteConnection.ClearAllPools();
        var sys3 = ActorSystem.Create("ledger", settings.Akka);
        try
        {
            var ledger = sys3.ActorOf(QuotaLedgerActor.Props(quotas, pid, snapshotEvery: 10));
            var denied = await ledger.Ask<QuotaDenied>(new ReserveQuota("alice", 1000), TimeSpan.FromSeconds(20));
            output.WriteLine(denied.Reason);
            Assert.Contains("damaged", denied.Reason);
            Assert.Contains(PersistedSerializer.QuotaChargedV2, denied.Reason);
            await Assert.ThrowsAsync<InvalidDataException>(() => ledger.Ask<QuotaReport>(new GetQuota("alice"), TimeSpan.FromSeconds(10)));
        }
        finally { await sys3.Terminate(); }
    }

    private sealed class Inline<T>(Action<T> a) : IProgress<T>
    {
        public void Report(T value) => a(value);
    }
}

/// <summary>The ledger under its supervisor, and the journal identity's write, on the fault-injecting test journal.</summary>
public class LedgerSupervisionTests : Akka.TestKit.Xunit2.TestKit
{
    public LedgerSupervisionTests(ITestOutputHelper output) : base(TestConfig.WithTestJournal(), output: output) { }

    private Akka.Persistence.TestKit.ITestJournal Journal() =>
        Akka.Persistence.TestKit.TestJournal.FromRef(Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null));

    /// <summary>Two starts racing on a new journal: the loser's identity write fails, and it reads the journal again.</summary>
    [Fact]
    public async Task A_failed_identity_write_is_followed_by_a_second_look()
    {
        using var dir = new TempDir();
        string marker = Path.Combine(dir.Path, JournalIdentity.MarkerFileName);
        int failed = 0;
        await Journal().OnWrite.FailIf(p => p.Payload is JournalIdentityCreated && Interlocked.Exchange(ref failed, 1) == 0);
        string id = await JournalIdentity.EnsureAsync(Sys, marker, "the test journal", TimeSpan.FromSeconds(10));
        Assert.Equal(1, Volatile.Read(ref failed));
        Assert.Equal(id, JournalIdentity.ReadMarker(marker));
        await Journal().OnWrite.Pass();
        Assert.Equal(id, await JournalIdentity.EnsureAsync(Sys, marker, "the test journal", TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_failed_journal_write_restarts_the_ledger()
    {
        var ledger = Sys.ActorOf(QuotaLedgerActor.SupervisedProps(TestConfig.Quotas(), "ledger-restart"));
        Assert.IsType<QuotaReservedReply>(await ledger.Ask<object>(new ReserveQuota("alice", 100), TimeSpan.FromSeconds(10)));

        await Journal().OnWrite.Fail();
        ledger.Tell(new ReserveQuota("alice", 200), TestActor);
        ExpectNoMsg(TimeSpan.FromMilliseconds(500)); // the write failed: no grant, and Akka.Persistence stopped the ledger
        await Journal().OnWrite.Pass();

        // The supervisor starts it again, recovered from the journal, and it serves again.
        object? reply = null;
        await AwaitAssertAsync(async () => reply = await ledger.Ask<object>(new ReserveQuota("alice", 300), TimeSpan.FromSeconds(1)),
            TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(100));
        Assert.IsType<QuotaReservedReply>(reply);
        var acc = (await ledger.Ask<QuotaReport>(new GetQuota("alice"), TimeSpan.FromSeconds(5))).Accounts[0];
        // The first reservation was open when the ledger stopped: charged in full (in doubt), never dropped; the failed
        // one was never granted.
        Assert.Equal(100 / 1e6, acc.ChargedSeconds, 12);
        Assert.Equal(300 / 1e6, acc.ReservedSeconds, 12);

        // The singleton's hand-over message stops it for good.
        Watch(ledger);
        ledger.Tell(StopSingleton.Instance);
        ExpectTerminated(ledger, TimeSpan.FromSeconds(10));
    }
}
