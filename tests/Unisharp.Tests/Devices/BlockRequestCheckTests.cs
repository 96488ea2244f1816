using Unisharp.Devices;

namespace Unisharp.Tests.Devices;

public sealed class BlockRequestCheckTests
{
    private static readonly BlockDeviceInfo s_info = new(512, 100, ReadOnly: false, MaxRequestBytes: 4096, QueueDepth: 4, PhysicalBlockSize: 512);

    [Theory]
    [InlineData(0, 512)]
    [InlineData(99, 512)]
    [InlineData(92, 4096)]
    public void Validate_WellFormed_Passes(long sector, int length) => BlockRequestCheck.Validate("d", s_info, sector, length, write: true);

    [Theory]
    [InlineData(0, 0, BlockError.UnalignedLength)]
    [InlineData(0, 511, BlockError.UnalignedLength)]
    [InlineData(0, 8192, BlockError.RequestTooLarge)]
    [InlineData(100, 512, BlockError.OutOfRange)]
    [InlineData(-1, 512, BlockError.OutOfRange)]
    [InlineData(93, 4096, BlockError.OutOfRange)]
    public void Validate_Malformed_ThrowsWithReason(long sector, int length, BlockError error)
    {
        var e = Assert.Throws<BlockDeviceException>(() => BlockRequestCheck.Validate("d", s_info, sector, length, write: false));
        Assert.Equal(error, e.Error);
        Assert.Equal(sector, e.Sector);
        Assert.StartsWith("disk 'd': ", e.Message);
    }

    [Fact]
    public void Validate_WriteToReadOnly_Refused()
    {
        var e = Assert.Throws<BlockDeviceException>(() => BlockRequestCheck.Validate("d", s_info with { ReadOnly = true }, 0, 512, write: true));
        Assert.Equal(BlockError.ReadOnly, e.Error);
        BlockRequestCheck.Validate("d", s_info with { ReadOnly = true }, 0, 512, write: false);
    }

    [Theory]
    [InlineData(500, 512, 4096, 1)]
    [InlineData(512, 256, 4096, 1)]
    [InlineData(512, 512, 1000, 1)]
    [InlineData(512, 512, 4096, 0)]
    public void Info_Validate_RejectsImpossibleGeometry(int sector, int physical, int maxRequest, int depth) =>
        Assert.Throws<ArgumentException>(() => new BlockDeviceInfo(sector, 10, false, maxRequest, depth, physical).Validate());
}
