using Akka.Persistence;

namespace QaActors.Orchestration.Persistence;

/// <summary>
/// What every persistent actor here does once a snapshot that holds its whole state is stored: the events up to it
/// and the snapshots before it go (docs/architecture.md, "Persistence").
/// </summary>
public static class SnapshotPruning
{
    public static void PruneBefore(this Eventsourced actor, SnapshotMetadata stored)
    {
        long n = stored.SequenceNr;
        actor.DeleteMessages(n);
        // Nothing is older than a snapshot at 1, and a criteria bound of 0 reads as "every snapshot" to some stores
        // (Akka's in-memory one), which would delete the later snapshots saved meanwhile.
        if (n > 1) actor.DeleteSnapshots(new SnapshotSelectionCriteria(n - 1));
    }
}
