using Microsoft.Extensions.Logging;
using VfioSim.Uapi;

namespace VfioSim.Driver;

/// <summary>An <see cref="IKernel"/> decorator that logs one debug line per syscall, strace-like.</summary>
public sealed partial class LoggingKernel(IKernel inner, ILogger logger) : IKernel
{
    public IUserMemory Memory => inner.Memory;

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Call} = {Result}")]
    private partial void Syscall(string call, string result);

    private T Log<T>(string call, T result) where T : IComparable<T>
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            long r = Convert.ToInt64(result, System.Globalization.CultureInfo.InvariantCulture);
            Syscall(call, r < 0 ? $"-1 {Errno.Name((int)-r)}" : r.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        return result;
    }

    public int Open(string path, OpenFlags flags) => Log($"open(\"{path}\", {flags})", inner.Open(path, flags));
    public int Close(int fd) => Log($"close({fd})", inner.Close(fd));
    public long Read(int fd, Span<byte> buffer) => Log($"read({fd}, {buffer.Length})", inner.Read(fd, buffer));
    public long Write(int fd, ReadOnlySpan<byte> buffer) => Log($"write({fd}, {buffer.Length})", inner.Write(fd, buffer));
    public long Pread(int fd, Span<byte> buffer, long offset) => Log($"pread64({fd}, {buffer.Length}, 0x{offset:x})", inner.Pread(fd, buffer, offset));
    public long Pwrite(int fd, ReadOnlySpan<byte> buffer, long offset) => Log($"pwrite64({fd}, {buffer.Length}, 0x{offset:x})", inner.Pwrite(fd, buffer, offset));
    public long Ioctl(int fd, uint request, ulong arg) => Log($"ioctl({fd}, 0x{request:x}, 0x{arg:x})", inner.Ioctl(fd, request, arg));
    public long Mmap(ulong address, ulong length, Prot prot, MapFlags flags, int fd, long offset) =>
        Log($"mmap(0x{address:x}, 0x{length:x}, {prot}, {flags}, {fd}, 0x{offset:x})", inner.Mmap(address, length, prot, flags, fd, offset));
    public int Munmap(ulong address, ulong length) => Log($"munmap(0x{address:x}, 0x{length:x})", inner.Munmap(address, length));
    public int Eventfd(uint initialValue, EventfdFlags flags) => Log($"eventfd({initialValue}, {flags})", inner.Eventfd(initialValue, flags));
    public int Poll(Span<PollFd> fds, int timeoutMs) => Log($"poll({fds.Length} fds, {timeoutMs})", inner.Poll(fds, timeoutMs));
    public int Readlink(string path, out string target) => Log($"readlink(\"{path}\")", inner.Readlink(path, out target));
    public void Dispose() => inner.Dispose();
}
