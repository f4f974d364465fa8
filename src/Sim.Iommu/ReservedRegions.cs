using VfioSim.Pci;

namespace VfioSim.Iommu;

/// <summary>enum iommu_resv_type: what a reserved IOVA range is for.</summary>
public enum ResvRegionType
{
    /// <summary>Must stay identity-mapped (an RMRR).</summary>
    Direct,
    /// <summary>Identity-mapped, but may be dropped when the device is assigned (ISA floppy, USB/GFX RMRRs).</summary>
    DirectRelaxable,
    /// <summary>Never mappable.</summary>
    Reserved,
    /// <summary>Hardware MSI doorbell window (x86 interrupt remapping range).</summary>
    Msi,
    /// <summary>Software-managed MSI window (ARM); shows as "msi" too.</summary>
    SwMsi,
}

/// <summary>struct iommu_resv_region: the inclusive range [Start, End] and its type.</summary>
public sealed record ResvRegion(ulong Start, ulong Length, ResvRegionType Type)
{
    public ulong End => Start + Length - 1;

    /// <summary>iommu_group_resv_type_string[]: the word reserved_regions prints.</summary>
    public string TypeName => Type switch
    {
        ResvRegionType.Direct => "direct",
        ResvRegionType.DirectRelaxable => "direct-relaxable",
        ResvRegionType.Reserved => "reserved",
        _ => "msi",
    };
}

/// <summary>
/// Reserved regions as drivers/iommu/iommu.c collects them for a group, with the Intel VT-d driver's
/// per-device regions (the machine is a q35 with an emulated VT-d and no RMRRs).
/// </summary>
public static class ReservedRegions
{
    /// <summary>IOAPIC_RANGE_START/END of intel/iommu.h: the x86 MSI address window.</summary>
    public const ulong IoapicRangeStart = 0xfee00000, IoapicRangeEnd = 0xfeefffff;

    /// <summary>PCI_CLASS_BRIDGE_ISA: the LPC/ISA bridge that gets the floppy work-around region.</summary>
    private const uint ClassBridgeIsa = 0x0601;

    /// <summary>
    /// intel_iommu_get_resv_regions(): the device's RMRRs (none modelled), the first 16 MiB as direct-relaxable
    /// for an ISA bridge (CONFIG_INTEL_IOMMU_FLOPPY_WA=y in the measured 6.12 kernel), then the MSI window.
    /// </summary>
    public static IReadOnlyList<ResvRegion> IntelIommuDevice(PciFunction dev)
    {
        var list = new List<ResvRegion>();
        if (dev.ClassCode >> 8 == ClassBridgeIsa)
            list.Add(new ResvRegion(0, 1UL << 24, ResvRegionType.DirectRelaxable));
        list.Add(new ResvRegion(IoapicRangeStart, IoapicRangeEnd - IoapicRangeStart + 1, ResvRegionType.Msi));
        return list;
    }

    /// <summary>iommu_get_group_resv_regions(): every member's regions inserted in join order, sorted and merged.</summary>
    public static IReadOnlyList<ResvRegion> ForGroup(IommuGroup group)
    {
        var regions = new List<ResvRegion>();
        foreach (var dev in group.Devices)
            foreach (var r in IntelIommuDevice(dev))
                Insert(regions, r);
        return regions;
    }

    /// <summary>
    /// iommu_insert_resv_region(): place the region by start address (type breaks ties), then merge
    /// overlapping or adjacent regions of its type, keeping the list order otherwise.
    /// </summary>
    public static void Insert(List<ResvRegion> regions, ResvRegion region)
    {
        int at = regions.FindIndex(it => region.Start < it.Start || (region.Start == it.Start && region.Type <= it.Type));
        regions.Insert(at < 0 ? regions.Count : at, region);

        var stack = new List<ResvRegion>();
        foreach (var it in regions)
        {
            int top = it.Type == region.Type ? stack.FindLastIndex(s => s.Type == it.Type) : -1;
            if (top < 0)
            {
                stack.Add(it);
                continue;
            }
            var t = stack[top];
            if (it.Start > t.End + 1) stack.Add(it);
            else stack[top] = t with { Length = Math.Max(t.End, it.End) - t.Start + 1 };
        }
        regions.Clear();
        regions.AddRange(stack);
    }
}
