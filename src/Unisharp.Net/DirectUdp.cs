namespace Unisharp.Net;

/// <summary>UDP of the direct stack: binds ports in the interface's socket set.</summary>
internal sealed class DirectUdp(DirectStack stack) : IUdp
{
    public IUdpSocket Bind(ushort port)
    {
        stack.ThrowIfDisposed();
        var core = stack.Interface.Udp.Bind(port);
        return new DirectUdpSocket(stack, core);
    }
}
