using System.Diagnostics;

namespace QaActors.Cli.Tests;

/// <summary>Runs the built `qa` command as a real process, the way users and scripts run it.</summary>
public static class QaProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>qa.dll is copied next to this test assembly by the project reference.</summary>
    public static string QaDll => Path.Combine(AppContext.BaseDirectory, "qa.dll");

    public static ProcessStartInfo StartInfo(IEnumerable<string> args, IDictionary<string, string>? env = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        psi.ArgumentList.Add(QaDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return psi;
    }

    public static Result Run(IEnumerable<string> args, IDictionary<string, string>? env = null, TimeSpan? timeout = null, string? workingDirectory = null)
    {
        var psi = StartInfo(args, env, workingDirectory);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"qa {string.Join(' ', args)} did not finish in time");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
