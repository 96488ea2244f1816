namespace Unisharp.Simulation;

/// <summary>
/// How the link from a <see cref="SimulatedDevice"/> to the virtual switch treats the frames the device
/// sends. The default is a perfect link: no loss, no delay, unlimited bandwidth.
/// </summary>
/// <param name="Loss">Probability in [0, 1] that a frame is lost on the wire.</param>
/// <param name="Duplicate">Probability in [0, 1] that a frame arrives twice.</param>
/// <param name="Reorder">
/// Probability in [0, 1] that a frame is held back by one extra <paramref name="Latency"/> (at least 1 ms),
/// so frames sent after it overtake it. Without this the link keeps frames in order, even with jitter.
/// </param>
/// <param name="Latency">The fixed one-way delay to the switch.</param>
/// <param name="Jitter">An extra delay drawn uniformly from [0, <paramref name="Jitter"/>] per frame.</param>
/// <param name="BitsPerSecond">The link's bandwidth; frames queue behind each other on the wire. 0 is unlimited.</param>
public readonly record struct LinkConditions(
    double Loss = 0,
    double Duplicate = 0,
    double Reorder = 0,
    Duration Latency = default,
    Duration Jitter = default,
    long BitsPerSecond = 0)
{
    /// <summary>Throws when a probability is outside [0, 1] or a delay or bandwidth is negative.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public void Validate()
    {
        CheckProbability(Loss, nameof(Loss));
        CheckProbability(Duplicate, nameof(Duplicate));
        CheckProbability(Reorder, nameof(Reorder));
        if (Latency < Duration.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Latency), Latency, "Latency must not be negative.");
        }
        if (Jitter < Duration.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Jitter), Jitter, "Jitter must not be negative.");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(BitsPerSecond);
    }

    private static void CheckProbability(double value, string name)
    {
        if (!(value >= 0 && value <= 1))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} is a probability and must be between 0 and 1.");
        }
    }
}
