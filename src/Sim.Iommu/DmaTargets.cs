namespace VfioSim.Iommu;

/// <summary>
/// Memory that IOMMU mappings point into, addressed by offset: what a physical address is to the kernel.
/// A VFIO backend implements it over a process's pinned pages, so this layer never sees an address space.
/// </summary>
public interface IDmaTarget
{
    /// <summary>Copies <c>destination.Length</c> bytes from <paramref name="offset"/>; false if any of them is not there.</summary>
    bool Read(ulong offset, Span<byte> destination);

    /// <summary>Copies <paramref name="source"/> to <paramref name="offset"/>; false if any byte is not there.</summary>
    bool Write(ulong offset, ReadOnlySpan<byte> source);
}

/// <summary>A byte array as DMA target (pinned pages of one mapping, a test buffer): offset = index into it.</summary>
public sealed class MemoryTarget(byte[] memory) : IDmaTarget
{
    public byte[] Memory { get; } = memory ?? throw new ArgumentNullException(nameof(memory));

    public bool Read(ulong offset, Span<byte> destination)
    {
        if (!Fits(offset, destination.Length)) return false;
        Memory.AsSpan((int)offset, destination.Length).CopyTo(destination);
        return true;
    }

    public bool Write(ulong offset, ReadOnlySpan<byte> source)
    {
        if (!Fits(offset, source.Length)) return false;
        source.CopyTo(Memory.AsSpan((int)offset, source.Length));
        return true;
    }

    private bool Fits(ulong offset, int length) => offset <= (ulong)Memory.Length && (ulong)length <= (ulong)Memory.Length - offset;
}

/// <summary>
/// The machine's RAM by physical address, as DMA reaches it without translation (an identity domain, or no
/// IOMMU at all). Sparse: a 4 KiB page exists once written, and reads as zeros before. An access beyond
/// <see cref="Size"/> fails: nothing decodes the address (no IOMMU fault either).
/// </summary>
public sealed class SystemMemory(ulong size) : IDmaTarget
{
    private const int PageShift = 12, PageSize = 1 << PageShift;
    private readonly Dictionary<ulong, byte[]> pages = [];

    public ulong Size { get; } = size;

    /// <summary>Pages that have been written (for tests).</summary>
    public int PagesTouched => pages.Count;

    public bool Read(ulong offset, Span<byte> destination)
    {
        if (!Fits(offset, destination.Length)) return false;
        for (int done = 0; done < destination.Length;)
        {
            ulong a = offset + (ulong)done;
            int inPage = (int)(a & (PageSize - 1)), n = Math.Min(destination.Length - done, PageSize - inPage);
            var chunk = destination.Slice(done, n);
            if (pages.TryGetValue(a >> PageShift, out var page)) page.AsSpan(inPage, n).CopyTo(chunk);
            else chunk.Clear();
            done += n;
        }
        return true;
    }

    public bool Write(ulong offset, ReadOnlySpan<byte> source)
    {
        if (!Fits(offset, source.Length)) return false;
        for (int done = 0; done < source.Length;)
        {
            ulong a = offset + (ulong)done;
            int inPage = (int)(a & (PageSize - 1)), n = Math.Min(source.Length - done, PageSize - inPage);
            if (!pages.TryGetValue(a >> PageShift, out var page)) pages[a >> PageShift] = page = new byte[PageSize];
            source.Slice(done, n).CopyTo(page.AsSpan(inPage, n));
            done += n;
        }
        return true;
    }

    private bool Fits(ulong offset, int length) => offset <= Size && (ulong)length <= Size - offset;
}
