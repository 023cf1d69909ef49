using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Microsoft.Data.Sqlite;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Persistence;
using QaActors.Orchestration.Users;
using Xunit.Abstractions;

namespace QaActors.Orchestration.Tests;

/// <summary>Every log line of the actor systems that name it in akka.loggers (tests run one at a time).</summary>
public sealed class CollectingLogger : ReceiveActor
{
    public static readonly ConcurrentQueue<string> Lines = new();

    public CollectingLogger()
    {
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(e => Lines.Enqueue(e + (e.Cause is null ? "" : " " + e.Cause)));
    }
}

/// <summary>
/// The user registry on the real SQLite journal: no token ever reaches the journal, the snapshot store or the log;
/// the registry snapshots and prunes, recovers, and fails closed on a damaged record.
/// </summary>
public class UserRegistrySqliteTests(ITestOutputHelper output)
{
    private static readonly TimeSpan T = TimeSpan.FromSeconds(20);

    /// <summary>The node's own configuration (SQLite in the data dir), local provider, everything logged down to DEBUG into <see cref="CollectingLogger"/>.</summary>
    private static Config Akka(string dataDir) =>
        ConfigurationFactory.ParseString($$"""
            akka.actor.provider = local
            akka.loglevel = DEBUG
            akka.stdout-loglevel = OFF
            akka.loggers = ["{{typeof(CollectingLogger).AssemblyQualifiedName}}"]
            akka.log-dead-letters = 1000
            akka.actor.debug.unhandled = on
            akka.actor.debug.lifecycle = on
            akka.actor.debug.event-stream = on
            """).WithFallback(QaConfig.Load(dataDir: dataDir).Akka);

    private static long Rows(string dir, string table, string pid)
    {
        using var c = new SqliteConnection($"Data Source={Path.Combine(dir, "qa.db")};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT COUNT(*) FROM {table} WHERE persistence_id = $p";
        cmd.Parameters.AddWithValue("$p", pid);
        return (long)cmd.ExecuteScalar()!;
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    [Fact]
    public async Task No_token_reaches_the_journal_the_snapshots_or_the_log()
    {
        using var dir = new TempDir();
        CollectingLogger.Lines.Clear();
        var tokens = new List<ApiToken>();
        var hashes = new List<TokenHash>();
        var replies = new List<object>();
        var sys = ActorSystem.Create("users-secret", Akka(dir.Path));
        try
        {
            // Snapshot every 4 events, so users pass through events, snapshots and deleted rows.
            var reg = sys.ActorOf(UserRegistryActor.SupervisedProps(snapshotEvery: 4), "users");
            Assert.NotNull(await AdminTokenFile.EnsureFirstAdminAsync(reg, dir.Path, T));
            tokens.Add(AdminTokenFile.TryRead(dir.Path)!);
            for (int i = 0; i < 12; i++)
            {
                var added = await UserRegistryClient.AddUserAsync(reg, $"user-{i}", admin: i % 5 == 0, weight: 1 + i, T);
                replies.Add(added);
                tokens.Add(added.Token!);
            }
            foreach (var name in new[] { "user-3", "user-7" }) replies.Add(await reg.Ask<object>(new RevokeUser(name), T));
            var rotated = await UserRegistryClient.AddUserAsync(reg, "user-3", false, 1, T);
            replies.Add(rotated);
            tokens.Add(rotated.Token!);
            foreach (var t in tokens) replies.Add(await UserRegistryClient.AuthenticateAsync(reg, t.Reveal(), T));
            replies.Add(await reg.Ask<UserList>(ListUsers.Instance, T));
            // Replies that nobody receives go to the dead letters, which are logged with the message's text.
            var gone = sys.ActorOf(Props.Empty);
            gone.Tell(PoisonPill.Instance);
            await Task.Delay(200);
            foreach (var t in tokens) reg.Tell(new Authenticate(t.Hash), gone);
            reg.Tell(ListUsers.Instance, gone);
            // Each token's hash is stored (the positive control of the byte scan below).
            hashes.AddRange((await reg.Ask<UserList>(ListUsers.Instance, T)).Users.Select(u => tokens.Single(t => t.Id == u.TokenId).Hash));
            var deadline = DateTime.UtcNow + T;
            while (Rows(dir.Path, "journal", UserRegistryActor.DefaultPersistenceId) > 4 && DateTime.UtcNow < deadline) await Task.Delay(100);
            await Task.Delay(500); // the dead letters' log lines
        }
        finally { await sys.Terminate(); }
        SqliteConnection.ClearAllPools();

        Assert.Equal(14, tokens.Count);
        Assert.Equal(12, replies.OfType<AuthenticatedUser>().Count()); // all but user-7's and the rotated-away user-3 token
        Assert.Equal(1, replies.OfType<AuthenticationFailed>().Count(f => f.Reason == AuthenticationFailure.Unknown));
        Assert.Equal(1, replies.OfType<AuthenticationFailed>().Count(f => f.Reason == AuthenticationFailure.Revoked)); // user-7
        Assert.InRange(Rows(dir.Path, "journal", UserRegistryActor.DefaultPersistenceId), 0, 4);
        Assert.InRange(Rows(dir.Path, "snapshot", UserRegistryActor.DefaultPersistenceId), 1, 2);

        // Every file the node wrote except the one meant for the token (qa.db and its -wal/-shm, if any).
        var files = Directory.GetFiles(dir.Path, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f) != AdminTokenFile.FileName).ToList();
        Assert.Contains(files, f => Path.GetFileName(f) == "qa.db");
        var stored = files.Select(File.ReadAllBytes).ToList();
        output.WriteLine($"scanned {string.Join(", ", files.Select(Path.GetFileName))}: {stored.Sum(b => b.Length)} bytes; {CollectingLogger.Lines.Count} log lines");
        foreach (var t in tokens)
        {
            string text = t.Reveal();
            string secret = text[ApiToken.Prefix.Length..];
            var needles = new[] { Encoding.UTF8.GetBytes(text), Encoding.UTF8.GetBytes(secret), Encoding.Unicode.GetBytes(secret), Base64Url.DecodeFromChars(secret) };
            foreach (var bytes in stored)
                foreach (var needle in needles) Assert.False(Contains(bytes, needle), $"token {t.Id} found in a stored file");
            foreach (string line in CollectingLogger.Lines) Assert.DoesNotContain(secret, line);
            foreach (var r in replies) Assert.DoesNotContain(secret, r.ToString());
        }
        foreach (var h in hashes) Assert.Contains(stored, bytes => Contains(bytes, h.Bytes.ToArray()));
        // The log was captured, down to debug level and the dead letters, and names tokens by their id only.
        Assert.Contains(CollectingLogger.Lines, l => l.Contains("user user-4 added") && l.Contains(tokens[5].Id));
        Assert.Contains(CollectingLogger.Lines, l => l.Contains("revoked token") && l.Contains("user-7"));
        Assert.Contains(CollectingLogger.Lines, l => l.Contains("AuthenticatedUser") && l.Contains("dead", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(CollectingLogger.Lines, l => l.Contains("[DEBUG]", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task The_registry_snapshots_prunes_recovers_and_refuses_everything_after_a_damaged_record()
    {
        using var dir = new TempDir();
        const string pid = "users-prune";
        var settings = QaConfig.Load(dataDir: dir.Path);
        var tokens = new Dictionary<string, ApiToken>();
        var sys1 = ActorSystem.Create("users", settings.Akka);
        try
        {
            var reg = sys1.ActorOf(UserRegistryActor.Props(pid, snapshotEvery: 10));
            for (int i = 0; i < 25; i++) tokens[$"u{i:00}"] = (await UserRegistryClient.AddUserAsync(reg, $"u{i:00}", i == 0, 1, T)).Token!;
            for (int i = 1; i < 6; i++) await reg.Ask<UserRevokedReply>(new RevokeUser($"u{i:00}"), T);
            var deadline = DateTime.UtcNow + T;
            while (Rows(dir.Path, "journal", pid) > 10 && DateTime.UtcNow < deadline) await Task.Delay(100);
        }
        finally { await sys1.Terminate(); }
        long events = Rows(dir.Path, "journal", pid), snapshots = Rows(dir.Path, "snapshot", pid);
        output.WriteLine($"30 events written, {events} kept, {snapshots} snapshot(s)");
        Assert.InRange(events, 0, 10);
        Assert.InRange(snapshots, 1, 2);

        SqliteConnection.ClearAllPools();
        var sys2 = ActorSystem.Create("users", settings.Akka);
        try
        {
            var reg = sys2.ActorOf(UserRegistryActor.Props(pid, snapshotEvery: 10));
            var users = (await reg.Ask<UserList>(ListUsers.Instance, T)).Users;
            Assert.Equal(25, users.Length);
            Assert.Equal(5, users.Count(u => !u.Active));
            foreach (var (name, token) in tokens)
            {
                var reply = await reg.Ask<object>(new Authenticate(token.Hash), T);
                if (name is "u01" or "u02" or "u03" or "u04" or "u05") Assert.IsType<AuthenticationFailed>(reply);
                else Assert.Equal(name, Assert.IsType<AuthenticatedUser>(reply).Name);
            }
            await UserRegistryClient.AddUserAsync(reg, "late", false, 1, T); // one event after the snapshot, damaged below
        }
        finally { await sys2.Terminate(); }

        SqliteConnection.ClearAllPools();
        using (var c = new SqliteConnection($"Data Source={Path.Combine(dir.Path, "qa.db")};Pooling=False"))
        {
            c.Open();
            using var read = c.CreateCommand();
            read.CommandText = "SELECT ordering, message FROM journal WHERE persistence_id = $p ORDER BY sequence_number DESC LIMIT 1";
            read.Parameters.AddWithValue("$p", pid);
            long ordering;
            byte[] bytes;
            using (var rd = read.ExecuteReader())
            {
                Assert.True(rd.Read());
                ordering = rd.GetInt64(0);
                bytes = (byte[])rd["message"];
            }
            bytes[bytes.Length / 2] ^= 0x08;
            using var up = c.CreateCommand();
            up.CommandText = "UPDATE journal SET message = $m WHERE ordering = $o";
            up.Parameters.AddWithValue("$m", bytes);
            up.Parameters.AddWithValue("$o", ordering);
            Assert.Equal(1, up.ExecuteNonQuery());
        }
        SqliteConnection.ClearAllPools();
        var sys3 = ActorSystem.Create("users", settings.Akka);
        try
        {
            var reg = sys3.ActorOf(UserRegistryActor.Props(pid, snapshotEvery: 10));
            var failed = Assert.IsType<AuthenticationFailed>(await reg.Ask<object>(new Authenticate(tokens["u00"].Hash), T));
            output.WriteLine(failed.Message);
            Assert.Equal(AuthenticationFailure.Unavailable, failed.Reason);
            Assert.Contains("damaged", failed.Message);
            Assert.Contains(PersistedSerializer.UserCreatedV2, failed.Message);
            Assert.Equal(UserRejection.Unavailable, Assert.IsType<UserRequestRejected>(await reg.Ask<object>(ListUsers.Instance, T)).Reason);
            Assert.Equal(UserRejection.Unavailable, Assert.IsType<UserRequestRejected>(await reg.Ask<object>(new AddUser("x", false, 1, ApiToken.Generate().Hash), T)).Reason);
            Assert.Equal(UserRejection.Unavailable, Assert.IsType<UserRequestRejected>(await reg.Ask<object>(new EnsureAdmin(ApiToken.Generate().Hash), T)).Reason);
        }
        finally { await sys3.Terminate(); }
    }
}
