using QaActors.Orchestration.Configuration;

namespace QaActors.Orchestration.Tests;

public class ConfigTests
{
    [Fact]
    public void Defaults_load_from_the_embedded_hocon()
    {
        using var dir = new TempDir();
        var s = QaConfig.Load(dataDir: dir.Path);
        Assert.Equal("sqlite", s.Provider);
        Assert.Equal(1, s.Gateway.MaxInFlight);
        Assert.Equal(10, s.Gateway.Burst);
        Assert.Equal(TimeSpan.FromSeconds(5), s.Gateway.BreakerResetTimeout);
        Assert.Equal(60.0, s.Quotas.DefaultSeconds);
        Assert.Equal("cluster", s.Akka.GetString("akka.actor.provider"));
        Assert.Equal("hyperion", s.Akka.GetString("akka.actor.serialization-bindings.\"QaActors.Orchestration.IQaMessage, QaActors.Orchestration\""));
        Assert.False(s.Akka.HasPath("akka.actor.serialization-bindings.\"System.Object\"") &&
                     s.Akka.GetString("akka.actor.serialization-bindings.\"System.Object\"") == "hyperion");
        Assert.True(s.Akka.GetBoolean("akka.actor.serialization-settings.hyperion.disallow-unsafe-type"));
        string conn = s.Akka.GetString("akka.persistence.journal.sql.connection-string");
        Assert.Equal($"Data Source={Path.Combine(dir.Path, "qa.db")}", conn);
        Assert.Equal(conn, s.Akka.GetString("akka.persistence.snapshot-store.sql.connection-string"));
        Assert.Equal(conn, s.Akka.GetString("akka.persistence.query.journal.sql.connection-string"));
        Assert.Equal("SQLite.MS", s.Akka.GetString("akka.persistence.journal.sql.provider-name"));
    }

    [Fact]
    public void Postgres_is_selected_by_configuration_alone()
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "pg.conf");
        File.WriteAllText(file, """
            qa.persistence {
              provider = postgres
              connection-string = "Host=db.example;Port=5432;Database=qa;Username=qa;Password=secret"
            }
            """);
        var s = QaConfig.Load(file, dir.Path);
        Assert.Equal("postgres", s.Provider);
        foreach (var block in new[] { "journal.sql", "snapshot-store.sql", "query.journal.sql" })
        {
            Assert.Equal("PostgreSQL.15", s.Akka.GetString($"akka.persistence.{block}.provider-name"));
            Assert.StartsWith("Host=db.example;", s.Akka.GetString($"akka.persistence.{block}.connection-string"));
        }
        // --db alone does the same.
        var viaDb = QaConfig.Load(dataDir: dir.Path, db: "Host=h;Database=d;Username=u");
        Assert.Equal("postgres", viaDb.Provider);
        var sqliteFile = QaConfig.Load(dataDir: dir.Path, db: Path.Combine(dir.Path, "other.db"));
        Assert.Equal($"Data Source={Path.Combine(dir.Path, "other.db")}", sqliteFile.Akka.GetString("akka.persistence.journal.sql.connection-string"));
    }

    [Theory]
    [InlineData("qa.gateway.max-inflight = 2", "qa.gateway.max-inflight", "unknown key")]
    [InlineData("qa.gateway.max-in-flight = 0", "qa.gateway.max-in-flight", "between 1 and")]
    [InlineData("qa.gateway.rate-limit.rate = fast", "qa.gateway.rate-limit.rate", "number")]
    [InlineData("qa.gateway.breaker.reset-timeout = soon", "qa.gateway.breaker.reset-timeout", "duration")]
    [InlineData("qa.persistence.provider = oracle", "qa.persistence.provider", "sqlite or postgres")]
    [InlineData("qa.persistence.provider = postgres", "qa.persistence.connection-string", "needs a connection string")]
    [InlineData("qa.persistence.sqlite-synchronous = sometimes", "qa.persistence.sqlite-synchronous", "use normal or full")]
    [InlineData("qa.quotas.weights.alice = -1", "qa.quotas.weights.alice", "≥ 0")]
    [InlineData("qa.trainer.idle-after-summary = later", "qa.trainer.idle-after-summary", "duration")]
    [InlineData("qa.gateway.retry { min-backoff = 10s, max-backoff = 1s }", "qa.gateway.retry.max-backoff", "must not be smaller")]
    public void Bad_configuration_names_the_key(string hocon, string key, string hint)
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "bad.conf");
        File.WriteAllText(file, hocon);
        var e = Assert.Throws<QaConfigException>(() => QaConfig.Load(file, dir.Path));
        Assert.Equal(key, e.Key);
        Assert.Contains(key, e.Message);
        Assert.Contains(hint, e.Message);
    }

    [Fact]
    public void Missing_overlay_file_is_reported()
    {
        var e = Assert.Throws<QaConfigException>(() => QaConfig.Load("/nonexistent/qa.conf", Path.GetTempPath()));
        Assert.Equal("--config", e.Key);
    }

    [Fact]
    public void Open_maps_accept_user_names()
    {
        using var dir = new TempDir();
        var s = QaConfig.Load(dataDir: dir.Path, extraHocon: "qa.quotas { users.alice = 120, weights.alice = 2 }");
        Assert.Equal(120, s.Quotas.ConfiguredSecondsOf("alice"));
        Assert.Equal(60, s.Quotas.ConfiguredSecondsOf("bob"));
        Assert.Equal(2, s.Quotas.WeightOf("alice"));
    }
}
