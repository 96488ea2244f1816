using Unisharp.Net.Wire;

namespace Unisharp.Net.Tests.Wire;

public class Ipv6HeaderChainTests
{
    private static Ipv6ChainError Walk(byte[] payload, IpProtocol first, out Ipv6HeaderChain chain, out byte code, out int pointer, out bool toMulticast) =>
        Ipv6HeaderChain.TryWalk(payload, first, out chain, out code, out pointer, out toMulticast);

    [Fact]
    public void TryWalk_CapturedMldReport_SkipsRouterAlertToIcmpv6()
    {
        byte[] payload = Ipv6Captures.MldReport.AsSpan(54).ToArray();
        Assert.Equal(Ipv6ChainError.None, Walk(payload, IpProtocol.Ipv6HopByHop, out var chain, out _, out _, out _));
        Assert.Equal(new Ipv6HeaderChain(IpProtocol.Icmpv6, 8, 40), chain);
    }

    [Fact]
    public void TryWalk_NoExtensionHeaders_PayloadAtZero()
    {
        Assert.Equal(Ipv6ChainError.None, Walk(new byte[8], IpProtocol.Udp, out var chain, out _, out _, out _));
        Assert.Equal(new Ipv6HeaderChain(IpProtocol.Udp, 0, 6), chain);
    }

    [Fact]
    public void Emit_RouterAlertHeader_MatchesCapture()
    {
        byte[] header = new byte[8];
        Mldv2Report.EmitRouterAlertHeader(header);
        Assert.Equal(Ipv6Captures.MldReport.AsSpan(54, 8).ToArray(), header);
    }

    [Theory]
    [InlineData(0x00, (int)Ipv6ChainError.None)]          // skip
    [InlineData(0x40, (int)Ipv6ChainError.Discard)]       // discard silently
    [InlineData(0x80, (int)Ipv6ChainError.ParameterProblem)]
    [InlineData(0xC0, (int)Ipv6ChainError.ParameterProblem)]
    public void TryWalk_UnknownDestinationOption_ActsOnHighBits(byte highBits, int expectedError)
    {
        var expected = (Ipv6ChainError)expectedError;
        // Destination options: next UDP, length 0 (8 bytes), option type highBits|0x1E with 4 data bytes.
        byte[] payload = [17, 0, (byte)(highBits | 0x1E), 4, 0, 0, 0, 0, 0, 0, 0, 0];
        Assert.Equal(expected, Walk(payload, IpProtocol.Ipv6DestinationOptions, out var chain, out byte code, out int pointer, out bool toMulticast));
        if (expected == Ipv6ChainError.ParameterProblem)
        {
            Assert.Equal(Ipv6HeaderChain.CodeUnrecognizedOption, code);
            Assert.Equal(42, pointer);
            Assert.Equal(highBits == 0x80, toMulticast);
        }
        else if (expected == Ipv6ChainError.None)
        {
            Assert.Equal(IpProtocol.Udp, chain.Protocol);
            Assert.Equal(8, chain.PayloadOffset);
        }
    }

    [Fact]
    public void TryWalk_HopByHopAfterAnotherHeader_UnrecognizedNextHeader()
    {
        byte[] payload = [0, 0, 1, 4, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0];
        Assert.Equal(Ipv6ChainError.ParameterProblem, Walk(payload, IpProtocol.Ipv6DestinationOptions, out _, out byte code, out int pointer, out _));
        Assert.Equal(Ipv6HeaderChain.CodeUnrecognizedNextHeader, code);
        Assert.Equal(40, pointer);
    }

    [Fact]
    public void TryWalk_RoutingType0WithSegmentsLeft_ParameterProblemAtType()
    {
        byte[] payload = [17, 2, 0, 1, 0, 0, 0, 0, .. new byte[16], 0, 0, 0, 0, 0, 0, 0, 0];
        Assert.Equal(Ipv6ChainError.ParameterProblem, Walk(payload, IpProtocol.Ipv6Routing, out _, out byte code, out int pointer, out _));
        Assert.Equal(Ipv6HeaderChain.CodeErroneousField, code);
        Assert.Equal(42, pointer);
    }

    [Fact]
    public void TryWalk_RoutingWithNoSegmentsLeft_Ignored()
    {
        byte[] payload = [17, 0, 4, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
        Assert.Equal(Ipv6ChainError.None, Walk(payload, IpProtocol.Ipv6Routing, out var chain, out _, out _, out _));
        Assert.Equal(new Ipv6HeaderChain(IpProtocol.Udp, 8, 40), chain);
    }

    [Fact]
    public void TryWalk_AtomicFragment_WalkedThrough()
    {
        byte[] payload = [17, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 1, 2, 3, 4, 5, 6, 7, 8];
        Assert.Equal(Ipv6ChainError.None, Walk(payload, IpProtocol.Ipv6Fragment, out var chain, out _, out _, out _));
        Assert.Equal(new Ipv6HeaderChain(IpProtocol.Udp, 8, 40), chain);
    }

    [Fact]
    public void TryWalk_FirstFragment_StopsAfterFragmentHeader()
    {
        byte[] payload = [58, 0, 0, 1, 0x12, 0x34, 0x56, 0x78, 1, 2, 3, 4, 5, 6, 7, 8];
        Assert.Equal(Ipv6ChainError.None, Walk(payload, IpProtocol.Ipv6Fragment, out var chain, out _, out _, out _));
        Assert.Equal(new Ipv6HeaderChain(IpProtocol.Icmpv6, 8, 40, true, 0, true, 0x12345678), chain);
    }

    [Fact]
    public void TryWalk_MoreFragmentsNotMultipleOf8_ParameterProblem()
    {
        byte[] payload = [58, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3];
        Assert.Equal(Ipv6ChainError.ParameterProblem, Walk(payload, IpProtocol.Ipv6Fragment, out _, out byte code, out int pointer, out _));
        Assert.Equal((0, 4), (code, pointer));
    }

    [Fact]
    public void TryWalk_HeaderPastEnd_Truncated()
    {
        byte[] payload = [17, 1, 1, 0, 0, 0, 0, 0];
        Assert.Equal(Ipv6ChainError.Truncated, Walk(payload, IpProtocol.Ipv6HopByHop, out _, out _, out _, out _));
    }

    [Fact]
    public void TryWalk_NoNextHeader_Discard()
    {
        Assert.Equal(Ipv6ChainError.Discard, Walk([], IpProtocol.Ipv6NoNextHeader, out _, out _, out _, out _));
    }
}
