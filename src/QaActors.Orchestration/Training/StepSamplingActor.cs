using System.Collections.Immutable;
using Akka.Actor;
using QaActors.Orchestration.Gateway;
using QaActors.Sampling;

namespace QaActors.Orchestration.Training;

/// <summary>The samples of every example of a step, in batch order, with what produced them.</summary>
internal sealed record StepSamplesCollected(int Token, long Step, SampleSet[] Samples, Provenance Provenance) : ILocalMessage;

/// <summary>Sampling a step failed: <paramref name="Refused"/> when it cannot succeed (quota spent with fallback none, no pool), else it may be retried.</summary>
internal sealed record StepSamplingFailed(int Token, long Step, string Reason, bool Refused) : ILocalMessage;

/// <summary>
/// Collects the answers to one step's sampling jobs for its trainer (a child per step, so every answer lands in this
/// actor's own state and the trainer hears once). A QPU gateway gets the step's jobs as one <see cref="SampleBatch"/>
/// (it tiles them into as few calls as fit); a classical pool gets them one by one (its routees share the cores).
/// Answers are matched by job id; the step ends at the first refusal or failure, or when the timeout passes.
/// </summary>
internal sealed class StepSamplingActor : ReceiveActor, IWithTimers
{
    private sealed record TimedOut;

    private readonly int _token;
    private readonly long _step;
    private readonly Dictionary<long, int> _position = new();
    private readonly SampleReply?[] _replies;
    private int _remaining;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(int token, long step, ImmutableArray<SampleJob> jobs, IActorRef target, bool viaGateway, TimeSpan timeout) =>
        Akka.Actor.Props.Create(() => new StepSamplingActor(token, step, jobs, target, viaGateway, timeout));

    public StepSamplingActor(int token, long step, ImmutableArray<SampleJob> jobs, IActorRef target, bool viaGateway, TimeSpan timeout)
    {
        _token = token;
        _step = step;
        _replies = new SampleReply?[jobs.Length];
        _remaining = jobs.Length;
        for (int i = 0; i < jobs.Length; i++) _position[jobs[i].JobId] = i;

        Receive<SampleReply>(r =>
        {
            if (!_position.TryGetValue(r.JobId, out int i) || _replies[i] is not null) return;
            _replies[i] = r;
            if (--_remaining == 0) Done();
        });
        Receive<SampleRefused>(r => { if (_position.ContainsKey(r.JobId)) End(r.Reason, refused: true); });
        Receive<SampleFailed>(r => { if (_position.ContainsKey(r.JobId)) End(r.Reason, refused: false); });
        Receive<Status.Failure>(f => End(f.Cause.Message, refused: false));
        Receive<TimedOut>(_ => End($"{_remaining} of {_replies.Length} examples not sampled within {timeout}", refused: false));

        Timers.StartSingleTimer("timeout", new TimedOut(), timeout);
        if (viaGateway) target.Tell(new SampleBatch(jobs));
        else foreach (var j in jobs) target.Tell(j);
    }

    private void Done()
    {
        var samples = new SampleSet[_replies.Length];
        var prov = Provenance.Empty;
        for (int i = 0; i < samples.Length; i++)
        {
            var r = _replies[i]!;
            samples[i] = r.Samples;
            prov = prov.Add(Provenance.ForExample(r.ServedBy, r.FallbackReason, r.Samples.Info));
        }
        Context.Parent.Tell(new StepSamplesCollected(_token, _step, samples, prov));
        Context.Stop(Self);
    }

    private void End(string reason, bool refused)
    {
        Context.Parent.Tell(new StepSamplingFailed(_token, _step, reason, refused));
        Context.Stop(Self);
    }
}
