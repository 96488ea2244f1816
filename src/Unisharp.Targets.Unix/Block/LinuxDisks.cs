// The unix target's disks are Unisharp.Linux's FileBlockDevice (O_DIRECT, io_uring, sysfs limits), shared with
// the microVM guest. UnixTarget.cs still imports this namespace; once that import reads `using Unisharp.Linux;`
// this file can go.
global using Unisharp.Linux;

namespace Unisharp.Targets.Unix.Block;
