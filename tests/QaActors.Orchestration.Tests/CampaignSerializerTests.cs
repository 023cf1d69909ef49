using QaActors.Orchestration.Campaigns;
using QaActors.Orchestration.Configuration;
using Akka.Actor;

namespace QaActors.Orchestration.Tests;

public class CampaignSerializerTests
{
    [Fact]
    public void Every_campaign_record_is_bound_to_its_serializer_and_round_trips_under_its_manifest()
    {
        using var dir = new TempDir();
        using var sys = ActorSystem.Create("camp", QaConfig.Load(dataDir: dir.Path).Akka);
        var at = new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
        ICampaignPersisted[] records =
        [
            new CampaignCreated("paper-1a2b3c4d", "alice", "paper", "paper.conf", "campaign { name = \"paper\" }", "/data", "Sim_P4", at),
            new CellSubmitted("paper-1a2b3c4d-m-0-1-gibbs-s1", 2, at),
            new CellCompleted("paper-1a2b3c4d-m-0-1-gibbs-s1", "{\"status\":\"completed\"}"),
            new CellFailed("paper-1a2b3c4d-m-0-1-gibbs-s1", 1, "the node left", false),
            new CampaignCancelled(at),
            new FailedCellsRetried(at),
            new CampaignRegistered("paper-1a2b3c4d", "alice", "paper", at),
            new CampaignSettled("paper-1a2b3c4d", "completed"),
            new CampaignReopened("paper-1a2b3c4d"),
        ];
        var manifests = new HashSet<string>();
        foreach (var r in records)
        {
            var s = (Akka.Serialization.SerializerWithStringManifest)sys.Serialization.FindSerializerFor(r);
            Assert.IsType<CampaignSerializer>(s);
            string manifest = s.Manifest(r);
            Assert.EndsWith(".v1", manifest, StringComparison.Ordinal);
            Assert.True(manifests.Add(manifest), manifest);
            Assert.Equal(r, s.FromBinary(s.ToBinary(r), manifest));
        }
        var serializer = (Akka.Serialization.SerializerWithStringManifest)sys.Serialization.FindSerializerFor(records[0]);
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary([], "campaign-unknown.v9"));
    }
}
