using VfioSim.Uapi;

namespace VfioSim.Driver;

/// <summary>
/// Hands out IOVAs inside the ranges the IOMMU reports, page aligned, below a device's DMA mask, never reusing
/// a range until it is freed.
/// </summary>
public sealed class IovaAllocator
{
    private readonly List<IovaRange> ranges;
    private readonly ulong pageSize;
    private readonly SortedDictionary<ulong, ulong> used = []; // start -> size

    public IovaAllocator(IEnumerable<IovaRange> ranges, ulong pageSize = 4096, ulong dmaMask = ulong.MaxValue, ulong start = 0x100000)
    {
        this.pageSize = pageSize;
        this.ranges = ranges
            .Select(r => new IovaRange(Math.Max(r.Start, start), Math.Min(r.End, dmaMask)))
            .Where(r => r.Start <= r.End)
            .ToList();
    }

    public ulong Allocate(ulong size)
    {
        size = (size + pageSize - 1) & ~(pageSize - 1);
        foreach (var r in ranges)
        {
            ulong candidate = (r.Start + pageSize - 1) & ~(pageSize - 1);
            foreach (var (s, len) in used)
            {
                if (s + len <= candidate) continue;
                if (s >= candidate + size) break;
                candidate = s + len;
            }
            if (candidate + size - 1 <= r.End && candidate + size > candidate)
            {
                used[candidate] = size;
                return candidate;
            }
        }
        throw new VfioException(Errno.ENOSPC, $"iova-alloc({size})", "no free IOVA range is large enough below the device's DMA mask");
    }

    public void Free(ulong iova) => used.Remove(iova);
}

/// <summary>Anonymous process memory mapped for device DMA at an IOVA; unmapped and freed on dispose.</summary>
public sealed class DmaBuffer : IDisposable
{
    private readonly IKernel kernel;
    private readonly VfioContainer container;
    private readonly IovaAllocator allocator;

    public DmaBuffer(IKernel kernel, VfioContainer container, IovaAllocator allocator, ulong size)
    {
        this.kernel = kernel;
        this.container = container;
        this.allocator = allocator;
        Size = (size + 4095) & ~4095UL;
        long addr = kernel.Mmap(0, Size, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous, -1, 0);
        Vaddr = (ulong)VfioException.Check(addr, $"mmap(dma buffer, {Size})");
        Iova = allocator.Allocate(Size);
        try
        {
            container.MapDma(Vaddr, Iova, Size);
        }
        catch
        {
            allocator.Free(Iova);
            kernel.Munmap(Vaddr, Size);
            throw;
        }
    }

    public ulong Vaddr { get; }
    public ulong Iova { get; }
    public ulong Size { get; }

    public void Write(ReadOnlySpan<byte> bytes, ulong offset = 0) => kernel.Memory.Write(Vaddr + offset, bytes);

    public byte[] Read(int length, ulong offset = 0)
    {
        var b = new byte[length];
        kernel.Memory.Read(Vaddr + offset, b);
        return b;
    }

    public void Dispose()
    {
        container.UnmapDma(Iova, Size);
        allocator.Free(Iova);
        kernel.Munmap(Vaddr, Size);
    }
}
