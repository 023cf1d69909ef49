using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
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
/// The gateway is a cluster singleton: it confirms a batch (<see cref="SampleBatchAccepted"/>) and is watched from
/// then on. Should it be lost with its node before it answered every job, or should no confirmation come (the proxy
/// may still send to a node that is gone), the unanswered jobs go again through the proxy, which finds the singleton
/// on its new node; answers already in are kept.
/// </summary>
internal sealed class StepSamplingActor : ReceiveActor, IWithTimers
{
    private sealed record TimedOut;
    private sealed record NotAccepted;

    /// <summary>How long a gateway may take to confirm a batch before it is sent again.</summary>
    internal static readonly TimeSpan AcceptWithin = TimeSpan.FromSeconds(20);

    private readonly int _token;
    private readonly long _step;
    private readonly Dictionary<long, int> _position = new();
    private readonly SampleReply?[] _replies;
    private int _remaining;
    private readonly ImmutableArray<SampleJob> _jobs;
    private readonly IActorRef _target;
    private IActorRef? _gateway;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(int token, long step, ImmutableArray<SampleJob> jobs, IActorRef target, bool viaGateway, TimeSpan timeout) =>
        Akka.Actor.Props.Create(() => new StepSamplingActor(token, step, jobs, target, viaGateway, timeout));

    public StepSamplingActor(int token, long step, ImmutableArray<SampleJob> jobs, IActorRef target, bool viaGateway, TimeSpan timeout)
    {
        _token = token;
        _step = step;
        _replies = new SampleReply?[jobs.Length];
        _remaining = jobs.Length;
        _jobs = jobs;
        _target = target;
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

        Receive<SampleBatchAccepted>(a => _position.ContainsKey(a.FirstJobId), _ =>
        {
            Timers.Cancel("accept");
            if (_gateway is not null && !_gateway.Equals(Sender)) Context.Unwatch(_gateway);
            _gateway = Sender;
            Context.Watch(_gateway);
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_gateway), _ =>
        {
            _gateway = null;
            SendAgain("the QPU gateway was lost with its node");
        });
        Receive<NotAccepted>(_ => SendAgain($"the QPU gateway did not confirm the batch within {AcceptWithin}"));

        Timers.StartSingleTimer("timeout", new TimedOut(), timeout);
        if (viaGateway) SendBatch(jobs);
        else foreach (var j in jobs) target.Tell(j);
    }

    private void SendBatch(ImmutableArray<SampleJob> jobs)
    {
        _target.Tell(new SampleBatch(jobs, Confirm: true));
        Timers.StartSingleTimer("accept", new NotAccepted(), AcceptWithin);
    }

    /// <summary>The jobs not answered yet, again (the same ids, so a late answer of the first attempt is taken too).</summary>
    private void SendAgain(string why)
    {
        var unanswered = _jobs.Where((_, i) => _replies[i] is null).ToImmutableArray();
        if (unanswered.IsEmpty) return;
        Context.GetLogger().Warning("step {0}: {1}; sending its {2} unanswered examples again", _step, why, unanswered.Length);
        SendBatch(unanswered);
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
