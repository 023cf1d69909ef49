using QaActors.DWave.Sapi;
using QaActors.DWave.Topology;

namespace QaActors.DWave.Structured;

/// <summary>
/// A sampler whose variables are the qubits of one solver (Ocean's <c>dimod.Structured</c> sampler, as
/// <c>DWaveSampler</c> is): it knows the solver's working graph and properties and samples problems stated on
/// that graph, nothing else. Logical problems reach it through the composites (embedding, tiling, temperature),
/// so each piece is testable alone: the SAPI solver (<see cref="SapiStructuredSampler"/>) and the simulator's
/// own QPU model both implement it. Implementations never block the caller's thread.
/// </summary>
public interface IStructuredSampler
{
    /// <summary>The solver's properties (name, qubits, couplers, ranges, timing data, topology).</summary>
    SolverInfo Solver { get; }

    /// <summary>The working graph (active qubits and couplers), with the lattice shape when the topology is known.</summary>
    Graph Target { get; }

    /// <summary>
    /// Samples a problem stated on the solver's qubits. The result's sample set is labelled by qubit and carries
    /// SAPI's timing (µs, including <c>qpu_access_time</c>) in its info.
    /// </summary>
    Task<QpuCallResult> SampleAsync(QpuProblem problem, QpuParameters parameters, CancellationToken cancellationToken = default);
}

/// <summary>
/// A structured sampler whose problems live on a server and can be looked up again by id: after a call lost track of
/// an accepted problem (<see cref="SapiException.InDoubt"/>), how much QPU time it used.
/// </summary>
public interface IProblemLookup
{
    /// <summary>The problem's qpu_access_time (µs) when it completed, 0 when it ended without an answer, null while unfinished.</summary>
    Task<double?> AccessTimeOfAsync(string problemId, CancellationToken cancellationToken = default);

    /// <summary>The ids of the problems submitted under <paramref name="label"/> (<see cref="SampleRequest.Label"/>) that the server still lists.</summary>
    Task<IReadOnlyList<string>> ProblemsLabelledAsync(string label, CancellationToken cancellationToken = default);
}

/// <summary>Helpers shared by the structured samplers.</summary>
public static class StructuredSamplers
{
    /// <summary>The lattice shape a solver's <c>topology</c> property names (none when it names none we know).</summary>
    public static LatticeShape ShapeOf(SolverInfo solver) => solver.TopologyType switch
    {
        "pegasus" when solver.TopologyShape.Length == 1 => new LatticeShape(LatticeKind.Pegasus, solver.TopologyShape[0]),
        "zephyr" when solver.TopologyShape.Length >= 1 => new LatticeShape(LatticeKind.Zephyr, solver.TopologyShape[0], solver.TopologyShape.Length > 1 ? solver.TopologyShape[1] : 4),
        _ => LatticeShape.None,
    };

    /// <summary>The solver's working graph from its qubits and couplers properties.</summary>
    public static Graph TargetOf(SolverInfo solver) => HardwareGraph.FromSolver(solver.Qubits, solver.Couplers, ShapeOf(solver));
}
