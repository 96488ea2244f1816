using System.Runtime.CompilerServices;
using Unisharp.Simulation;

namespace Unisharp.Net.Tests.Simulation;

/// <summary>Runs a simulation test body; when it fails, writes the network's capture next to the test output and says where.</summary>
internal static class PcapOnFailure
{
    public static void Run(SimulatedNetwork network, Action body, [CallerMemberName] string test = "")
    {
        try
        {
            body();
        }
        catch (Exception e)
        {
            string path = Path.Combine(Path.GetTempPath(), "unisharp-net-tests", $"{test}.pcap");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            network.WritePcap(path);
            throw new Xunit.Sdk.XunitException($"{e.Message}\n(capture of the simulated network: {path})\n{e}");
        }
    }
}
