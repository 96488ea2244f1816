namespace Unisharp.Hosting;

/// <summary>A boot argument or device option that is unknown or malformed: the unikernel stops with exit code 2.</summary>
public sealed class BootArgumentException(string message) : Exception(message);
