using System.Text;

namespace UnisharpApp;

/// <summary>What the app says to each connection: kept apart from the network code so it is easy to test.</summary>
internal static class Greeter
{
    public static byte[] Greet(string name, string remote) =>
        Encoding.UTF8.GetBytes($"Hello, {name}! You are {remote}.\n");
}
