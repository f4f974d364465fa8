namespace VfioSim.Uapi;

/// <summary>errno values of x86_64 Linux (asm-generic/errno-base.h, errno.h). Syscalls return -errno.</summary>
public static class Errno
{
    public const int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7, EBADF = 9,
        EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17, EXDEV = 18, ENODEV = 19,
        ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENFILE = 23, EMFILE = 24, ENOTTY = 25, EFBIG = 27, ENOSPC = 28,
        ESPIPE = 29, EROFS = 30, ERANGE = 34, EDEADLK = 35, ENAMETOOLONG = 36, ENOSYS = 38, ELOOP = 40, ENODATA = 61,
        ETIME = 62, EOVERFLOW = 75, EBADFD = 77, EMSGSIZE = 90, EOPNOTSUPP = 95, EADDRINUSE = 98,
        ETIMEDOUT = 110;

    /// <summary>Kernel-internal; the VFS turns it into ENOTTY before user space sees it.</summary>
    public const int ENOIOCTLCMD = 515;

    private static readonly Dictionary<int, string> Names = typeof(Errno).GetFields()
        .Where(f => f.IsLiteral && f.FieldType == typeof(int))
        .GroupBy(f => (int)f.GetRawConstantValue()!)
        .ToDictionary(g => g.Key, g => g.First().Name);

    /// <summary>"EINVAL" for 22 (or -22); "errno 123" for values without a name here.</summary>
    public static string Name(int errno) => Names.TryGetValue(Math.Abs(errno), out var n) ? n : $"errno {Math.Abs(errno)}";
}
