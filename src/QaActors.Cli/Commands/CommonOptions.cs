using System.CommandLine;
using System.Globalization;

namespace QaActors.Cli.Commands;

/// <summary>Options shared by several commands, with parsing that names the flag and the fix on bad input.</summary>
public static class CommonOptions
{
    public static Option<bool> Json() => new("--json") { Description = "Print one JSON document on stdout and nothing else." };

    public static Option<string?> DataDir() => new("--data-dir")
    {
        Description = "Dataset cache folder (default: $QA_DATA_DIR, else ~/.cache/qaactors).",
    };

    public static Option<string> Dataset(bool required = true) => new("--dataset")
    {
        Description = "mnist | fashion-mnist | idx:PATH (a folder with the standard IDX files).",
        Required = required,
    };

    public static Option<string> Classes() => new("--classes")
    {
        Description = "Two classes A,B: A gets label 0, B label 1 (for example 0,1).",
        Required = true,
    };

    public static Option<string?> Db() => new("--db")
    {
        Description = "Journal: a PostgreSQL connection string or a SQLite file (default SQLite qa.db in the data dir).",
    };

    public static Option<string?> ActorConfig() => new("--config") { Description = "HOCON file overriding the defaults in hocon/." };

    /// <summary>Where the actor system keeps its journal and which configuration it loads, as every actor-backed command takes it.</summary>
    public static QaActors.Orchestration.RunOptions Store(ParseResult pr, Option<string?> db, Option<string?> config, Option<string?> dataDir, string? outPath = null) => new()
    {
        Db = pr.GetValue(db),
        ConfigFile = pr.GetValue(config),
        DataDir = new QaActors.Data.DataStore(pr.GetValue(dataDir)).Root,
        OutPath = outPath,
        ExtraHocon = TrainCommand.AkkaLogLevelOverride,
        HostDefaultsHocon = TrainCommand.QuietAkka,
    };

    public static void RequireRange(double value, string flag, double lo, double hi, bool loOpen = false)
    {
        bool ok = double.IsFinite(value) && (loOpen ? value > lo : value >= lo) && value <= hi;
        if (!ok) throw new UsageException($"{flag} {value.ToString(CultureInfo.InvariantCulture)} is out of range; allowed {(loOpen ? "(" : "[")}{lo.ToString(CultureInfo.InvariantCulture)}, {hi.ToString(CultureInfo.InvariantCulture)}].");
    }

    public static void RequireRange(int value, string flag, int lo, int hi)
    {
        if (value < lo || value > hi) throw new UsageException($"{flag} {value} is out of range; allowed {lo}..{hi}.");
    }
}
