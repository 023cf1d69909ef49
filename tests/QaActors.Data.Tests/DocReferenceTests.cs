using System.Text.RegularExpressions;

namespace QaActors.Data.Tests;

/// <summary>
/// Comments and scripts may only point to documents a user of the repository has: the project's own docs/
/// (docs/math.md, docs/architecture.md, docs/operations.md, docs/dwave.md) or public sources. Background notes that lived outside the
/// repository while it was written are not shipped, so a reference to them is a dead end for every reader.
/// </summary>
public class DocReferenceTests
{
    // Built from pieces so that this file does not match its own patterns.
    private static readonly string[] Forbidden =
    [
        ".." + "/shared",
        "akka" + "-notes",
        "dwave-sapi" + "-and-ocean",
        "peers-and" + "-anchors",
        "design" + "-anchors",
        "shared fact" + " sheet",
    ];

    // The project's own page is always named with its folder (docs/math.md); a bare file name meant the outside notes.
    private static readonly Regex BareMathMd = new(@"(?<![\w/])math\.md", RegexOptions.CultureInvariant);

    private static readonly string[] Scanned = ["src", "tests", "bench", "hocon", "deploy"];
    private static readonly string[] TextExtensions = [".cs", ".conf", ".sh", ".csproj", ".props", ".json", ".md", ".txt", ".xml"];

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "QaActors.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no QaActors.sln above {AppContext.BaseDirectory}: run the tests from a checkout of the repository");
    }

    private static IEnumerable<string> TextFiles(string root) =>
        Scanned.Select(d => Path.Combine(root, d)).Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories))
            .Where(f => TextExtensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .Where(f => !Path.GetRelativePath(root, f).Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj"));

    /// <summary>Every offending line as "path:line: text".</summary>
    public static IReadOnlyList<string> Offences(string root, IEnumerable<string> files)
    {
        var found = new List<string>();
        foreach (var file in files)
        {
            int n = 0;
            foreach (var line in File.ReadLines(file))
            {
                n++;
                if (Forbidden.Any(f => line.Contains(f, StringComparison.OrdinalIgnoreCase)) || BareMathMd.IsMatch(line))
                    found.Add($"{Path.GetRelativePath(root, file)}:{n}: {line.Trim()}");
            }
        }
        return found;
    }

    [Fact]
    public void No_comment_or_script_points_outside_the_repository()
    {
        string root = RepositoryRoot();
        var files = TextFiles(root).ToList();
        Assert.True(files.Count > 100, $"only {files.Count} files found under {root}; is this the repository?");
        var offences = Offences(root, files);
        Assert.True(offences.Count == 0,
            "these lines cite notes that are not part of the repository; point them to docs/*.md instead:\n" + string.Join("\n", offences));
    }

    [Fact]
    public void The_check_recognises_each_kind_of_outside_reference()
    {
        using var dir = new TempDir();
        string ok = dir.File("ok.cs"), bad = dir.File("bad.cs");
        File.WriteAllLines(ok, ["// see docs/math.md, \"Temperature\"", "// docs/architecture.md, \"Persistence\"", "// mathematics"]);
        var badLines = Forbidden.Select(f => $"// as in {f} §1").Append("// the formula of " + "math" + ".md").ToArray();
        File.WriteAllLines(bad, badLines);
        Assert.Empty(Offences(dir.Path, [ok]));
        Assert.Equal(badLines.Length, Offences(dir.Path, [bad]).Count);
    }
}
