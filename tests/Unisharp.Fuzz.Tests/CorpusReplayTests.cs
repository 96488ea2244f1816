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
