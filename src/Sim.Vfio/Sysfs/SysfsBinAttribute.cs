namespace VfioSim.Vfio.Sysfs;

/// <summary>The read() method of a binary attribute: bytes copied into <c>buffer</c> at <c>offset</c>, or -errno.</summary>
public delegate int SysfsBinRead(long offset, Span<byte> buffer, bool capSysAdmin);

/// <summary>
/// A binary attribute (struct bin_attribute) such as a PCI device's <c>config</c>: sysfs_kf_bin_read() clips the
/// request to the file size and passes the rest to the attribute's read method.
/// </summary>
public sealed class SysfsBinAttribute : SysfsFile
{
    private readonly long size;
    private readonly SysfsBinRead read;

    internal SysfsBinAttribute(string name, int mode, long size, SysfsBinRead read) : base(name, mode)
    {
        this.size = size;
        this.read = read;
    }

    public override long Size => size;

    public override bool CanRead => (Mode & 0x124) != 0; // S_IRUGO

    private protected override int ReadAt(long offset, Span<byte> buffer, bool capSysAdmin)
    {
        if (buffer.Length == 0) return 0;
        if (size != 0)
        {
            if (offset >= size) return 0;
            if (offset + buffer.Length > size) buffer = buffer[..(int)(size - offset)];
        }
        return read(offset, buffer, capSysAdmin);
    }
}
