using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using QaActors.Cli.Commands;
using QaActors.Sampling;

namespace QaActors.Cli;

/// <summary>Bad input from the user: the message names the input and the fix; the process exits with code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>A finished run whose files could not be written; the message says what is kept and how to recover.</summary>
public sealed class OutputWriteException(string message, Exception inner) : Exception(message, inner);

public static class Cli
{
    private const int PipeWidth = 240;

    public const int ExitOk = 0, ExitFailure = 1, ExitUsage = 2, ExitInterrupted = 130;

    public static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The process's real standard output. With --json it carries the JSON document and nothing else.</summary>
    private static TextWriter _stdout = Console.Out;

    public static async Task<int> RunAsync(RootCommand root, string[] args)
    {
        if (args.Contains("--json"))
        {
            // Libraries (Akka's logger, progress output) write to Console.Out; with --json that would corrupt the
            // document, so everything but the document goes to stderr.
            _stdout = Console.Out;
            Console.SetOut(Console.Error);
        }
        // Piped output has no terminal width; Spectre then assumes 80 columns and wraps table cells, splitting the
        // experiment ids people copy. A pipe gets whole rows instead.
        if (Console.IsOutputRedirected && Spectre.Console.AnsiConsole.Profile.Width < PipeWidth) Spectre.Console.AnsiConsole.Profile.Width = PipeWidth;
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One line per error, each ending with where the options are listed.
            foreach (var error in parse.Errors) Console.Error.WriteLine($"qa: {Friendly(error.Message)} (--help lists the options)");
            return ExitUsage;
        }
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
        // SIGTERM (kill, a service manager, a script's cleanup trap) stops a command the way Ctrl-C does: a training
        // keeps its persisted steps, a server closes its port. Without this, `qa sapi-sim` ignored SIGTERM.
        using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            cts.Cancel();
        });
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }, cts.Token);
        }
        catch (Exception e) when (CommandCatalog.UsageLine(e) is string line)
        {
            Console.Error.WriteLine($"qa: {line}");
            return ExitUsage;
        }
        catch (Exception e) when (IsUsage(e))
        {
            Console.Error.WriteLine($"qa: {e.Message}");
            return ExitUsage;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Console.Error.WriteLine($"qa: interrupted; {InterruptNote?.Invoke() ?? "nothing was saved."}");
            return ExitInterrupted;
        }
        catch (Exception e)
        {
            // A failure that is not the user's input (an outage, a bug): say what failed; QA_DEBUG=1 adds the stack.
            Console.Error.WriteLine($"qa: failed: {e.Message}");
            for (var inner = e.InnerException; inner != null; inner = inner.InnerException) Console.Error.WriteLine($"qa:   caused by: {inner.Message}");
            if (CommandCatalog.Hint(e) is string hint) Console.Error.WriteLine($"qa: {hint}.");
            if (Environment.GetEnvironmentVariable("QA_DEBUG") == "1") Console.Error.WriteLine(e);
            return ExitFailure;
        }
    }

    /// <summary>
    /// What an interrupted command has kept and how to continue, set by the command while it runs (a training
    /// knows its last persisted step and its experiment id); null: nothing was saved.
    /// </summary>
    public static Func<string>? InterruptNote { get; set; }

    private static readonly Dictionary<string, string> TypeWords = new(StringComparer.Ordinal)
    {
        ["System.Int32"] = "an integer", ["System.Int64"] = "an integer", ["System.UInt64"] = "a whole number 0 or more",
        ["System.Double"] = "a number", ["System.Boolean"] = "true or false",
    };

    /// <summary>System.CommandLine names .NET types ("expected type 'System.Int32'"); users need the word for it.</summary>
    internal static string Friendly(string message) =>
        System.Text.RegularExpressions.Regex.Replace(message, @"as expected type '(?:System\.Nullable`1\[)?(System\.[A-Za-z0-9]+)\]?'\.?",
            m => "as " + (TypeWords.TryGetValue(m.Groups[1].Value, out var w) ? w : "the expected kind of value") + ".");

    /// <summary>Failures caused by what the user gave us (files, flags, data), as opposed to bugs or outages.</summary>
    private static bool IsUsage(Exception e) => e is UsageException or Client.ServerRefusedException || CommandCatalog.IsUsageError(e);

    public static void WriteJson(JsonNode node)
    {
        _stdout.WriteLine(node.ToJsonString(JsonOptions));
        _stdout.Flush();
    }
}
