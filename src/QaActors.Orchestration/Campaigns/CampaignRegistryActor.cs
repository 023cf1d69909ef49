using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using QaActors.Orchestration.Persistence;

namespace QaActors.Orchestration.Campaigns;

/// <summary>
/// The persistent list of campaigns (a cluster singleton): `qa campaign list` reads it, and every
/// <see cref="WakeEvery"/> it sends <see cref="WakeCampaign"/> to each open campaign through the campaign shard. That
/// message is what starts a campaign manager again after its node was lost or the whole cluster restarted: the shard
/// creates the entity on a live node, and the entity's recovery carries on.
/// </summary>
public sealed class CampaignRegistryActor : ReceivePersistentActor, IWithTimers
{
    public const string PersistenceIdValue = "qa-campaign-registry";
    private sealed record WakeAll;

    private readonly Func<IActorRef> _campaigns;
    private readonly TimeSpan _wakeEvery;
    private ImmutableSortedDictionary<string, CampaignEntry> _entries = ImmutableSortedDictionary<string, CampaignEntry>.Empty.WithComparers(StringComparer.Ordinal);

    public override string PersistenceId => PersistenceIdValue;
    public ITimerScheduler Timers { get; set; } = null!;

    public TimeSpan WakeEvery => _wakeEvery;

    public static Props Props(Func<IActorRef> campaigns, TimeSpan wakeEvery) =>
        Supervision.RestartOnStop(Akka.Actor.Props.Create(() => new CampaignRegistryActor(campaigns, wakeEvery)), "campaign-registry");

    public CampaignRegistryActor(Func<IActorRef> campaigns, TimeSpan wakeEvery)
    {
        _campaigns = campaigns;
        _wakeEvery = wakeEvery;
        Recover<CampaignRegistered>(Apply);
        Recover<CampaignSettled>(Apply);
        Recover<CampaignReopened>(Apply);
        Recover<RecoveryCompleted>(_ =>
        {
            Timers.StartPeriodicTimer("wake", new WakeAll(), TimeSpan.FromMilliseconds(200), _wakeEvery);
        });

        Command<RegisterCampaign>(m =>
        {
            if (_entries.ContainsKey(m.CampaignId)) return;
            Persist(new CampaignRegistered(m.CampaignId, m.User, m.Name, DateTimeOffset.UtcNow), Apply);
        });
        Command<CampaignSettledNotice>(m =>
        {
            if (!_entries.TryGetValue(m.CampaignId, out var e) || e.Settled == m.State) return;
            Persist(new CampaignSettled(m.CampaignId, m.State), Apply);
        });
        Command<CampaignReopenedNotice>(m =>
        {
            if (!_entries.TryGetValue(m.CampaignId, out var e) || e.Settled is null) return;
            Persist(new CampaignReopened(m.CampaignId), Apply);
        });
        Command<ListCampaigns>(_ => Sender.Tell(new CampaignList([.. _entries.Values])));
        Command<WakeAll>(_ =>
        {
            foreach (var e in _entries.Values.Where(e => e.Settled is null)) _campaigns().Tell(new WakeCampaign(e.CampaignId));
        });
        Command<StopSingleton>(_ => Context.Stop(Self));
    }

    private void Apply(CampaignRegistered e) => _entries = _entries.SetItem(e.CampaignId, new CampaignEntry(e.CampaignId, e.User, e.Name, e.At, null));

    private void Apply(CampaignSettled e)
    {
        if (_entries.TryGetValue(e.CampaignId, out var x)) _entries = _entries.SetItem(e.CampaignId, x with { Settled = e.State });
    }

    private void Apply(CampaignReopened e)
    {
        if (_entries.TryGetValue(e.CampaignId, out var x)) _entries = _entries.SetItem(e.CampaignId, x with { Settled = null });
    }
}
