using System.Collections.Concurrent;
using Akka.Actor;
using QaActors.Orchestration.Configuration;
using QaActors.Orchestration.Gateway;
using QaActors.Orchestration.Training;
using QaActors.Sampling;

namespace QaActors.Orchestration.Tests;

/// <summary>
/// The CPU-heavy actors run on qa-cpu-dispatcher: configured in hocon/akka.conf and nowhere else, dedicated threads
/// (never the .NET thread pool the default dispatcher and the heartbeats use), and a node whose CPU threads are all
/// busy still answers on the default dispatcher.
/// </summary>
public class CpuDispatcherTests
{
    [Fact]
    public void The_cpu_dispatcher_is_defined_in_akka_conf_only_as_a_fork_join_dispatcher()
    {
        using var dir = new TempDir();
        var s = QaConfig.Load(dataDir: dir.Path);
        Assert.Equal("ForkJoinDispatcher", s.Akka.GetString(CpuDispatcher.Id + ".type"));
        Assert.Equal(16, s.Akka.GetInt(CpuDispatcher.Id + ".dedicated-thread-pool.thread-count"));
        Assert.Equal(1, s.Akka.GetInt(CpuDispatcher.Id + ".throughput"));
        // The embedded files: only akka.conf names the dispatcher; the definition the tests use is that block.
        var hocon = Directory.GetFiles(Path.Combine(RepoRoot(), "hocon"), "*.conf");
        var defines = new System.Text.RegularExpressions.Regex(@"(^|\s)" + CpuDispatcher.Id + @"\s*[{.=:]", System.Text.RegularExpressions.RegexOptions.Multiline);
        Assert.Equal(["akka.conf"], hocon.Where(f => defines.IsMatch(File.ReadAllText(f))).Select(Path.GetFileName));
        var d = CpuDispatcher.Definition();
        foreach (var key in new[] { "type", "throughput", "dedicated-thread-pool.thread-count", "dedicated-thread-pool.threadtype" })
            Assert.Equal(s.Akka.GetString(CpuDispatcher.Id + "." + key), d.GetString(CpuDispatcher.Id + "." + key));
        // No source file configures it (they may name its id only).
        var sources = Directory.GetFiles(Path.Combine(RepoRoot(), "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"));
        Assert.DoesNotContain(sources, f => File.ReadAllText(f) is var t && (t.Contains("dedicated-thread-pool") || t.Contains("ForkJoinDispatcher")));
    }

    [Fact]
    public async Task Sampler_and_bqm_workers_run_on_dedicated_threads_and_the_default_dispatcher_answers_while_they_are_all_busy()
    {
        using var dir = new TempDir();
        var settings = QaConfig.Load(dataDir: dir.Path);
        var sys = ActorSystem.Create("cpu", settings.Akka);
        try
        {
            int threads = settings.Akka.GetInt(CpuDispatcher.Id + ".dedicated-thread-pool.thread-count");
            using var gate = new ManualResetEventSlim(false);
            var seen = new ConcurrentBag<(bool Pool, int Thread)>();
            int started = 0;
            var sampler = new GatedSampler(gate, seen, () => Interlocked.Increment(ref started));
            // More jobs than the dispatcher has threads: every CPU thread ends up held by a sampler.
            int jobs = threads + 3;
            var pool = sys.ActorOf(SamplerWorker.Pool(_ => sampler, jobs), "sampler-gated");
            var probe = sys.ActorOf(Props.Create(() => new Echo()), "echo"); // default dispatcher
            var inbox = Inbox.Create(sys);
            for (int i = 0; i < jobs; i++)
                pool.Tell(new SampleJob(i + 1, "u", "e", TestConfig.SmallProblem(), new SampleRequest(1, 1, (ulong)i), Fallbacks.None, null), inbox.Receiver);
            await WaitUntil(() => Volatile.Read(ref started) >= 1, () => "no sampler started");
            // The CPU threads are held until the gate opens: the default dispatcher still answers, and the samplers
            // running are bounded by the dedicated threads (on the thread pool every job would eventually start).
            Assert.Equal("pong", await probe.Ask<string>("ping", TimeSpan.FromSeconds(10)));
            Assert.InRange(Volatile.Read(ref started), 1, threads);
            gate.Set();
            for (int i = 0; i < jobs; i++) Assert.IsType<SampleReply>(inbox.Receive(TimeSpan.FromSeconds(20)));
            Assert.All(seen, s => Assert.False(s.Pool, "a sampler ran on a thread-pool thread"));
            Assert.InRange(seen.Select(s => s.Thread).Distinct().Count(), 1, threads);

            // The BQM workers too.
            var bqm = sys.ActorOf(BqmWorker.Pool(2), "bqm");
            var proc = new ThreadRecordingProcedure(new ToyProcedure(1, 1));
            var built = await bqm.Ask<ProblemsBuilt>(new BuildProblems(proc, proc.InitialState(), 1, [0, 1], 0, 2), TimeSpan.FromSeconds(10));
            Assert.Equal(2, built.Problems.Length);
            Assert.False(proc.OnThreadPool);
        }
        finally { await sys.Terminate(); }
    }

    private static async Task WaitUntil(Func<bool> condition, Func<string> what)
    {
        for (int i = 0; i < 2000 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition(), what());
    }

    private static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "QaActors.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("QaActors.sln not found above the test directory");
    }

    private sealed class Echo : ReceiveActor
    {
        public Echo() => Receive<string>(_ => Sender.Tell("pong"));
    }

    /// <summary>Holds its thread until the gate opens, like a long computation.</summary>
    private sealed class GatedSampler(ManualResetEventSlim gate, ConcurrentBag<(bool, int)> seen, Action onStart) : ISampler
    {
        private readonly ISampler _inner = new SeededRandomSampler("gibbs");
        public string Name => "gibbs";

        public Task<SampleSet> SampleAsync(Bqm problem, SampleRequest request, CancellationToken cancellationToken = default)
        {
            seen.Add((Thread.CurrentThread.IsThreadPoolThread, Environment.CurrentManagedThreadId));
            onStart();
            gate.Wait(TimeSpan.FromSeconds(30));
            return _inner.SampleAsync(problem, request, cancellationToken);
        }
    }

    /// <summary>The toy science, noting on which kind of thread the problems were built.</summary>
    private sealed class ThreadRecordingProcedure(ToyProcedure inner) : ITrainingProcedure
    {
        public volatile bool OnThreadPool = true;
        public string Method => inner.Method;
        public long TotalSteps => inner.TotalSteps;
        public bool NeedsSampling => inner.NeedsSampling;
        public object InitialState() => inner.InitialState();
        public byte[] SaveState(object state) => inner.SaveState(state);
        public object RestoreState(byte[] bytes) => inner.RestoreState(bytes);
        public (ulong, ulong, ulong, ulong) RngState(object state) => inner.RngState(state);
        public int[] BatchIndices(long step) => inner.BatchIndices(step);
        public SampleRequest SampleRequestFor(long step, int position) => inner.SampleRequestFor(step, position);
        public StepApplication Apply(object state, long step, int[] batchIndices, IReadOnlyList<SampleSet>? samples) => inner.Apply(state, step, batchIndices, samples);
        public IReadOnlyList<KeyValuePair<string, double>> InitialMetrics(object state) => inner.InitialMetrics(state);

        public Bqm[] BuildProblems(object state, long step, int[] batchIndices, int offset, int count)
        {
            OnThreadPool = Thread.CurrentThread.IsThreadPoolThread;
            return inner.BuildProblems(state, step, batchIndices, offset, count);
        }
    }
}
