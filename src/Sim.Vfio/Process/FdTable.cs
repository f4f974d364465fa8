using VfioSim.Uapi;

namespace VfioSim.Vfio.Process;

/// <summary>A process's file descriptor table: the lowest free number first (alloc_fd()), RLIMIT_NOFILE bounded.</summary>
public sealed class FdTable
{
    private readonly List<OpenFile?> slots = [];

    public FdTable(int limit = 1024) => Limit = limit;

    /// <summary>RLIMIT_NOFILE.</summary>
    public int Limit { get; set; }

    public int Count => slots.Count(s => s is not null);

    /// <summary>Installs <paramref name="file"/> at the lowest free fd; -EMFILE when the table is full.</summary>
    public int Install(OpenFile file)
    {
        int fd = slots.IndexOf(null);
        if (fd < 0)
        {
            if (slots.Count >= Limit) return -Errno.EMFILE;
            fd = slots.Count;
            slots.Add(file);
        }
        else
        {
            slots[fd] = file;
        }
        return fd;
    }

    public OpenFile? Get(int fd) => fd >= 0 && fd < slots.Count ? slots[fd] : null;

    /// <summary>Removes the fd (close(2)); null if it was not open (EBADF).</summary>
    public OpenFile? Remove(int fd)
    {
        var f = Get(fd);
        if (f is not null) slots[fd] = null;
        return f;
    }

    /// <summary>The open fds, lowest first.</summary>
    public IEnumerable<(int Fd, OpenFile File)> Open()
    {
        for (int i = 0; i < slots.Count; i++)
            if (slots[i] is { } f) yield return (i, f);
    }
}
