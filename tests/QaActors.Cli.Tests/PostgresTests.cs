namespace QaActors.Cli.Tests;

/// <summary>
/// PostgreSQL by configuration alone: the same `qa train` with `--db` set to a PostgreSQL connection string persists
/// there and `qa experiment list` reads it back. CI (.ci/run) starts PostgreSQL on 127.0.0.1 and sets QA_TEST_POSTGRES.
/// </summary>
public class PostgresTests
{
    [Fact]
    public void TrainingPersistsToPostgresqlByConfigurationAlone()
    {
        string? cs = Environment.GetEnvironmentVariable("QA_TEST_POSTGRES");
        if (string.IsNullOrEmpty(cs))
        {
            // On a developer machine without PostgreSQL there is nothing to test against; CI must have it.
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "CI must set QA_TEST_POSTGRES (see .ci/run)");
            return;
        }
        string root = Directory.CreateTempSubdirectory("qa-pg").FullName;
        try
        {
            string outDir = Path.Combine(root, $"pg-{Guid.NewGuid():N}");
            var train = QaProcess.Run(["train", "--dataset", "mnist", "--classes", "0,1", "--method", "gibbs", "--hidden", "16",
                "--train-size", "10", "--test-size", "20", "--steps", "3", "--reads", "10", "--sweeps", "20", "--out", outDir, "--db", cs, "--json"]);
            Assert.True(train.ExitCode == 0, train.Stderr);
            string id = System.Text.Json.Nodes.JsonNode.Parse(train.Stdout)!["experiment_id"]!.GetValue<string>();
            var list = QaProcess.Run(["experiment", "show", id, "--db", cs, "--json"]);
            Assert.True(list.ExitCode == 0, list.Stderr);
            var shown = System.Text.Json.Nodes.JsonNode.Parse(list.Stdout)!;
            Assert.Equal(3, (long)shown["last_step"]!);
            Assert.True((bool)shown["completed"]!);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
