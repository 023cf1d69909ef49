using System.Collections.Immutable;

namespace QaActors.Orchestration.Persistence;

/// <summary>
/// Marker of everything written to the journal or the snapshot store. Bound to
/// <see cref="PersistedSerializer"/>, whose manifests ("checkpoint.v2", ...) name the format, not the
/// .NET type, so renaming or moving these records never breaks stored data. Changing a format means
/// a new manifest (".v3") and keeping the readers of the old ones.
/// </summary>
public interface IPersisted;

/// <summary>What an experiment is: fixed at creation, stored with its first event.</summary>
/// <param name="Method">Training method (exact, gibbs, anneal, qpu, backprop).</param>
/// <param name="Fallback">Sampler used when the QPU cannot serve: gibbs, anneal or none.</param>
/// <param name="User">Whose QPU quota is charged.</param>
/// <param name="Solver">QPU solver (gateway) name for the qpu method; empty otherwise.</param>
/// <param name="ConfigJson">The science-side training configuration, as its own JSON.</param>
/// <param name="TaskJson">The data task (class pair, sizes), as its own JSON.</param>
public sealed record ExperimentSpec(
    string ExperimentId,
    string Method,
    string Fallback,
    string User,
    string Solver,
    ulong Seed,
    long TotalSteps,
    string ConfigJson,
    string TaskJson,
    DateTimeOffset CreatedAt) : IQaMessage;

/// <summary>Metrics of one applied step (name → value), in the order the science reports them.</summary>
public sealed record StepStats(long Step, ImmutableArray<KeyValuePair<string, double>> Values) : IQaMessage
{
    public double? Get(string name)
    {
        foreach (var (k, v) in Values) if (k == name) return v;
        return null;
    }
}

public sealed record ExperimentCreated(ExperimentSpec Spec) : IPersisted;

/// <summary>
/// One applied step: the complete trainer state after it (parameters and optimiser state, as the
/// science's own checkpoint bytes), the RNG state, the step's metrics and provenance.
/// </summary>
public sealed record StepCheckpoint(
    long Step,
    byte[] State,
    (ulong, ulong, ulong, ulong) RngState,
    StepStats Metrics,
    Provenance Provenance) : IPersisted;

/// <summary>
/// One applied step without its state: the samples that determined it (the procedure's reduced form: for the EBM the
/// output columns only, aggregated), its metrics and provenance. Recovery replays it from the previous state bit for
/// bit, so only every snapshot step needs the full (megabytes) <see cref="StepCheckpoint"/>.
/// </summary>
public sealed record StepReplay(long Step, ImmutableArray<ReplaySamples> Samples, StepStats Metrics, Provenance Provenance) : IPersisted;

/// <summary>One example's samples as the replay needs them: variables, vartype, rows (row-major) and counts.</summary>
public sealed record ReplaySamples(int[] Variables, bool Spin, sbyte[] Values, int[] Counts);

/// <summary>The whole experiment state at one step (snapshot): spec, last checkpoint, history, totals.</summary>
/// <summary>
/// The run was stopped on purpose (cancelled, or failed past its retries): a trainer that restarts after losing its
/// node does not continue it. A later explicit start or resume writes <see cref="RunResumed"/>.
/// </summary>
public sealed record RunStopped(string Reason, DateTimeOffset At) : IPersisted;

/// <summary>A stopped run was started or resumed again.</summary>
public sealed record RunResumed(DateTimeOffset At) : IPersisted;

public sealed record ExperimentSnapshot(
    ExperimentSpec Spec,
    StepCheckpoint? Last,
    ImmutableArray<StepStats> History,
    Provenance Totals) : IPersisted;

public sealed record QuotaLimitSet(string User, double LimitMicros, DateTimeOffset At) : IPersisted;

/// <summary>
/// An admission: QPU time set aside before a submission (estimate × reserve factor). <paramref name="Solver"/> and
/// <paramref name="At"/> (version 3; null in older records) name the gateway's solver and the time of the reservation:
/// with the id they make the label the call's problems carry at the QPU (<see cref="Gateway.QuotaLabels"/>), so a later
/// gateway can find what the call used after its own gateway was lost.
/// </summary>
public sealed record QuotaReserved(string User, long ReservationId, double Micros, string? Solver = null, DateTimeOffset? At = null) : IPersisted;

/// <summary>The real qpu_access_time of a reservation, replacing it.</summary>
public sealed record QuotaCharged(string User, long ReservationId, double Micros) : IPersisted;

/// <summary>A reservation given back unused (the submission failed before reaching the QPU).</summary>
public sealed record QuotaReleased(string User, long ReservationId) : IPersisted;

/// <summary>
/// A call whose problems the QPU accepted failed before its answer came back: the reservation is charged in full (it
/// may have run), and stays open for one <see cref="QuotaSettled"/> when a later look finds what it really used.
/// </summary>
public sealed record QuotaChargedInDoubt(string User, long ReservationId, double Micros) : IPersisted;

/// <summary>The real qpu_access_time of a reservation charged in doubt, replacing the charged reservation.</summary>
public sealed record QuotaSettled(string User, long ReservationId, double Micros) : IPersisted;

/// <summary>
/// A reservation whose call nobody follows any more (its gateway stopped with the call open, or the ledger recovered
/// with it open): charged in full like a charge in doubt and open for one <see cref="QuotaSettled"/>, but unlike one
/// its problems may never have reached the QPU.
/// </summary>
public sealed record QuotaOrphaned(string User, long ReservationId, double Micros) : IPersisted;

/// <summary>What the ledger knows of an open or in-doubt reservation's call: its solver, when it was reserved, and whether it was orphaned.</summary>
public sealed record QuotaCall(string Solver, DateTimeOffset At, bool Orphaned);

/// <param name="InDoubt">Reservations charged in doubt and not yet settled, with the amount charged (null: none; older snapshots have none).</param>
/// <param name="Calls">The calls of open and in-doubt reservations whose solver is known (null: none; snapshots before version 4 have none).</param>
public sealed record QuotaUserState(string User, double? LimitMicros, double ChargedMicros, ImmutableSortedDictionary<long, double> Reservations,
    ImmutableSortedDictionary<long, double>? InDoubt = null, ImmutableSortedDictionary<long, QuotaCall>? Calls = null);

public sealed record QuotaLedgerSnapshot(long NextReservationId, ImmutableArray<QuotaUserState> Users) : IPersisted;

public sealed record ExperimentRegistered(string ExperimentId, string Method, string User, DateTimeOffset CreatedAt) : IPersisted;

public sealed record RegistrySnapshot(ImmutableArray<ExperimentRegistered> Experiments) : IPersisted;

/// <summary>The journal's identity, written once when a node first uses an empty journal (see <see cref="JournalIdentity"/>).</summary>
public sealed record JournalIdentityCreated(string JournalId, DateTimeOffset At) : IPersisted;

/// <summary>
/// What recovery receives in place of a record whose bytes fail their checksum or do not parse: never applied, never
/// written (it has no persisted format). Each persistent actor stops applying at the first one and refuses its work,
/// naming the record.
/// </summary>
/// <param name="Manifest">The stored record's manifest (its format).</param>
/// <param name="ClaimedStep">The step the damaged bytes name, if they can be read at all (the damage may be in it).</param>
/// <param name="Problem">What is wrong (the checksum or parse failure).</param>
public sealed record DamagedRecord(string Manifest, long? ClaimedStep, string Problem);
