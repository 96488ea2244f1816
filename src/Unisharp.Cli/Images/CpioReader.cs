using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Unisharp.Cli.Images;

/// <summary>Reads a newc cpio archive (the format <see cref="CpioWriter"/> writes), to inspect an initramfs.</summary>
public static class CpioReader
{
    /// <summary>Reads every entry up to the trailer, which is not returned.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a well-formed newc archive.</exception>
    public static IReadOnlyList<CpioEntry> Read(ReadOnlySpan<byte> archive)
    {
        var entries = new List<CpioEntry>();
        int at = 0;
        Span<uint> f = stackalloc uint[13];
        while (true)
        {
            if (archive.Length - at < CpioWriter.HeaderLength)
            {
                throw new InvalidDataException($"the archive ends at byte {archive.Length} without a trailer");
            }
            var header = archive.Slice(at, CpioWriter.HeaderLength);
            if (!header[..6].SequenceEqual("070701"u8))
            {
                throw new InvalidDataException($"no newc magic at byte {at}");
            }
            for (int i = 0; i < f.Length; i++)
            {
                if (!uint.TryParse(header.Slice(6 + i * 8, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out f[i]))
                {
                    throw new InvalidDataException($"field {i} of the header at byte {at} is not hexadecimal");
                }
            }
            int nameSize = checked((int)f[11]);
            long fileSize = f[6];
            int nameAt = at + CpioWriter.HeaderLength;
            if (nameSize < 1 || archive.Length - nameAt < nameSize || archive[nameAt + nameSize - 1] != 0)
            {
                throw new InvalidDataException($"the name of the entry at byte {at} is malformed");
            }
            string name = Encoding.UTF8.GetString(archive.Slice(nameAt, nameSize - 1));
            int dataAt = Align4(nameAt + nameSize);
            if (name == CpioWriter.TrailerName)
            {
                return entries;
            }
            if (dataAt > archive.Length || archive.Length - dataAt < fileSize)
            {
                throw new InvalidDataException($"the data of '{name}' runs past the end of the archive");
            }
            entries.Add(new CpioEntry(name, (int)f[1], (int)f[0], (int)f[4], f[5], (int)f[9], (int)f[10],
                archive.Slice(dataAt, (int)fileSize).ToArray()));
            at = Align4(dataAt + (int)fileSize);
        }
    }

    /// <summary>Reads a gzip-compressed archive (an initramfs image).</summary>
    public static IReadOnlyList<CpioEntry> ReadGzip(Stream compressed)
    {
        using var gzip = new GZipStream(compressed, CompressionMode.Decompress, leaveOpen: true);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);
        return Read(plain.GetBuffer().AsSpan(0, (int)plain.Length));
    }

    private static int Align4(int offset) => (offset + 3) & ~3;
}
