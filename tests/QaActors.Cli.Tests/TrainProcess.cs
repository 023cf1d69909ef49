using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace QaActors.Cli.Tests;

/// <summary>
/// A running `qa train --json`: stdout (the report) is collected, and every stderr line is kept with the time it was
/// read, so a test can act when a given step has been persisted ("qa: step k/N persisted") and time the steps.
/// </summary>
public sealed class TrainProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stdout;
    private readonly Task _stderrPump;
    private readonly List<(TimeSpan At, string Line)> _lines = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _lastStep;

    private TrainProcess(Process process)
    {
        _process = process;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _stderrPump = Task.Run(async () =>
        {
            string? line;
            while ((line = await process.StandardError.ReadLineAsync().ConfigureAwait(false)) != null)
            {
                var m = Regex.Match(line, @"^qa: step (\d+)/\d+ persisted");
                lock (_lines)
                {
                    _lines.Add((_clock.Elapsed, line));
                    if (m.Success) _lastStep = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                    Monitor.PulseAll(_lines);
                }
            }
            lock (_lines) Monitor.PulseAll(_lines);
        });
    }

    public static TrainProcess Start(IEnumerable<string> args, IDictionary<string, string> env) =>
        new(Process.Start(QaProcess.StartInfo(["train", .. args, "--json"], env)) ?? throw new InvalidOperationException("could not start dotnet"));

    /// <summary>Time since start at which each step was reported persisted, by step.</summary>
    public IReadOnlyDictionary<int, TimeSpan> StepTimes()
    {
        lock (_lines)
        {
            var d = new Dictionary<int, TimeSpan>();
            foreach (var (at, line) in _lines)
            {
                var m = Regex.Match(line, @"^qa: step (\d+)/\d+ persisted");
                if (m.Success) d[int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)] = at;
            }
            return d;
        }
    }

    public string Stderr
    {
        get
        {
            lock (_lines)
            {
                var sb = new StringBuilder();
                foreach (var (at, line) in _lines) sb.Append(at.TotalSeconds.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)).Append(' ').AppendLine(line);
                return sb.ToString();
            }
        }
    }

    /// <summary>Waits until step <paramref name="step"/> is persisted; false if the process ended or the time ran out first.</summary>
    public bool WaitForStep(int step, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        lock (_lines)
        {
            while (_lastStep < step)
            {
                if (_stderrPump.IsCompleted) return false;
                var left = until - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return false;
                Monitor.Wait(_lines, left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
            }
            return true;
        }
    }

    /// <summary>Waits for the end; the exit code and the JSON report (null when stdout is not one).</summary>
    public (int ExitCode, JsonNode? Report, string Stdout) WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"qa train did not finish within {timeout}; stderr:\n{Stderr}");
        }
        _process.WaitForExit(); // drains the redirected streams
        _stderrPump.Wait(TimeSpan.FromSeconds(10));
        string stdout = _stdout.Result;
        JsonNode? report = null;
        try { report = JsonNode.Parse(stdout); }
        catch (System.Text.Json.JsonException) { report = null; } // reported by the caller with stdout and stderr
        return (_process.ExitCode, report, stdout);
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
        _process.Dispose();
    }
}
