using System.CommandLine;

namespace QaActors.Cli.Commands;

public static class DataCommand
{
    public static Command Create()
    {
        var data = new Command("data", "Fetch and inspect the datasets (MNIST, Fashion-MNIST) in the local cache.");
        return data;
    }
}
