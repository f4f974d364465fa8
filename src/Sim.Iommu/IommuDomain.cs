using VfioSim.Uapi;

namespace VfioSim.Iommu;

/// <summary>IOMMU_READ / IOMMU_WRITE of include/linux/iommu.h: what a mapping lets a device do.</summary>
[Flags]
public enum IommuPerm
{
    None = 0,
    Read = 1,
    Write = 2,
    ReadWrite = Read | Write,
}

/// <summary>What a translated address leads to (iommu_iova_to_phys() with the page's permissions).</summary>
public readonly record struct IommuTranslation(IDmaTarget Target, ulong Offset, IommuPerm Perm);

/// <summary>
/// struct iommu_domain: a translation context that IOMMU groups attach to.
/// <list type="bullet">
/// <item>Paging domains (unmanaged for VFIO, DMA for the kernel's DMA API) translate through a page table of
/// 4 KiB pages, each pointing at an offset of an <see cref="IDmaTarget"/> with R/W permissions. The table is a
/// radix tree like the VT-d second-level tables (9 bits a level): finding a page is a few array indexings, and
/// a transfer scans the entries of each leaf it crosses, so a page costs O(1). Pages leading to consecutive
/// offsets of one target move with one copy, however they were mapped.</item>
/// <item>An identity domain passes bus addresses through unchanged to the machine's <see cref="SystemMemory"/>.</item>
/// <item>A blocked domain faults every access.</item>
/// </list>
/// A DMA domain here is a paging domain that only the simulated kernel's DMA API would fill; no simulated host
/// driver maps anything, so a device doing DMA under its default DMA domain faults "not mapped", as a device
/// using an address its driver never mapped does on Linux.
/// </summary>
public sealed class IommuDomain
{
    public const int PageShift = 12;
    public const ulong PageSize = 1UL << PageShift;

    /// <summary>
    /// domain-&gt;pgsize_bitmap of a VT-d second-level domain: 4 KiB | 2 MiB | 1 GiB, as VFIO_IOMMU_GET_INFO reports
    /// it on the measured q35 (0x40201000). Mappings are kept at 4 KiB granularity whatever size they are made with.
    /// </summary>
    public const ulong VtdPageSizes = 0x40201000;

    private const int LevelBits = 9, LevelMask = (1 << LevelBits) - 1;

    // root[i][j][k] is the leaf of 512 PTEs for pfn bits 35:27, 26:18, 17:9 (IOVA bits 47:12).
    private Pte[]?[]?[]?[]? root; // made by the first map: a DMA domain of a big machine stays empty
    private readonly IDmaTarget? identityTarget;
    private ulong cachedLeafKey = ulong.MaxValue;
    private Pte[]? cachedLeaf;
    private ulong mappedPages;

    internal IommuDomain(IommuModel owner, IommuDomainType type, int addressWidth, IDmaTarget? identityTarget = null)
    {
        Owner = owner;
        Type = type;
        ApertureEnd = (1UL << addressWidth) - 1;
        this.identityTarget = identityTarget;
    }

    public IommuDomainType Type { get; }

    /// <summary>domain-&gt;owner: the IOMMU that made it; a group attaches only to domains of its own IOMMU.</summary>
    public IommuModel Owner { get; }

    /// <summary>__IOMMU_DOMAIN_PAGING: translated through a page table (unmanaged, DMA, DMA-FQ).</summary>
    public bool IsPaging => Type is IommuDomainType.Unmanaged or IommuDomainType.Dma or IommuDomainType.DmaFq;

    /// <summary>domain-&gt;geometry: IOVAs [0, ApertureEnd] are translatable (2^addressWidth − 1; 39 bits on QEMU's VT-d).</summary>
    public ulong ApertureStart => 0;
    public ulong ApertureEnd { get; }

    /// <summary>domain-&gt;pgsize_bitmap (0 for domains without a page table).</summary>
    public ulong PageSizeBitmap => IsPaging ? VtdPageSizes : 0;

    /// <summary>Bytes currently mapped.</summary>
    public ulong MappedBytes => mappedPages << PageShift;

    /// <summary>
    /// iommu_map(): maps [iova, iova+size) to [offset, offset+size) of <paramref name="target"/>. Returns 0 or
    /// -errno, changing nothing on an error: -EINVAL for a domain without a page table, an address, offset or
    /// size not a multiple of 4 KiB (__iommu_map()), or no permission (the VT-d driver's __domain_mapping());
    /// -EFAULT when the range passes the address width (intel_iommu_map()); -EEXIST when a page is already mapped
    /// (the VT-d driver only WARNs there; VFIO type1 never maps twice). Size 0 maps nothing and returns 0.
    /// </summary>
    public int Map(ulong iova, IDmaTarget target, ulong offset, ulong size, IommuPerm perm)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!IsPaging || ((iova | offset | size) & (PageSize - 1)) != 0) return -Errno.EINVAL;
        if (size == 0) return 0;
        if (iova + size - 1 < iova || iova + size - 1 > ApertureEnd) return -Errno.EFAULT;
        if ((perm & IommuPerm.ReadWrite) == 0) return -Errno.EINVAL;
        if (offset + size - 1 < offset) return -Errno.EINVAL;

        ulong first = iova >> PageShift, count = size >> PageShift;
        for (ulong i = 0; i < count; i++)
            if (Leaf(first + i) is { } leaf && leaf[(int)((first + i) & LevelMask)].Target is not null) return -Errno.EEXIST;
        for (ulong i = 0; i < count; i++)
        {
            ulong pfn = first + i;
            CreateLeaf(pfn)[(int)(pfn & LevelMask)] = new Pte(target, offset + (i << PageShift), perm & IommuPerm.ReadWrite);
        }
        mappedPages += count;
        return 0;
    }

    /// <summary>
    /// iommu_unmap(): removes every mapped page in [iova, iova+size) and returns the bytes removed (holes are
    /// skipped). A domain without a page table, or an address or size not a multiple of 4 KiB, unmaps nothing (0).
    /// </summary>
    public ulong Unmap(ulong iova, ulong size)
    {
        if (!IsPaging || ((iova | size) & (PageSize - 1)) != 0 || size == 0 || iova > ApertureEnd) return 0;
        ulong last = Math.Min(iova + size - 1 < iova ? ulong.MaxValue : iova + size - 1, ApertureEnd) >> PageShift;
        ulong removed = 0;
        for (ulong pfn = iova >> PageShift; pfn <= last; pfn++)
        {
            if (Leaf(pfn) is not { } leaf)
            {
                pfn |= LevelMask; // the whole leaf is absent
                continue;
            }
            ref var pte = ref leaf[(int)(pfn & LevelMask)];
            if (pte.Target is null) continue;
            pte = default;
            removed++;
        }
        mappedPages -= removed;
        return removed << PageShift;
    }

    /// <summary>iommu_iova_to_phys(): where <paramref name="iova"/> leads, or null when it is not mapped.</summary>
    public IommuTranslation? Translate(ulong iova)
    {
        if (Type == IommuDomainType.Identity) return new IommuTranslation(identityTarget!, iova, IommuPerm.ReadWrite);
        if (!IsPaging || iova > ApertureEnd || Leaf(iova >> PageShift) is not { } leaf) return null;
        var pte = leaf[(int)((iova >> PageShift) & LevelMask)];
        return pte.Target is null ? null : new IommuTranslation(pte.Target, pte.Offset + (iova & (PageSize - 1)), pte.Perm);
    }

    // ---- the DMA path ----

    /// <summary>A device read of <c>destination.Length</c> bytes at <paramref name="iova"/>; all-or-nothing on a fault.</summary>
    internal DmaOutcome Read(ulong iova, Span<byte> destination, out ulong faultAddress) =>
        Transfer(iova, new ReadCopy(destination), out faultAddress);

    /// <summary>A device write of <paramref name="source"/> at <paramref name="iova"/>; all-or-nothing on a fault.</summary>
    internal DmaOutcome Write(ulong iova, ReadOnlySpan<byte> source, out ulong faultAddress) =>
        Transfer(iova, new WriteCopy(source), out faultAddress);

    private DmaOutcome Transfer<T>(ulong iova, T copy, out ulong faultAddress) where T : ICopy, allows ref struct
    {
        var outcome = Check(iova, copy.Length, copy.Need, out faultAddress);
        if (outcome != DmaOutcome.Done || copy.Length == 0) return outcome;
        if (Type == IommuDomainType.Identity) return copy.Run(identityTarget!, iova, 0, copy.Length) ? DmaOutcome.Done : DmaOutcome.TargetAbort;
        var runs = new RunWalker(this, iova, copy.Length);
        while (runs.Next(out var target, out ulong offset, out int start, out int length))
            if (!copy.Run(target, offset, start, length)) return DmaOutcome.TargetAbort;
        return DmaOutcome.Done;
    }

    /// <summary>One direction of a transfer: moves bytes [start, start+length) of the device's buffer to or from a target.</summary>
    private interface ICopy
    {
        int Length { get; }
        IommuPerm Need { get; }
        bool Run(IDmaTarget target, ulong offset, int start, int length);
    }

    private readonly ref struct ReadCopy(Span<byte> destination) : ICopy
    {
        private readonly Span<byte> destination = destination;
        public int Length => destination.Length;
        public IommuPerm Need => IommuPerm.Read;
        public bool Run(IDmaTarget target, ulong offset, int start, int length) => target.Read(offset, destination.Slice(start, length));
    }

    private readonly ref struct WriteCopy(ReadOnlySpan<byte> source) : ICopy
    {
        private readonly ReadOnlySpan<byte> source = source;
        public int Length => source.Length;
        public IommuPerm Need => IommuPerm.Write;
        public bool Run(IDmaTarget target, ulong offset, int start, int length) => target.Write(offset, source.Slice(start, length));
    }

    /// <summary>
    /// Translates every page of the transaction before any byte moves, so a fault moves nothing. The fault
    /// address is the first byte that cannot be translated.
    /// </summary>
    private DmaOutcome Check(ulong iova, int length, IommuPerm need, out ulong faultAddress)
    {
        faultAddress = iova;
        if (length == 0 || Type == IommuDomainType.Identity) return DmaOutcome.Done;
        if (Type == IommuDomainType.Blocked) return DmaOutcome.Blocked;
        ulong last = iova + (ulong)length - 1;
        if (iova > ApertureEnd) return DmaOutcome.BeyondAperture;
        if (last < iova || last > ApertureEnd)
        {
            faultAddress = ApertureEnd + 1;
            return DmaOutcome.BeyondAperture;
        }
        // One leaf at a time: a tight scan of its entries, not a lookup per page.
        for (ulong pfn = iova >> PageShift, end = last >> PageShift; pfn <= end;)
        {
            int first = (int)(pfn & LevelMask), count = (int)Math.Min(end - pfn + 1, (ulong)(LevelMask + 1 - first));
            if (Leaf(pfn) is not { } leaf)
            {
                faultAddress = Math.Max(iova, pfn << PageShift);
                return DmaOutcome.NotMapped;
            }
            var entries = leaf.AsSpan(first, count);
            for (int i = 0; i < entries.Length; i++)
            {
                ref readonly var pte = ref entries[i];
                if (pte.Target is not null && (pte.Perm & need) != 0) continue;
                faultAddress = Math.Max(iova, (pfn + (ulong)i) << PageShift);
                return pte.Target is null ? DmaOutcome.NotMapped : DmaOutcome.Permission;
            }
            pfn += (ulong)count;
        }
        return DmaOutcome.Done;
    }

    /// <summary>The leaf holding <paramref name="pfn"/>'s PTE, or null when none was ever made.</summary>
    private Pte[]? Leaf(ulong pfn)
    {
        ulong key = pfn >> LevelBits;
        if (key == cachedLeafKey) return cachedLeaf;
        var leaf = root?[(int)((pfn >> (3 * LevelBits)) & LevelMask)]?[(int)((pfn >> (2 * LevelBits)) & LevelMask)]?[(int)(key & LevelMask)];
        cachedLeafKey = key;
        cachedLeaf = leaf;
        return leaf;
    }

    private Pte[] CreateLeaf(ulong pfn)
    {
        root ??= new Pte[]?[]?[]?[1 << LevelBits];
        var l1 = root[(int)((pfn >> (3 * LevelBits)) & LevelMask)] ??= new Pte[]?[]?[1 << LevelBits];
        var l2 = l1[(int)((pfn >> (2 * LevelBits)) & LevelMask)] ??= new Pte[]?[1 << LevelBits];
        ref var leaf = ref l2[(int)((pfn >> LevelBits) & LevelMask)];
        if (leaf is null)
        {
            leaf = new Pte[1 << LevelBits];
            cachedLeafKey = ulong.MaxValue; // a cached "no leaf here" may have just become wrong
        }
        return leaf;
    }

    /// <summary>A page table entry: the target page (null = not present), its offset there, and permissions.</summary>
    private readonly record struct Pte(IDmaTarget? Target, ulong Offset, IommuPerm Perm);

    /// <summary>
    /// Cuts a checked transaction into runs: consecutive pages that lead to consecutive offsets of one target
    /// are one run, so a buffer mapped page by page still moves with one copy.
    /// </summary>
    private ref struct RunWalker(IommuDomain domain, ulong iova, int total)
    {
        private int done;

        public bool Next(out IDmaTarget target, out ulong offset, out int start, out int length)
        {
            start = done;
            if (done == total)
            {
                (target, offset, length) = (null!, 0, 0);
                return false;
            }
            ulong a = iova + (ulong)done, pfn = a >> PageShift, inPage = a & (PageSize - 1);
            var leaf = domain.Leaf(pfn)!;
            int index = (int)(pfn & LevelMask);
            target = leaf[index].Target!;
            offset = leaf[index].Offset + inPage;
            ulong expected = leaf[index].Offset + PageSize; // where the next page must lead to extend the run
            done += (int)Math.Min((ulong)(total - done), PageSize - inPage);
            while (done < total)
            {
                pfn++;
                if (++index > LevelMask)
                {
                    leaf = domain.Leaf(pfn)!;
                    index = 0;
                }
                ref readonly var next = ref leaf[index];
                if (next.Target != target || next.Offset != expected) break;
                expected += PageSize;
                done += (int)Math.Min((ulong)(total - done), PageSize);
            }
            length = done - start;
            return true;
        }
    }
}

/// <summary>How a transaction ended in a domain: done, refused by the target, or one of the fault reasons.</summary>
internal enum DmaOutcome
{
    Done,
    /// <summary>Translated, but the target refused (no IOMMU fault).</summary>
    TargetAbort,
    NotMapped,
    Permission,
    Blocked,
    BeyondAperture,
}
