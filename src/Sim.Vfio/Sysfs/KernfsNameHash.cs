namespace VfioSim.Vfio.Sysfs;

/// <summary>
/// kernfs_name_hash() and kernfs_sd_compare() of fs/kernfs/dir.c: a directory keeps its children in a red-black
/// tree ordered by (name hash, name), and getdents returns them in that order, so <c>ls -U /sys/...</c> is neither
/// sorted nor in creation order. The hash is the dcache's partial_name_hash() folded by hash_long() (64-bit).
/// </summary>
public static class KernfsNameHash
{
    private const ulong GoldenRatio64 = 0x61C8864680B583EB;

    /// <summary>kernfs_name_hash(name, ns) for a node without a namespace tag (all of sysfs here).</summary>
    public static uint Of(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ulong hash = 0; // init_name_hash(NULL)
        foreach (char c in name)
        {
            ulong ch = (byte)c; // sysfs names are ASCII
            hash = (hash + (ch << 4) + (ch >> 4)) * 11; // partial_name_hash()
        }
        uint h = (uint)((hash * GoldenRatio64) >> 32); // end_name_hash() = hash_long(hash, 32)
        h &= 0x7fffffffU;
        // 0, 1 and INT_MAX are reserved for the "." and ".." entries and the end of a directory.
        if (h < 2) h += 2;
        if (h >= int.MaxValue) h = int.MaxValue - 1;
        return h;
    }

    /// <summary>kernfs_sd_compare(): by hash, then by name (strcmp).</summary>
    public static int Compare(SysfsNode a, SysfsNode b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        int c = a.Hash.CompareTo(b.Hash);
        return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
    }
}
