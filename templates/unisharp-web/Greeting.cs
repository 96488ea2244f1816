using System.Text.Json.Serialization;

namespace UnisharpWeb;

/// <summary>What GET /api/greeting/{name} answers: the greeting and the client's address.</summary>
internal sealed record Greeting(string Message, string Client);

[JsonSerializable(typeof(Greeting))]
internal sealed partial class AppJsonContext : JsonSerializerContext;
