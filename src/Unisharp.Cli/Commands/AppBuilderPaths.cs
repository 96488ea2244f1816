namespace Unisharp.Cli.Commands;

/// <summary>Paths as the user would type them: relative to the current directory when below it.</summary>
internal static class AppBuilderPaths
{
    public static string Relative(string path) => Building.AppBuilder.Relative(path);
}
