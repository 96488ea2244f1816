using System.Runtime.InteropServices;
using Unisharp.Devices;
using Unisharp.Targets.MicroVm.Interop;

namespace Unisharp.Targets.MicroVm.Guest;

/// <summary>The guest kernel's random source through getrandom(2), which needs neither /dev nor OpenSSL.</summary>
internal sealed unsafe class GuestEntropy : IEntropy
{
    public void Fill(Span<byte> destination)
    {
        fixed (byte* start = destination)
        {
            int done = 0;
            while (done < destination.Length)
            {
                nint n = Libc.GetRandom(start + done, (nuint)(destination.Length - done), 0);
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == Libc.EINTR)
                    {
                        continue;
                    }
                    throw Libc.LastError("getrandom");
                }
                done += (int)n;
            }
        }
    }
}
