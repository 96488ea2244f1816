namespace Unisharp.Net.Tests.Fuzz;

/// <summary>
/// Tests that compare the process's heap before and after a run: they never share the process with another
/// running test, whose allocations would count as theirs.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurement
{
    public const string Name = "memory measurement";
}
