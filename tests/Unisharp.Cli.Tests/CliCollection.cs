namespace Unisharp.Cli.Tests;

/// <summary>CLI tests build apps with NativeAOT: one at a time, on a two-core machine.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CliCollection : ICollectionFixture<BuiltExamples>
{
    public const string Name = "cli";
}
