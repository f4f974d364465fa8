namespace VfioSim.Uapi;

/// <summary>open(2) flags (x86_64 values of asm-generic/fcntl.h).</summary>
[Flags]
public enum OpenFlags
{
    ReadOnly = 0,
    WriteOnly = 0x1,
    ReadWrite = 0x2,
    Create = 0x40,
    Exclusive = 0x80,
    NoCtty = 0x100,
    Truncate = 0x200,
    Append = 0x400,
    NonBlock = 0x800,
    Directory = 0x10000,
    NoFollow = 0x20000,
    CloseOnExec = 0x80000,
}

/// <summary>mmap(2) protection bits.</summary>
[Flags]
public enum Prot
{
    None = 0,
    Read = 0x1,
    Write = 0x2,
    Exec = 0x4,
}

/// <summary>mmap(2) flags (x86_64).</summary>
[Flags]
public enum MapFlags
{
    Shared = 0x01,
    Private = 0x02,
    Fixed = 0x10,
    Anonymous = 0x20,
    Locked = 0x2000,
    Populate = 0x8000,
}

/// <summary>eventfd(2) flags.</summary>
[Flags]
public enum EventfdFlags
{
    None = 0,
    Semaphore = 0x1,
    NonBlock = 0x800,
    CloseOnExec = 0x80000,
}

/// <summary>poll(2) event bits.</summary>
[Flags]
public enum PollEvents : short
{
    None = 0,
    In = 0x1,
    Pri = 0x2,
    Out = 0x4,
    Err = 0x8,
    Hup = 0x10,
    Nval = 0x20,
}

/// <summary>struct pollfd.</summary>
public struct PollFd
{
    public int Fd;
    public PollEvents Events;
    public PollEvents Revents;
}

/// <summary>
/// Loads and stores at user addresses of the calling process: memory it mapped (anonymous buffers, whose
/// addresses are what ioctls take as pointers) and device regions it mmapped (a load there is an MMIO read).
/// On the real kernel these are plain memory accesses; on the simulator an unmapped address throws
/// <see cref="UserMemoryFaultException"/> (a SIGSEGV).
/// </summary>
public interface IUserMemory
{
    byte Load8(ulong address);
    ushort Load16(ulong address);
    uint Load32(ulong address);
    ulong Load64(ulong address);
    void Store8(ulong address, byte value);
    void Store16(ulong address, ushort value);
    void Store32(ulong address, uint value);
    void Store64(ulong address, ulong value);
    void Read(ulong address, Span<byte> destination);
    void Write(ulong address, ReadOnlySpan<byte> source);
}

/// <summary>An access to an address the process has not mapped (what SIGSEGV is on Linux).</summary>
public sealed class UserMemoryFaultException(ulong address, string access)
    : Exception($"segmentation fault: {access} at 0x{address:x}")
{
    public ulong Address { get; } = address;
}

/// <summary>
/// The Linux syscall surface a VFIO userspace driver needs, kernel-shaped: every call returns a non-negative
/// result or <c>-errno</c> (no exceptions for kernel errors). Two implementations: the simulator and the real
/// kernel through P/Invoke; the driver stack sees only this.
/// </summary>
public interface IKernel : IDisposable
{
    /// <summary>The process's memory: where ioctl pointer arguments point and where mmap results live.</summary>
    IUserMemory Memory { get; }

    int Open(string path, OpenFlags flags);
    int Close(int fd);
    long Read(int fd, Span<byte> buffer);
    long Write(int fd, ReadOnlySpan<byte> buffer);
    long Pread(int fd, Span<byte> buffer, long offset);
    long Pwrite(int fd, ReadOnlySpan<byte> buffer, long offset);

    /// <summary>ioctl(fd, request, arg): <paramref name="arg"/> is a value or a user address, as the request defines.</summary>
    long Ioctl(int fd, uint request, ulong arg);

    /// <summary>mmap(2): the mapped address, or -errno.</summary>
    long Mmap(ulong address, ulong length, Prot prot, MapFlags flags, int fd, long offset);
    int Munmap(ulong address, ulong length);

    int Eventfd(uint initialValue, EventfdFlags flags);

    /// <summary>poll(2); on the simulator a timeout advances the virtual clock instead of sleeping.</summary>
    int Poll(Span<PollFd> fds, int timeoutMs);

    /// <summary>readlink(2) into <paramref name="target"/>; returns its length or -errno.</summary>
    int Readlink(string path, out string target);
}
