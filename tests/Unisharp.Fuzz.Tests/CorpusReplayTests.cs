namespace Unisharp.Fuzz.Tests;

/// <summary>
/// The regression run of the fuzzers: every input under <c>fuzz/corpus/TARGET</c> (the seeds, what AFL kept with
/// <c>fuzz/run --save</c>, and each crash it found, named <c>crash-*</c>) through the target's entry point, without
/// AFL, so a parser that breaks again on an input it once failed on fails here.
/// </summary>
public class CorpusReplayTests
{
    public static TheoryData<string> Targets => [.. FuzzTargets.All.Keys];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Target_EveryCorpusInput_NoFailure(string target)
    {
        string[] inputs = Directory.GetFiles(Path.Combine(CorpusRoot(), target));

        Assert.NotEmpty(inputs);
        foreach (string input in inputs.Order(StringComparer.Ordinal))
        {
            var failure = Record.Exception(() => FuzzTargets.All[target](File.ReadAllBytes(input)));
            Assert.True(failure is null, $"{Path.GetFileName(input)}: {failure}");
        }
    }

    [Fact]
    public void Corpus_EveryTarget_HasItsFolder()
    {
        string[] folders = [.. Directory.GetDirectories(CorpusRoot()).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

        Assert.Equal(FuzzTargets.All.Keys.Order(StringComparer.Ordinal), folders);
    }

    [Theory]
    [InlineData("seed-ListenerExchange")]
    [InlineData("seed-ClientExchange")]
    public void Stack_HandshakeSeeds_ReachAConnection(string seed)
    {
        // The stateful target's peer model must get segments past the handshake, or AFL starts from nothing.
        FuzzTargets.All["stack"](File.ReadAllBytes(Path.Combine(CorpusRoot(), "stack", seed)));

        Assert.StartsWith("1 connections", StackRun.Summary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("seed-dnsmasq-svc", "svc.test: 1 addresses, 198.18.7.7 first (1 UDP and 0 TCP queries so far)\nsvc.test: 1 addresses, 198.18.7.7 first (1 UDP and 0 TCP queries so far)\n")]
    [InlineData("seed-dnsmasq-svc-later", "svc.test: 1 addresses, 198.18.7.7 first (1 UDP and 0 TCP queries so far)\nsvc.test: 1 addresses, 198.18.7.7 first (2 UDP and 0 TCP queries so far)\n")]
    [InlineData("seed-dnsmasq-alias-then-target", "alias.test: 1 addresses, 198.18.7.7 first (2 UDP and 0 TCP queries so far)\n")]
    [InlineData("seed-dnsmasq-many-tcp", "many.test: 40 addresses, 198.18.8.26 first (1 UDP and 1 TCP queries so far)\nmany.test: 40 addresses, 198.18.8.26 first (1 UDP and 1 TCP queries so far)\n")]
    [InlineData("seed-dnsmasq-nx", "nx.test: NameNotFound (1 UDP and 0 TCP queries so far)\nnx.test: NameNotFound (1 UDP and 0 TCP queries so far)\n")]
    public void DnsResolver_DnsmasqSeeds_ReachTheirAnswers(string seed, string expected)
    {
        // The resolver target's seeds must take it where they were captured for (cache, CNAME, TCP fallback, NXDOMAIN).
        FuzzTargets.All["dns-resolver"](File.ReadAllBytes(Path.Combine(CorpusRoot(), "dns-resolver", seed)));

        Assert.Equal(expected, DnsResolverTarget.Summary);
    }

    private static string CorpusRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string corpus = Path.Combine(dir.FullName, "fuzz", "corpus");
            if (Directory.Exists(corpus))
            {
                return corpus;
            }
        }
        throw new DirectoryNotFoundException($"no fuzz/corpus above {AppContext.BaseDirectory}");
    }
}
