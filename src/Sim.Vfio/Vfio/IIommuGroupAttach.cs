using VfioSim.Iommu;

namespace VfioSim.Vfio;

/// <summary>
/// What the type1 backend learns about an IOMMU group when a container attaches it
/// (vfio_iommu_type1_attach_group()): the geometry and page sizes of a paging domain allocated for it, its
/// reserved regions, whether its MSIs are isolated, and which IOMMU driver serves it. The VFIO group object
/// implements it (or passes an <see cref="IommuGroupAttachInfo"/>); type1 compares groups by reference.
/// </summary>
public interface IIommuGroupAttach
{
    /// <summary>The IOMMU group number (/dev/vfio/N).</summary>
    int Id { get; }

    /// <summary>domain-&gt;geometry.aperture_start: the lowest translatable IOVA.</summary>
    ulong ApertureStart { get; }

    /// <summary>domain-&gt;geometry.aperture_end: the highest translatable IOVA (inclusive).</summary>
    ulong ApertureEnd { get; }

    /// <summary>domain-&gt;pgsize_bitmap: the page sizes the IOMMU can map.</summary>
    ulong PageSizes { get; }

    /// <summary>iommu_get_group_resv_regions(): IOVA ranges the group must not have mapped.</summary>
    IReadOnlyList<ResvRegion> ReservedRegions { get; }

    /// <summary>iommu_group_has_isolated_msi(): interrupt remapping keeps the group's MSIs apart.</summary>
    bool MsiIsolated { get; }

    /// <summary>ops-&gt;enforce_cache_coherency() of the domain: no-snoop TLPs can be blocked.</summary>
    bool EnforceCacheCoherency { get; }

    /// <summary>The IOMMU driver (domain-&gt;ops): groups of one driver and equal coherency share a domain.</summary>
    string IommuDriver { get; }
}

/// <summary>A plain <see cref="IIommuGroupAttach"/>; <see cref="ForIntelIommu"/> gives what QEMU's VT-d reports.</summary>
public sealed record IommuGroupAttachInfo(
    int Id,
    ulong ApertureStart,
    ulong ApertureEnd,
    ulong PageSizes,
    IReadOnlyList<ResvRegion> ReservedRegions,
    bool MsiIsolated,
    bool EnforceCacheCoherency,
    string IommuDriver) : IIommuGroupAttach
{
    /// <summary>4 KiB | 2 MiB | 1 GiB: VFIO_IOMMU_GET_INFO's iova_pgsizes measured on QEMU's intel-iommu (0x40201000).</summary>
    public const ulong IntelPageSizes = 0x1000 | 0x20_0000 | 0x4000_0000;

    /// <summary>
    /// A group behind QEMU's emulated VT-d (q35, -device intel-iommu,intremap=on): a 39-bit aperture
    /// ("DMAR: Host address width 39", GET_INFO's last range ends at 0x7fffffffff), 4K/2M/1G pages, the group's
    /// reserved regions (the MSI window 0xfee00000-0xfeefffff), MSIs isolated when interrupt remapping is on, and no
    /// snoop control (ECAP.SC is clear in QEMU's ecap 0xf00f4a, so intel_iommu_enforce_cache_coherency() fails).
    /// </summary>
    public static IommuGroupAttachInfo ForIntelIommu(IommuGroup group, bool interruptRemapping = true, int addressWidth = 39)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (addressWidth is < 12 or > 64) throw new ArgumentOutOfRangeException(nameof(addressWidth), addressWidth, "must be 12..64 bits");
        ulong end = addressWidth == 64 ? ulong.MaxValue : (1UL << addressWidth) - 1;
        return new IommuGroupAttachInfo(group.Id, 0, end, IntelPageSizes, Iommu.ReservedRegions.ForGroup(group),
            interruptRemapping, EnforceCacheCoherency: false, "intel-iommu");
    }
}

/// <summary>
/// /sys/module/vfio_iommu_type1/parameters: shared by every container of a machine. dma_entry_limit is read
/// when a backend is opened (VFIO_SET_IOMMU), allow_unsafe_interrupts at each group attach.
/// </summary>
public sealed class Type1ModuleParameters
{
    /// <summary>dma_entry_limit: mappings per container (U16_MAX).</summary>
    public uint DmaEntryLimit { get; set; } = ushort.MaxValue;

    /// <summary>allow_unsafe_interrupts: attach groups whose MSIs are not isolated.</summary>
    public bool AllowUnsafeInterrupts { get; set; }
}
