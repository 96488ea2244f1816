namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>The app's arguments as one kernel command-line word, both ways, against hand-checked golden words.</summary>
public sealed class AppArgumentsWordTests
{
    public static TheoryData<string[], string> Golden => new()
    {
        { ["--count=4"], "unisharp.args=--count=4" },
        { ["--count=4", "--interval-ms=10"], "unisharp.args=--count=4,--interval-ms=10" },
        // Spaces, quotes, '%' and ',' are escaped; '=' and other printable ASCII stay readable.
        { ["--greeting=hello world"], "unisharp.args=--greeting=hello%20world" },
        { ["--greeting=\"hi, there\"", "--rate=50%"], "unisharp.args=--greeting=%22hi%2C%20there%22,--rate=50%25" },
        { ["--a=b=c", "--path=/x/y:z", "--q='s'"], "unisharp.args=--a=b=c,--path=/x/y:z,--q='s'" },
        // Tabs, newlines and non-ASCII as their UTF-8 bytes.
        { ["--name=héllo ✓", "--lines=a\tb\nc"], "unisharp.args=--name=h%C3%A9llo%20%E2%9C%93,--lines=a%09b%0Ac" },
        // Two words, as the app's own parser reads '--port 8080'.
        { ["--port", "8080"], "unisharp.args=--port,8080" },
        // Empty arguments survive too.
        { [""], "unisharp.args=" },
        { ["", "--x", ""], "unisharp.args=,--x," },
    };

    [Theory]
    [MemberData(nameof(Golden))]
    public void Encode_Arguments_GoldenWord(string[] arguments, string word)
    {
        Assert.Equal(word, AppArgumentsWord.Encode(arguments));
    }

    [Theory]
    [MemberData(nameof(Golden))]
    public void Decode_GoldenWord_GivesTheArguments(string[] arguments, string word)
    {
        Assert.Equal(arguments, AppArgumentsWord.Decode(word[AppArgumentsWord.Prefix.Length..]));
    }

    [Fact]
    public void Encode_NoArguments_NoWord()
    {
        Assert.Null(AppArgumentsWord.Encode([]));
    }

    [Fact]
    public void Encode_AnyText_SurvivesTheKernelsSplitAndDecodesBack()
    {
        string[] arguments = ["--a=\"quoted\" and spaced", "--b=\u00ff\u4e2d\U0001F600", "--c=%41,%%", "--d=\\ \\\"", "--e=\u0001\u007f"];
        string word = AppArgumentsWord.Encode(arguments)!;

        // One word, whatever the kernel's parser makes of spaces and quotes.
        Assert.Equal([word], KernelCommandLine.Split($" {word} "));
        Assert.All(word, c => Assert.InRange(c, '!', '~'));
        Assert.Equal(arguments, AppArgumentsWord.Decode(word[AppArgumentsWord.Prefix.Length..]));
    }

    [Fact]
    public void Decode_UnescapedUnicode_TakenAsItIs()
    {
        Assert.Equal(["--name=é"], AppArgumentsWord.Decode("--name=é"));
    }

    [Theory]
    [InlineData("--x=%")]
    [InlineData("--x=%4")]
    [InlineData("--x=%G1")]
    [InlineData("--x=%C3")]
    public void Decode_Malformed_ThrowsFormatException(string value)
    {
        Assert.Throws<FormatException>(() => AppArgumentsWord.Decode(value));
    }
}
