using Unisharp.Hosting;
using Unisharp.Net;

namespace Unisharp.Tests.Hosting;

public sealed class BootArgumentsTests
{
    private static readonly BootArgument<ushort> s_port = BootArgument.Port("port", 8080, "port");
    private static readonly BootArgument<bool> s_verify = BootArgument.Bool("verify", false, "verify");
    private static readonly BootArgument<int> s_count = BootArgument.Int("count", 4, "count", min: 0, max: 10);
    private static readonly BootArgument<Ipv4Cidr?> s_ipv4 = BootArgument.Ipv4Cidr("ipv4", "address");
    private static readonly BootArgument<string> s_name = BootArgument.String("name", "x", "name");
    private static readonly BootArgument[] s_all = [s_port, s_verify, s_count, s_ipv4, s_name];

    [Fact]
    public void Parse_NothingGiven_DefaultsEverywhere()
    {
        var args = BootArguments.Parse(s_all, []);
        Assert.Equal((ushort)8080, args.Get(s_port));
        Assert.False(args.Get(s_verify));
        Assert.Equal(4, args.Get(s_count));
        Assert.Null(args.Get(s_ipv4));
        Assert.False(args.IsGiven(s_port));
    }

    [Fact]
    public void Parse_EqualsAndSpaceForms_BothAccepted()
    {
        var args = BootArguments.Parse(s_all, ["--port=7", "--count", "9", "--ipv4=198.18.0.2/24", "--name", "echo"]);
        Assert.Equal((ushort)7, args.Get(s_port));
        Assert.Equal(9, args.Get(s_count));
        Assert.Equal(new Ipv4Cidr(new Ipv4Address(198, 18, 0, 2), 24), args.Get(s_ipv4));
        Assert.Equal("echo", args.Get(s_name));
        Assert.True(args.IsGiven(s_port));
    }

    [Theory]
    [InlineData("--verify", true)]
    [InlineData("--verify=true", true)]
    [InlineData("--verify=false", false)]
    [InlineData("--verify=0", false)]
    public void Parse_Flag_BareOrExplicit(string arg, bool expected) =>
        Assert.Equal(expected, BootArguments.Parse(s_all, [arg]).Get(s_verify));

    [Fact]
    public void Parse_FlagFollowedByArgument_DoesNotSwallowIt()
    {
        var args = BootArguments.Parse(s_all, ["--verify", "--port=1"]);
        Assert.True(args.Get(s_verify));
        Assert.Equal((ushort)1, args.Get(s_port));
    }

    [Theory]
    [InlineData(new[] { "--prot=80" }, "unknown boot argument '--prot' (did you mean --port?)")]
    [InlineData(new[] { "--bogus=1" }, "unknown boot argument '--bogus'")]
    [InlineData(new[] { "--port=70000" }, "invalid value '70000' for --port: expected a port number from 0 to 65535")]
    [InlineData(new[] { "--port=-1" }, "invalid value '-1' for --port: expected a port number from 0 to 65535")]
    [InlineData(new[] { "--count=11" }, "invalid value '11' for --count: expected an integer from 0 to 10")]
    [InlineData(new[] { "--count=four" }, "invalid value 'four' for --count: expected an integer from 0 to 10")]
    [InlineData(new[] { "--ipv4=198.18.0.2" }, "invalid value '198.18.0.2' for --ipv4: expected A.B.C.D/N")]
    [InlineData(new[] { "--ipv4=198.18.0.256/24" }, "invalid value '198.18.0.256/24' for --ipv4: expected A.B.C.D/N")]
    [InlineData(new[] { "--verify=maybe" }, "invalid value 'maybe' for --verify: expected true or false")]
    [InlineData(new[] { "--count" }, "--count needs a value (int)")]
    [InlineData(new[] { "port=1" }, "unexpected 'port=1': boot arguments look like --name=value")]
    [InlineData(new[] { "--" }, "unexpected '--': boot arguments look like --name=value")]
    public void Parse_BadInput_ClearError(string[] input, string message)
    {
        var e = Assert.Throws<BootArgumentException>(() => BootArguments.Parse(s_all, input));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Parse_SameNameDeclaredTwice_IsAProgrammingError() =>
        Assert.Throws<InvalidOperationException>(() => BootArguments.Parse([s_port, BootArgument.Port("port", 1, "again")], []));

    [Fact]
    public void Get_UndeclaredArgument_Throws()
    {
        var args = BootArguments.Parse([s_port], []);
        Assert.Throws<InvalidOperationException>(() => args.Get(s_count));
    }

    [Theory]
    [InlineData("")]
    [InlineData("--port")]
    [InlineData("a=b")]
    public void Declare_BadName_Throws(string name) =>
        Assert.Throws<ArgumentException>(() => BootArgument.Int(name, 0, "x"));
}
