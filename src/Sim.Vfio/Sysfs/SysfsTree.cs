using VfioSim.Uapi;

namespace VfioSim.Vfio.Sysfs;

/// <summary>
/// The sysfs tree mounted at /sys, with the path-based calls a process makes on it, shaped like the syscalls:
/// each returns its result with an errno (0 on success, otherwise the positive errno value Linux sets).
/// Only /sys is mounted in this view: a path outside it, or a relative one, is ENOENT.
/// </summary>
public sealed class SysfsTree
{
    public const string MountPoint = "/sys";

    /// <summary>MAXSYMLINKS of include/linux/namei.h: more links in one walk is ELOOP.</summary>
    private const int MaxSymlinks = 40;

    private const int ReadChunk = 4096;

    public SysfsTree() => Root = SysfsDirectory.CreateRoot();

    /// <summary>The /sys directory.</summary>
    public SysfsDirectory Root { get; }

    /// <summary>stat(2)-like: the node a path names, following symlinks; null when it does not resolve.</summary>
    public SysfsNode? Lookup(string path) => Resolve(path, followFinal: true, out var node) == 0 ? node : null;

    /// <summary>
    /// Path walk as namei does it: symlinks inside the path are always followed (up to 40), the last component only
    /// when <paramref name="followFinal"/> is set or the path ends in '/'; '..' after a symlink goes up from where
    /// the link led. Returns 0, ENOENT (missing component), ENOTDIR (a component other than the last, or a path
    /// with a trailing '/', is not a directory) or ELOOP.
    /// </summary>
    public int Resolve(string path, bool followFinal, out SysfsNode? node)
    {
        node = null;
        if (string.IsNullOrEmpty(path) || path[0] != '/') return Errno.ENOENT;
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        bool mustBeDirectory = path.EndsWith('/');
        int links = 0;
        SysfsNode? cur = null; // null: the file system root "/", outside sysfs
        for (int i = 0; i < parts.Length; i++)
        {
            string part = parts[i];
            bool last = i == parts.Length - 1;
            if (cur is not null and not SysfsDirectory) return Errno.ENOTDIR;
            var dir = (SysfsDirectory?)cur;
            SysfsNode? next = part switch
            {
                "." => cur,
                ".." => dir?.Parent,
                _ when dir is null => part == MountPoint[1..] ? Root : null,
                _ => dir.Child(part),
            };
            if (next is null && !(part == ".." || (part == "." && cur is null))) return Errno.ENOENT;
            while (next is SysfsLink link && (!last || followFinal || mustBeDirectory))
            {
                if (++links > MaxSymlinks) return Errno.ELOOP;
                if (link.Target.IsRemoved) return Errno.ENOENT;
                next = link.Target;
            }
            cur = next;
        }
        if (cur is null) return Errno.ENOENT; // "/" itself: not part of this view
        if (mustBeDirectory && cur is not SysfsDirectory) return Errno.ENOTDIR;
        node = cur;
        return 0;
    }

    /// <summary>
    /// open(O_RDONLY) and read(2) to the end: the bytes, or an errno: those of the path walk, EISDIR for a
    /// directory, EACCES for a file without a read method (write-only attributes, even for root), or what the
    /// attribute's read returns. <paramref name="capSysAdmin"/> is the reader's CAP_SYS_ADMIN (root has it).
    /// </summary>
    public (byte[] Data, int Errno) ReadAll(string path, bool capSysAdmin = true)
    {
        int err = Resolve(path, followFinal: true, out var node);
        if (err != 0) return ([], err);
        if (node is SysfsDirectory) return ([], Errno.EISDIR);
        var file = (SysfsFile)node!;
        if (!file.CanRead) return ([], Errno.EACCES);
        var data = new List<byte>();
        var chunk = new byte[ReadChunk];
        while (true)
        {
            int n = file.Read(data.Count, chunk, capSysAdmin);
            if (n < 0) return ([], -n);
            if (n == 0) return (data.ToArray(), 0);
            data.AddRange(chunk.AsSpan(0, n));
        }
    }

    /// <summary>
    /// open(O_WRONLY) and one write(2) of the whole text, as <c>echo -n TEXT &gt; PATH</c> does: 0 when the store took
    /// it, or an errno: those of the path walk, EISDIR for a directory, EACCES for an attribute without a store
    /// (even for root), EIO for a binary attribute (no write method here), or what the store returns.
    /// </summary>
    public int Write(string path, string text)
    {
        int err = Resolve(path, followFinal: true, out var node);
        if (err != 0) return err;
        if (node is SysfsDirectory) return Errno.EISDIR;
        if (node is not SysfsAttribute attribute) return Errno.EIO;
        if (attribute.Store is null) return Errno.EACCES;
        int n = attribute.Write(System.Text.Encoding.Latin1.GetBytes(text));
        return n < 0 ? -n : 0;
    }

    /// <summary>readlink(2): the link text, or ENOENT/ENOTDIR from the walk, or EINVAL when the node is not a link.</summary>
    public (string? Target, int Errno) ReadLink(string path)
    {
        int err = Resolve(path, followFinal: false, out var node);
        if (err != 0) return (null, err);
        return node is SysfsLink link ? (link.TargetPath, 0) : (null, Errno.EINVAL);
    }

    /// <summary>
    /// open(O_DIRECTORY) and getdents(2): the entry names in kernfs order without "." and "..", or an errno from
    /// the walk, or ENOTDIR when the path names a file.
    /// </summary>
    public (IReadOnlyList<string> Names, int Errno) List(string path)
    {
        int err = Resolve(path, followFinal: true, out var node);
        if (err != 0) return ([], err);
        return node is SysfsDirectory dir ? (dir.Children.Select(c => c.Name).ToList(), 0) : ([], Errno.ENOTDIR);
    }

    /// <summary>realpath(3): the canonical absolute path with every symlink resolved.</summary>
    public (string? Path, int Errno) RealPath(string path)
    {
        int err = Resolve(path, followFinal: true, out var node);
        return err != 0 ? (null, err) : (node!.Path, 0);
    }

    /// <summary>The directory at a path below /sys, creating missing directories (for building the tree).</summary>
    internal SysfsDirectory Directory(params string[] names)
    {
        var dir = Root;
        foreach (var name in names) dir = dir.GetOrAddDirectory(name);
        return dir;
    }
}
