using Unisharp.Cli.Apps;

namespace Unisharp.Cli.Commands;

/// <summary><c>unisharp targets</c>: lists the targets and whether this version builds them.</summary>
internal static class TargetsCommand
{
    public static int Execute()
    {
        foreach (string target in TargetCatalog.All)
        {
            string state = TargetCatalog.IsAvailable(target) ? "available  " : "not yet    ";
            Console.WriteLine($"{target,-12} {state} {TargetCatalog.Describe(target)}");
        }
        return 0;
    }
}
