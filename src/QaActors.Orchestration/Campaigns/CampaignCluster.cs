using Akka.Actor;
using Akka.Cluster.Sharding;

namespace QaActors.Orchestration.Campaigns;

/// <summary>
/// Starts the campaign shard (managers on trainer nodes, keyed by campaign id) and the campaign registry singleton.
/// Each refers to the other through a function read when a message is sent, since both are created here.
/// </summary>
public static class CampaignCluster
{
    public static (IActorRef Campaigns, IActorRef Registry) Start(QaActorSystem qa, Func<Props, string, IActorRef> singleton)
    {
        IActorRef campaigns = ActorRefs.Nobody, registry = ActorRefs.Nobody;
        var services = new CampaignServices(qa.Trainers, qa.QuotaLedger, qa.Registry, () => registry, qa.Settings.Trainer.AskTimeout);
        var sharding = ClusterSharding.Get(qa.System);
        campaigns = qa.Settings.HasRole("trainer")
            ? sharding.Start("campaign", id => CampaignManagerActor.Props(id, services), ClusterShardingSettings.Create(qa.System).WithRole("trainer"), new CampaignMessageExtractor())
            : sharding.StartProxy("campaign", "trainer", new CampaignMessageExtractor());
        registry = singleton(CampaignRegistryActor.Props(() => campaigns, TimeSpan.FromSeconds(5)), "campaign-registry");
        return (campaigns, registry);
    }
}
