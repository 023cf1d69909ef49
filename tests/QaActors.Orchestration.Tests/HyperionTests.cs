using Akka.Actor;
using Akka.Serialization;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Gateway;
using QaActors.Orchestration.Training;
using QaActors.Sampling;

namespace QaActors.Orchestration.Tests;

/// <summary>
/// With the production configuration, the messages that cross nodes in a multi-node cluster go through
/// Hyperion (bound to IQaMessage only) and come back equal; types outside the marker are not Hyperion's.
/// </summary>
public class HyperionTests
{
    [Fact]
    public async Task Gateway_messages_round_trip_through_hyperion()
    {
        using var dir = new TempDir();
        var settings = QaConfig.Load(dataDir: dir.Path);
        var sys = ActorSystem.Create("hy", settings.Akka);
        try
        {
            var bqm = Bqm.FromArrays(Vartype.Binary, [0.5, -1.25, 2], [0, 1], [1, 2], [0.75, -0.5], labels: [10, 20, 30]);
            var job = new SampleJob(7, "alice", "exp", bqm, new SampleRequest(3, 1.5, 99), Fallbacks.Anneal, new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
            var ser = sys.Serialization.FindSerializerFor(job);
            Assert.Equal("HyperionSerializer", ser.GetType().Name);
            var back = (SampleJob)sys.Serialization.Deserialize(ser.ToBinary(job), ser.Identifier, typeof(SampleJob));
            Assert.Equal(job.JobId, back.JobId);
            Assert.Equal(job.Request, back.Request);
            Assert.Equal(job.Deadline, back.Deadline);
            Assert.Equal(bqm.Labels.ToArray(), back.Problem.Labels.ToArray());
            Assert.Equal(bqm.Linear.ToArray(), back.Problem.Linear.ToArray());
            Assert.Equal(bqm.QuadraticBias.ToArray(), back.Problem.QuadraticBias.ToArray());
            Assert.Equal(bqm.Energy([1, 0, 1]), back.Problem.Energy([1, 0, 1]));

            var set = SampleSet.FromSamples(bqm, [1, 0, 1, 0, 0, 1], SampleInfo.For("qpu").WithTiming("qpu_access_time", 1234.5).WithNote("fallback_reason", "x"));
            var reply = new SampleReply(7, set, "qpu", null, 1234.5);
            var r = (SampleReply)sys.Serialization.Deserialize(ser.ToBinary(reply), ser.Identifier, typeof(SampleReply));
            Assert.Equal(set.Samples.ToArray(), r.Samples.Samples.ToArray());
            Assert.Equal(set.Energies.ToArray(), r.Samples.Energies.ToArray());
            Assert.Equal(1234.5, r.Samples.Info.Timing["qpu_access_time"]);
            Assert.Equal("x", r.Samples.Info.Notes["fallback_reason"]);

            var report = new StepReport("exp", 3, 10, new Persistence.StepStats(3, [new("loss", 0.5)]), Provenance.Empty, Provenance.Empty);
            var rep = (StepReport)sys.Serialization.Deserialize(ser.ToBinary(report), ser.Identifier, typeof(StepReport));
            Assert.Equal(0.5, rep.Metrics.Get("loss"));

            // Not a project message: Hyperion is not the serializer for arbitrary objects.
            Assert.NotEqual(ser.Identifier, sys.Serialization.FindSerializerFor(new Version(1, 2)).Identifier);
        }
        finally { await sys.Terminate(); }
    }
}
