using BenchmarkDotNet.Running;

// `dotnet run -c Release --project bench/QaActors.Benchmarks -- --filter '*'` runs the BenchmarkDotNet suites;
// `-- quick` runs the one-shot kernels that print figures in the units of the reference kernels' run-reference (docs/operations.md, "Benchmarks").
if (args.Length > 0 && args[0] == "quick")
{
    return QaActors.Benchmarks.Quick.Run(args.Skip(1).ToArray());
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
