namespace Unisharp.Fuzz;

/// <summary>A property a fuzz target checks did not hold: AFL records the input as a crash.</summary>
internal sealed class FuzzInvariantException(string message) : Exception(message);
