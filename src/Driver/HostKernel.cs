using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using VfioSim.Uapi;

namespace VfioSim.Driver;

/// <summary>
/// The real Linux kernel through libc (P/Invoke with LibraryImport): every call returns ≥ 0 or -errno like the
/// simulator's, and user memory is this process's own memory. A driver written against <see cref="IKernel"/>
/// runs unchanged on it when its devices are bound to vfio-pci.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed unsafe partial class HostKernel : IKernel
{
    private const string Libc = "libc";

    [LibraryImport(Libc, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SysOpen(string path, int flags, int mode);

    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    private static partial int SysClose(int fd);

    [LibraryImport(Libc, EntryPoint = "read", SetLastError = true)]
    private static partial nint SysRead(int fd, byte* buf, nuint count);

    [LibraryImport(Libc, EntryPoint = "write", SetLastError = true)]
    private static partial nint SysWrite(int fd, byte* buf, nuint count);

    [LibraryImport(Libc, EntryPoint = "pread64", SetLastError = true)]
    private static partial nint SysPread(int fd, byte* buf, nuint count, long offset);

    [LibraryImport(Libc, EntryPoint = "pwrite64", SetLastError = true)]
    private static partial nint SysPwrite(int fd, byte* buf, nuint count, long offset);

    [LibraryImport(Libc, EntryPoint = "ioctl", SetLastError = true)]
    private static partial int SysIoctl(int fd, nuint request, nuint arg);

    [LibraryImport(Libc, EntryPoint = "mmap", SetLastError = true)]
    private static partial nint SysMmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(Libc, EntryPoint = "munmap", SetLastError = true)]
    private static partial int SysMunmap(nint addr, nuint length);

    [LibraryImport(Libc, EntryPoint = "eventfd", SetLastError = true)]
    private static partial int SysEventfd(uint initval, int flags);

    [LibraryImport(Libc, EntryPoint = "poll", SetLastError = true)]
    private static partial int SysPoll(PollFd* fds, nuint nfds, int timeout);

    [LibraryImport(Libc, EntryPoint = "readlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint SysReadlink(string path, byte* buf, nuint size);

    private static long Result(long r) => r < 0 ? -Marshal.GetLastPInvokeError() : r;

    public IUserMemory Memory { get; } = new HostMemory();

    public int Open(string path, OpenFlags flags) => (int)Result(SysOpen(path, (int)flags, 0));

    public int Close(int fd) => (int)Result(SysClose(fd));

    public long Read(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer) return Result(SysRead(fd, p, (nuint)buffer.Length));
    }

    public long Write(int fd, ReadOnlySpan<byte> buffer)
    {
        fixed (byte* p = buffer) return Result(SysWrite(fd, p, (nuint)buffer.Length));
    }

    public long Pread(int fd, Span<byte> buffer, long offset)
    {
        fixed (byte* p = buffer) return Result(SysPread(fd, p, (nuint)buffer.Length, offset));
    }

    public long Pwrite(int fd, ReadOnlySpan<byte> buffer, long offset)
    {
        fixed (byte* p = buffer) return Result(SysPwrite(fd, p, (nuint)buffer.Length, offset));
    }

    public long Ioctl(int fd, uint request, ulong arg) => Result(SysIoctl(fd, request, (nuint)arg));

    public long Mmap(ulong address, ulong length, Prot prot, MapFlags flags, int fd, long offset)
    {
        nint r = SysMmap((nint)address, (nuint)length, (int)prot, (int)flags, fd, offset);
        return r == -1 ? -Marshal.GetLastPInvokeError() : r; // MAP_FAILED
    }

    public int Munmap(ulong address, ulong length) => (int)Result(SysMunmap((nint)address, (nuint)length));

    public int Eventfd(uint initialValue, EventfdFlags flags) => (int)Result(SysEventfd(initialValue, (int)flags));

    public int Poll(Span<PollFd> fds, int timeoutMs)
    {
        fixed (PollFd* p = fds) return (int)Result(SysPoll(p, (nuint)fds.Length, timeoutMs));
    }

    public int Readlink(string path, out string target)
    {
        var buf = new byte[4096];
        long n;
        fixed (byte* p = buf) n = Result(SysReadlink(path, p, (nuint)buf.Length));
        target = n > 0 ? Encoding.UTF8.GetString(buf, 0, (int)n) : "";
        return (int)n;
    }

    public void Dispose()
    {
    }

    /// <summary>This process's memory: addresses are pointers (a bad one is a real segmentation fault).</summary>
    private sealed class HostMemory : IUserMemory
    {
        public byte Load8(ulong address) => *(byte*)address;
        public ushort Load16(ulong address) => *(ushort*)address;
        public uint Load32(ulong address) => *(uint*)address;
        public ulong Load64(ulong address) => *(ulong*)address;
        public void Store8(ulong address, byte value) => *(byte*)address = value;
        public void Store16(ulong address, ushort value) => *(ushort*)address = value;
        public void Store32(ulong address, uint value) => *(uint*)address = value;
        public void Store64(ulong address, ulong value) => *(ulong*)address = value;
        public void Read(ulong address, Span<byte> destination) => new ReadOnlySpan<byte>((void*)address, destination.Length).CopyTo(destination);
        public void Write(ulong address, ReadOnlySpan<byte> source) => source.CopyTo(new Span<byte>((void*)address, source.Length));
    }
}
