using System.Text.Json;
using System.Text.Json.Serialization;

namespace Unisharp.Cli.Apps;

/// <summary>
/// What <c>unisharp configure</c> records for an app in <c>unisharp.json</c>: the target, and the device
/// options and boot arguments <c>unisharp run</c> uses when none are given.
/// </summary>
internal sealed record AppConfiguration
{
    public const string FileName = "unisharp.json";

    public string Target { get; init; } = TargetCatalog.Default;

    /// <summary><c>tap:NAME</c> or <c>socket</c>; null for the target's default.</summary>
    public string? Net { get; init; }

    /// <summary><c>NAME=PATH[:ro]</c> entries.</summary>
    public List<string> Disks { get; init; } = [];

    public List<string> BootArguments { get; init; } = [];

    /// <summary><c>--file GUEST_PATH=HOST_PATH</c> values: files put into a microVM image.</summary>
    public List<string> Files { get; init; } = [];

    /// <summary><c>--publish</c> values: <c>[HOST_ADDR:]HOST_PORT:GUEST_PORT[/tcp|udp]</c>.</summary>
    public List<string> Publish { get; init; } = [];

    public static AppConfiguration? Load(string appDirectory)
    {
        string path = Path.Combine(appDirectory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), AppConfigurationJson.Default.AppConfiguration)
                ?? throw new CliException($"{path} is empty; run 'unisharp configure' again");
        }
        catch (JsonException e)
        {
            throw new CliException($"{path} is not valid: {e.Message}; run 'unisharp configure' again");
        }
    }

    public void Save(string appDirectory) =>
        File.WriteAllText(Path.Combine(appDirectory, FileName), JsonSerializer.Serialize(this, AppConfigurationJson.Default.AppConfiguration) + "\n");
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AppConfiguration))]
internal sealed partial class AppConfigurationJson : JsonSerializerContext;
