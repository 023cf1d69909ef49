using System.Buffers.Binary;
using System.Collections.Immutable;
using System.IO.Hashing;
using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using Akka.Serialization;
using QaActors.Orchestration.Users;

namespace QaActors.Orchestration.Persistence;

/// <summary>
/// The stable format of everything persisted (events and snapshots). A string manifest names each
/// format and its version; the bytes are written field by field (little-endian, length-prefixed
/// UTF-8 strings, dictionaries in key order), never by reflection, so the stored data depends on
/// nothing but this file. Akka.NET recommends exactly this for persisted data
/// (docs/articles/serialization/serialization.md, "Customization": SerializerWithStringManifest,
/// versioned manifest, SerializationException on unknown manifests, identifier above 100).
/// To change a format: add a new manifest (".v3"), write only the new one, keep reading the old one.
/// Version 2 of every format is its version-1 body followed by the body's CRC-32 (IEEE 802.3, little-endian), so a
/// damaged record is detected instead of being read as other data (one flipped bit in a step's samples would resume
/// into a different model). Version 3 of the ledger's snapshot is its version-1 body followed by each user's in-doubt
/// charges, then the checksum; version 4 adds each user's open calls (solver and time) after that, and version 3 of a
/// reservation its solver and time after the version-1 body. Records that fail their checksum, or do not parse, reach the actor as a
/// <see cref="DamagedRecord"/> rather than as an exception, so that it can refuse to continue and say which record.
/// </summary>
public sealed class PersistedSerializer : SerializerWithStringManifest
{
    public const int Id = 7341;

    public const string ExperimentCreatedV1 = "experiment-created.v1";
    public const string CheckpointV1 = "checkpoint.v1";
    public const string ExperimentSnapshotV1 = "experiment-snapshot.v1";
    public const string QuotaLimitV1 = "quota-limit.v1";
    public const string QuotaReservedV1 = "quota-reserved.v1";
    public const string QuotaChargedV1 = "quota-charged.v1";
    public const string QuotaReleasedV1 = "quota-released.v1";
    public const string QuotaSnapshotV1 = "quota-snapshot.v1";
    public const string ExperimentRegisteredV1 = "experiment-registered.v1";
    public const string RegistrySnapshotV1 = "registry-snapshot.v1";
    public const string StepReplayV1 = "step-replay.v1";

    public const string ExperimentCreatedV2 = "experiment-created.v2";
    public const string CheckpointV2 = "checkpoint.v2";
    public const string ExperimentSnapshotV2 = "experiment-snapshot.v2";
    public const string QuotaLimitV2 = "quota-limit.v2";
    public const string QuotaReservedV2 = "quota-reserved.v2";
    public const string QuotaChargedV2 = "quota-charged.v2";
    public const string QuotaReleasedV2 = "quota-released.v2";
    public const string QuotaSnapshotV2 = "quota-snapshot.v2";
    public const string ExperimentRegisteredV2 = "experiment-registered.v2";
    public const string RegistrySnapshotV2 = "registry-snapshot.v2";
    public const string StepReplayV2 = "step-replay.v2";
    /// <summary>New with the checksums, so it has no version 1.</summary>
    public const string JournalIdentityV2 = "journal-identity.v2";
    /// <summary>The user registry's records, also new with the checksums (docs/architecture.md, "Users and tokens").</summary>
    public const string UserCreatedV2 = "user-created.v2";
    public const string UserRevokedV2 = "user-revoked.v2";
    public const string UserRegistrySnapshotV2 = "user-registry-snapshot.v2";
    /// <summary>Whether a run was stopped on purpose (docs/architecture.md, "Listeners and node loss"), new after the checksums.</summary>
    public const string RunStoppedV2 = "run-stopped.v2";
    public const string RunResumedV2 = "run-resumed.v2";
    /// <summary>Charges of calls whose answer was lost, and their settling (new with the checksums).</summary>
    public const string QuotaChargedInDoubtV2 = "quota-charged-in-doubt.v2";
    public const string QuotaSettledV2 = "quota-settled.v2";
    /// <summary>The ledger's snapshot with the reservations charged in doubt: the v2 body followed by each user's in-doubt charges.</summary>
    public const string QuotaSnapshotV3 = "quota-snapshot.v3";
    /// <summary>A reservation with its solver and time (the v1 body, then the solver, or "" for none, and the time's ticks, or 0).</summary>
    public const string QuotaReservedV3 = "quota-reserved.v3";
    /// <summary>The v3 snapshot followed by each user's calls (id, solver, ticks, orphaned).</summary>
    public const string QuotaSnapshotV4 = "quota-snapshot.v4";
    public const string QuotaOrphanedV2 = "quota-orphaned.v2";

    private const int ChecksumBytes = 4;

    public PersistedSerializer(ExtendedActorSystem system) : base(system) { }

    public override int Identifier => Id;

    public override string Manifest(object o) => ManifestOf(o);

    /// <summary>The manifest the current version writes for <paramref name="o"/>.</summary>
    public static string ManifestOf(object o) => o switch
    {
        ExperimentCreated => ExperimentCreatedV2,
        StepCheckpoint => CheckpointV2,
        ExperimentSnapshot => ExperimentSnapshotV2,
        QuotaLimitSet => QuotaLimitV2,
        QuotaReserved => QuotaReservedV3,
        QuotaCharged => QuotaChargedV2,
        QuotaReleased => QuotaReleasedV2,
        QuotaLedgerSnapshot => QuotaSnapshotV4,
        QuotaOrphaned => QuotaOrphanedV2,
        QuotaChargedInDoubt => QuotaChargedInDoubtV2,
        QuotaSettled => QuotaSettledV2,
        ExperimentRegistered => ExperimentRegisteredV2,
        RegistrySnapshot => RegistrySnapshotV2,
        StepReplay => StepReplayV2,
        JournalIdentityCreated => JournalIdentityV2,
        UserCreated => UserCreatedV2,
        UserRevoked => UserRevokedV2,
        UserRegistrySnapshot => UserRegistrySnapshotV2,
        RunStopped => RunStoppedV2,
        RunResumed => RunResumedV2,
        _ => throw new SerializationException($"{o.GetType().FullName} has no persisted format; add a manifest to {nameof(PersistedSerializer)}"),
    };

    public override byte[] ToBinary(object obj) => Encode(obj);

    /// <summary>
    /// The record, or a <see cref="DamagedRecord"/> when the bytes fail their checksum or do not parse as the manifest's
    /// format. An unknown manifest still throws: that is data of a newer version or not ours, not damage.
    /// </summary>
    public override object FromBinary(byte[] bytes, string manifest)
    {
        try
        {
            return Decode(bytes, manifest);
        }
        catch (Exception e) when (IsKnown(manifest) && e is SerializationException or EndOfStreamException or ArgumentException or FormatException or OverflowException)
        {
            return new DamagedRecord(manifest, StepOf(bytes, manifest), e.Message);
        }
    }

    private static bool IsKnown(string manifest) => BodyManifest(manifest) is not null;

    /// <summary>The version-1 manifest whose body a manifest carries (itself for v1), or null when unknown.</summary>
    private static string? BodyManifest(string manifest) => manifest switch
    {
        ExperimentCreatedV1 or ExperimentCreatedV2 => ExperimentCreatedV1,
        CheckpointV1 or CheckpointV2 => CheckpointV1,
        ExperimentSnapshotV1 or ExperimentSnapshotV2 => ExperimentSnapshotV1,
        QuotaLimitV1 or QuotaLimitV2 => QuotaLimitV1,
        QuotaReservedV1 or QuotaReservedV2 => QuotaReservedV1,
        QuotaChargedV1 or QuotaChargedV2 => QuotaChargedV1,
        QuotaReleasedV1 or QuotaReleasedV2 => QuotaReleasedV1,
        QuotaSnapshotV1 or QuotaSnapshotV2 => QuotaSnapshotV1,
        ExperimentRegisteredV1 or ExperimentRegisteredV2 => ExperimentRegisteredV1,
        RegistrySnapshotV1 or RegistrySnapshotV2 => RegistrySnapshotV1,
        StepReplayV1 or StepReplayV2 => StepReplayV1,
        JournalIdentityV2 => JournalIdentityV2,
        UserCreatedV2 => UserCreatedV2,
        UserRevokedV2 => UserRevokedV2,
        UserRegistrySnapshotV2 => UserRegistrySnapshotV2,
        RunStoppedV2 => RunStoppedV2,
        RunResumedV2 => RunResumedV2,
        QuotaChargedInDoubtV2 => QuotaChargedInDoubtV2,
        QuotaSettledV2 => QuotaSettledV2,
        QuotaSnapshotV3 => QuotaSnapshotV3,
        QuotaSnapshotV4 => QuotaSnapshotV4,
        QuotaReservedV3 => QuotaReservedV3,
        QuotaOrphanedV2 => QuotaOrphanedV2,
        _ => null,
    };

    /// <summary>
    /// The step a damaged step record claims (its first field, read regardless of the checksum, so the damage may be
    /// in it), or null when the record has no step first or is too short. Nothing else of damaged bytes is parsed.
    /// </summary>
    private static long? StepOf(byte[] bytes, string manifest) =>
        BodyManifest(manifest) is CheckpointV1 or StepReplayV1 && bytes.Length >= 8 ? BinaryPrimitives.ReadInt64LittleEndian(bytes) : null;

    /// <summary>The current (version-2, checksummed) bytes of <paramref name="obj"/> (usable without an actor system).</summary>
    public static byte[] Encode(object obj)
    {
        var body = EncodeBody(obj, current: true);
        var bytes = new byte[body.Length + ChecksumBytes];
        body.CopyTo(bytes, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(body.Length), Crc32.HashToUInt32(body));
        return bytes;
    }

    /// <summary>The version-1 bytes (the body of version 2): what earlier builds wrote, kept for the format tests.</summary>
    public static byte[] EncodeV1(object obj) => EncodeBody(obj, current: false);

    /// <summary>The body the current version checksums (<paramref name="current"/>), or the version-1 body.</summary>
    private static byte[] EncodeBody(object obj, bool current)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            switch (obj)
            {
                case ExperimentCreated e: WriteSpec(w, e.Spec); break;
                case StepCheckpoint c: WriteCheckpoint(w, c); break;
                case StepReplay e: WriteReplay(w, e); break;
                case ExperimentSnapshot s:
                    WriteSpec(w, s.Spec);
                    w.Write(s.Last is not null);
                    if (s.Last is not null) WriteCheckpoint(w, s.Last);
                    w.Write(s.History.Length);
                    foreach (var m in s.History) WriteMetrics(w, m);
                    WriteProvenance(w, s.Totals);
                    break;
                case QuotaLimitSet q: w.Write(q.User); w.Write(q.LimitMicros); w.Write(q.At.UtcTicks); break;
                case QuotaReserved q:
                    w.Write(q.User); w.Write(q.ReservationId); w.Write(q.Micros);
                    if (current) { w.Write(q.Solver ?? ""); w.Write(q.At?.UtcTicks ?? 0); }
                    break;
                case QuotaOrphaned q: w.Write(q.User); w.Write(q.ReservationId); w.Write(q.Micros); break;
                case QuotaCharged q: w.Write(q.User); w.Write(q.ReservationId); w.Write(q.Micros); break;
                case QuotaReleased q: w.Write(q.User); w.Write(q.ReservationId); break;
                case QuotaChargedInDoubt q: w.Write(q.User); w.Write(q.ReservationId); w.Write(q.Micros); break;
                case QuotaSettled q: w.Write(q.User); w.Write(q.ReservationId); w.Write(q.Micros); break;
                case QuotaLedgerSnapshot s:
                    w.Write(s.NextReservationId);
                    w.Write(s.Users.Length);
                    foreach (var u in s.Users)
                    {
                        w.Write(u.User);
                        w.Write(u.LimitMicros.HasValue);
                        w.Write(u.LimitMicros ?? 0);
                        w.Write(u.ChargedMicros);
                        w.Write(u.Reservations.Count);
                        foreach (var (id, micros) in u.Reservations) { w.Write(id); w.Write(micros); }
                    }
                    // Version 3 only: the in-doubt charges after the v1 body, so an older body reads as having none.
                    if (current)
                        foreach (var u in s.Users)
                        {
                            var d = u.InDoubt ?? ImmutableSortedDictionary<long, double>.Empty;
                            w.Write(d.Count);
                            foreach (var (id, micros) in d) { w.Write(id); w.Write(micros); }
                        }
                    // Version 4 only: the calls after the v3 body.
                    if (current)
                        foreach (var u in s.Users)
                        {
                            var c = u.Calls ?? ImmutableSortedDictionary<long, QuotaCall>.Empty;
                            w.Write(c.Count);
                            foreach (var (id, call) in c) { w.Write(id); w.Write(call.Solver); w.Write(call.At.UtcTicks); w.Write(call.Orphaned); }
                        }
                    break;
                case ExperimentRegistered r: WriteRegistered(w, r); break;
                case RegistrySnapshot s:
                    w.Write(s.Experiments.Length);
                    foreach (var r in s.Experiments) WriteRegistered(w, r);
                    break;
                case JournalIdentityCreated j: w.Write(j.JournalId); w.Write(j.At.UtcTicks); break;
                case UserCreated u:
                    w.Write(u.Name); w.Write(u.Admin); w.Write(u.Weight); w.Write(u.TokenHash.Bytes); w.Write(u.At.UtcTicks);
                    break;
                case UserRevoked u: w.Write(u.Name); w.Write(u.At.UtcTicks); break;
                case RunStopped r: w.Write(r.Reason); w.Write(r.At.UtcTicks); break;
                case RunResumed r: w.Write(r.At.UtcTicks); break;
                case UserRegistrySnapshot s:
                    w.Write(s.Users.Length);
                    foreach (var u in s.Users)
                    {
                        w.Write(u.Name); w.Write(u.Admin); w.Write(u.Weight); w.Write(u.TokenHash.Bytes); w.Write(u.Created.UtcTicks);
                        w.Write(u.Revoked.HasValue);
                        w.Write(u.Revoked?.UtcTicks ?? 0);
                    }
                    break;
                default:
                    throw new SerializationException($"{obj.GetType().FullName} has no persisted format");
            }
        }
        return ms.ToArray();
    }

    /// <summary>
    /// The record in <paramref name="bytes"/>; throws <see cref="SerializationException"/> when a version-2 record fails
    /// its checksum or any record does not parse.
    /// </summary>
    public static object Decode(byte[] bytes, string manifest)
    {
        var body = BodyManifest(manifest)
            ?? throw new SerializationException($"unknown persisted manifest '{manifest}': written by a newer version, or not QaActors data");
        if (manifest.EndsWith(".v1", StringComparison.Ordinal)) return DecodeBody(bytes, body);
        if (bytes.Length < ChecksumBytes) throw new SerializationException($"'{manifest}' record of {bytes.Length} bytes is too short for its checksum");
        int n = bytes.Length - ChecksumBytes;
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(n));
        uint actual = Crc32.HashToUInt32(bytes.AsSpan(0, n));
        if (stored != actual)
            throw new SerializationException($"'{manifest}' record fails its checksum (stored CRC-32 {stored:x8}, computed {actual:x8}): the stored bytes changed after they were written");
        return DecodeBody(bytes[..n], body);
    }

    private static object DecodeBody(byte[] bytes, string manifest)
    {
        using var r = new BinaryReader(new MemoryStream(bytes, writable: false), Encoding.UTF8);
        object result = manifest switch
        {
            ExperimentCreatedV1 => new ExperimentCreated(ReadSpec(r)),
            CheckpointV1 => ReadCheckpoint(r),
            ExperimentSnapshotV1 => ReadSnapshot(r),
            QuotaLimitV1 => new QuotaLimitSet(r.ReadString(), r.ReadDouble(), new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero)),
            QuotaReservedV1 => new QuotaReserved(r.ReadString(), r.ReadInt64(), r.ReadDouble()),
            QuotaChargedV1 => new QuotaCharged(r.ReadString(), r.ReadInt64(), r.ReadDouble()),
            QuotaReleasedV1 => new QuotaReleased(r.ReadString(), r.ReadInt64()),
            QuotaSnapshotV1 => ReadQuotaSnapshot(r, withInDoubt: false, withCalls: false),
            QuotaSnapshotV3 => ReadQuotaSnapshot(r, withInDoubt: true, withCalls: false),
            QuotaSnapshotV4 => ReadQuotaSnapshot(r, withInDoubt: true, withCalls: true),
            QuotaReservedV3 => ReadReservedV3(r),
            QuotaOrphanedV2 => new QuotaOrphaned(r.ReadString(), r.ReadInt64(), r.ReadDouble()),
            QuotaChargedInDoubtV2 => new QuotaChargedInDoubt(r.ReadString(), r.ReadInt64(), r.ReadDouble()),
            QuotaSettledV2 => new QuotaSettled(r.ReadString(), r.ReadInt64(), r.ReadDouble()),
            ExperimentRegisteredV1 => ReadRegistered(r),
            RegistrySnapshotV1 => ReadRegistry(r),
            StepReplayV1 => ReadReplay(r),
            JournalIdentityV2 => new JournalIdentityCreated(r.ReadString(), new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero)),
            UserCreatedV2 => new UserCreated(r.ReadString(), r.ReadBoolean(), r.ReadDouble(), ReadTokenHash(r), ReadTime(r)),
            UserRevokedV2 => new UserRevoked(r.ReadString(), ReadTime(r)),
            UserRegistrySnapshotV2 => ReadUserRegistry(r),
            RunStoppedV2 => new RunStopped(r.ReadString(), ReadTime(r)),
            RunResumedV2 => new RunResumed(ReadTime(r)),
            _ => throw new SerializationException($"unknown persisted manifest '{manifest}': written by a newer version, or not QaActors data"),
        };
        if (r.BaseStream.Position != bytes.Length)
            throw new SerializationException($"'{manifest}' payload has {bytes.Length - r.BaseStream.Position} trailing bytes: corrupt or not this format");
        return result;
    }

    private static void WriteSpec(BinaryWriter w, ExperimentSpec s)
    {
        w.Write(s.ExperimentId); w.Write(s.Method); w.Write(s.Fallback); w.Write(s.User); w.Write(s.Solver);
        w.Write(s.Seed); w.Write(s.TotalSteps); w.Write(s.ConfigJson); w.Write(s.TaskJson); w.Write(s.CreatedAt.UtcTicks);
    }

    private static ExperimentSpec ReadSpec(BinaryReader r) => new(
        r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(),
        r.ReadUInt64(), r.ReadInt64(), r.ReadString(), r.ReadString(), new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero));

    private static void WriteCheckpoint(BinaryWriter w, StepCheckpoint c)
    {
        w.Write(c.Step);
        w.Write(c.State.Length); w.Write(c.State);
        w.Write(c.RngState.Item1); w.Write(c.RngState.Item2); w.Write(c.RngState.Item3); w.Write(c.RngState.Item4);
        WriteMetrics(w, c.Metrics);
        WriteProvenance(w, c.Provenance);
    }

    private static void WriteReplay(BinaryWriter w, StepReplay e)
    {
        w.Write(e.Step);
        w.Write(e.Samples.Length);
        foreach (var s in e.Samples)
        {
            w.Write(s.Variables.Length);
            foreach (int v in s.Variables) w.Write(v);
            w.Write(s.Spin);
            w.Write(s.Counts.Length);
            foreach (int c in s.Counts) w.Write(c);
            w.Write(s.Values.Length);
            foreach (sbyte v in s.Values) w.Write(v);
        }
        WriteMetrics(w, e.Metrics);
        WriteProvenance(w, e.Provenance);
    }

    private static StepReplay ReadReplay(BinaryReader r)
    {
        long step = r.ReadInt64();
        int n = Count(r, "replay examples");
        var b = ImmutableArray.CreateBuilder<ReplaySamples>(n);
        for (int i = 0; i < n; i++)
        {
            var vars = new int[Count(r, "replay variables")];
            for (int k = 0; k < vars.Length; k++) vars[k] = r.ReadInt32();
            bool spin = r.ReadBoolean();
            var counts = new int[Count(r, "replay rows")];
            for (int k = 0; k < counts.Length; k++) counts[k] = r.ReadInt32();
            var values = new sbyte[Count(r, "replay values")];
            for (int k = 0; k < values.Length; k++) values[k] = r.ReadSByte();
            if (values.Length != counts.Length * vars.Length) throw new SerializationException("replay samples are not whole rows");
            b.Add(new ReplaySamples(vars, spin, values, counts));
        }
        return new StepReplay(step, b.MoveToImmutable(), ReadMetrics(r), ReadProvenance(r));
    }

    /// <summary>An element count, checked against the bytes left (every element takes at least one), so that damaged data never allocates beyond its record.</summary>
    private static int Count(BinaryReader r, string what)
    {
        int n = r.ReadInt32();
        if (n < 0) throw new SerializationException($"{what} count is negative: corrupt data");
        if (n > r.BaseStream.Length - r.BaseStream.Position) throw new SerializationException($"{what} count {n} exceeds the record: corrupt data");
        return n;
    }

    private static StepCheckpoint ReadCheckpoint(BinaryReader r)
    {
        long step = r.ReadInt64();
        int n = Count(r, "checkpoint state bytes");
        var state = r.ReadBytes(n);
        if (state.Length != n) throw new SerializationException("checkpoint state is truncated");
        var rng = (r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64());
        return new StepCheckpoint(step, state, rng, ReadMetrics(r), ReadProvenance(r));
    }

    private static ExperimentSnapshot ReadSnapshot(BinaryReader r)
    {
        var spec = ReadSpec(r);
        var last = r.ReadBoolean() ? ReadCheckpoint(r) : null;
        int n = Count(r, "history");
        var h = ImmutableArray.CreateBuilder<StepStats>(n);
        for (int i = 0; i < n; i++) h.Add(ReadMetrics(r));
        return new ExperimentSnapshot(spec, last, h.MoveToImmutable(), ReadProvenance(r));
    }

    private static void WriteMetrics(BinaryWriter w, StepStats m)
    {
        w.Write(m.Step);
        w.Write(m.Values.Length);
        foreach (var (k, v) in m.Values) { w.Write(k); w.Write(v); }
    }

    private static StepStats ReadMetrics(BinaryReader r)
    {
        long step = r.ReadInt64();
        int n = Count(r, "metrics");
        var b = ImmutableArray.CreateBuilder<KeyValuePair<string, double>>(n);
        for (int i = 0; i < n; i++) b.Add(new(r.ReadString(), r.ReadDouble()));
        return new StepStats(step, b.MoveToImmutable());
    }

    private static void WriteProvenance(BinaryWriter w, Provenance p)
    {
        WriteCounts(w, p.SamplerCounts);
        WriteCounts(w, p.FallbackReasons);
        w.Write(p.QpuAccessMicros); w.Write(p.ChainBreakFractionSum); w.Write(p.ChainBreakSamples); w.Write(p.ClippedBiases);
    }

    private static Provenance ReadProvenance(BinaryReader r) =>
        new(ReadCounts(r), ReadCounts(r), r.ReadDouble(), r.ReadDouble(), r.ReadInt64(), r.ReadInt64());

    private static void WriteCounts(BinaryWriter w, ImmutableSortedDictionary<string, long> d)
    {
        w.Write(d.Count);
        foreach (var (k, v) in d) { w.Write(k); w.Write(v); }
    }

    private static ImmutableSortedDictionary<string, long> ReadCounts(BinaryReader r)
    {
        int n = Count(r, "provenance");
        var b = ImmutableSortedDictionary.CreateBuilder<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < n; i++) b[r.ReadString()] = r.ReadInt64();
        return b.ToImmutable();
    }

    private static QuotaReserved ReadReservedV3(BinaryReader r)
    {
        var q = new QuotaReserved(r.ReadString(), r.ReadInt64(), r.ReadDouble());
        string solver = r.ReadString();
        long ticks = r.ReadInt64();
        return q with { Solver = solver.Length == 0 ? null : solver, At = ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero) };
    }

    private static QuotaLedgerSnapshot ReadQuotaSnapshot(BinaryReader r, bool withInDoubt, bool withCalls)
    {
        long next = r.ReadInt64();
        int n = Count(r, "quota users");
        var users = ImmutableArray.CreateBuilder<QuotaUserState>(n);
        for (int i = 0; i < n; i++)
        {
            string user = r.ReadString();
            bool hasLimit = r.ReadBoolean();
            double limit = r.ReadDouble();
            double charged = r.ReadDouble();
            int m = Count(r, "reservations");
            var res = ImmutableSortedDictionary.CreateBuilder<long, double>();
            for (int j = 0; j < m; j++) res[r.ReadInt64()] = r.ReadDouble();
            users.Add(new QuotaUserState(user, hasLimit ? limit : null, charged, res.ToImmutable()));
        }
        if (withInDoubt)
            for (int i = 0; i < n; i++)
            {
                int m = Count(r, "in-doubt charges");
                var doubt = ImmutableSortedDictionary.CreateBuilder<long, double>();
                for (int j = 0; j < m; j++) doubt[r.ReadInt64()] = r.ReadDouble();
                users[i] = users[i] with { InDoubt = doubt.ToImmutable() };
            }
        if (withCalls)
            for (int i = 0; i < n; i++)
            {
                int m = Count(r, "calls");
                var calls = ImmutableSortedDictionary.CreateBuilder<long, QuotaCall>();
                for (int j = 0; j < m; j++) calls[r.ReadInt64()] = new QuotaCall(r.ReadString(), ReadTime(r), r.ReadBoolean());
                users[i] = users[i] with { Calls = calls.ToImmutable() };
            }
        return new QuotaLedgerSnapshot(next, users.MoveToImmutable());
    }

    private static void WriteRegistered(BinaryWriter w, ExperimentRegistered e)
    {
        w.Write(e.ExperimentId); w.Write(e.Method); w.Write(e.User); w.Write(e.CreatedAt.UtcTicks);
    }

    private static ExperimentRegistered ReadRegistered(BinaryReader r) =>
        new(r.ReadString(), r.ReadString(), r.ReadString(), new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero));

    private static RegistrySnapshot ReadRegistry(BinaryReader r)
    {
        int n = Count(r, "registry entries");
        var b = ImmutableArray.CreateBuilder<ExperimentRegistered>(n);
        for (int i = 0; i < n; i++) b.Add(ReadRegistered(r));
        return new RegistrySnapshot(b.MoveToImmutable());
    }

    private static DateTimeOffset ReadTime(BinaryReader r) => new(r.ReadInt64(), TimeSpan.Zero);

    private static TokenHash ReadTokenHash(BinaryReader r)
    {
        var bytes = r.ReadBytes(TokenHash.Length);
        if (bytes.Length != TokenHash.Length) throw new SerializationException("token hash is truncated");
        return TokenHash.FromBytes(bytes);
    }

    private static UserRegistrySnapshot ReadUserRegistry(BinaryReader r)
    {
        int n = Count(r, "users");
        var b = ImmutableArray.CreateBuilder<UserState>(n);
        for (int i = 0; i < n; i++)
        {
            string name = r.ReadString();
            bool admin = r.ReadBoolean();
            double weight = r.ReadDouble();
            var hash = ReadTokenHash(r);
            var created = ReadTime(r);
            bool revoked = r.ReadBoolean();
            long revokedTicks = r.ReadInt64();
            b.Add(new UserState(name, admin, weight, hash, created, revoked ? new DateTimeOffset(revokedTicks, TimeSpan.Zero) : null));
        }
        return new UserRegistrySnapshot(b.MoveToImmutable());
    }
}
