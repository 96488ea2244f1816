using Microsoft.Extensions.Hosting;

namespace Unisharp.AspNetCore;

/// <summary>
/// The host's lifetime is the unikernel's: the app stops (Kestrel drains its connections) when the unikernel is asked
/// to stop. It replaces the console lifetime, whose signal handlers would compete with the unikernel's own.
/// </summary>
internal sealed class UnikernelHostLifetime(CancellationToken stopping, IHostApplicationLifetime application) : IHostLifetime, IDisposable
{
    private CancellationTokenRegistration _registration;

    /// <summary>
    /// The host's shutdown timeout (<see cref="HostOptions.ShutdownTimeout"/>, how long Kestrel lets requests in flight
    /// finish before it aborts their connections) for the unikernel's grace period: the grace period less what the app
    /// needs after Kestrel has stopped (the host's disposal, the return from the app), 2 s or half of a shorter one.
    /// Kestrel's own default of 30 s would outlast a 5 s grace period, and the unikernel would exit under a request.
    /// </summary>
    internal static TimeSpan ShutdownTimeout(TimeSpan gracePeriod)
    {
        if (gracePeriod <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }
        var margin = TimeSpan.FromSeconds(2);
        return gracePeriod - (gracePeriod / 2 < margin ? gracePeriod / 2 : margin);
    }

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        _registration = stopping.Register(static state => ((IHostApplicationLifetime)state!).StopApplication(), application);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _registration.Dispose();
}
