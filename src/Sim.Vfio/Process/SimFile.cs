using VfioSim.Pci.Models;
using VfioSim.Uapi;

namespace VfioSim.Vfio.Process;

/// <summary>
/// A struct file of the simulated kernel: one subclass per file kind (eventfd, sysfs attribute, VFIO container,
/// group, device, ...). Handlers return a non-negative result or -errno, like the kernel's file_operations;
/// an operation a file kind does not have answers as the VFS would.
/// </summary>
public abstract class SimFile
{
    private int references = 1;

    /// <summary>read(2) at the file position (advanced by the caller).</summary>
    public virtual long Read(SimProcess process, Span<byte> buffer, long position) => -Errno.EINVAL;

    public virtual long Write(SimProcess process, ReadOnlySpan<byte> buffer, long position) => -Errno.EINVAL;

    /// <summary>False for pipes/eventfds: pread/pwrite then fail with ESPIPE.</summary>
    public virtual bool Seekable => true;

    /// <summary>unlocked_ioctl: unknown requests are ENOTTY (the VFS turns ENOIOCTLCMD into it).</summary>
    public virtual long Ioctl(SimProcess process, uint request, ulong arg) => -Errno.ENOTTY;

    /// <summary>The region to map for mmap(fd, offset, length), or -errno (no mmap method: ENODEV).</summary>
    public virtual long Mmap(SimProcess process, ulong length, Prot prot, MapFlags flags, long offset, out IMmio? region)
    {
        region = null;
        return -Errno.ENODEV;
    }

    /// <summary>Ready events for poll(2); a file without a poll method is always readable and writable.</summary>
    public virtual PollEvents Poll(SimProcess process) => PollEvents.In | PollEvents.Out;

    /// <summary>Called once, when the last reference goes (fput of the last reference).</summary>
    protected virtual void Release()
    {
    }

    /// <summary>get_file(): another holder (a second fd, a kernel object) keeps the file alive.</summary>
    public void Get() => references++;

    /// <summary>fput(): drops one reference; the last one releases the file.</summary>
    public void Put()
    {
        if (--references == 0) Release();
    }
}

/// <summary>An open file description: the file, its open flags and its position.</summary>
public sealed class OpenFile(SimFile file, OpenFlags flags)
{
    public SimFile File { get; } = file;
    public OpenFlags Flags { get; set; } = flags;
    public long Position { get; set; }

    public bool CanRead => (Flags & (OpenFlags.WriteOnly | OpenFlags.ReadWrite)) != OpenFlags.WriteOnly;
    public bool CanWrite => (Flags & (OpenFlags.WriteOnly | OpenFlags.ReadWrite)) != 0;
}
