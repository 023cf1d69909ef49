using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Persistence;

namespace QaActors.Orchestration.Gateway;

/// <param name="Solver">The solver of the gateway asking (null: a caller that is not a gateway, e.g. a test).</param>
public sealed record ReserveQuota(string User, double Micros, string? Solver = null) : IQaMessage;
/// <param name="Label">What the call's problems are labelled with at the QPU (<see cref="QuotaLabels"/>).</param>
public sealed record QuotaReservedReply(long ReservationId, double Micros, string Label) : IQaMessage;
public sealed record QuotaDenied(string User, string Reason) : IQaMessage;
public sealed record ChargeQuota(string User, long ReservationId, double Micros) : IQaMessage;
public sealed record ReleaseQuota(string User, long ReservationId) : IQaMessage;
/// <summary>The call of an open reservation failed after the QPU accepted its problems: charge the reservation in full, open for one <see cref="SettleQuota"/>.</summary>
public sealed record ChargeQuotaInDoubt(string User, long ReservationId) : IQaMessage;
/// <summary>What a reservation charged in doubt really used, found by a later look at its problems.</summary>
public sealed record SettleQuota(string User, long ReservationId, double Micros) : IQaMessage;
public sealed record SetQuota(string User, double Seconds) : IQaMessage;
/// <summary>
/// From a gateway that starts: the reservations of its solver still open belong to calls of an earlier gateway, which
/// nobody follows now; charge them in full (orphaned, open for one settle), and answer every unsettled in-doubt charge
/// of the solver so that the new gateway can look for what those calls used.
/// </summary>
public sealed record AdoptCalls(string Solver) : IQaMessage;
public sealed record CallInDoubt(string User, long ReservationId, double ChargedMicros, string Label, DateTimeOffset ReservedAt, bool Orphaned) : IQaMessage;
public sealed record CallsInDoubt(ImmutableArray<CallInDoubt> Calls) : IQaMessage;
public sealed record GetQuota(string? User) : IQaMessage;

/// <summary>One user's QPU-time account, in seconds.</summary>
public sealed record QuotaAccount(string User, double LimitSeconds, double ChargedSeconds, double ReservedSeconds, bool LimitFromConfiguration) : IQaMessage
{
    public double RemainingSeconds => Math.Max(0, LimitSeconds - ChargedSeconds - ReservedSeconds);
}

public sealed record QuotaReport(ImmutableArray<QuotaAccount> Accounts) : IQaMessage;

/// <summary>
/// The persistent account of QPU time per user (event-sourced). A submission first reserves its
/// estimate (× reserve factor) — granted only if charged + reserved + request ≤ limit — and the
/// real qpu_access_time replaces the reservation afterwards. A call that failed after the QPU accepted its problems
/// (the answer was lost) is charged its reservation, never released: it may have run; when a later look finds what it
/// used, that replaces the charge once (<see cref="SettleQuota"/>). Every change is persisted before it is
/// acknowledged, so the guarantee holds across restarts and across all experiments and gateways.
/// Reservations still open when the ledger recovers, or when their solver's gateway starts again
/// (<see cref="AdoptCalls"/>), belong to calls whose outcome is unknown (the process died): they are charged at their
/// reserved amount, never silently dropped, and settled like charges in doubt when the new gateway finds their problems
/// by their label (docs/architecture.md, "Gateway").
/// Every <see cref="SnapshotEvery"/> events the whole ledger is snapshotted and the events and snapshots before it are
/// deleted, so the journal holds at most that many of its events. A journal record that fails its checksum stops
/// recovery there: the ledger then refuses every reservation and change, naming the record, rather than grant quota
/// from a wrong account. Run under <see cref="SupervisedProps"/>, a failed write restarts it.
/// </summary>
public sealed class QuotaLedgerActor : ReceivePersistentActor
{
    public const string DefaultPersistenceId = "qa-quota-ledger";
    public const int SnapshotEvery = 200;

    private sealed class Account
    {
        public double? LimitMicros;
        public double ChargedMicros;
        public readonly SortedDictionary<long, double> Reservations = new();
        /// <summary>Charged in doubt (amount charged), awaiting their settling.</summary>
        public readonly SortedDictionary<long, double> InDoubt = new();
        /// <summary>The calls of open and in-doubt reservations whose solver is known.</summary>
        public readonly SortedDictionary<long, QuotaCall> Calls = new();
        public double ReservedMicros => Reservations.Values.Sum();
    }

    private readonly QuotaSettings _settings;
    private readonly Dictionary<string, Account> _accounts = new(StringComparer.Ordinal);
    private long _nextId = 1;
    private readonly int _snapshotEvery;
    private string? _damage;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public override string PersistenceId { get; }

    public static Props Props(QuotaSettings settings, string persistenceId = DefaultPersistenceId, int snapshotEvery = SnapshotEvery) =>
        Akka.Actor.Props.Create(() => new QuotaLedgerActor(settings, persistenceId, snapshotEvery));

    /// <summary>The ledger under <see cref="Supervision.RestartOnStop"/>, as the node runs it.</summary>
    public static Props SupervisedProps(QuotaSettings settings, string persistenceId = DefaultPersistenceId, int snapshotEvery = SnapshotEvery) =>
        Supervision.RestartOnStop(Props(settings, persistenceId, snapshotEvery), "ledger");

    public QuotaLedgerActor(QuotaSettings settings, string persistenceId, int snapshotEvery = SnapshotEvery)
    {
        if (snapshotEvery < 1) throw new ArgumentOutOfRangeException(nameof(snapshotEvery), snapshotEvery, "must be at least 1");
        _settings = settings;
        PersistenceId = persistenceId;
        _snapshotEvery = snapshotEvery;

        // After a damaged record nothing more is applied (registered first, so it sees every recovery message).
        Recover<object>(_ => _damage is not null, _ => { });
        Recover<DamagedRecord>(d => _damage = Damage(d, "event"));
        Recover<SnapshotOffer>(o => o.Snapshot is DamagedRecord, o => _damage = Damage((DamagedRecord)o.Snapshot, "snapshot"));
        Recover<SnapshotOffer>(o => ApplySnapshot((QuotaLedgerSnapshot)o.Snapshot));
        Recover<QuotaLimitSet>(Apply);
        Recover<QuotaReserved>(Apply);
        Recover<QuotaCharged>(Apply);
        Recover<QuotaReleased>(Apply);
        Recover<QuotaChargedInDoubt>(Apply);
        Recover<QuotaSettled>(Apply);
        Recover<QuotaOrphaned>(Apply);
        Recover<RecoveryCompleted>(_ => OrphanOpenReservations());

        Command<ReserveQuota>(r => _damage is not null, r => Sender.Tell(new QuotaDenied(r.User, _damage!)));
        Command<object>(m => _damage is not null && m is ChargeQuota or ReleaseQuota or ChargeQuotaInDoubt or SettleQuota or SetQuota or GetQuota or AdoptCalls,
            _ => Sender.Tell(new Status.Failure(new InvalidDataException(_damage))));
        Command<ReserveQuota>(OnReserve);
        Command<ChargeQuota>(c =>
        {
            var sender = Sender;
            var a = AccountOf(c.User);
            if (a.InDoubt.ContainsKey(c.ReservationId))
            {
                // Orphaned or charged in doubt while its call was in fact still running (the ledger restarted under a
                // live gateway): the real figure settles it.
                PersistAndAck(new QuotaSettled(c.User, c.ReservationId, c.Micros), sender);
                return;
            }
            if (!a.Reservations.ContainsKey(c.ReservationId))
            {
                // Already charged (a duplicate) or unknown: never charge twice.
                sender.Tell(new Status.Failure(new InvalidOperationException($"reservation {c.ReservationId} of {c.User} is not open")));
                return;
            }
            if (c.Micros > a.Reservations[c.ReservationId])
                _log.Warning("QPU access time {0} µs of {1} exceeded its reservation {2} µs", c.Micros, c.User, a.Reservations[c.ReservationId]);
            PersistAndAck(new QuotaCharged(c.User, c.ReservationId, c.Micros), sender);
        });
        Command<ReleaseQuota>(r =>
        {
            var sender = Sender;
            if (!AccountOf(r.User).Reservations.ContainsKey(r.ReservationId)) { sender.Tell(new Status.Success(null)); return; }
            PersistAndAck(new QuotaReleased(r.User, r.ReservationId), sender);
        });
        Command<ChargeQuotaInDoubt>(c =>
        {
            var sender = Sender;
            if (!AccountOf(c.User).Reservations.TryGetValue(c.ReservationId, out double reserved))
            {
                sender.Tell(new Status.Failure(new InvalidOperationException($"reservation {c.ReservationId} of {c.User} is not open")));
                return;
            }
            PersistAndAck(new QuotaChargedInDoubt(c.User, c.ReservationId, reserved), sender);
        });
        Command<SettleQuota>(c =>
        {
            var sender = Sender;
            if (!(c.Micros >= 0) || double.IsInfinity(c.Micros))
            {
                sender.Tell(new Status.Failure(new ArgumentException($"access time {c.Micros} µs is not a valid duration")));
                return;
            }
            if (!AccountOf(c.User).InDoubt.TryGetValue(c.ReservationId, out double charged))
            {
                // Settled already (a duplicate) or never in doubt: the account changes once.
                sender.Tell(new Status.Failure(new InvalidOperationException($"reservation {c.ReservationId} of {c.User} was not charged in doubt")));
                return;
            }
            if (c.Micros > charged)
                _log.Warning("QPU access time {0} µs of {1}'s lost answer exceeded its reservation {2} µs", c.Micros, c.User, charged);
            PersistAndAck(new QuotaSettled(c.User, c.ReservationId, c.Micros), sender);
        });
        Command<SetQuota>(s =>
        {
            var sender = Sender;
            if (string.IsNullOrWhiteSpace(s.User)) { sender.Tell(new Status.Failure(new ArgumentException("user name is empty; give the user whose quota to set"))); return; }
            if (!(s.Seconds >= 0) || double.IsInfinity(s.Seconds)) { sender.Tell(new Status.Failure(new ArgumentException($"quota {s.Seconds} s is not a non-negative number of seconds"))); return; }
            Persist(new QuotaLimitSet(s.User, s.Seconds * 1e6, DateTimeOffset.UtcNow), e =>
            {
                Apply(e);
                MaybeSnapshot();
                sender.Tell(Report(s.User));
            });
        });
        Command<AdoptCalls>(OnAdopt);
        Command<StopSingleton>(_ => Context.Stop(Self));
        Command<GetQuota>(g => Sender.Tell(Report(g.User)));
        Command<SaveSnapshotSuccess>(s =>
        {
            // As the experiments do: the snapshot holds everything, so the events and snapshots before it go.
            this.PruneBefore(s.Metadata);
        });
        Command<SaveSnapshotFailure>(f => _log.Warning("quota ledger snapshot failed (events are kept): {0}", f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _log.Warning("deleting the quota ledger's old events failed: {0}", f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning("deleting the quota ledger's old snapshots failed: {0}", f.Cause.Message));
    }

    private void OnReserve(ReserveQuota r)
    {
        var sender = Sender;
        if (!(r.Micros >= 0) || double.IsInfinity(r.Micros))
        {
            sender.Tell(new QuotaDenied(r.User, $"estimate {r.Micros} µs is not a valid duration"));
            return;
        }
        var a = AccountOf(r.User);
        double limit = LimitMicros(r.User, a);
        double used = a.ChargedMicros + a.ReservedMicros;
        if (used + r.Micros > limit)
        {
            sender.Tell(new QuotaDenied(r.User,
                $"QPU quota of user '{r.User}' is spent: charged {a.ChargedMicros / 1e6:F6} s + reserved {a.ReservedMicros / 1e6:F6} s of {limit / 1e6:F6} s; this request needs {r.Micros / 1e6:F6} s (raise it with `qa quota set {r.User} SECONDS`)"));
            return;
        }
        long id = _nextId;
        var at = DateTimeOffset.UtcNow;
        Persist(new QuotaReserved(r.User, id, r.Micros, r.Solver, at), e =>
        {
            Apply(e);
            MaybeSnapshot();
            sender.Tell(new QuotaReservedReply(e.ReservationId, e.Micros, QuotaLabels.For(e.ReservationId, at)));
        });
    }

    private void OnAdopt(AdoptCalls c)
    {
        var sender = Sender;
        var orphans = _accounts.SelectMany(kv => kv.Value.Reservations
                .Where(r => kv.Value.Calls.TryGetValue(r.Key, out var call) && call.Solver == c.Solver)
                .Select(r => new QuotaOrphaned(kv.Key, r.Key, r.Value)))
            .ToList();
        if (orphans.Count == 0)
        {
            sender.Tell(InDoubtOf(c.Solver));
            return;
        }
        _log.Warning("the gateway of {0} started with {1} reservation(s) of an earlier gateway open: charged in full until their problems are found", c.Solver, orphans.Count);
        int left = orphans.Count;
        PersistAll(orphans, e =>
        {
            Apply(e);
            MaybeSnapshot();
            if (--left == 0) sender.Tell(InDoubtOf(c.Solver));
        });
    }

    private CallsInDoubt InDoubtOf(string solver) => new(_accounts
        .SelectMany(kv => kv.Value.InDoubt
            .Where(d => kv.Value.Calls.TryGetValue(d.Key, out var call) && call.Solver == solver)
            .Select(d =>
            {
                var call = kv.Value.Calls[d.Key];
                return new CallInDoubt(kv.Key, d.Key, d.Value, QuotaLabels.For(d.Key, call.At), call.At, call.Orphaned);
            }))
        .OrderBy(x => x.ReservationId)
        .ToImmutableArray());

    private void PersistAndAck(IPersisted e, IActorRef sender)
    {
        Persist(e, ev =>
        {
            switch (ev)
            {
                case QuotaCharged c: Apply(c); break;
                case QuotaReleased r: Apply(r); break;
                case QuotaChargedInDoubt d: Apply(d); break;
                case QuotaSettled q: Apply(q); break;
                case QuotaOrphaned o: Apply(o); break;
            }
            MaybeSnapshot();
            sender.Tell(new Status.Success(null));
        });
    }

    private string Damage(DamagedRecord d, string what)
    {
        string message = $"the quota ledger's journal ({PersistenceId}) has a damaged {what} ({d.Manifest}: {d.Problem}); " +
            "it grants no QPU time until the journal is restored from a backup";
        _log.Error(message);
        return message;
    }

    /// <summary>
    /// Reservations open at recovery belong to calls whose outcome is unknown (the process died): they are charged in
    /// full, never dropped, and stay open for a settle when the solver's gateway finds what they used.
    /// </summary>
    private void OrphanOpenReservations()
    {
        if (_damage is not null) return;
        var open = _accounts.SelectMany(kv => kv.Value.Reservations.Select(r => new QuotaOrphaned(kv.Key, r.Key, r.Value))).ToList();
        if (open.Count == 0) return;
        _log.Warning("charging {0} reservation(s) whose calls were in progress when the ledger stopped", open.Count);
        PersistAll(open, e =>
        {
            Apply(e);
            MaybeSnapshot();
        });
    }

    private double LimitMicros(string user, Account a) => a.LimitMicros ?? _settings.ConfiguredSecondsOf(user) * 1e6;

    private Account AccountOf(string user)
    {
        if (!_accounts.TryGetValue(user, out var a)) _accounts[user] = a = new Account();
        return a;
    }

    private void Apply(QuotaLimitSet e) => AccountOf(e.User).LimitMicros = e.LimitMicros;

    private void Apply(QuotaReserved e)
    {
        var a = AccountOf(e.User);
        a.Reservations[e.ReservationId] = e.Micros;
        if (e.Solver is not null && e.At is { } at) a.Calls[e.ReservationId] = new QuotaCall(e.Solver, at, Orphaned: false);
        _nextId = Math.Max(_nextId, e.ReservationId + 1);
    }

    private void Apply(QuotaCharged e)
    {
        var a = AccountOf(e.User);
        if (a.Reservations.Remove(e.ReservationId)) a.ChargedMicros += e.Micros;
        a.Calls.Remove(e.ReservationId);
    }

    private void Apply(QuotaReleased e)
    {
        var a = AccountOf(e.User);
        a.Reservations.Remove(e.ReservationId);
        a.Calls.Remove(e.ReservationId);
    }

    private void Apply(QuotaChargedInDoubt e)
    {
        var a = AccountOf(e.User);
        if (!a.Reservations.Remove(e.ReservationId)) return;
        a.ChargedMicros += e.Micros;
        a.InDoubt[e.ReservationId] = e.Micros;
    }

    private void Apply(QuotaOrphaned e)
    {
        var a = AccountOf(e.User);
        if (!a.Reservations.Remove(e.ReservationId)) return;
        a.ChargedMicros += e.Micros;
        a.InDoubt[e.ReservationId] = e.Micros;
        if (a.Calls.TryGetValue(e.ReservationId, out var call)) a.Calls[e.ReservationId] = call with { Orphaned = true };
    }

    private void Apply(QuotaSettled e)
    {
        var a = AccountOf(e.User);
        if (a.InDoubt.Remove(e.ReservationId, out double charged)) a.ChargedMicros += e.Micros - charged;
        a.Calls.Remove(e.ReservationId);
    }

    private void MaybeSnapshot()
    {
        if (LastSequenceNr % _snapshotEvery == 0) SaveSnapshot(Snapshot());
    }

    private QuotaLedgerSnapshot Snapshot() => new(_nextId,
        _accounts.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new QuotaUserState(kv.Key, kv.Value.LimitMicros, kv.Value.ChargedMicros, kv.Value.Reservations.ToImmutableSortedDictionary(),
                kv.Value.InDoubt.ToImmutableSortedDictionary(), kv.Value.Calls.ToImmutableSortedDictionary()))
            .ToImmutableArray());

    private void ApplySnapshot(QuotaLedgerSnapshot s)
    {
        _accounts.Clear();
        _nextId = s.NextReservationId;
        foreach (var u in s.Users)
        {
            var a = AccountOf(u.User);
            a.LimitMicros = u.LimitMicros;
            a.ChargedMicros = u.ChargedMicros;
            foreach (var (id, m) in u.Reservations) a.Reservations[id] = m;
            foreach (var (id, m) in u.InDoubt ?? ImmutableSortedDictionary<long, double>.Empty) a.InDoubt[id] = m;
            foreach (var (id, call) in u.Calls ?? ImmutableSortedDictionary<long, QuotaCall>.Empty) a.Calls[id] = call;
        }
    }

    private QuotaReport Report(string? user)
    {
        IEnumerable<string> users = user is null
            ? _accounts.Keys.Concat(_settings.UserSeconds.Keys).Distinct().OrderBy(u => u, StringComparer.Ordinal)
            : [user];
        return new QuotaReport(users.Select(u =>
        {
            var a = _accounts.TryGetValue(u, out var x) ? x : new Account();
            return new QuotaAccount(u, LimitMicros(u, a) / 1e6, a.ChargedMicros / 1e6, a.ReservedMicros / 1e6, a.LimitMicros is null);
        }).ToImmutableArray());
    }
}
