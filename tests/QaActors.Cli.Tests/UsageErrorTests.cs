namespace QaActors.Cli.Tests;

public class UsageErrorTests
{
    [Fact]
    public void UnknownOptionExitsWithCodeTwoAndSaysWhatIsWrong()
    {
        var r = QaProcess.Run(["--no-such-option"]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--no-such-option", r.Stderr);
        Assert.Equal("", r.Stdout);
    }
}
