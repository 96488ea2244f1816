namespace Unisharp.Net.Tcp;

/// <summary>
/// A TCP sequence number: 32 bits that wrap, compared modulo 2^32 (RFC 9293 §3.4, RFC 1982), so
/// <c>a &lt; b</c> means "b is ahead of a by less than 2^31".
/// </summary>
internal readonly record struct SeqNum(uint Value) : IComparable<SeqNum>
{
    public static SeqNum operator +(SeqNum a, int n) => new(unchecked(a.Value + (uint)n));
    public static SeqNum operator -(SeqNum a, int n) => new(unchecked(a.Value - (uint)n));

    /// <summary>How far <paramref name="a"/> is ahead of <paramref name="b"/> (negative when behind).</summary>
    public static int operator -(SeqNum a, SeqNum b) => unchecked((int)(a.Value - b.Value));

    public static bool operator <(SeqNum a, SeqNum b) => a - b < 0;
    public static bool operator >(SeqNum a, SeqNum b) => a - b > 0;
    public static bool operator <=(SeqNum a, SeqNum b) => a - b <= 0;
    public static bool operator >=(SeqNum a, SeqNum b) => a - b >= 0;

    public static SeqNum Max(SeqNum a, SeqNum b) => a > b ? a : b;
    public static SeqNum Min(SeqNum a, SeqNum b) => a < b ? a : b;

    public int CompareTo(SeqNum other) => (this - other).CompareTo(0);

    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
