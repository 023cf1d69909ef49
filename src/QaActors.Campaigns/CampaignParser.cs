using System.Collections.Immutable;
using System.Globalization;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using QaActors.Learning;

namespace QaActors.Campaigns;

/// <summary>
/// Reads a campaign file (HOCON, docs/campaigns.md "The campaign file"). Every key is checked: an unknown key or a
/// bad value fails with the file, the key path and what is allowed, never later in the middle of a campaign.
/// </summary>
public static class CampaignParser
{
    public const int MaxConcurrentLimit = 1000;
    public const int MaxRetriesLimit = 10;

    private static readonly string[] TopKeys = ["name", "datasets", "methods", "seeds", "settings", "overrides", "max-concurrent", "max-retries", "equivalence", "runtime"];
    private static readonly string[] SettingKeys = ["hidden", "train-size", "test-size", "batch", "lr", "steps", "beta", "reads", "sweeps", "t-eff", "tiles", "eval-every", "fallback"];
    private static readonly string[] DatasetKeys = ["dataset", "pairs", "random-pairs", "pair-seed", "class-count"];
    private static readonly string[] EquivalenceKeys = ["datasets", "seeds", "settings"];
    private static readonly string[] RuntimeKeys = ["min-size", "max-size", "points-per-decade", "measure-max-size", "reads", "sweeps", "repeats"];
    private static readonly string[] MethodNames = ["backprop", "exact", "gibbs", "anneal", "qpu"];
    private static readonly string[] Fallbacks = ["gibbs", "anneal", "none"];

    /// <summary>The paper's Sec. 5.2 settings (the <c>qa train</c> defaults).</summary>
    public static CellSettings TrainingDefaults { get; } = new();

    /// <summary>The paper's Sec. 5.1 settings: all images of the pair, 250 Adam steps of batch 1,000 at lr 0.001.</summary>
    public static CellSettings EquivalenceDefaults { get; } = new()
    {
        TrainSize = "all", TestSize = "all", Batch = 1000, LearningRate = 0.001, Steps = 250, EvalEvery = 10,
    };

    public static CampaignSpec ParseFile(string path)
    {
        string text;
        try { text = System.IO.File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CampaignSpecException(path, "(file)", $"cannot be read: {e.Message}");
        }
        return Parse(text, path);
    }

    /// <summary>A campaign shipped with the binary (hocon/campaigns/NAME.conf).</summary>
    public static string? Embedded(string name)
    {
        using var s = typeof(CampaignParser).Assembly.GetManifestResourceStream($"QaActors.campaigns.{name}.conf");
        if (s is null) return null;
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    public static CampaignSpec Parse(string text, string source)
    {
        RequireBalanced(text, source);
        Config config;
        try { config = ConfigurationFactory.ParseString(text); }
        catch (Exception e) when (e is ConfigurationException or FormatException or InvalidOperationException or ArgumentException)
        {
            throw new CampaignSpecException(source, "(file)", $"is not valid HOCON: {e.Message}");
        }
        var r = new Reader(source);
        if (config.IsEmpty || !config.Root.IsObject()) throw r.Fail("campaign", "the file has no campaign { ... } block");
        var rootKeys = config.Root.GetObject().Items.Keys.ToList();
        foreach (var k in rootKeys)
            if (k != "campaign") throw r.Fail(k, "unknown key at the top level; a campaign file holds one block: campaign { ... }");
        if (!config.HasPath("campaign")) throw r.Fail("campaign", "the file has no campaign { ... } block");
        var c = r.Object(config.GetValue("campaign"), "campaign", TopKeys);

        string name = c.TryGetValue("name", out var nv) ? r.Text(nv, "campaign.name") : "";
        if (name.Trim().Length == 0) throw r.Fail("campaign.name", "is missing or empty; give the campaign a name, e.g. name = \"example\"");
        name = name.Trim();

        var studies = ImmutableArray.CreateBuilder<StudySpec>();
        if (c.TryGetValue("equivalence", out var ev))
        {
            var e = r.Object(ev, "campaign.equivalence", EquivalenceKeys);
            var datasets = e.TryGetValue("datasets", out var dv) ? r.Datasets(dv, "campaign.equivalence.datasets")
                : throw r.Fail("campaign.equivalence.datasets", "is missing; list the datasets and pairs, e.g. [ { dataset = mnist, pairs = [\"0,1\"] } ]");
            var seeds = e.TryGetValue("seeds", out var sv) ? r.Seeds(sv, "campaign.equivalence.seeds") : [1UL];
            var settings = e.TryGetValue("settings", out var stv) ? r.Settings(stv, "campaign.equivalence.settings", EquivalenceDefaults) : EquivalenceDefaults;
            ImmutableArray<TrainingMethod> methods = [TrainingMethod.Backprop, TrainingMethod.Exact];
            r.CheckBatch(settings, "campaign.equivalence.settings");
            studies.Add(new StudySpec(Study.Equivalence, datasets, methods, seeds, methods.ToImmutableDictionary(m => m, _ => settings)));
        }
        bool hasGrid = c.ContainsKey("datasets") || c.ContainsKey("methods") || c.ContainsKey("seeds");
        if (hasGrid)
        {
            var datasets = c.TryGetValue("datasets", out var dv) ? r.Datasets(dv, "campaign.datasets")
                : throw r.Fail("campaign.datasets", "is missing; list the datasets and pairs, e.g. [ { dataset = mnist, pairs = [\"2,3\"] } ]");
            var methods = c.TryGetValue("methods", out var mv) ? r.Methods(mv, "campaign.methods")
                : throw r.Fail("campaign.methods", $"is missing; list one or more of {string.Join(", ", MethodNames)}");
            var seeds = c.TryGetValue("seeds", out var sv) ? r.Seeds(sv, "campaign.seeds")
                : throw r.Fail("campaign.seeds", "is missing; list the seeds, e.g. [1, 2, 3]");
            var shared = c.TryGetValue("settings", out var stv) ? r.Settings(stv, "campaign.settings", TrainingDefaults) : TrainingDefaults;
            var byMethod = ImmutableDictionary.CreateBuilder<TrainingMethod, CellSettings>();
            foreach (var m in methods) byMethod[m] = shared;
            if (c.TryGetValue("overrides", out var ov))
            {
                var o = r.Object(ov, "campaign.overrides", MethodNames);
                foreach (var (key, value) in o)
                {
                    var method = TrainingMethodNames.Parse(key);
                    if (!methods.Contains(method))
                        throw r.Fail($"campaign.overrides.{key}", $"overrides a method the campaign does not run; its methods are {string.Join(", ", methods.Select(x => x.ToWire()))}");
                    byMethod[method] = r.Settings(value, $"campaign.overrides.{key}", shared);
                }
            }
            var overridden = c.TryGetValue("overrides", out var ov2) ? ov2.GetObject().Items.Keys.ToHashSet() : [];
            foreach (var m in methods) r.CheckBatch(byMethod[m], overridden.Contains(m.ToWire()) ? $"campaign.overrides.{m.ToWire()}" : "campaign.settings");
            studies.Add(new StudySpec(Study.Training, datasets, methods, seeds, byMethod.ToImmutable()));
        }
        else if (c.ContainsKey("settings") || c.ContainsKey("overrides"))
            throw r.Fail(c.ContainsKey("settings") ? "campaign.settings" : "campaign.overrides", "has no grid to apply to; add datasets, methods and seeds");

        RuntimeSpec? runtime = c.TryGetValue("runtime", out var rv) ? r.Runtime(rv, "campaign.runtime") : null;
        if (studies.Count == 0 && runtime is null)
            throw r.Fail("campaign", "has nothing to run; give datasets, methods and seeds (Sec. 5.2), an equivalence { } block (Sec. 5.1) or a runtime { } block (Sec. 5.3)");
        int maxConcurrent = c.TryGetValue("max-concurrent", out var mc) ? r.Int(mc, "campaign.max-concurrent", 1, MaxConcurrentLimit) : 4;
        int maxRetries = c.TryGetValue("max-retries", out var mr) ? r.Int(mr, "campaign.max-retries", 0, MaxRetriesLimit) : 2;
        return new CampaignSpec(name, source, studies.ToImmutable(), runtime, maxConcurrent, maxRetries);
    }

    /// <summary>
    /// Akka's parser reads an unclosed '{' as if it were closed at the end of the text, which would nest every later key
    /// under the wrong block; brackets are counted outside strings and comments first.
    /// </summary>
    private static void RequireBalanced(string text, string source)
    {
        var open = new Stack<(char Bracket, int Line)>();
        int line = 1;
        for (int i = 0; i < text.Length; i++)
        {
            char ch = text[i];
            if (ch == '\n') { line++; continue; }
            if (ch == '#' || (ch == '/' && i + 1 < text.Length && text[i + 1] == '/'))
            {
                while (i + 1 < text.Length && text[i + 1] != '\n') i++;
                continue;
            }
            if (ch == '"')
            {
                int start = line;
                for (i++; i < text.Length && text[i] != '"'; i++)
                {
                    if (text[i] == '\\') i++;
                    else if (text[i] == '\n') throw new CampaignSpecException(source, $"line {start}", "is not valid HOCON: a string is not closed on its line");
                }
                if (i >= text.Length) throw new CampaignSpecException(source, $"line {start}", "is not valid HOCON: a string is never closed");
                continue;
            }
            if (ch is '{' or '[') open.Push((ch, line));
            else if (ch is '}' or ']')
            {
                char want = ch == '}' ? '{' : '[';
                if (open.Count == 0 || open.Peek().Bracket != want)
                    throw new CampaignSpecException(source, $"line {line}", $"is not valid HOCON: '{ch}' closes nothing that is open");
                open.Pop();
            }
        }
        if (open.Count > 0)
        {
            var (bracket, at) = open.Peek();
            throw new CampaignSpecException(source, $"line {at}", $"is not valid HOCON: '{bracket}' is never closed");
        }
    }

    private sealed class Reader(string source)
    {
        public CampaignSpecException Fail(string path, string problem) => new(source, path, problem);

        public Dictionary<string, HoconValue> Object(HoconValue v, string path, IReadOnlyCollection<string> allowed)
        {
            if (!v.IsObject()) throw Fail(path, "must be a block { ... }");
            var items = v.GetObject().Items;
            foreach (var k in items.Keys)
                if (!allowed.Contains(k)) throw Fail($"{path}.{k}", $"unknown key; {path} takes: {string.Join(", ", allowed)}");
            return new Dictionary<string, HoconValue>(items, StringComparer.Ordinal);
        }

        public string Text(HoconValue v, string path)
        {
            if (v.IsObject() || v.IsArray()) throw Fail(path, "must be a single value, not a block or a list");
            return v.GetString() ?? "";
        }

        public int Int(HoconValue v, string path, int lo, int hi)
        {
            string t = Text(v, path).Trim();
            if (!long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long x) || x < lo || x > hi)
                throw Fail(path, $"'{t}' must be a whole number from {lo} to {hi}");
            return (int)x;
        }

        public double Number(HoconValue v, string path, double lo, double hi, bool loOpen)
        {
            string t = Text(v, path).Trim();
            if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || !double.IsFinite(x)
                || x > hi || (loOpen ? x <= lo : x < lo))
                throw Fail(path, $"'{t}' must be a number {(loOpen ? ">" : ">=")} {lo.ToString(CultureInfo.InvariantCulture)} and <= {hi.ToString(CultureInfo.InvariantCulture)}");
            return x;
        }

        private List<HoconValue> List(HoconValue v, string path)
        {
            // Akka's HOCON reads [] as an empty value, not as an array.
            if (v.Values.Count == 0 || v.Values.All(e => e is HoconArray { Count: 0 })) throw Fail(path, "is empty; list at least one entry");
            if (!v.IsArray()) throw Fail(path, "must be a list [ ... ]");
            var list = v.GetArray().ToList();
            if (list.Count == 0) throw Fail(path, "is empty; list at least one entry");
            return list;
        }

        public ImmutableArray<TrainingMethod> Methods(HoconValue v, string path)
        {
            var result = new List<TrainingMethod>();
            var items = List(v, path);
            for (int i = 0; i < items.Count; i++)
            {
                string t = Text(items[i], $"{path}[{i}]").Trim().ToLowerInvariant();
                if (!MethodNames.Contains(t)) throw Fail($"{path}[{i}]", $"'{t}' is not a method; use {string.Join(", ", MethodNames)}");
                var m = TrainingMethodNames.Parse(t);
                if (result.Contains(m)) throw Fail($"{path}[{i}]", $"{t} is listed twice");
                result.Add(m);
            }
            return [.. result];
        }

        public ImmutableArray<ulong> Seeds(HoconValue v, string path)
        {
            var result = new List<ulong>();
            var items = List(v, path);
            for (int i = 0; i < items.Count; i++)
            {
                string t = Text(items[i], $"{path}[{i}]").Trim();
                if (!ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out ulong s))
                    throw Fail($"{path}[{i}]", $"'{t}' is not a seed; use a whole number 0 or more");
                if (result.Contains(s)) throw Fail($"{path}[{i}]", $"seed {s} is listed twice");
                result.Add(s);
            }
            return [.. result];
        }

        public ImmutableArray<DatasetPairs> Datasets(HoconValue v, string path)
        {
            var result = new List<DatasetPairs>();
            var items = List(v, path);
            for (int i = 0; i < items.Count; i++)
            {
                string at = $"{path}[{i}]";
                var d = Object(items[i], at, DatasetKeys);
                if (!d.TryGetValue("dataset", out var nameV)) throw Fail($"{at}.dataset", "is missing; use mnist, fashion-mnist or idx:PATH");
                string name = DatasetName(Text(nameV, $"{at}.dataset"), $"{at}.dataset");
                bool npm = !name.StartsWith("idx:", StringComparison.Ordinal);
                int classCount = d.TryGetValue("class-count", out var cc) ? Int(cc, $"{at}.class-count", 2, 256) : npm ? 10 : 0;
                if (npm && classCount != 10) throw Fail($"{at}.class-count", $"{name} has 10 classes; leave class-count out");
                var pairs = new List<(int, int)>();
                if (d.TryGetValue("pairs", out var pv))
                {
                    if (d.ContainsKey("random-pairs")) throw Fail($"{at}.random-pairs", "give either pairs or random-pairs, not both");
                    var list = List(pv, $"{at}.pairs");
                    for (int j = 0; j < list.Count; j++) pairs.Add(Pair(list[j], $"{at}.pairs[{j}]", classCount));
                }
                else if (d.TryGetValue("random-pairs", out var rp))
                {
                    if (classCount == 0) throw Fail($"{at}.class-count", "is needed with random-pairs on an idx: dataset (how many classes it has)");
                    int max = classCount * (classCount - 1) / 2;
                    int n = Int(rp, $"{at}.random-pairs", 1, max);
                    if (!d.TryGetValue("pair-seed", out var ps)) throw Fail($"{at}.pair-seed", "is needed with random-pairs (the seed the pairs are drawn with)");
                    string pst = Text(ps, $"{at}.pair-seed").Trim();
                    if (!ulong.TryParse(pst, NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed))
                        throw Fail($"{at}.pair-seed", $"'{pst}' is not a seed; use a whole number 0 or more");
                    pairs.AddRange(RandomPairs.Draw(n, classCount, seed));
                }
                else throw Fail($"{at}.pairs", "is missing; list pairs such as [\"2,3\", \"0,1\"], or give random-pairs = N and pair-seed = S");
                if (d.ContainsKey("pair-seed") && !d.ContainsKey("random-pairs")) throw Fail($"{at}.pair-seed", "applies to random-pairs only");
                for (int j = 0; j < pairs.Count; j++)
                    if (pairs.Take(j).Any(p => p == pairs[j] || p == (pairs[j].Item2, pairs[j].Item1)))
                        throw Fail($"{at}.pairs[{j}]", $"pair {pairs[j].Item1},{pairs[j].Item2} is listed twice");
                if (result.Any(x => x.Dataset == name)) throw Fail(at, $"dataset {name} is listed twice; put all its pairs in one entry");
                result.Add(new DatasetPairs(name, [.. pairs]));
            }
            return [.. result];
        }

        private string DatasetName(string text, string path)
        {
            string t = text.Trim();
            if (t.Equals("mnist", StringComparison.OrdinalIgnoreCase)) return "mnist";
            if (t.Equals("fashion-mnist", StringComparison.OrdinalIgnoreCase)) return "fashion-mnist";
            if (t.StartsWith("idx:", StringComparison.OrdinalIgnoreCase) && t.Length > 4) return "idx:" + t[4..].Trim();
            throw Fail(path, $"'{t}' is not a dataset; use mnist, fashion-mnist or idx:PATH");
        }

        private (int, int) Pair(HoconValue v, string path, int classCount)
        {
            string t = v.IsArray() ? string.Join(",", v.GetArray().Select(x => x.GetString())) : Text(v, path);
            var parts = t.Split(',', StringSplitOptions.TrimEntries);
            int hi = classCount > 0 ? classCount - 1 : 255;
            if (parts.Length != 2
                || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int a)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int b)
                || a > hi || b > hi)
                throw Fail(path, $"'{t}' is not a class pair; use \"A,B\" with classes 0 to {hi}, e.g. \"2,3\"");
            if (a == b) throw Fail(path, $"'{t}' pairs class {a} with itself; use two different classes");
            return (a, b);
        }

        public CellSettings Settings(HoconValue v, string path, CellSettings start)
        {
            var s = start;
            foreach (var (key, value) in Object(v, path, SettingKeys))
            {
                string at = $"{path}.{key}";
                s = key switch
                {
                    "hidden" => s with { Hidden = Int(value, at, 1, 100_000) },
                    "train-size" => s with { TrainSize = Size(value, at) },
                    "test-size" => s with { TestSize = Size(value, at) },
                    "batch" => s with { Batch = Int(value, at, 1, 1_000_000) },
                    "lr" => s with { LearningRate = Number(value, at, 0, 10, loOpen: true) },
                    "steps" => s with { Steps = Int(value, at, 1, 10_000_000) },
                    "beta" => s with { Beta = Number(value, at, 0, 1e6, loOpen: true) },
                    "reads" => s with { Reads = Int(value, at, 1, 1_000_000) },
                    "sweeps" => s with { Sweeps = Int(value, at, 2, 10_000_000) },
                    "t-eff" => TEff(s, value, at),
                    "tiles" => s with { Tiles = Int(value, at, 1, 1000) },
                    "eval-every" => s with { EvalEvery = Int(value, at, 1, 10_000_000) },
                    "fallback" => s with { Fallback = Choice(value, at, Fallbacks) },
                    _ => throw Fail(at, $"unknown key; settings take: {string.Join(", ", SettingKeys)}"),
                };
            }
            return s;
        }

        private CellSettings TEff(CellSettings s, HoconValue v, string path)
        {
            string t = Text(v, path).Trim();
            if (t.Equals("auto", StringComparison.OrdinalIgnoreCase)) return s with { AutoTemperature = true };
            return s with { TEff = Number(v, path, 0, 1e6, loOpen: true), AutoTemperature = false };
        }

        private string Choice(HoconValue v, string path, string[] allowed)
        {
            string t = Text(v, path).Trim().ToLowerInvariant();
            return allowed.Contains(t) ? t : throw Fail(path, $"'{t}' is not allowed; use {string.Join(", ", allowed)}");
        }

        private string Size(HoconValue v, string path)
        {
            string t = Text(v, path).Trim();
            if (t.Equals("all", StringComparison.OrdinalIgnoreCase)) return "all";
            if (int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1) return n.ToString(CultureInfo.InvariantCulture);
            throw Fail(path, $"'{t}' must be a count of images (1 or more) or all");
        }

        /// <summary>A batch is drawn without repeats within a pass, so a batch larger than the training set only repeats images.</summary>
        public void CheckBatch(CellSettings s, string path)
        {
            if (s.TrainSize != "all" && s.Batch > int.Parse(s.TrainSize, CultureInfo.InvariantCulture))
                throw Fail($"{path}.batch", $"batch {s.Batch} is larger than train-size {s.TrainSize}; use a batch of {s.TrainSize} or less, or a larger train-size");
        }

        public RuntimeSpec Runtime(HoconValue v, string path)
        {
            var r = new RuntimeSpec();
            foreach (var (key, value) in Object(v, path, RuntimeKeys))
            {
                string at = $"{path}.{key}";
                r = key switch
                {
                    "min-size" => r with { MinSize = Number(value, at, 1, 1e9, loOpen: false) },
                    "max-size" => r with { MaxSize = Number(value, at, 1, 1e9, loOpen: false) },
                    "points-per-decade" => r with { PointsPerDecade = Int(value, at, 1, 20) },
                    "measure-max-size" => r with { MeasureMaxSize = Number(value, at, 0, 1e9, loOpen: false) },
                    "reads" => r with { Reads = Int(value, at, 1, 10_000) },
                    "sweeps" => r with { Sweeps = Int(value, at, 1, 1_000_000) },
                    "repeats" => r with { Repeats = Int(value, at, 1, 100) },
                    _ => throw Fail(at, $"unknown key; runtime takes: {string.Join(", ", RuntimeKeys)}"),
                };
            }
            if (r.MaxSize < r.MinSize) throw Fail($"{path}.max-size", $"{r.MaxSize} is below min-size {r.MinSize}");
            return r;
        }
    }
}

/// <summary>"N random pairs with seed S": distinct unordered class pairs, drawn reproducibly, each written smaller class first.</summary>
public static class RandomPairs
{
    public static IReadOnlyList<(int A, int B)> Draw(int count, int classCount, ulong seed)
    {
        var all = new List<(int, int)>();
        for (int a = 0; a < classCount; a++)
            for (int b = a + 1; b < classCount; b++) all.Add((a, b));
        if (count < 1 || count > all.Count) throw new ArgumentOutOfRangeException(nameof(count), count, $"between 1 and {all.Count} pairs exist");
        // A partial Fisher-Yates shuffle with the project's own generator: the same seed draws the same pairs everywhere.
        var rng = new QaActors.Sampling.Rng(seed);
        for (int i = 0; i < count; i++)
        {
            int j = i + rng.NextInt(all.Count - i);
            (all[i], all[j]) = (all[j], all[i]);
        }
        return all.Take(count).ToList();
    }
}
