using System.CommandLine;
using QaActors.Cli;
using QaActors.Cli.Commands;

var root = new RootCommand("qa: train multilayer perceptrons by sampling (exact, block Gibbs, simulated annealing, D-Wave QPU) on an Akka.NET cluster.");
foreach (var command in CommandCatalog.All()) root.Add(command);
return await Cli.RunAsync(root, args);
