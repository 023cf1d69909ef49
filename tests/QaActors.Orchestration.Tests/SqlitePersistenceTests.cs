using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Persistence;

namespace QaActors.Orchestration.Tests;

/// <summary>
/// The riskiest dependency first: Akka.Persistence.Sql with SQLite (SQLite.MS) creates its tables,
/// writes events and snapshots through the project's serializer, and a second actor system recovers them.
/// </summary>
public class SqlitePersistenceTests
{
    private sealed record Add(string Id) : IQaMessage;
    private sealed record Snap : IQaMessage;
    private sealed record Get : IQaMessage;

    private sealed class Recorder : ReceivePersistentActor
    {
        private ImmutableArray<ExperimentRegistered> _items = ImmutableArray<ExperimentRegistered>.Empty;
        public override string PersistenceId => "smoke-recorder";

        public Recorder()
        {
            Recover<ExperimentRegistered>(e => _items = _items.Add(e));
            Recover<SnapshotOffer>(o => _items = ((RegistrySnapshot)o.Snapshot).Experiments);
            Command<Add>(a =>
            {
                var sender = Sender;
                Persist(new ExperimentRegistered(a.Id, "gibbs", "u", new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)),
                    e => { _items = _items.Add(e); sender.Tell("ok"); });
            });
            Command<Snap>(_ => { SaveSnapshot(new RegistrySnapshot(_items)); });
            Command<SaveSnapshotSuccess>(_ => { });
            Command<Get>(_ => Sender.Tell(string.Join(",", _items.Select(i => i.ExperimentId))));
        }
    }

    [Fact]
    public async Task Journal_and_snapshot_survive_a_new_actor_system()
    {
        using var dir = new TempDir();
        var settings = QaConfig.Load(dataDir: dir.Path);
        Assert.Equal("sqlite", settings.Provider);

        var sys1 = ActorSystem.Create("smoke", settings.Akka);
        try
        {
            var a = sys1.ActorOf(Props.Create(() => new Recorder()));
            Assert.Equal("ok", await a.Ask<string>(new Add("e1"), TimeSpan.FromSeconds(20)));
            Assert.Equal("ok", await a.Ask<string>(new Add("e2"), TimeSpan.FromSeconds(10)));
            a.Tell(new Snap());
            Assert.Equal("ok", await a.Ask<string>(new Add("e3"), TimeSpan.FromSeconds(10)));
        }
        finally { await sys1.Terminate(); }
        Assert.True(File.Exists(Path.Combine(dir.Path, "qa.db")));

        var sys2 = ActorSystem.Create("smoke", settings.Akka);
        try
        {
            var b = sys2.ActorOf(Props.Create(() => new Recorder()));
            Assert.Equal("e1,e2,e3", await b.Ask<string>(new Get(), TimeSpan.FromSeconds(20)));
        }
        finally { await sys2.Terminate(); }

        // The rows carry the project's manifests, so the string-manifest serializer (not Hyperion or
        // JSON) wrote them, and the snapshot store's table was created and used.
        using var conn = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dir.Path, "qa.db")}");
        conn.Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT manifest, identifier FROM journal";
        using (var rd = cmd.ExecuteReader())
            while (rd.Read())
            {
                Assert.Equal(PersistedSerializer.ExperimentRegisteredV2, rd.GetString(0));
                Assert.Equal(PersistedSerializer.Id, rd.GetInt32(1));
            }
        cmd.CommandText = "SELECT manifest FROM snapshot";
        Assert.Equal(PersistedSerializer.RegistrySnapshotV2, (string?)cmd.ExecuteScalar());
    }
}
