namespace Unisharp.Tests.Hosting;

/// <summary>Runs code with the process's standard output and error captured; tests using it never run in parallel.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCapture
{
    public const string Name = "console";

    private static readonly Lock s_lock = new();

    public static (int Code, string Stdout, string Stderr) Run(Func<int> action)
    {
        lock (s_lock)
        {
            var (oldOut, oldErr) = (Console.Out, Console.Error);
            var (stdout, stderr) = (new StringWriter(), new StringWriter());
            Console.SetOut(stdout);
            Console.SetError(stderr);
            try
            {
                int code = action();
                return (code, stdout.ToString(), stderr.ToString());
            }
            finally
            {
                Console.SetOut(oldOut);
                Console.SetError(oldErr);
            }
        }
    }
}
