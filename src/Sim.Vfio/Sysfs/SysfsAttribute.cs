using System.Text;
using VfioSim.Uapi;

namespace VfioSim.Vfio.Sysfs;

/// <summary>
/// The write side of an attribute (a store() method): given the bytes written, returns how many it consumed or
/// -errno, as sysfs_kf_write() passes on.
/// </summary>
public delegate int SysfsStore(ReadOnlySpan<byte> buffer);

/// <summary>
/// A text attribute (struct device_attribute): <see cref="Show"/> renders the whole value, as show() fills a page,
/// and reads at any offset slice that text (sysfs_kf_seq_show()). Write-only attributes have no show.
/// </summary>
public sealed class SysfsAttribute : SysfsFile
{
    private const int PageSize = 4096;

    internal SysfsAttribute(string name, int mode, Func<string>? show, SysfsStore? store = null) : base(name, mode)
    {
        Show = show;
        Store = store;
    }

    public Func<string>? Show { get; }

    /// <summary>The store() method; null for read-only attributes and for write attributes not modelled yet.</summary>
    public SysfsStore? Store { get; }

    public override long Size => PageSize;

    public override bool CanRead => Show is not null && (Mode & 0x124) != 0; // S_IRUGO

    /// <summary>
    /// write(2) of <paramref name="buffer"/>: kernfs_fop_write_iter() refuses more than a page at once (-E2BIG: sysfs
    /// files have atomic_write_len = PAGE_SIZE) and answers -ENODEV once the file is removed; sysfs_kf_write()
    /// returns 0 for an empty write without calling store(). Otherwise what store() returns: the count or -errno.
    /// </summary>
    public int Write(ReadOnlySpan<byte> buffer)
    {
        if (Store is null) return -Errno.EIO;
        if (buffer.Length > PageSize) return -Errno.E2BIG;
        if (IsRemoved) return -Errno.ENODEV;
        return buffer.Length == 0 ? 0 : Store(buffer);
    }

    private protected override int ReadAt(long offset, Span<byte> buffer, bool capSysAdmin)
    {
        byte[] text = Encoding.ASCII.GetBytes(Show!());
        int length = Math.Min(text.Length, PageSize);
        if (offset >= length) return 0;
        int n = (int)Math.Min(buffer.Length, length - offset);
        text.AsSpan((int)offset, n).CopyTo(buffer);
        return n;
    }
}
