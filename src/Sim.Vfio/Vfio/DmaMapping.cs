using VfioSim.Vfio.Process;

namespace VfioSim.Vfio;

/// <summary>IOMMU_READ / IOMMU_WRITE of a mapping, from the device's point of view.</summary>
[Flags]
public enum DmaProt
{
    None = 0,
    /// <summary>The device may read the memory (VFIO_DMA_MAP_FLAG_READ).</summary>
    Read = 1,
    /// <summary>The device may write the memory (VFIO_DMA_MAP_FLAG_WRITE).</summary>
    Write = 2,
}

/// <summary>
/// One piece of pinned memory behind a mapping: the byte range of an anonymous mapping's backing store that
/// IOVAs [offset, offset + Length) of the mapping reach. Pinned pages are what DMA reaches for as long as the
/// mapping lives, even if the process unmaps or replaces the virtual range (FOLL_LONGTERM pins).
/// </summary>
internal readonly struct PinnedChunk(ulong offset, byte[] memory, int memoryOffset, int length)
{
    /// <summary>Offset of the chunk inside the mapping (IOVA − mapping IOVA).</summary>
    public ulong Offset { get; } = offset;
    public byte[] Memory { get; } = memory;
    public int MemoryOffset { get; } = memoryOffset;
    public int Length { get; } = length;
}

/// <summary>
/// struct vfio_dma (drivers/vfio/vfio_iommu_type1.c): one successful VFIO_IOMMU_MAP_DMA, never merged with its
/// neighbours. It remembers the process that mapped it (task, mm), whether that process could bypass
/// RLIMIT_MEMLOCK, the pages it charged, the pinned memory, and — while dirty tracking runs — a dirty bitmap.
/// </summary>
public sealed class DmaMapping
{
    internal DmaMapping(ulong iova, ulong size, ulong vaddr, DmaProt prot, SimProcess owner, bool lockCap)
    {
        Iova = iova;
        Size = size;
        Vaddr = vaddr;
        Prot = prot;
        Owner = owner;
        LockCap = lockCap;
    }

    /// <summary>Device address of the first byte.</summary>
    public ulong Iova { get; }

    /// <summary>Length in bytes (a multiple of the minimum IOMMU page size).</summary>
    public ulong Size { get; }

    /// <summary>Device address of the last byte (inclusive, so a mapping ending at 2^64 has no overflow).</summary>
    public ulong Last => Iova + Size - 1;

    /// <summary>Process virtual address given at MAP (or by the last VFIO_DMA_MAP_FLAG_VADDR update).</summary>
    public ulong Vaddr { get; internal set; }

    public DmaProt Prot { get; }

    /// <summary>After UNMAP with VFIO_DMA_UNMAP_FLAG_VADDR, until MAP with VFIO_DMA_MAP_FLAG_VADDR: DMA still works.</summary>
    public bool VaddrInvalid { get; internal set; }

    /// <summary>dma-&gt;task: the process charged for the pinned pages.</summary>
    public SimProcess Owner { get; internal set; }

    /// <summary>dma-&gt;mm: the address space the pinned pages were charged to.</summary>
    public AddressSpace Mm => Owner.AddressSpace;

    /// <summary>dma-&gt;lock_cap: the process had CAP_IPC_LOCK when it mapped (RLIMIT_MEMLOCK not enforced).</summary>
    public bool LockCap { get; internal set; }

    /// <summary>dma-&gt;locked_vm: pages charged to <see cref="Mm"/>.</summary>
    public ulong LockedVm { get; internal set; }

    /// <summary>dma-&gt;iommu_mapped: pinned and mapped into the container's IOMMU domains.</summary>
    public bool IommuMapped { get; internal set; }

    /// <summary>
    /// Dirty bitmap at the minimum page size while dirty tracking runs (null otherwise), with one spare word as
    /// vfio_dma_bitmap_alloc() allocates for shifting.
    /// </summary>
    internal ulong[]? Bitmap { get; set; }

    /// <summary>The pinned memory when one anonymous mapping backs it all (the usual case; no array then).</summary>
    internal PinnedChunk Chunk;

    /// <summary>Every chunk in IOVA order when the vaddr range spans several anonymous mappings, else null.</summary>
    internal PinnedChunk[]? Chunks;

    /// <summary>The chunk holding byte <paramref name="offset"/> of the mapping.</summary>
    internal ref readonly PinnedChunk ChunkAt(ulong offset)
    {
        if (Chunks is null) return ref Chunk;
        int i = Chunks.Length - 1;
        while (Chunks[i].Offset > offset) i--;
        return ref Chunks[i];
    }

    // AVL links (the rb_node embedded in struct vfio_dma): see DmaMappingTree.
    internal DmaMapping? Left, Right;
    internal int Height = 1;

    public override string ToString() =>
        $"[0x{Iova:x}, 0x{Last:x}] vaddr 0x{Vaddr:x} {Prot}{(VaddrInvalid ? " vaddr-invalid" : "")}";
}
