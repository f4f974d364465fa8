namespace VfioSim.Vfio;

/// <summary>
/// The errno values the simulated kernel returns so far. Values are those of x86_64 Linux
/// (asm-generic/errno-base.h, errno.h).
/// </summary>
internal static class KernelErrno
{
    public const int ENOENT = 2, EIO = 5, EACCES = 13, ENODEV = 19, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ELOOP = 40;
}
