using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Akka.Actor;
using QaActors.Learning;
using QaActors.Orchestration;
using QaActors.Orchestration.Gateway;
using QaActors.Orchestration.Training;

namespace QaActors.Node;

/// <summary>A submission the node refuses: the message names the field and the fix (HTTP 400).</summary>
public sealed class SubmitException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}

/// <summary>
/// The experiments this node drives for its API clients: a submitted experiment runs through the actor system
/// (<see cref="ExperimentRunner"/>) in the background, its steps are fanned out to every live-event subscriber, and its
/// artefacts (model, metrics, curves, report) are written into the node's data dir when it ends, for clients to
/// download. Ownership is the submitting user's; the trainer, not this class, decides what is computed.
/// </summary>
public sealed class NodeExperiments(QaActorSystem qa, string artifactRoot, Func<ExperimentResult, string, Task> writeArtifacts, string dataDir)
{
    private sealed class Run
    {
        public required string User { get; init; }
        public string State = "running";
        public string? Reason;
        public readonly List<Channel<object>> Subscribers = [];
        public readonly TaskCompletionSource Ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly ConcurrentDictionary<string, Run> _runs = new(StringComparer.Ordinal);
    private readonly ExperimentRunner _runner = new(qa);

    public ExperimentRunner Runner => _runner;

    /// <summary>The experiment id of a submission: the client's, or one derived from the user and the idempotency key, or a fresh one.</summary>
    public static string IdFor(string user, string? requested, string? idempotencyKey)
    {
        if (requested is { Length: > 0 })
        {
            if (requested.Length > 64 || !requested.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                throw new SubmitException("experiment_id", $"'{requested}' is not an experiment id: use 1-64 letters, digits, - or _");
            return requested;
        }
        if (idempotencyKey is { Length: > 0 })
            return "exp-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(user + "\n" + idempotencyKey)))[..16];
        return ExperimentRunner.NewExperimentId();
    }

    /// <summary>Validates and starts (or, for an existing id with the same settings, continues) an experiment.</summary>
    public async Task<(string Id, bool Created)> SubmitAsync(string user, SubmitRequest request, string? idempotencyKey, CancellationToken ct)
    {
        TrainingConfig config;
        try
        {
            config = LearningProcedure.ParseConfig(request.Config.ToJsonString());
            config.Validate();
        }
        catch (Exception e) when (e is ArgumentException or System.Text.Json.JsonException or InvalidDataException)
        {
            throw new SubmitException("config", $"the training configuration is not valid: {e.Message}");
        }
        string fallback;
        try { fallback = Fallbacks.Parse(request.Fallback ?? Fallbacks.Gibbs, "fallback"); }
        catch (ArgumentException e) { throw new SubmitException("fallback", e.Message); }
        var t = request.Task ?? throw new SubmitException("task", "the data task is missing: give dataset, class_a, class_b, train_size, test_size");
        var taskRef = new PairTaskRef(t.Dataset, t.ClassA, t.ClassB, t.TrainSize, t.TestSize, config.Seed, dataDir);
        QaActors.Data.PairTask task;
        try { task = await Task.Run(taskRef.Load, ct); }
        catch (Exception e) when (e is ArgumentException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException or FormatException or QaActors.Data.DataException)
        {
            throw new SubmitException("task", $"the node cannot load the data: {e.Message}");
        }
        if (config.Batch > task.Train.Count)
            throw new SubmitException("config.Batch", $"batch {config.Batch} is larger than the training set ({task.Train.Count} images); use {task.Train.Count} or less, or a larger train_size");
        // The node's data decides the sizes recorded with the model.
        config = config with { TrainSize = task.Train.Count, TestSize = task.Test.Count };
        string id = IdFor(user, request.ExperimentId, idempotencyKey);
        string solver = config.Method == TrainingMethod.Qpu ? qa.Services.QpuBackends.Keys.FirstOrDefault() ?? "" : "";
        if (config.Method == TrainingMethod.Qpu && solver.Length == 0)
            throw new SubmitException("config.Method", "this node has no QPU configured (DWAVE_API_TOKEN / dwave.conf of the node); use a classical method or a node with a QPU");
        var spec = LearningProcedure.Spec(id, config, taskRef, fallback, user, solver);
        if (TryBegin(id, user) is not { } run) return (id, false);
        _ = Drive(id, run, progress => _runner.RunAsync(spec, progress));
        return (id, true);
    }

    /// <summary>Continues an experiment from its last persisted step (false: this node is already driving it).</summary>
    public bool Resume(string id, string user)
    {
        if (TryBegin(id, user) is not { } run) return false;
        _ = Drive(id, run, progress => _runner.ResumeAsync(id, progress));
        return true;
    }

    /// <summary>
    /// Follows a run that this node does not drive (submitted through another API node, or continued by itself after its
    /// node was lost or the cluster restarted), so that its live events reach this node's clients and its artefacts are
    /// written here when it ends. It never starts a run: an interrupted one stays as it is.
    /// </summary>
    public void Follow(string id, string user)
    {
        if (TryBegin(id, user) is not { } run) return;
        _ = Drive(id, run, progress => _runner.AttachAsync(id, continueInterrupted: false, progress));
    }

    /// <summary>
    /// The artefacts of a completed experiment, written into this node's data dir from the journal when they are not
    /// here yet (the run was driven by another node, or continued by itself); false when it has not completed.
    /// </summary>
    public async Task<bool> EnsureArtifactsAsync(ExperimentSummary s, CancellationToken ct)
    {
        string id = s.Spec.ExperimentId;
        if (NodeApi.ArtifactNames.All(n => File.Exists(Path.Combine(ArtifactDir(id), n)))) return true;
        if (!s.Completed) return false;
        Run? run;
        lock (_runs) run = _runs.TryGetValue(id, out var r) && r.State == "running" ? r : null;
        if (run is null)
        {
            Follow(id, s.Spec.User);
            lock (_runs) run = _runs[id];
        }
        await run.Ended.Task.WaitAsync(ct).ConfigureAwait(false);
        return run.State == "completed";
    }

    /// <summary>A new run of <paramref name="id"/> for <paramref name="user"/>, or null when this node is already driving one.</summary>
    private Run? TryBegin(string id, string user)
    {
        lock (_runs)
        {
            if (_runs.TryGetValue(id, out var existing))
            {
                if (existing.User != user) throw new SubmitException("experiment_id", $"experiment '{id}' belongs to another user; choose another id");
                if (existing.State == "running") return null;
            }
            return _runs[id] = new Run { User = user };
        }
    }

    public void Cancel(string id) => qa.Trainers.Tell(new PauseExperiment(id), ActorRefs.NoSender);

    /// <summary>"running", "completed", "failed: ..." or null when this node has not driven it since it started.</summary>
    public (string State, string? Reason)? StateOf(string id) => _runs.TryGetValue(id, out var r) ? (r.State, r.Reason) : null;

    public string ArtifactDir(string id) => Path.Combine(artifactRoot, id);

    /// <summary>
    /// A channel of live events for the experiment: StepEvent, then a final ExperimentView-like state string. A run that
    /// this node does not drive is followed first when it is running; null when nothing runs.
    /// </summary>
    public ChannelReader<object>? Subscribe(ExperimentSummary s)
    {
        string id = s.Spec.ExperimentId;
        if (s.Running && (!_runs.TryGetValue(id, out var known) || known.State != "running")) Follow(id, s.Spec.User);
        if (!_runs.TryGetValue(id, out var run)) return null;
        var ch = Channel.CreateUnbounded<object>();
        lock (run.Subscribers)
        {
            if (run.State != "running") { ch.Writer.TryWrite(run.State); ch.Writer.TryComplete(); }
            else run.Subscribers.Add(ch);
        }
        return ch.Reader;
    }

    private async Task Drive(string id, Run run, Func<IProgress<StepReport>, Task<ExperimentResult>> start)
    {
        var progress = new Inline(r => Publish(run, ToEvent(r)));
        try
        {
            var result = await start(progress).ConfigureAwait(false);
            string dir = ArtifactDir(id);
            Directory.CreateDirectory(dir);
            await writeArtifacts(result, dir).ConfigureAwait(false);
            Finish(run, "completed", null);
        }
        catch (ExperimentFailedException e) when (e.Reason == ExperimentRunner.InterruptedReason)
        {
            // Followed, not driven: it is not running after all. Nothing is known here that the journal does not say.
            lock (_runs) _runs.TryRemove(KeyValuePair.Create(id, run));
            Finish(run, "stopped", e.Reason);
        }
        catch (ExperimentFailedException e)
        {
            Finish(run, e.Reason == "paused" ? "cancelled" : "failed", e.Reason);
        }
        catch (Exception e)
        {
            Finish(run, "failed", e.Message);
        }
    }

    private static void Publish(Run run, object ev)
    {
        lock (run.Subscribers) foreach (var s in run.Subscribers) s.Writer.TryWrite(ev);
    }

    private static void Finish(Run run, string state, string? reason)
    {
        lock (run.Subscribers)
        {
            run.State = state;
            run.Reason = reason;
            foreach (var s in run.Subscribers)
            {
                s.Writer.TryWrite(state);
                s.Writer.TryComplete();
            }
            run.Subscribers.Clear();
        }
        run.Ended.TrySetResult();
    }

    public static StepEvent ToEvent(StepReport r) => new(r.Step, r.TotalSteps,
        r.Metrics.Values.ToDictionary(kv => kv.Key, kv => kv.Value),
        r.Totals.SamplerCounts.ToDictionary(kv => kv.Key, kv => kv.Value),
        r.Totals.QpuAccessMicros / 1e6);

    private sealed class Inline(Action<StepReport> a) : IProgress<StepReport>
    {
        public void Report(StepReport value) => a(value);
    }
}
