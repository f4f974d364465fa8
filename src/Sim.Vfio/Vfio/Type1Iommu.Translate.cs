using VfioSim.Vfio.Process;

namespace VfioSim.Vfio;

/// <summary>Why a DMA through the container's IOMMU domains failed to translate.</summary>
public enum DmaFault
{
    None,
    /// <summary>No mapping covers the IOVA (VT-d: non-present second-level entry).</summary>
    NotMapped,
    /// <summary>A device read of a mapping made without VFIO_DMA_MAP_FLAG_READ.</summary>
    ReadDenied,
    /// <summary>A device write to a mapping made without VFIO_DMA_MAP_FLAG_WRITE ("PTE Write access is not set").</summary>
    WriteDenied,
}

/// <summary>
/// Where a translated IOVA range lands: <see cref="Length"/> bytes at <see cref="Offset"/> in the pinned memory
/// <see cref="Memory"/>, which the owning process sees at <see cref="Vaddr"/> in <see cref="AddressSpace"/>
/// (unless it has unmapped or replaced that range since: the pinned memory stays what the device reaches).
/// </summary>
public readonly record struct DmaTarget(byte[] Memory, int Offset, int Length, AddressSpace AddressSpace, ulong Vaddr, DmaMapping Mapping)
{
    public Span<byte> Span => Memory.AsSpan(Offset, Length);
}

public sealed partial class Type1Iommu
{
    /// <summary>
    /// What the IOMMU does for a device access of <paramref name="length"/> bytes at <paramref name="iova"/>:
    /// on success <paramref name="target"/> covers the first contiguous piece, which may be shorter than asked
    /// when the range runs past the mapping (or past a piece of pinned memory); translate the rest from
    /// iova + target.Length. Mappings whose vaddr is invalid (VFIO_UPDATE_VADDR) still translate. O(log n).
    /// </summary>
    public DmaFault Translate(ulong iova, int length, bool write, out DmaTarget target)
    {
        target = default;
        var dma = dmaList.Find(iova, 1);
        if (dma is null || !dma.IommuMapped) return DmaFault.NotMapped;
        if (write ? (dma.Prot & DmaProt.Write) == 0 : (dma.Prot & DmaProt.Read) == 0)
            return write ? DmaFault.WriteDenied : DmaFault.ReadDenied;
        ulong offset = iova - dma.Iova;
        ref readonly var c = ref dma.ChunkAt(offset);
        int inChunk = (int)(offset - c.Offset);
        int n = Math.Min(Math.Max(length, 0), c.Length - inChunk);
        target = new DmaTarget(c.Memory, c.MemoryOffset + inChunk, n, dma.Mm, dma.Vaddr + offset, dma);
        return DmaFault.None;
    }

    /// <summary>
    /// A device read of memory (DMA from host memory to the device) into <paramref name="destination"/>. Stops at
    /// the first fault, whose address is <paramref name="faultIova"/>; bytes before it have been read.
    /// </summary>
    public DmaFault DmaRead(ulong iova, Span<byte> destination, out ulong faultIova) =>
        Transfer(iova, destination, default, write: false, out faultIova);

    /// <summary>A device write to memory from <paramref name="source"/>; stops at the first fault as <see cref="DmaRead"/>.</summary>
    public DmaFault DmaWrite(ulong iova, ReadOnlySpan<byte> source, out ulong faultIova) =>
        Transfer(iova, default, source, write: true, out faultIova);

    private DmaFault Transfer(ulong iova, Span<byte> destination, ReadOnlySpan<byte> source, bool write, out ulong faultIova)
    {
        int total = write ? source.Length : destination.Length;
        int done = 0;
        while (done < total)
        {
            var f = Translate(iova + (ulong)done, total - done, write, out var t);
            if (f != DmaFault.None)
            {
                faultIova = iova + (ulong)done;
                return f;
            }
            if (write) source.Slice(done, t.Length).CopyTo(t.Span);
            else t.Span.CopyTo(destination[done..]);
            done += t.Length;
        }
        faultIova = 0;
        return DmaFault.None;
    }
}
