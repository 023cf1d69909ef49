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

    public static (int A, int B) ParseClasses(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int a)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int b))
            throw new UsageException($"--classes '{text}' must be two class numbers separated by a comma, for example --classes 0,1.");
        if (a == b) throw new UsageException($"--classes '{text}' names the same class twice; give two different classes, for example --classes 0,1.");
        return (a, b);
    }

    /// <summary>"all" or a positive integer.</summary>
    public static int? ParseSize(string text, string flag)
    {
        if (string.Equals(text, "all", StringComparison.OrdinalIgnoreCase)) return null;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0) return n;
        throw new UsageException($"{flag} '{text}' must be a positive whole number or 'all'.");
    }

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
