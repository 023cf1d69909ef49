using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using QaActors.Orchestration.Gateway;
using QaActors.Orchestration.Persistence;
using QaActors.Orchestration.Training;

namespace QaActors.Orchestration;

/// <summary>The outcome of a run: history, provenance totals and the final state (for the model file).</summary>
public sealed record ExperimentResult(
    string ExperimentId,
    ExperimentSpec Spec,
    ImmutableArray<StepStats> History,
    Provenance Provenance,
    object FinalState,
    long ResumedFromStep);

/// <summary>A run ended without completing (refused, failed past its retries, or paused).</summary>
public sealed class ExperimentFailedException(string experimentId, string reason)
    : Exception($"experiment '{experimentId}' stopped: {reason}")
{
    public string ExperimentId { get; } = experimentId;
    public string Reason { get; } = reason;
}

/// <summary>
/// What the CLI calls. <c>qa train</c> → <see cref="RunAsync"/> (continues from the last persisted step
/// when the experiment already exists), <c>qa experiment resume ID</c> → <see cref="ResumeAsync"/>,
/// <c>qa experiment list|show</c> → <see cref="ListAsync"/>/<see cref="ShowAsync"/>,
/// <c>qa quota show|set</c> → <see cref="QuotaShowAsync"/>/<see cref="QuotaSetAsync"/>.
/// </summary>
public sealed class ExperimentRunner(QaActorSystem qa)
{
    /// <summary>What a follower that may not continue a run hears when its node stopped before the run ended.</summary>
    public const string InterruptedReason = "not running (its node stopped before it ended); resume it to continue";

    /// <summary>A stable id from the output path: the same --out always names the same experiment.</summary>
    public static string ExperimentIdFor(string outPath)
    {
        string full = Path.GetFullPath(outPath);
        string stem = new(Path.GetFileNameWithoutExtension(full).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray());
        if (stem.Length > 40) stem = stem[..40];
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(full));
        return $"{(stem.Length == 0 ? "exp" : stem)}-{Convert.ToHexStringLower(hash)[..10]}";
    }

    /// <summary>A fresh id for runs without an output path.</summary>
    public static string NewExperimentId() => "exp-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>The user whose quota is charged when --user is not given: $QA_USER, else the OS user.</summary>
    public static string DefaultUser() =>
        Environment.GetEnvironmentVariable("QA_USER") is { Length: > 0 } u ? u : Environment.UserName is { Length: > 0 } n ? n : "default";

    public async Task<ExperimentResult> RunAsync(ExperimentSpec spec, IProgress<StepReport>? progress = null, CancellationToken cancellationToken = default)
    {
        ValidateSpec(spec);
        // Registration (for `experiment list`) runs beside the first steps instead of before them: both wait for the
        // journal's first use, and the run must not pay for it twice. A failed registration stops the run.
        var registration = qa.Registry.Ask<Status.Success>(new RegisterExperiment(new ExperimentRegistered(spec.ExperimentId, spec.Method, spec.User, spec.CreatedAt)),
            qa.Settings.Trainer.AskTimeout, cancellationToken);
        var run = Drive(spec.ExperimentId, listener => new StartExperiment(spec, listener, StateHere: true), progress, cancellationToken);
        try { await registration.ConfigureAwait(false); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            qa.Trainers.Tell(new PauseExperiment(spec.ExperimentId));
            await run.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            throw new ExperimentFailedException(spec.ExperimentId, $"cannot register the experiment: {e.Message}");
        }
        return await run.ConfigureAwait(false);
    }

    public Task<ExperimentResult> ResumeAsync(string experimentId, IProgress<StepReport>? progress = null, CancellationToken cancellationToken = default) =>
        Drive(experimentId, listener => new ResumeExperiment(experimentId, listener, StateHere: true), progress, cancellationToken);

    /// <summary>
    /// Follows an experiment that runs somewhere in the cluster (or ended): its result once it completes. A run that was
    /// stopped fails with its reason; one interrupted by the loss of its node fails too unless
    /// <paramref name="continueInterrupted"/>, which continues it.
    /// </summary>
    public Task<ExperimentResult> AttachAsync(string experimentId, bool continueInterrupted, IProgress<StepReport>? progress = null, CancellationToken cancellationToken = default) =>
        Drive(experimentId, listener => new AttachExperiment(experimentId, listener, StateHere: true, continueInterrupted), progress, cancellationToken, pauseOnCancel: false);

    public async Task<IReadOnlyList<ExperimentSummary>> ListAsync(CancellationToken cancellationToken = default)
    {
        var reg = await qa.Registry.Ask<RegisteredExperiments>(new ListRegisteredExperiments(), qa.Settings.Trainer.AskTimeout, cancellationToken).ConfigureAwait(false);
        var list = new List<ExperimentSummary>();
        foreach (var e in reg.Entries) list.Add(await ShowAsync(e.ExperimentId, cancellationToken).ConfigureAwait(false));
        return list;
    }

    public Task<ExperimentSummary> ShowAsync(string experimentId, CancellationToken cancellationToken = default) =>
        qa.Trainers.Ask<ExperimentSummary>(new GetExperimentSummary(experimentId), qa.Settings.Trainer.ApplyTimeout, cancellationToken);

    public Task<QuotaReport> QuotaShowAsync(string? user = null, CancellationToken cancellationToken = default) =>
        qa.QuotaLedger.Ask<QuotaReport>(new GetQuota(user), qa.Settings.Trainer.AskTimeout, cancellationToken);

    public Task<QuotaReport> QuotaSetAsync(string user, double seconds, CancellationToken cancellationToken = default) =>
        qa.QuotaLedger.Ask<QuotaReport>(new SetQuota(user, seconds), qa.Settings.Trainer.AskTimeout, cancellationToken);

    private static void ValidateSpec(ExperimentSpec spec)
    {
        if (string.IsNullOrWhiteSpace(spec.ExperimentId)) throw new ArgumentException("experiment id is empty");
        Fallbacks.Parse(spec.Fallback);
        if (string.IsNullOrWhiteSpace(spec.User)) throw new ArgumentException("--user is empty; name the user whose QPU quota is charged");
        if (spec.TotalSteps < 0) throw new ArgumentException($"steps = {spec.TotalSteps}: must be zero or more");
    }

    private async Task<ExperimentResult> Drive(string id, Func<IActorRef, object> start, IProgress<StepReport>? progress, CancellationToken ct, bool pauseOnCancel = true)
    {
        var (c, here) = await Follow(id, start, progress, ct, pauseOnCancel).ConfigureAwait(false);
        // A trainer in this process hands over its state; one on another node sends no model, so it is read from the
        // journal here, on this node.
        var state = here ?? await FinalStateReader.ReadAsync(qa.System, id, qa.Services.ProcedureFor, qa.Settings.Trainer.ApplyTimeout, ct).ConfigureAwait(false);
        return new ExperimentResult(c.Summary.Spec.ExperimentId, c.Summary.Spec, c.Summary.History, c.Summary.Totals, state, c.ResumedFromStep);
    }

    private async Task<(ExperimentCompleted, object?)> Follow(string id, Func<IActorRef, object> start, IProgress<StepReport>? progress, CancellationToken ct, bool pauseOnCancel)
    {
        var tcs = new TaskCompletionSource<(ExperimentCompleted, object?)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var trainers = qa.Trainers;
        var within = qa.Settings.Trainer.ReattachWithin;
        var listener = qa.System.ActorOf(Props.Create(() => new RunListener(id, tcs, progress, trainers, within)));
        try
        {
            await using var reg = ct.Register(() => tcs.TrySetCanceled(ct));
            qa.Trainers.Tell(start(listener));
            try { return await tcs.Task.ConfigureAwait(false); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested && pauseOnCancel)
            {
                // Stop after the step in progress; what is persisted stays, and a later run continues from it. The stop
                // is recorded before this returns (and the process perhaps leaves), so no restart continues the run.
                try { await qa.Trainers.Ask<ExperimentPaused>(new PauseExperiment(id), qa.Settings.Trainer.AskTimeout).ConfigureAwait(false); }
                catch (AskTimeoutException)
                {
                    // The trainer has the pause and stops after its step; only the record of it did not confirm in
                    // time, and the record is written again when the run ends paused. The user's interruption wins.
                }
                throw;
            }
        }
        finally { qa.System.Stop(listener); }
    }

    /// <summary>
    /// Hears the run's progress and end. It watches the trainer that took it on (the sender of
    /// <see cref="ExperimentAttached"/>); should that trainer terminate first, as when its node is lost, it attaches
    /// again through the shard, which restores the trainer on a surviving node, every second until it is taken on or
    /// <paramref name="within"/> has passed (docs/architecture.md, "Listeners and node loss").
    /// </summary>
    private sealed class RunListener : ReceiveActor, IWithTimers
    {
        private sealed record Reattach;
        private sealed record GiveUp;

        public ITimerScheduler Timers { get; set; } = null!;

        public RunListener(string id, TaskCompletionSource<(ExperimentCompleted, object?)> tcs, IProgress<StepReport>? progress, IActorRef trainers, TimeSpan within)
        {
            IActorRef? trainer = null;
            Receive<ExperimentAttached>(_ =>
            {
                if (trainer is not null && !trainer.Equals(Sender)) Context.Unwatch(trainer);
                trainer = Sender;
                Context.Watch(trainer);
                Timers.Cancel("reattach");
                Timers.Cancel("give-up");
            });
            // While this node leaves, its trainers are handed off and stopped on purpose: asking the shard again would
            // only queue messages in the region that is shutting down, which then waits for them until its phase times
            // out (seconds of a SIGTERM), and a follower elsewhere re-attaches to wherever the run goes.
            bool Leaving() => CoordinatedShutdown.Get(Context.System).ShutdownReason is not null;
            Receive<Terminated>(t => t.ActorRef.Equals(trainer) && Leaving(), _ => trainer = null);
            Receive<Terminated>(t => t.ActorRef.Equals(trainer), _ =>
            {
                trainer = null;
                Self.Tell(new Reattach());
                Timers.StartPeriodicTimer("reattach", new Reattach(), TimeSpan.FromSeconds(1));
                Timers.StartSingleTimer("give-up", new GiveUp(), within);
            });
            Receive<Terminated>(_ => { });
            Receive<Reattach>(_ =>
            {
                if (Leaving()) Timers.Cancel("reattach");
                else trainers.Tell(new AttachExperiment(id, Self, StateHere: true, ContinueInterrupted: true));
            });
            Receive<GiveUp>(_ => tcs.TrySetException(new ExperimentFailedException(id,
                $"its trainer was lost and no node took it on within {within} (qa.trainer.reattach-within); it continues when a trainer node runs, or resume it")));
            Receive<StepReport>(r => progress?.Report(r));
            Receive<ExperimentCompleted>(c => Done(() => tcs.TrySetResult((c, null))));
            Receive<ExperimentCompletedHere>(c => Done(() => tcs.TrySetResult((c.Completed, c.State))));
            Receive<ExperimentFailed>(f => Done(() => tcs.TrySetException(new ExperimentFailedException(f.ExperimentId, f.Reason))));
        }

        /// <summary>
        /// The run has ended: the trainer's termination that follows (it leaves memory), in whichever order it arrives,
        /// is no reason to look for it again.
        /// </summary>
        private void Done(Action answer)
        {
            Timers.CancelAll();
            answer();
            Become(() => ReceiveAny(_ => { }));
        }
    }
}
