namespace VfioSim.Vfio.Sysfs;

/// <summary>A sysfs directory (a kobject's directory or an attribute group): children in kernfs order.</summary>
public sealed class SysfsDirectory : SysfsNode
{
    private readonly Dictionary<string, SysfsNode> byName = new(StringComparer.Ordinal);
    private readonly SortedSet<SysfsNode> ordered = new(Comparer<SysfsNode>.Create(KernfsNameHash.Compare));

    internal SysfsDirectory(string name) : base(name, 0x1ed) // 0755
    {
    }

    private SysfsDirectory()
    {
    }

    internal static SysfsDirectory CreateRoot() => new();

    /// <summary>The children in the order getdents returns them (<see cref="KernfsNameHash"/>).</summary>
    public IEnumerable<SysfsNode> Children => ordered;

    public SysfsNode? Child(string name) => byName.GetValueOrDefault(name);

    /// <summary>kernfs_add_one(): a duplicate name is a bug in the caller (the kernel warns and returns -EEXIST).</summary>
    internal T Add<T>(T node) where T : SysfsNode
    {
        if (!byName.TryAdd(node.Name, node))
            throw new InvalidOperationException($"sysfs: cannot create duplicate filename '{Path}/{node.Name}'");
        ordered.Add(node);
        node.Parent = this;
        return node;
    }

    internal SysfsDirectory AddDirectory(string name) => Add(new SysfsDirectory(name));

    internal SysfsDirectory GetOrAddDirectory(string name) =>
        Child(name) as SysfsDirectory ?? AddDirectory(name);

    internal SysfsLink AddLink(string name, SysfsNode target) => Add(new SysfsLink(name, target));

    internal SysfsAttribute AddAttribute(string name, int mode, Func<string>? show, SysfsStore? store = null) =>
        Add(new SysfsAttribute(name, mode, show, store));

    /// <summary>kernfs_remove(): the node and everything below it leave the tree.</summary>
    internal void Remove(SysfsNode node)
    {
        if (node.Parent != this || !byName.Remove(node.Name)) return;
        ordered.Remove(node);
        MarkRemoved(node);
    }

    internal void Remove(string name)
    {
        if (Child(name) is { } node) Remove(node);
    }

    private static void MarkRemoved(SysfsNode node)
    {
        node.IsRemoved = true;
        if (node is SysfsDirectory dir)
            foreach (var child in dir.ordered) MarkRemoved(child);
    }
}
