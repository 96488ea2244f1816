using Unisharp.Net.Tcp;

namespace Unisharp.Net.Wire;

/// <summary>Up to four SACK blocks (RFC 2018 §3), held inline so a header needs no array.</summary>
internal readonly record struct TcpSackBlocks
{
    public const int MaxCount = 4;

    private SeqNum _s0 { get; init; }
    private SeqNum _e0 { get; init; }
    private SeqNum _s1 { get; init; }
    private SeqNum _e1 { get; init; }
    private SeqNum _s2 { get; init; }
    private SeqNum _e2 { get; init; }
    private SeqNum _s3 { get; init; }
    private SeqNum _e3 { get; init; }

    public int Count { get; private init; }

    public (SeqNum Left, SeqNum Right) this[int index] => index switch
    {
        0 when Count > 0 => (_s0, _e0),
        1 when Count > 1 => (_s1, _e1),
        2 when Count > 2 => (_s2, _e2),
        3 when Count > 3 => (_s3, _e3),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    /// <summary>These blocks and one more after them; unchanged when already full.</summary>
    public TcpSackBlocks Add(SeqNum left, SeqNum right) => Count switch
    {
        0 => this with { _s0 = left, _e0 = right, Count = 1 },
        1 => this with { _s1 = left, _e1 = right, Count = 2 },
        2 => this with { _s2 = left, _e2 = right, Count = 3 },
        3 => this with { _s3 = left, _e3 = right, Count = 4 },
        _ => this,
    };

    /// <summary>The first <paramref name="count"/> blocks.</summary>
    public TcpSackBlocks Take(int count) => count >= Count ? this : count switch
    {
        <= 0 => default,
        1 => new TcpSackBlocks().Add(_s0, _e0),
        2 => new TcpSackBlocks().Add(_s0, _e0).Add(_s1, _e1),
        _ => new TcpSackBlocks().Add(_s0, _e0).Add(_s1, _e1).Add(_s2, _e2),
    };
}
