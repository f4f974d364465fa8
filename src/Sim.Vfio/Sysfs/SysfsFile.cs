using VfioSim.Uapi;

namespace VfioSim.Vfio.Sysfs;

/// <summary>A regular sysfs file: a text attribute or a binary attribute.</summary>
public abstract class SysfsFile : SysfsNode
{
    private protected SysfsFile(string name, int mode) : base(name, mode)
    {
    }

    /// <summary>st_size: PAGE_SIZE for a text attribute, the declared size for a binary one.</summary>
    public abstract long Size { get; }

    /// <summary>kernfs_fop_open() for reading: a read permission bit and a read method, else -EACCES (even for root).</summary>
    public abstract bool CanRead { get; }

    /// <summary>
    /// Reads up to <c>buffer.Length</c> bytes at <paramref name="offset"/>: the count (0 at the end) or -errno.
    /// <paramref name="capSysAdmin"/> is the opener's CAP_SYS_ADMIN, which some attributes check.
    /// </summary>
    public int Read(long offset, Span<byte> buffer, bool capSysAdmin)
    {
        if (IsRemoved) return -Errno.ENODEV; // kernfs_get_active() fails on a removed node
        if (!CanRead) return -Errno.EIO;
        if (offset < 0) return -Errno.EINVAL;
        return ReadAt(offset, buffer, capSysAdmin);
    }

    private protected abstract int ReadAt(long offset, Span<byte> buffer, bool capSysAdmin);
}
