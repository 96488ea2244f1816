namespace Unisharp.Net.Ip;

/// <summary>
/// A token bucket for rate limits (RFC 1812 §4.3.2.8 and RFC 1122 §3.2.2 ask that ICMP errors be limited):
/// up to <c>capacity</c> events at once, refilled by one every <c>interval</c>.
/// </summary>
internal sealed class TokenBucket
{
    private readonly int _capacity;
    private readonly Duration _interval;
    private int _tokens;
    private Instant _lastRefill = Instant.Zero;
    private bool _started;

    public TokenBucket(int capacity, Duration interval)
    {
        _capacity = capacity;
        _interval = interval;
        _tokens = capacity;
    }

    public bool TryTake(Instant now)
    {
        if (!_started)
        {
            _started = true;
            _lastRefill = now;
        }
        if (now > _lastRefill && _interval > Duration.Zero)
        {
            long earned = (now - _lastRefill).Microseconds / _interval.Microseconds;
            if (earned > 0)
            {
                _tokens = (int)Math.Min(_capacity, _tokens + earned);
                _lastRefill += _interval * earned;
            }
        }
        if (_tokens == 0)
        {
            return false;
        }
        _tokens--;
        return true;
    }
}
