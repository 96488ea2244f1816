using System.Text.Json;
using System.Text.Json.Serialization;

namespace AspNetExample;

/// <summary>JSON through source generation: no reflection, so NativeAOT and trimming keep what is needed.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(Item[]))]
internal sealed partial class AppJsonContext : JsonSerializerContext;
