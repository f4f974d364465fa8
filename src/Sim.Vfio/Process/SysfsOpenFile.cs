using VfioSim.Uapi;
using VfioSim.Vfio.Sysfs;

namespace VfioSim.Vfio.Process;

/// <summary>An open sysfs file (kernfs): reads go to the attribute's show or the binary attribute; directories read EISDIR.</summary>
public sealed class SysfsOpenFile(SysfsNode node) : SimFile
{
    public SysfsNode Node { get; } = node;

    public override long Read(SimProcess process, Span<byte> buffer, long position) => Node switch
    {
        SysfsFile f => f.Read(position, buffer, process.CapSysAdmin),
        SysfsDirectory => -Errno.EISDIR,
        _ => -Errno.EINVAL,
    };

    public override long Write(SimProcess process, ReadOnlySpan<byte> buffer, long position)
    {
        if (Node is SysfsDirectory) return -Errno.EISDIR;
        if (Node is SysfsAttribute attribute) return attribute.Write(buffer);
        return Node.IsRemoved ? -Errno.ENODEV : -Errno.EIO;
    }
}
