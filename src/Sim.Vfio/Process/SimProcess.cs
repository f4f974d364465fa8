using VfioSim.Uapi;
using VfioSim.Vfio.Sysfs;

namespace VfioSim.Vfio.Process;

/// <summary>A blocking call that nothing in the simulation can ever wake: a bug in the test or driver, not a kernel answer.</summary>
public sealed class SimulationDeadlockException(string message) : Exception(message);

/// <summary>
/// A process on the simulated machine, seen through the syscall interface: its own fd table (lowest free fd
/// first), address space and credentials. Several processes share one <see cref="Machine"/> and contend for
/// its devices as Linux processes do.
/// </summary>
public sealed class SimProcess : IKernel
{
    private OpenFile? current;

    internal SimProcess(Machine machine, int pid, string name)
    {
        Machine = machine;
        Pid = pid;
        Name = name;
    }

    public Machine Machine { get; }
    public int Pid { get; }
    public string Name { get; }
    public FdTable Fds { get; } = new();
    public AddressSpace AddressSpace { get; } = new();
    public IUserMemory Memory => AddressSpace;

    /// <summary>Root by default, as VFIO users usually are; tests turn capabilities off to see EPERM paths.</summary>
    public bool CapSysAdmin { get; set; } = true;
    public bool CapSysRawio { get; set; } = true;
    public bool CapIpcLock { get; set; }

    /// <summary>RLIMIT_MEMLOCK in bytes (the usual default of 8 MiB).</summary>
    public ulong MemlockLimit { get; set; } = 8UL << 20;

    public bool Exited { get; private set; }

    // ---- files ----

    public int Open(string path, OpenFlags flags)
    {
        if (string.IsNullOrEmpty(path)) return -Errno.ENOENT;
        if (path.StartsWith(SysfsTree.MountPoint + "/", StringComparison.Ordinal) || path == SysfsTree.MountPoint)
        {
            int err = Machine.Sysfs.Resolve(path, followFinal: (flags & OpenFlags.NoFollow) == 0, out var node);
            if (err != 0) return -err;
            if (node is SysfsLink) return -Errno.ELOOP; // O_NOFOLLOW on a symlink
            if ((flags & OpenFlags.Directory) != 0 && node is not SysfsDirectory) return -Errno.ENOTDIR;
            bool write = (flags & (OpenFlags.WriteOnly | OpenFlags.ReadWrite)) != 0;
            if (node is SysfsDirectory && write) return -Errno.EISDIR;
            // kernfs_fop_open() (KERNFS_ROOT_EXTRA_OPEN_PERM_CHECK): no show for a reader or no store for a writer is EACCES, even for root.
            bool read = (flags & (OpenFlags.WriteOnly | OpenFlags.ReadWrite)) != OpenFlags.WriteOnly;
            if (node is SysfsFile f && read && !f.CanRead) return -Errno.EACCES;
            if (node is SysfsAttribute a && write && a.Store is null) return -Errno.EACCES;
            return Install(new SysfsOpenFile(node!), flags);
        }
        var device = Machine.OpenDevice(this, path, flags, out int errno);
        return device is null ? -errno : Install(device, flags);
    }

    /// <summary>fd_install() of a new file (its one reference moves to the fd).</summary>
    public int Install(SimFile file, OpenFlags flags)
    {
        int fd = Fds.Install(new OpenFile(file, flags));
        if (fd < 0) file.Put();
        return fd;
    }

    public int Close(int fd)
    {
        var f = Fds.Remove(fd);
        if (f is null) return -Errno.EBADF;
        f.File.Put();
        return 0;
    }

    /// <summary>The file behind an fd (fdget), or null.</summary>
    public SimFile? FileOf(int fd) => Fds.Get(fd)?.File;

    public long Read(int fd, Span<byte> buffer)
    {
        var f = Fds.Get(fd);
        if (f is null || !f.CanRead) return -Errno.EBADF;
        using var scope = Enter(f);
        long n = f.File.Read(this, buffer, f.Position);
        if (n > 0) f.Position += n;
        return n;
    }

    public long Write(int fd, ReadOnlySpan<byte> buffer)
    {
        var f = Fds.Get(fd);
        if (f is null || !f.CanWrite) return -Errno.EBADF;
        using var scope = Enter(f);
        long n = f.File.Write(this, buffer, f.Position);
        if (n > 0) f.Position += n;
        return n;
    }

    public long Pread(int fd, Span<byte> buffer, long offset)
    {
        var f = Fds.Get(fd);
        if (f is null || !f.CanRead) return -Errno.EBADF;
        if (!f.File.Seekable) return -Errno.ESPIPE;
        if (offset < 0) return -Errno.EINVAL;
        using var scope = Enter(f);
        return f.File.Read(this, buffer, offset);
    }

    public long Pwrite(int fd, ReadOnlySpan<byte> buffer, long offset)
    {
        var f = Fds.Get(fd);
        if (f is null || !f.CanWrite) return -Errno.EBADF;
        if (!f.File.Seekable) return -Errno.ESPIPE;
        if (offset < 0) return -Errno.EINVAL;
        using var scope = Enter(f);
        return f.File.Write(this, buffer, offset);
    }

    public long Ioctl(int fd, uint request, ulong arg)
    {
        var f = Fds.Get(fd);
        if (f is null) return -Errno.EBADF;
        using var scope = Enter(f);
        return f.File.Ioctl(this, request, arg);
    }

    /// <summary>Marks the open file description a syscall is working on (for O_NONBLOCK) until disposed.</summary>
    private CallScope Enter(OpenFile f)
    {
        var scope = new CallScope(this, current);
        current = f;
        return scope;
    }

    private readonly struct CallScope(SimProcess process, OpenFile? saved) : IDisposable
    {
        public void Dispose() => process.current = saved;
    }

    /// <summary>Whether the file is being accessed through an O_NONBLOCK open file description.</summary>
    public bool IsNonBlocking(SimFile file) => current is { } f && f.File == file && (f.Flags & OpenFlags.NonBlock) != 0;

    // ---- memory ----

    public long Mmap(ulong address, ulong length, Prot prot, MapFlags flags, int fd, long offset)
    {
        bool fixedAddr = (flags & MapFlags.Fixed) != 0;
        if (((flags & MapFlags.Shared) != 0) == ((flags & MapFlags.Private) != 0)) return -Errno.EINVAL;
        if (length == 0 || (offset & (long)(AddressSpace.PageSize - 1)) != 0) return -Errno.EINVAL;
        if ((flags & MapFlags.Anonymous) != 0) return AddressSpace.Map(address, length, prot, fixedAddr);
        var f = Fds.Get(fd);
        if (f is null) return -Errno.EBADF;
        if ((prot & Prot.Read) != 0 && !f.CanRead) return -Errno.EACCES;
        if ((flags & MapFlags.Shared) != 0 && (prot & Prot.Write) != 0 && !f.CanWrite) return -Errno.EACCES;
        long r = f.File.Mmap(this, AddressSpace.PageAlign(length), prot, flags, offset, out var region);
        if (r < 0) return r;
        return region is null ? -Errno.ENODEV : AddressSpace.Map(address, length, prot, fixedAddr, region, (ulong)offset);
    }

    public int Munmap(ulong address, ulong length) => AddressSpace.Unmap(address, length);

    // ---- events and time ----

    public int Eventfd(uint initialValue, EventfdFlags flags)
    {
        if ((flags & ~(EventfdFlags.Semaphore | EventfdFlags.NonBlock | EventfdFlags.CloseOnExec)) != 0) return -Errno.EINVAL;
        var open = OpenFlags.ReadWrite | ((flags & EventfdFlags.NonBlock) != 0 ? OpenFlags.NonBlock : 0);
        return Install(new EventFdFile(initialValue, (flags & EventfdFlags.Semaphore) != 0), open);
    }

    public int Poll(Span<PollFd> fds, int timeoutMs)
    {
        var copy = fds.ToArray();
        int Ready()
        {
            int n = 0;
            for (int i = 0; i < copy.Length; i++)
            {
                if (copy[i].Fd < 0) { copy[i].Revents = PollEvents.None; continue; }
                var f = Fds.Get(copy[i].Fd);
                copy[i].Revents = f is null
                    ? PollEvents.Nval
                    : f.File.Poll(this) & (copy[i].Events | PollEvents.Err | PollEvents.Hup);
                if (copy[i].Revents != PollEvents.None) n++;
            }
            return n;
        }
        int ready = Ready();
        if (ready == 0 && timeoutMs != 0)
        {
            long deadline = timeoutMs < 0 ? long.MaxValue : Machine.Clock.Now + timeoutMs * 1_000_000L;
            WaitUntil(() => Ready() > 0, deadline);
            ready = Ready();
        }
        copy.AsSpan().CopyTo(fds);
        return ready;
    }

    /// <summary>Lets simulated time run until <paramref name="condition"/> holds or the deadline (ns) passes.</summary>
    public bool WaitUntil(Func<bool> condition, long deadline)
    {
        if (Machine.Clock.RunUntil(condition, deadline)) return true;
        if (deadline == long.MaxValue)
            throw new SimulationDeadlockException($"process {Pid} ({Name}) waits forever: no event is scheduled that could wake it");
        return false;
    }

    public int Readlink(string path, out string target)
    {
        target = "";
        if (!path.StartsWith(SysfsTree.MountPoint, StringComparison.Ordinal)) return -Errno.ENOENT;
        var (t, errno) = Machine.Sysfs.ReadLink(path);
        if (errno != 0) return -errno;
        target = t!;
        return target.Length;
    }

    /// <summary>exit(): every fd is closed (files released in fd order) and the address space goes.</summary>
    public void Dispose()
    {
        if (Exited) return;
        foreach (var (fd, _) in Fds.Open().ToList()) Close(fd);
        foreach (var v in AddressSpace.Mappings.ToList()) AddressSpace.Unmap(v.Start, v.Length);
        Exited = true;
    }
}
