using Spectre.Console;

namespace Unisharp.Cli;

/// <summary>
/// Progress on long steps: a spinner with the elapsed time on a terminal, plain lines otherwise (CI, logs),
/// always on standard error so a verb's real output stays clean.
/// </summary>
internal static class Progress
{
    private static readonly IAnsiConsole s_console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });

    public static bool Interactive => !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("CI") is null;

    public static void Info(string message) => Console.Error.WriteLine($"unisharp: {message}");

    public static async Task<T> StepAsync<T>(string title, Func<Action<string>, Task<T>> work)
    {
        if (!Interactive)
        {
            Info(title + " ...");
            return await work(Info).ConfigureAwait(false);
        }
        var started = DateTime.UtcNow;
        return await s_console.Status().Spinner(Spinner.Known.Dots).StartAsync(Markup.Escape(title), async ctx =>
        {
            using var timer = new Timer(_ => ctx.Status($"{Markup.Escape(title)} [grey]{(DateTime.UtcNow - started).TotalSeconds:0}s[/]"), null, 1000, 1000);
            return await work(line => s_console.MarkupLine($"[grey]unisharp: {Markup.Escape(line)}[/]")).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }
}
