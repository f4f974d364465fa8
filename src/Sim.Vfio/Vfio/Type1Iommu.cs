using VfioSim.Uapi;
using VfioSim.Vfio.Process;

namespace VfioSim.Vfio;

/// <summary>An inclusive range of valid IOVAs (struct vfio_iova; GET_INFO's vfio_iova_range).</summary>
public readonly record struct IovaRange(ulong Start, ulong End)
{
    public override string ToString() => $"[0x{Start:x}, 0x{End:x}]";
}

/// <summary>
/// struct vfio_iommu: the VFIO type1 IOMMU backend of one container (drivers/vfio/vfio_iommu_type1.c, Linux 6.12),
/// opened by VFIO_SET_IOMMU for type 1 (v1), 3 (v2) or 6 (v2 with nesting). The container attaches and detaches
/// groups (<see cref="AttachGroup"/>, <see cref="DetachGroup"/>), forwards its ioctls (<see cref="Ioctl"/>) and
/// calls <see cref="Release"/> when its last group leaves. Devices reach memory through <see cref="Translate"/>.
/// No emulated (mdev) groups: every group has a real IOMMU domain, so mappings are pinned when made.
/// </summary>
public sealed partial class Type1Iommu
{
    public const ulong PageSize = AddressSpace.PageSize;
    public const ulong PageMask = ~(PageSize - 1);

    private readonly Type1ModuleParameters parameters;
    private readonly DmaMappingTree dmaList = new();
    private readonly List<Domain> domains = [];
    private List<IovaRange> iovaList = [];
    private uint vaddrInvalidCount;
    private int numNonPinnedGroups;

    /// <summary>vfio_iommu_type1_open(): -EINVAL for a type other than 1, 3 or 6 (use <see cref="Accepts"/> first).</summary>
    public Type1Iommu(ulong type, Type1ModuleParameters? parameters = null)
    {
        if (!Accepts(type))
            throw new ArgumentOutOfRangeException(nameof(type), type, "type1 opens VFIO_TYPE1_IOMMU (1), VFIO_TYPE1v2_IOMMU (3) or VFIO_TYPE1_NESTING_IOMMU (6)");
        this.parameters = parameters ?? new Type1ModuleParameters();
        V2 = type != VfioUapi.TYPE1_IOMMU;
        Nesting = type == VfioUapi.TYPE1_NESTING_IOMMU;
        DmaAvail = this.parameters.DmaEntryLimit;
        PgsizeBitmap = PageMask;
    }

    /// <summary>The types vfio_iommu_type1_open() accepts.</summary>
    public static bool Accepts(ulong type) =>
        type is VfioUapi.TYPE1_IOMMU or VfioUapi.TYPE1v2_IOMMU or VfioUapi.TYPE1_NESTING_IOMMU;

    /// <summary>iommu-&gt;v2: no unmap bisection, dirty-page tracking available.</summary>
    public bool V2 { get; }

    /// <summary>iommu-&gt;nesting (type 6, removed after 6.12): every attach asks the IOMMU to enable nesting.</summary>
    public bool Nesting { get; }

    /// <summary>iommu-&gt;dma_avail: mappings that may still be made.</summary>
    public uint DmaAvail { get; private set; }

    /// <summary>iommu-&gt;pgsize_bitmap: PAGE_MASK without domains, else the AND of the domains' page sizes.</summary>
    public ulong PgsizeBitmap { get; private set; }

    /// <summary>The minimum page size: the alignment of MAP, UNMAP and dirty bitmaps.</summary>
    public ulong MinPageSize => 1UL << System.Numerics.BitOperations.TrailingZeroCount(PgsizeBitmap);

    /// <summary>iommu-&gt;dirty_page_tracking.</summary>
    public bool DirtyPageTracking { get; private set; }

    /// <summary>iommu-&gt;iova_list: where mappings may go (empty before the first attach).</summary>
    public IReadOnlyList<IovaRange> IovaRanges => iovaList;

    /// <summary>The mappings in IOVA order.</summary>
    public IEnumerable<DmaMapping> Mappings => dmaList.InOrder();

    public int MappingCount => dmaList.Count;

    /// <summary>The attached groups, domain by domain.</summary>
    public IEnumerable<IIommuGroupAttach> Groups => domains.SelectMany(d => d.Groups);

    /// <summary>How many IOMMU domains the groups share (one per driver and coherency setting).</summary>
    public int DomainCount => domains.Count;

    /// <summary>A mapping was pinned and is now mapped in the IOMMU (iommu_map() in vfio_pin_map_dma()).</summary>
    internal event Action<DmaMapping>? DmaMapped;

    /// <summary>A mapping is about to be unmapped from the IOMMU and unpinned (vfio_unmap_unpin()).</summary>
    internal event Action<DmaMapping>? DmaUnmapping;

    /// <summary>The pinned pieces of a mapping: (offset in the mapping, backing array, offset in it, length).</summary>
    internal static IEnumerable<(ulong Offset, byte[] Memory, int MemoryOffset, int Length)> PinnedPieces(DmaMapping dma)
    {
        if (dma.Chunks is null)
        {
            if (dma.Chunk.Memory is not null) yield return (dma.Chunk.Offset, dma.Chunk.Memory, dma.Chunk.MemoryOffset, dma.Chunk.Length);
            yield break;
        }
        foreach (var c in dma.Chunks) yield return (c.Offset, c.Memory, c.MemoryOffset, c.Length);
    }

    internal bool TreeIsValid() => dmaList.IsValid();

    /// <summary>struct vfio_domain: a paging domain and the groups attached to it.</summary>
    private sealed class Domain(IIommuGroupAttach first)
    {
        public List<IIommuGroupAttach> Groups { get; } = [first];
        public ulong ApertureStart { get; } = first.ApertureStart;
        public ulong ApertureEnd { get; } = first.ApertureEnd;
        public ulong PageSizes { get; } = first.PageSizes;
        public bool EnforceCacheCoherency { get; } = first.EnforceCacheCoherency;
        public string Driver { get; } = first.IommuDriver;
    }

    // ---- VFIO_CHECK_EXTENSION ----

    /// <summary>
    /// vfio_iommu_type1_check_extension() as in 6.12, where the nesting type still answered 1 (measured):
    /// <paramref name="iommu"/> is null while the container has no backend.
    /// </summary>
    public static int CheckExtension(Type1Iommu? iommu, ulong arg) => arg switch
    {
        VfioUapi.TYPE1_IOMMU or VfioUapi.TYPE1v2_IOMMU or VfioUapi.TYPE1_NESTING_IOMMU or VfioUapi.UNMAP_ALL => 1,
        // No emulated (mdev) groups exist here, which would turn it off.
        VfioUapi.UPDATE_VADDR => iommu is null ? 0 : 1,
        VfioUapi.DMA_CC_IOMMU => iommu is null ? 0 : iommu.domains.TrueForAll(d => d.EnforceCacheCoherency) ? 1 : 0,
        _ => 0,
    };

    // ---- ioctl ----

    /// <summary>
    /// vfio_iommu_type1_ioctl(): the container passes every request it does not handle itself once the backend
    /// is set. Returns ≥ 0 or -errno; the argument is a user pointer into <paramref name="process"/>'s memory.
    /// </summary>
    public long Ioctl(SimProcess process, uint request, ulong arg)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (request == VfioUapi.CHECK_EXTENSION) return CheckExtension(this, arg);
        if (request == VfioUapi.IOMMU_GET_INFO) return GetInfo(process, arg);
        if (request == VfioUapi.IOMMU_MAP_DMA) return MapDma(process, arg);
        if (request == VfioUapi.IOMMU_UNMAP_DMA) return UnmapDma(process, arg);
        if (request == VfioUapi.IOMMU_DIRTY_PAGES) return DirtyPages(process, arg);
        return -Errno.ENOTTY;
    }

    // ---- groups ----

    /// <summary>
    /// vfio_iommu_type1_attach_group(), steps in the kernel's order (vfio-abi.md §4.4 step 5; no mdev).
    /// Returns 0 or -errno; on failure nothing changes.
    /// </summary>
    public int AttachGroup(IIommuGroupAttach group)
    {
        ArgumentNullException.ThrowIfNull(group);
        // a. Attach could require pinning, which needs every vaddr valid.
        if (vaddrInvalidCount != 0) return -Errno.EBUSY;
        // b. Duplicates.
        if (FindGroup(group) is not null) return -Errno.EINVAL;
        // d. A paging domain for the group. iommu_enable_nesting() fails on VT-d and AMD-Vi (no enable_nesting op).
        if (Nesting) return -Errno.EINVAL;
        var domain = new Domain(group);
        // e. The new aperture must overlap the valid IOVAs and strand no mapping: vfio_iommu_aper_conflict().
        if (AperConflict(domain.ApertureStart, domain.ApertureEnd)) return -Errno.EINVAL;
        // f. No mapping may sit in one of the group's reserved regions: vfio_iommu_resv_conflict().
        if (ResvConflict(group.ReservedRegions)) return -Errno.EINVAL;
        // g. Work on a copy so that a failure leaves the list as it was.
        var copy = new List<IovaRange>(iovaList);
        AperResize(copy, domain.ApertureStart, domain.ApertureEnd);
        if (ResvExclude(copy, group.ReservedRegions) != 0) return -Errno.EINVAL;
        // h. Without interrupt remapping a device could forge MSIs.
        if (!parameters.AllowUnsafeInterrupts && !group.MsiIsolated) return -Errno.EPERM;
        // i. Join a compatible domain (same ops, same coherency), else replay the mappings into the new one.
        var compatible = domains.Find(d => d.Driver == domain.Driver && d.EnforceCacheCoherency == domain.EnforceCacheCoherency);
        if (compatible is not null) compatible.Groups.Add(group);
        else
        {
            int err = Replay();
            if (err != 0) return err;
            domains.Insert(0, domain); // list_add: at the head
            UpdatePgsizeBitmap();
        }
        // j.
        iovaList = copy;
        // An IOMMU-backed group can dirty any mapped page (no page-pinning interface to narrow that).
        numNonPinnedGroups++;
        return 0;
    }

    /// <summary>
    /// vfio_iommu_type1_detach_group(): when the last group of the last domain leaves, every mapping is removed
    /// and unpinned. The valid IOVA list is recomputed from the remaining domains and groups.
    /// </summary>
    public void DetachGroup(IIommuGroupAttach group)
    {
        ArgumentNullException.ThrowIfNull(group);
        bool updateDirtyScope = false;
        var copy = new List<IovaRange>(iovaList);
        foreach (var domain in domains)
        {
            if (!domain.Groups.Remove(group)) continue;
            updateDirtyScope = true;
            if (domain.Groups.Count == 0)
            {
                if (domains.Count == 1) UnmapUnpinAll();
                domains.Remove(domain);
                AperExpand(copy);
                UpdatePgsizeBitmap();
            }
            break;
        }
        if (ResvRefresh(copy) == 0) iovaList = copy;
        if (updateDirtyScope)
        {
            numNonPinnedGroups--;
            if (DirtyPageTracking) PopulateBitmapFull();
        }
    }

    /// <summary>
    /// vfio_iommu_type1_release(): the container's last group has gone (or SET_IOMMU failed): every mapping is
    /// removed, unpinned and uncharged, and the domains are freed.
    /// </summary>
    public void Release()
    {
        UnmapUnpinAll();
        domains.Clear();
        iovaList = [];
        numNonPinnedGroups = 0;
    }

    /// <summary>
    /// vfio_iommu_replay(): mappings already pinned only need mapping into the new domain, which cannot fail here;
    /// mappings made while no domain existed are pinned now (for their owner), all or none.
    /// </summary>
    private int Replay()
    {
        var pinned = new List<DmaMapping>();
        foreach (var dma in dmaList.InOrder())
        {
            if (dma.IommuMapped) continue;
            int err = PinMapDma(dma.Owner, dma);
            if (err != 0)
            {
                foreach (var d in pinned) Unpin(d);
                return err;
            }
            pinned.Add(dma);
        }
        return 0;
    }

    private IIommuGroupAttach? FindGroup(IIommuGroupAttach group)
    {
        foreach (var d in domains)
            foreach (var g in d.Groups)
                if (ReferenceEquals(g, group)) return g;
        return null;
    }

    /// <summary>vfio_update_pgsize_bitmap(): sub-page sizes are hidden behind PAGE_SIZE.</summary>
    private void UpdatePgsizeBitmap()
    {
        ulong bitmap = ulong.MaxValue;
        foreach (var d in domains) bitmap &= d.PageSizes;
        if ((bitmap & ~PageMask) != 0)
        {
            bitmap &= PageMask;
            bitmap |= PageSize;
        }
        PgsizeBitmap = bitmap;
    }

    // ---- the valid IOVA list ----

    /// <summary>vfio_iommu_aper_conflict().</summary>
    private bool AperConflict(ulong start, ulong end)
    {
        if (iovaList.Count == 0) return false;
        var first = iovaList[0];
        var last = iovaList[^1];
        if (start > last.End || end < first.Start) return true; // disjoint
        if (start > first.Start && dmaList.Find(first.Start, start - first.Start) is not null) return true;
        if (end < last.End && dmaList.Find(end + 1, last.End - end) is not null) return true;
        return false;
    }

    /// <summary>vfio_iommu_aper_resize(), including its quirk of dropping a range whose end equals the new start.</summary>
    private static void AperResize(List<IovaRange> list, ulong start, ulong end)
    {
        if (list.Count == 0)
        {
            list.Add(new IovaRange(start, end));
            return;
        }
        while (list.Count > 0)
        {
            var node = list[0];
            if (start < node.Start) break;
            if (start >= node.Start && start < node.End)
            {
                list[0] = node with { Start = start };
                break;
            }
            list.RemoveAt(0);
        }
        for (int i = 0; i < list.Count;)
        {
            var node = list[i];
            if (end > node.End) { i++; continue; }
            if (end > node.Start && end <= node.End)
            {
                list[i] = node with { End = end };
                i++;
                continue;
            }
            list.RemoveAt(i);
        }
    }

    /// <summary>vfio_iommu_resv_conflict(): direct-relaxable regions may be mapped over.</summary>
    private bool ResvConflict(IReadOnlyList<Iommu.ResvRegion> regions)
    {
        foreach (var r in regions)
            if (r.Type != Iommu.ResvRegionType.DirectRelaxable && dmaList.Find(r.Start, r.Length) is not null) return true;
        return false;
    }

    /// <summary>vfio_iommu_resv_exclude(): cuts the regions out of the list; -EINVAL when nothing is left.</summary>
    private static int ResvExclude(List<IovaRange> list, IReadOnlyList<Iommu.ResvRegion> regions)
    {
        foreach (var r in regions)
        {
            if (r.Type == Iommu.ResvRegionType.DirectRelaxable) continue;
            ulong start = r.Start, end = r.Start + r.Length - 1;
            for (int i = 0; i < list.Count;)
            {
                var n = list[i];
                if (start > n.End || end < n.Start) { i++; continue; }
                list.RemoveAt(i);
                if (end < n.End) list.Insert(i, new IovaRange(end + 1, n.End));
                if (start > n.Start) list.Insert(i++, new IovaRange(n.Start, start - 1));
                if (end < n.End) i++;
            }
        }
        return list.Count == 0 ? -Errno.EINVAL : 0;
    }

    /// <summary>vfio_iommu_aper_expand(): the aperture becomes the intersection of the remaining domains'.</summary>
    private void AperExpand(List<IovaRange> copy)
    {
        if (copy.Count == 0) return;
        ulong start = 0, end = ulong.MaxValue;
        foreach (var d in domains)
        {
            if (d.ApertureStart > start) start = d.ApertureStart;
            if (d.ApertureEnd < end) end = d.ApertureEnd;
        }
        copy[0] = copy[0] with { Start = start };
        copy[^1] = copy[^1] with { End = end };
    }

    /// <summary>vfio_iommu_resv_refresh(): rebuilds the list from its bounds minus every remaining group's regions.</summary>
    private int ResvRefresh(List<IovaRange> copy)
    {
        if (copy.Count == 0) return -Errno.EINVAL;
        var regions = domains.SelectMany(d => d.Groups).SelectMany(g => g.ReservedRegions).ToList();
        ulong start = copy[0].Start, end = copy[^1].End;
        copy.Clear();
        AperResize(copy, start, end);
        return ResvExclude(copy, regions);
    }

    /// <summary>vfio_iommu_iova_dma_valid(): inside one valid range (an empty list allows everything).</summary>
    private bool IovaDmaValid(ulong start, ulong end)
    {
        foreach (var r in iovaList)
            if (start >= r.Start && end <= r.End) return true;
        return iovaList.Count == 0;
    }
}
