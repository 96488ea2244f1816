using Microsoft.Extensions.Hosting;

namespace Unisharp.AspNetCore;

/// <summary>
/// The host's lifetime is the unikernel's: the app stops (Kestrel drains its connections) when the unikernel is asked
/// to stop. It replaces the console lifetime, whose signal handlers would compete with the unikernel's own.
/// </summary>
internal sealed class UnikernelHostLifetime(CancellationToken stopping, IHostApplicationLifetime application) : IHostLifetime, IDisposable
{
    private CancellationTokenRegistration _registration;

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        _registration = stopping.Register(static state => ((IHostApplicationLifetime)state!).StopApplication(), application);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _registration.Dispose();
}
