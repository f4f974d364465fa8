namespace VfioSim.Vfio.Sysfs;

/// <summary>
/// A node of the sysfs tree (struct kernfs_node): a <see cref="SysfsDirectory"/>, a file
/// (<see cref="SysfsAttribute"/>, <see cref="SysfsBinAttribute"/>) or a <see cref="SysfsLink"/>.
/// </summary>
public abstract class SysfsNode
{
    private protected SysfsNode(string name, int mode)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal) || name is "." or "..")
            throw new ArgumentException($"'{name}' is not a sysfs node name", nameof(name));
        Name = name;
        Mode = mode;
        Hash = KernfsNameHash.Of(name);
    }

    /// <summary>The root node (/sys), whose kernfs name is empty.</summary>
    private protected SysfsNode()
    {
        Name = "";
        Mode = 0x1ed; // 0755
    }

    public string Name { get; }

    /// <summary>Permission bits as stat shows them (0444, 0644, 0200, 0755 for directories, 0777 for links).</summary>
    public int Mode { get; }

    public SysfsDirectory? Parent { get; internal set; }

    /// <summary>Set by kernfs_remove(): the node has left the tree; an open file on it reads -ENODEV.</summary>
    public bool IsRemoved { get; internal set; }

    internal uint Hash { get; }

    /// <summary>The absolute path, e.g. <c>/sys/devices/pci0000:00/0000:00:02.0</c>.</summary>
    public string Path => Parent is null ? SysfsTree.MountPoint : $"{Parent.Path}/{Name}";

    public override string ToString() => Path;
}
