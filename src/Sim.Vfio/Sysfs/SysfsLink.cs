namespace VfioSim.Vfio.Sysfs;

/// <summary>A sysfs symlink (KERNFS_LINK): it holds its target node; the text is computed when read.</summary>
public sealed class SysfsLink : SysfsNode
{
    internal SysfsLink(string name, SysfsNode target) : base(name, 0x1ff) // 0777
    {
        ArgumentNullException.ThrowIfNull(target);
        Target = target;
    }

    public SysfsNode Target { get; }

    /// <summary>
    /// kernfs_get_target_path(): one <c>../</c> for each directory from the link's own up to the nearest one that
    /// contains the target, then the path down to the target. So <c>/sys/bus/pci/devices/X</c> gives
    /// <c>../../../devices/…</c>, and a VF's <c>physfn</c> gives <c>../0000:01:00.0</c>.
    /// </summary>
    public string TargetPath
    {
        get
        {
            var ancestors = new HashSet<SysfsNode>();
            for (var n = Target.Parent; n is not null; n = n.Parent) ancestors.Add(n);
            var up = new System.Text.StringBuilder();
            var b = Parent ?? throw new InvalidOperationException("link not in a directory");
            while (b.Parent is not null && !ancestors.Contains(b))
            {
                up.Append("../");
                b = b.Parent;
            }
            var down = new List<string>();
            for (SysfsNode? n = Target; n is not null && n != b; n = n.Parent) down.Add(n.Name);
            down.Reverse();
            return up + string.Join('/', down);
        }
    }
}
