using System.Text;
using VfioSim.Iommu;

namespace VfioSim.Vfio.Sysfs;

/// <summary>
/// A group's directory under /sys/kernel/iommu_groups as drivers/iommu/iommu.c makes it: iommu_group_alloc()
/// creates <c>N/</c> with <c>devices/</c>, <c>reserved_regions</c> and <c>type</c>; iommu_group_add_device() links
/// each member into <c>devices/</c> and the group into the member's directory as <c>iommu_group</c>.
/// </summary>
internal static class IommuGroupAttributes
{
    private const int ReadOnly = 0x124, ReadWrite = 0x1a4; // 0444, 0644

    public static SysfsDirectory Create(SysfsDirectory groupsDir, IommuGroup group, Machine machine)
    {
        var dir = groupsDir.AddDirectory(group.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        dir.AddDirectory("devices");
        dir.AddAttribute("reserved_regions", ReadOnly, () => ShowReservedRegions(group));
        // Writable (a new default domain) by a privileged user when no driver is bound: the store side comes later.
        dir.AddAttribute("type", ReadWrite, () => $"{TypeName(machine.DomainTypeOf(group))}\n");
        return dir;
    }

    /// <summary>
    /// iommu_group_add_device(): the member's name in <c>devices/</c> (with ".N" appended on a clash, which PCI
    /// names never cause) and the <c>iommu_group</c> link in its own directory.
    /// </summary>
    public static SysfsLink AddDevice(SysfsDirectory groupDir, SysfsDirectory deviceDir)
    {
        deviceDir.AddLink("iommu_group", groupDir);
        return ((SysfsDirectory)groupDir.Child("devices")!).AddLink(deviceDir.Name, deviceDir);
    }

    /// <summary>iommu_group_show_resv_regions(): "0x%016llx 0x%016llx %s\n" per region (start, inclusive end, type).</summary>
    private static string ShowReservedRegions(IommuGroup group)
    {
        var sb = new StringBuilder();
        foreach (var r in ReservedRegions.ForGroup(group)) sb.Append($"0x{r.Start:x16} 0x{r.End:x16} {r.TypeName}\n");
        return sb.ToString();
    }

    /// <summary>iommu_group_show_type(): the default domain's type.</summary>
    private static string TypeName(IommuDomainType type) => type switch
    {
        IommuDomainType.Blocked => "blocked",
        IommuDomainType.Identity => "identity",
        IommuDomainType.Unmanaged => "unmanaged",
        IommuDomainType.Dma => "DMA",
        IommuDomainType.DmaFq => "DMA-FQ",
        _ => "unknown",
    };
}
