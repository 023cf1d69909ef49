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
        // The image counts the specs record travel with the record (a record compares its dictionary by reference).
        var sized = new CampaignCreated("paper-1a2b3c4d", "alice", "paper", "paper.conf", "campaign { }", "/data", "", at,
            new Dictionary<string, QaActors.Campaigns.DataSizes> { ["mnist:0,1:20:all"] = new(20, 2115), ["fashion-mnist:2,3:all:all"] = new(12000, 2000) });
        var cs = (Akka.Serialization.SerializerWithStringManifest)sys.Serialization.FindSerializerFor(sized);
        var back = (CampaignCreated)cs.FromBinary(cs.ToBinary(sized), cs.Manifest(sized));
        Assert.Equal(sized with { DataSizes = null }, back with { DataSizes = null });
        Assert.Equal(sized.DataSizes!.OrderBy(kv => kv.Key), back.DataSizes!.OrderBy(kv => kv.Key));
        // A record written before the counts were kept reads back without them (its specs stay as they were).
        var old = (CampaignCreated)cs.FromBinary(System.Text.Encoding.UTF8.GetBytes(
            """{"CampaignId":"c-1","User":"u","Name":"c","Source":"c.conf","SpecText":"x","DataDir":null,"Solver":"","CreatedAt":"2026-12-01T10:00:00+00:00"}"""),
            "campaign-created.v1");
        Assert.Null(old.DataSizes);
        var serializer = (Akka.Serialization.SerializerWithStringManifest)sys.Serialization.FindSerializerFor(records[0]);
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary([], "campaign-unknown.v9"));
    }
}
