using Unisharp.Cli.MicroVm;

namespace Unisharp.Cli.Tests;

/// <summary>How the tool finds the microVM kernel through kernel/build-kernel.sh, with a stand-in for the script.</summary>
public sealed class KernelLocatorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unisharp-kernel-locator-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task FromScript_ProgressOnBothStreamsAfterTheResult_FindsTheKernel(bool cached)
    {
        // As build-kernel.sh does after a build: its result, then more lines on stdout and on stderr.
        string kernel = Path.Combine(_dir, "kernel", "x86_64");
        string script = Path.Combine(_dir, "build-kernel.sh");
        File.WriteAllText(script, $$"""
            set -eu
            cached=0; result=/dev/null
            while (($# > 0)); do
              case "$1" in
                --cached) cached=1; shift ;;
                --result) result="$2"; shift 2 ;;
                *) shift ;;
              esac
            done
            if [[ $cached -eq 1 && {{(cached ? 1 : 0)}} -eq 0 ]]; then echo "build-kernel: not built yet" >&2; exit 3; fi
            mkdir -p '{{kernel}}' && touch '{{kernel}}/bzImage' '{{kernel}}/vmlinux'
            echo '{{kernel}}' > "$result"
            echo '{{kernel}}'
            echo "build-kernel: bzImage 1048576 bytes, vmlinux 2097152 bytes" >&2
            echo "a progress line on stdout, after the result"
            echo "build-kernel: and one more on stderr" >&2
            """);

        var image = await KernelLocator.FromScriptAsync(script, [], CancellationToken.None);

        Assert.Equal(Path.Combine(kernel, "bzImage"), image.BzImage);
        Assert.Equal(Path.Combine(kernel, "vmlinux"), image.Vmlinux);
    }
}
