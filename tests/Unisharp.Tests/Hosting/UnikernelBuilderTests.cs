using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Logging;

namespace Unisharp.Tests.Hosting;

/// <summary>The host's behaviour around an app, with a target that hands out in-memory devices.</summary>
[Collection(ConsoleCapture.Name)]
public sealed class UnikernelBuilderTests
{
    [Fact]
    public void Run_AppReturnsCode_BecomesExitCode()
    {
        var target = new FakeTarget();
        var builder = new UnikernelBuilder([], "t", target);
        var (code, _, _) = ConsoleCapture.Run(() => builder.Run(_ => Task.FromResult(42)));
        Assert.Equal(42, code);
        Assert.True(target.Disposed);
    }

    [Fact]
    public void Run_ArgumentsReachTheApp_AfterDeviceOptionsAreTaken()
    {
        var target = new FakeTarget();
        var builder = new UnikernelBuilder(["--fake-device", "--port=9"], "t", target);
        var port = builder.Argument(BootArgument.Port("port", 1, "p"));
        ushort seen = 0;
        var (code, _, _) = ConsoleCapture.Run(() => builder.Run(ctx => { seen = ctx.Get(port); return Task.CompletedTask; }));
        Assert.Equal(0, code);
        Assert.Equal((ushort)9, seen);
        Assert.True(target.SawDeviceOption);
    }

    [Fact]
    public void Run_BadBootArgument_OneLineErrorAndExit2()
    {
        var builder = new UnikernelBuilder(["--prot=9"], "t", new FakeTarget());
        builder.Argument(BootArgument.Port("port", 1, "p"));
        bool ran = false;
        var (code, stdout, stderr) = ConsoleCapture.Run(() => builder.Run(_ => { ran = true; return Task.CompletedTask; }));
        Assert.Equal(UnikernelBuilder.UsageExitCode, code);
        Assert.False(ran);
        Assert.Equal("t: error: unknown boot argument '--prot' (did you mean --port?) (see --help)", stderr.Trim());
        Assert.Empty(stdout);
    }

    [Fact]
    public void Run_BadLogLevel_Exit2()
    {
        var (code, _, stderr) = ConsoleCapture.Run(() => new UnikernelBuilder(["--log-level=loud"], "t", new FakeTarget()).Run(_ => Task.CompletedTask));
        Assert.Equal(2, code);
        Assert.Contains("--log-level", stderr);
    }

    [Fact]
    public void Run_Help_ListsDeviceOptionsAndArgumentsWithDefaults()
    {
        var builder = new UnikernelBuilder(["--help"], "t", new FakeTarget());
        builder.Argument(BootArgument.Port("port", 7, "The port to echo on."));
        builder.UseStack();
        var (code, stdout, _) = ConsoleCapture.Run(() => builder.Run(_ => throw new InvalidOperationException("must not run")));
        Assert.Equal(0, code);
        Assert.Contains("Usage: t [device options] [boot arguments]", stdout);
        Assert.Contains("--fake-device", stdout);
        Assert.Contains("--port=port", stdout);
        Assert.Contains("The port to echo on. [default: 7]", stdout);
        Assert.Contains("--ipv4=A.B.C.D/N", stdout);
        Assert.Contains("--log-level", stdout);
    }

    [Fact]
    public void Run_Help_NamesTheDisks()
    {
        var builder = new UnikernelBuilder(["--help"], "t", new FakeTarget()).UseBlock("0", "The disk read.").UseBlock("1");
        var (code, stdout, _) = ConsoleCapture.Run(() => builder.Run(_ => throw new InvalidOperationException("must not run")));
        Assert.Equal(0, code);
        Assert.Contains("Disks (each given as --disk NAME=PATH):", stdout);
        Assert.Matches(@"\n  0 +The disk read\.\n  1 *\n", stdout.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Run_AppThrows_Exit1AndLogged()
    {
        var (code, _, stderr) = ConsoleCapture.Run(() =>
            new UnikernelBuilder([], "t", new FakeTarget()).Run(_ => throw new InvalidDataException("boom")));
        Assert.Equal(1, code);
        Assert.Contains("the app failed: InvalidDataException: boom", stderr);
    }

    [Fact]
    public void Run_DiskTheTargetLacks_Exit2()
    {
        var builder = new UnikernelBuilder([], "t", new FakeTarget()).UseBlock("0");
        var (code, _, stderr) = ConsoleCapture.Run(() => builder.Run(_ => Task.CompletedTask));
        Assert.Equal(2, code);
        Assert.Contains("needs disk '0'", stderr);
    }

    [Fact]
    public void Run_NoTargetLinked_Exit2WithAdvice()
    {
        var (code, _, stderr) = ConsoleCapture.Run(() => new UnikernelBuilder([], "t", null).Run(_ => Task.CompletedTask));
        Assert.Equal(2, code);
        Assert.Contains("unisharp build", stderr);
    }

    [Fact]
    public void Run_StackWithoutAddress_AsksForDhcp()
    {
        var target = new FakeTarget();
        var (code, _, _) = ConsoleCapture.Run(() => new UnikernelBuilder([], "t", target).UseStack().Run(_ => Task.CompletedTask));
        Assert.Equal(1, code); // the fake target offers no stack: the host says so instead of running the app
        Assert.True(target.Request!.Stack);
        Assert.True(target.Request.Ip.Dhcp);
        Assert.Null(target.Request.Ip.Address);
    }

    [Fact]
    public void Run_StaticAddress_ReachesTheTarget()
    {
        var target = new FakeTarget();
        ConsoleCapture.Run(() => new UnikernelBuilder(["--ipv4=198.18.0.2/24", "--ipv4-gateway=198.18.0.1"], "t", target).UseStack().Run(_ => Task.CompletedTask));
        Assert.False(target.Request!.Ip.Dhcp);
        Assert.Equal("198.18.0.2/24", target.Request.Ip.Address.ToString());
        Assert.Equal("198.18.0.1", target.Request.Ip.Gateway.ToString());
        Assert.Null(target.Request.Ip.DnsServer);
    }

    [Fact]
    public void Run_Ipv6Arguments_ReachTheTarget()
    {
        var target = new FakeTarget();
        ConsoleCapture.Run(() => new UnikernelBuilder(["--ipv6=fd00:198:18::2/64", "--ipv6-gateway=fe80::1"], "t", target).UseStack().Run(_ => Task.CompletedTask));
        Assert.Equal("fd00:198:18::2/64", target.Request!.Ip.Ipv6Address.ToString());
        Assert.Equal("fe80::1", target.Request.Ip.Ipv6Gateway.ToString());
        Assert.True(target.Request.Ip.Ipv6Autoconfiguration);
    }

    [Fact]
    public void Run_Ipv6AutoconfOff_ReachesTheTarget()
    {
        var target = new FakeTarget();
        ConsoleCapture.Run(() => new UnikernelBuilder(["--ipv6-autoconf=false"], "t", target).UseStack().Run(_ => Task.CompletedTask));
        Assert.False(target.Request!.Ip.Ipv6Autoconfiguration);
        Assert.Null(target.Request.Ip.Ipv6Address);
    }

    [Fact]
    public void Run_DnsArgument_ReachesTheTarget()
    {
        var target = new FakeTarget();
        ConsoleCapture.Run(() => new UnikernelBuilder(["--dns=198.18.0.53"], "t", target).UseStack().Run(_ => Task.CompletedTask));
        Assert.True(target.Request!.Ip.Dhcp);
        Assert.Equal("198.18.0.53", target.Request.Ip.DnsServer.ToString());
    }

    [Fact]
    public void Context_DeviceNotAskedFor_ClearError()
    {
        Exception? error = null;
        ConsoleCapture.Run(() => new UnikernelBuilder([], "t", new FakeTarget()).Run(ctx =>
        {
            error = Record.Exception(() => ctx.Block("0"));
            return Task.CompletedTask;
        }));
        Assert.Contains("UseBlock(\"0\")", error!.Message);
    }

    [Fact]
    public void UseStack_WithTcpOptions_ReachesTheTarget()
    {
        var tcp = new Unisharp.Net.TcpOptions { NoDelay = true, ReceiveBufferSize = 1 << 20 };
        var target = new FakeTarget();
        ConsoleCapture.Run(() => new UnikernelBuilder([], "t", target).UseStack(tcp).Run(_ => Task.CompletedTask));
        Assert.Same(tcp, target.Request?.Tcp);
    }

    private sealed class FakeTarget : UnikernelTarget
    {
        public bool SawDeviceOption { get; private set; }
        public bool Disposed { get; private set; }
        public DeviceRequest? Request { get; private set; }

        public override string Name => "fake";

        public override IReadOnlyList<OptionHelp> DeviceOptions => [new("--fake-device", "A device option.")];

        public override IReadOnlyList<string> TakeDeviceOptions(IReadOnlyList<string> args)
        {
            SawDeviceOption = args.Contains("--fake-device");
            return args.Where(a => a != "--fake-device").ToList();
        }

        public override ValueTask<TargetDevices> OpenAsync(DeviceRequest request, CancellationToken cancellationToken)
        {
            Request = request;
            if (request.Disks.Count > 0)
            {
                throw new BootArgumentException($"the app needs disk '{request.Disks[0]}'");
            }
            var devices = new TargetDevices { Clock = new SystemClock(), Entropy = new SeededEntropy(1), Console = new TextWriterConsole(TextWriter.Null) };
            devices.Own(new Callback(() => Disposed = true));
            return ValueTask.FromResult(devices);
        }
    }

    private sealed class Callback(Action action) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            action();
            return ValueTask.CompletedTask;
        }
    }
}
