using Akka.Configuration;

namespace QaActors.Orchestration.Configuration;

public sealed record GatewaySettings(
    int MaxInFlight,
    double RatePerSecond,
    int Burst,
    int BreakerMaxFailures,
    TimeSpan BreakerResetTimeout,
    TimeSpan BreakerMaxResetTimeout,
    TimeSpan DeadlineMargin,
    TimeSpan RetryMinBackoff,
    TimeSpan RetryMaxBackoff,
    TimeSpan AskTimeout,
    TimeSpan CallTimeout,
    TimeSpan LostAnswerFirstLook,
    TimeSpan LostAnswerMaxBackoff,
    TimeSpan LostAnswerGiveUpAfter,
    TimeSpan WeightsRefresh)
{
    public static GatewaySettings From(Config c) => new(
        QaConfig.GetInt(c, "qa.gateway.max-in-flight", 1, 1000),
        QaConfig.GetDouble(c, "qa.gateway.rate-limit.rate", 1e-6, 1e6),
        QaConfig.GetInt(c, "qa.gateway.rate-limit.burst", 1, 1_000_000),
        QaConfig.GetInt(c, "qa.gateway.breaker.max-failures", 1, 1000),
        QaConfig.GetDuration(c, "qa.gateway.breaker.reset-timeout", TimeSpan.FromMilliseconds(1)),
        QaConfig.GetDuration(c, "qa.gateway.breaker.max-reset-timeout", TimeSpan.FromMilliseconds(1)),
        QaConfig.GetDuration(c, "qa.gateway.deadline-margin", TimeSpan.Zero, allowZero: true),
        QaConfig.GetDuration(c, "qa.gateway.retry.min-backoff", TimeSpan.FromMilliseconds(1)),
        QaConfig.GetDuration(c, "qa.gateway.retry.max-backoff", TimeSpan.FromMilliseconds(1)),
        QaConfig.GetDuration(c, "qa.gateway.ask-timeout", TimeSpan.FromMilliseconds(1)),
        QaConfig.GetDuration(c, "qa.gateway.call-timeout", TimeSpan.FromMilliseconds(1)),
        QaConfig.GetDuration(c, "qa.gateway.lost-answers.first-look", TimeSpan.FromMilliseconds(1)),
        QaConfig.GetDuration(c, "qa.gateway.lost-answers.max-backoff", TimeSpan.FromMilliseconds(1)),
        QaConfig.GetDuration(c, "qa.gateway.lost-answers.give-up-after", TimeSpan.FromMilliseconds(1)),
        QaConfig.GetDuration(c, "qa.gateway.weights-refresh", TimeSpan.FromMilliseconds(1)));

    /// <summary>Defaults of hocon/gateway.conf, for tests and callers without a config.</summary>
    public static GatewaySettings Default => From(QaConfig.Defaults());
}

public sealed record QuotaSettings(
    double DefaultSeconds,
    double ReserveFactor,
    IReadOnlyDictionary<string, double> Weights,
    IReadOnlyDictionary<string, double> UserSeconds)
{
    public static QuotaSettings From(Config c)
    {
        var weights = QaConfig.GetNumberMap(c, "qa.quotas.weights", 0);
        foreach (var (u, w) in weights)
            if (w <= 0) throw new QaConfigException("qa.quotas.weights." + u, "must be positive");
        return new(
            QaConfig.GetDouble(c, "qa.quotas.default-seconds", 0, 1e9),
            QaConfig.GetDouble(c, "qa.quotas.reserve-factor", 1, 100),
            weights,
            QaConfig.GetNumberMap(c, "qa.quotas.users", 0));
    }

    public double WeightOf(string user) => Weights.TryGetValue(user, out var w) ? w : 1.0;
    public double ConfiguredSecondsOf(string user) => UserSeconds.TryGetValue(user, out var s) ? s : DefaultSeconds;
}

public sealed record TrainerSettings(
    TimeSpan SampleTimeout,
    TimeSpan BuildTimeout,
    TimeSpan ApplyTimeout,
    TimeSpan AskTimeout,
    int MaxStepAttempts,
    int SnapshotEvery,
    TimeSpan IdleAfterSummary,
    TimeSpan ReattachWithin)
{
    public static TrainerSettings From(Config c) => new(
        QaConfig.GetDuration(c, "qa.trainer.sample-timeout", TimeSpan.FromMilliseconds(1)),
        QaConfig.GetDuration(c, "qa.trainer.build-timeout", TimeSpan.FromMilliseconds(1)),
        QaConfig.GetDuration(c, "qa.trainer.apply-timeout", TimeSpan.FromMilliseconds(1)),
        QaConfig.GetDuration(c, "qa.trainer.ask-timeout", TimeSpan.FromMilliseconds(1)),
        QaConfig.GetInt(c, "qa.trainer.max-step-attempts", 1, 1000),
        QaConfig.GetInt(c, "qa.persistence.snapshot-every", 1, 1_000_000),
        QaConfig.GetDuration(c, "qa.trainer.idle-after-summary", TimeSpan.FromMilliseconds(1)),
        QaConfig.GetDuration(c, "qa.trainer.reattach-within", TimeSpan.FromSeconds(1)));

    public static TrainerSettings Default => From(QaConfig.Defaults());
}

/// <summary>Everything the actor system reads from configuration, validated once at startup.</summary>
public sealed record QaSettings(
    Config Akka,
    string DataDir,
    string Provider,
    string SqliteSynchronous,
    string SystemName,
    TimeSpan JoinTimeout,
    int SamplerPoolSize,
    GatewaySettings Gateway,
    QuotaSettings Quotas,
    TrainerSettings Trainer)
{
    /// <summary>This node's roles (qa.node.roles).</summary>
    public IReadOnlyList<string> Roles { get; init; } = QaConfig.KnownRoles;
    /// <summary>Seed nodes (empty: the node joins itself).</summary>
    public IReadOnlyList<string> SeedNodes { get; init; } = [];
    /// <summary>HOST:PORT of the HTTP API (qa.api.listen).</summary>
    public string ApiListen { get; init; } = "127.0.0.1:4180";
    public long ApiMaxRequestBody { get; init; } = 1 << 20;

    public bool HasRole(string role) => Roles.Contains(role);

    private static string SqliteSynchronousOf(Config c)
    {
        string v = QaConfig.GetString(c, "qa.persistence.sqlite-synchronous").ToLowerInvariant();
        return v is "normal" or "full" ? v : throw new QaConfigException("qa.persistence.sqlite-synchronous", $"'{v}' is not allowed; use normal or full");
    }

    internal static QaSettings From(Config c)
    {
        string name = QaConfig.GetString(c, "qa.node.system-name");
        if (name.Length == 0 || !name.All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '-' || ch == '_'))
            throw new QaConfigException("qa.node.system-name", $"'{name}' is not a valid actor system name (letters, digits, - and _)");
        int pool = QaConfig.GetInt(c, "qa.samplers.pool-size", 0, 1024);
        var g = GatewaySettings.From(c);
        if (g.RetryMaxBackoff < g.RetryMinBackoff)
            throw new QaConfigException("qa.gateway.retry.max-backoff", "must not be smaller than qa.gateway.retry.min-backoff");
        if (g.BreakerMaxResetTimeout < g.BreakerResetTimeout)
            throw new QaConfigException("qa.gateway.breaker.max-reset-timeout", "must not be smaller than qa.gateway.breaker.reset-timeout");
        return new QaSettings(
            c,
            QaConfig.GetString(c, "qa.data-dir"),
            QaConfig.GetString(c, "qa.persistence.resolved-provider"),
            SqliteSynchronousOf(c),
            name,
            QaConfig.GetDuration(c, "qa.node.join-timeout", TimeSpan.FromMilliseconds(1)),
            pool == 0 ? 4 * Environment.ProcessorCount : pool,
            g,
            QuotaSettings.From(c),
            TrainerSettings.From(c))
        {
            Roles = c.GetStringList("akka.cluster.roles")?.ToArray() ?? QaConfig.KnownRoles,
            SeedNodes = c.GetStringList("akka.cluster.seed-nodes")?.ToArray() ?? [],
            ApiListen = QaConfig.GetString(c, "qa.api.listen"),
            ApiMaxRequestBody = QaConfig.GetInt(c, "qa.api.max-request-body", 1024, 1 << 30),
        };
    }
}
