using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Unisharp.Hosting;
using Unisharp.Logging;
using Unisharp.Net;

namespace Unisharp.AspNetCore;

/// <summary>Runs ASP.NET Core's Kestrel on the unikernel's TCP/IP stack.</summary>
public static class UnisharpWebHostBuilderExtensions
{
    /// <summary>
    /// Serves Kestrel's endpoints on the unikernel's stack (ours over TAP or virtio-net, or the host's sockets under
    /// <c>--net socket</c>) instead of Kestrel's socket transport, and stops the app when the unikernel is asked to stop:
    /// Kestrel stops accepting at once and lets requests in flight finish within the unikernel's grace period
    /// (<see cref="UnikernelContext.StopGracePeriod"/>, set with <see cref="UnikernelBuilder.StopGracePeriod"/>; the host's
    /// shutdown timeout is that less 2 s), then aborts what is left. Listen on IPv4: <c>options.Listen(IPAddress.Any, port)</c>.
    /// </summary>
    public static IWebHostBuilder UseUnisharp(this IWebHostBuilder builder, UnikernelContext context, Action<UnisharpTransportOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        builder.UseUnisharp(context.Stack, context.Log, configure);
        return builder.ConfigureServices(services =>
        {
            services.RemoveAll<IHostLifetime>();
            services.AddSingleton<IHostLifetime>(provider =>
                new UnikernelHostLifetime(context.Stopping, provider.GetRequiredService<IHostApplicationLifetime>()));
            services.Configure<HostOptions>(host => host.ShutdownTimeout = UnikernelHostLifetime.ShutdownTimeout(context.StopGracePeriod));
        });
    }

    /// <summary>
    /// Serves Kestrel's endpoints on <paramref name="stack"/> instead of Kestrel's socket transport; when the stack is
    /// the host's sockets, Kestrel's socket transport bound to the stack's address (see
    /// <see cref="UnisharpTransportOptions.KestrelSocketsOnHost"/>).
    /// </summary>
    public static IWebHostBuilder UseUnisharp(this IWebHostBuilder builder, IStack stack, Logger? log = null, Action<UnisharpTransportOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(stack);
        var options = new UnisharpTransportOptions();
        configure?.Invoke(options);
        return builder.ConfigureServices(services =>
        {
            // Only one: Kestrel would otherwise try the socket transport first for the same endpoints.
            services.RemoveAll<IConnectionListenerFactory>();
            if (stack.UsesHostSockets && options.KestrelSocketsOnHost)
            {
                services.AddSingleton<IConnectionListenerFactory>(provider => new HostSocketListenerFactory(
                    stack.Address, new SocketTransportFactory(Options.Create(new SocketTransportOptions()), provider.GetRequiredService<ILoggerFactory>()), log));
            }
            else
            {
                services.AddSingleton<IConnectionListenerFactory>(new UnisharpTransportFactory(stack, options, log));
            }
        });
    }
}
