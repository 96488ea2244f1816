using Unisharp.Cli.Apps;
using Unisharp.Cli.MicroVm;

namespace Unisharp.Cli.Commands;

/// <summary>
/// <c>unisharp image</c>: packs an app already published with NativeAOT for a microVM target into its image folder,
/// with a given kernel. The Unisharp.Sdk package runs it after <c>dotnet publish</c>; <c>unisharp build</c> does the
/// same itself.
/// </summary>
internal static class ImageCommand
{
    public static int Execute(string target, string executable, string kernelDirectory, string output, bool debug, IReadOnlyList<string>? files = null)
    {
        TargetCatalog.Require(target);
        if (!TargetCatalog.IsMicroVm(target))
        {
            throw new CliException($"'{target}' has no image: the unix target's artifact is the executable itself", CliException.Usage);
        }
        if (!File.Exists(executable))
        {
            throw new CliException($"no published app at {executable}");
        }
        var kernel = KernelImage.In(kernelDirectory);
        if (!kernel.IsComplete)
        {
            throw new CliException($"{kernelDirectory} holds no bzImage and vmlinux (kernel/build-kernel.sh builds them; the Unisharp.Kernel package has them)");
        }
        var image = new MicroVmImage(Path.GetFullPath(output), target);
        long initrd = image.Build(Path.GetFullPath(executable), kernel, ImageFile.ParseAll(files ?? []));
        image.WriteLaunchFiles(new MicroVmLaunch { Target = target, Kernel = image.Kernel, Initrd = image.Initrd, Debug = debug });
        Console.WriteLine($"{image.Directory}: {MicroVmImage.KernelName} {new FileInfo(image.Kernel).Length / 1048576.0:0.00} MB, initrd {initrd / 1048576.0:0.00} MB");
        return 0;
    }
}
