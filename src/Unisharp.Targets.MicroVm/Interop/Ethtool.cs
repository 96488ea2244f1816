using System.Runtime.InteropServices;
using System.Text;

namespace Unisharp.Targets.MicroVm.Interop;

/// <summary>
/// A network interface's offload features through the ethtool ioctl (SIOCETHTOOL, &lt;linux/ethtool.h&gt;), by the names
/// <c>ethtool -k</c> shows (<c>tx-tcp-segmentation</c>, <c>rx-gro-hw</c>, ...): the guest has no ethtool program, and
/// the bit of a feature differs between kernels while its name does not.
/// </summary>
/// <remarks>
/// Any socket carries the ioctl, an AF_PACKET one included (the guest has no other family). Reading needs no
/// privilege; changing a feature needs CAP_NET_ADMIN, which init has.
/// </remarks>
internal sealed unsafe class Ethtool
{
    private const uint ETHTOOL_GSTRINGS = 0x1b;
    private const uint ETHTOOL_GSSET_INFO = 0x37;
    private const uint ETHTOOL_GFEATURES = 0x3a;
    private const uint ETHTOOL_SFEATURES = 0x3b;
    private const int ETH_SS_FEATURES = 4;
    private const int ETH_GSTRING_LEN = 32;

    /// <summary>Partial checksums completed by the card (NETIF_F_HW_CSUM).</summary>
    public const string TxChecksum = "tx-checksum-ip-generic";
    /// <summary>IPv4 TCP segments cut by the card (NETIF_F_TSO).</summary>
    public const string TxTcpSegmentation = "tx-tcp-segmentation";
    /// <summary>Large received segments joined by the card (NETIF_F_GRO_HW; virtio-net's guest TSO).</summary>
    public const string RxGroHw = "rx-gro-hw";
    /// <summary>Received checksums verified by the card (NETIF_F_RXCSUM).</summary>
    public const string RxChecksum = "rx-checksum";

    private readonly int _fd;
    private readonly string _interface;
    private readonly string[] _names;
    private uint[] _available = [];
    private uint[] _active = [];
    /// <summary>ETHTOOL_DEV_FEATURE_WORDS of the kernel, which ETHTOOL_SFEATURES wants exactly.</summary>
    private int _kernelWords;

    private Ethtool(int fd, string name, string[] names)
    {
        _fd = fd;
        _interface = name;
        _names = names;
    }

    /// <summary>Reads the feature names and states of interface <paramref name="name"/> through socket <paramref name="fd"/>.</summary>
    /// <exception cref="IOException">The kernel refused (no such interface, or no ethtool support).</exception>
    public static Ethtool Read(int fd, string name)
    {
        // struct ethtool_sset_info: cmd, reserved, u64 sset_mask, then one u32 count per set in the mask.
        var info = stackalloc uint[5];
        info[0] = ETHTOOL_GSSET_INFO;
        *(ulong*)(info + 2) = 1UL << ETH_SS_FEATURES;
        Call(fd, name, info, "ETHTOOL_GSSET_INFO");
        int count = (*(ulong*)(info + 2) & (1UL << ETH_SS_FEATURES)) != 0 ? (int)info[4] : 0;

        // struct ethtool_gstrings: cmd, string_set, len, then len names of 32 bytes each.
        byte[] strings = new byte[12 + (count * ETH_GSTRING_LEN)];
        fixed (byte* p = strings)
        {
            ((uint*)p)[0] = ETHTOOL_GSTRINGS;
            ((uint*)p)[1] = ETH_SS_FEATURES;
            ((uint*)p)[2] = (uint)count;
            Call(fd, name, p, "ETHTOOL_GSTRINGS");
        }
        var names = new string[count];
        for (int i = 0; i < count; i++)
        {
            var field = strings.AsSpan(12 + (i * ETH_GSTRING_LEN), ETH_GSTRING_LEN);
            int end = field.IndexOf((byte)0);
            names[i] = Encoding.ASCII.GetString(end < 0 ? field : field[..end]);
        }
        var ethtool = new Ethtool(fd, name, names);
        ethtool.Refresh();
        return ethtool;
    }

    /// <summary>The names of the features that are on, for logs.</summary>
    public IEnumerable<string> ActiveFeatures => _names.Where((_, i) => IsSet(_active, i));

    /// <summary>True when feature <paramref name="feature"/> is on.</summary>
    public bool IsActive(string feature) => Array.IndexOf(_names, feature) is int i and >= 0 && IsSet(_active, i);

    /// <summary>
    /// Turns feature <paramref name="feature"/> on or off, as <c>ethtool -K</c> does; true when it then is as asked
    /// (false when the card cannot change it, or the kernel refused).
    /// </summary>
    public bool TrySet(string feature, bool on)
    {
        int index = Array.IndexOf(_names, feature);
        if (index < 0)
        {
            return false;
        }
        if (IsSet(_active, index) == on)
        {
            return true;
        }
        if (!IsSet(_available, index))
        {
            return false;
        }
        // struct ethtool_sfeatures: cmd, size (the kernel's number of words), then { valid, requested } per word.
        int words = Math.Max(_kernelWords, (index / 32) + 1);
        var request = stackalloc uint[2 + (2 * words)];
        new Span<uint>(request, 2 + (2 * words)).Clear();
        request[0] = ETHTOOL_SFEATURES;
        request[1] = (uint)words;
        request[2 + (2 * (index / 32))] = 1u << (index % 32);
        request[3 + (2 * (index / 32))] = on ? 1u << (index % 32) : 0;
        var request2 = IfReq.Named(_interface);
        request2.Data = request;
        int result = Libc.Ioctl(_fd, IfReq.SIOCETHTOOL, &request2);
        if (result < 0)
        {
            return false;
        }
        Refresh();
        return IsSet(_active, index) == on;
    }

    private void Refresh()
    {
        // struct ethtool_gfeatures: cmd, size, then { available, requested, active, never_changed } per word.
        int words = (_names.Length + 31) / 32;
        uint[] buffer = new uint[2 + (4 * Math.Max(words, 1))];
        fixed (uint* p = buffer)
        {
            p[0] = ETHTOOL_GFEATURES;
            p[1] = (uint)Math.Max(words, 1);
            Call(_fd, _interface, p, "ETHTOOL_GFEATURES");
            // The kernel says how many words it has; it copied no more than we asked for.
            _kernelWords = (int)p[1];
            words = Math.Min(_kernelWords, Math.Max(words, 1));
        }
        _available = new uint[words];
        _active = new uint[words];
        for (int w = 0; w < words; w++)
        {
            _available[w] = buffer[2 + (4 * w)];
            _active[w] = buffer[2 + (4 * w) + 2];
        }
    }

    private static bool IsSet(uint[] words, int index) => index / 32 < words.Length && (words[index / 32] & (1u << (index % 32))) != 0;

    private static void Call(int fd, string name, void* command, string what)
    {
        var request = IfReq.Named(name);
        request.Data = command;
        if (Libc.Ioctl(fd, IfReq.SIOCETHTOOL, &request) < 0)
        {
            throw Libc.LastError($"{what} on '{name}'");
        }
    }
}
