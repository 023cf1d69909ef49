namespace QaActors.Benchmarks;

/// <summary>
/// One-shot measurements printed in the same units as the reference kernels, so a script can divide the two.
/// Each kernel file registers itself with <see cref="Add"/> from a [ModuleInitializer]; `quick NAME` runs one, `quick` all.
/// </summary>
public static class Quick
{
    private static readonly Dictionary<string, Func<string[], string>> Kernels = new(StringComparer.Ordinal);

    public static void Add(string name, Func<string[], string> run) => Kernels.Add(name, run);

    public static int Run(string[] args)
    {
        var names = args.Length > 0 ? args : Kernels.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
        foreach (var name in names)
        {
            if (!Kernels.TryGetValue(name, out var run))
            {
                Console.Error.WriteLine($"unknown kernel '{name}'; known: {string.Join(", ", Kernels.Keys)}");
                return 2;
            }
            Console.WriteLine(run(args));
        }
        return 0;
    }
}
