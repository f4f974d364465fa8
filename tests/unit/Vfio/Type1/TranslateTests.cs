using VfioSim.Uapi;
using VfioSim.Vfio;
using static VfioSim.Tests.Unit.Type1.Type1Harness;

namespace VfioSim.Tests.Unit.Type1;

/// <summary>Type1Iommu.Translate: what the container's IOMMU domains do with a device's DMA.</summary>
public class TranslateTests
{
    [Test]
    public void Translate_of_an_unmapped_iova_faults()
    {
        // REPORT.md §4: edu's DMA write to IOVA 0x900000 with only 0x100000 and 0x200000 mapped faults.
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page), Is.Zero);
        Assert.That(h.Map(0x200000, Page), Is.Zero);
        Assert.That(h.Iommu.Translate(0x900000, 8, write: true, out _), Is.EqualTo(DmaFault.NotMapped));
    }

    [Test]
    public void Translate_resolves_to_the_process_memory_behind_the_iova()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, 4 * Page, vaddr: h.Buf + 4 * Page), Is.Zero);
        Assert.That(h.Iommu.Translate(0x101010, 16, write: false, out var t), Is.EqualTo(DmaFault.None));
        Assert.That((t.AddressSpace, t.Vaddr, t.Length), Is.EqualTo((h.P.AddressSpace, h.Buf + 5 * Page + 0x10, 16)));
    }

    [Test]
    public void Dma_write_lands_in_process_memory_and_dma_read_sees_process_stores()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page), Is.Zero);
        Assert.That(h.Iommu.DmaWrite(0x100008, [1, 2, 3, 4], out _), Is.EqualTo(DmaFault.None));
        Assert.That(h.P.AddressSpace.Load32(h.Buf + 8), Is.EqualTo(0x04030201));
        h.P.AddressSpace.Store64(h.Buf + 0x20, 0x1122334455667788);
        var b = new byte[8];
        Assert.That(h.Iommu.DmaRead(0x100020, b, out _), Is.EqualTo(DmaFault.None));
        Assert.That(BitConverter.ToUInt64(b), Is.EqualTo(0x1122334455667788));
    }

    [Test]
    public void Translate_write_to_a_read_only_mapping_faults()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page, flags: VfioUapi.DMA_MAP_FLAG_READ), Is.Zero);
        Assert.That(h.Iommu.Translate(0x100000, 4, write: true, out _), Is.EqualTo(DmaFault.WriteDenied));
        Assert.That(h.Iommu.Translate(0x100000, 4, write: false, out _), Is.EqualTo(DmaFault.None));
    }

    [Test]
    public void Translate_read_of_a_write_only_mapping_faults()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page, flags: VfioUapi.DMA_MAP_FLAG_WRITE), Is.Zero);
        Assert.That(h.Iommu.Translate(0x100000, 4, write: false, out _), Is.EqualTo(DmaFault.ReadDenied));
    }

    [Test]
    public void Translate_stops_at_the_end_of_the_mapping_and_the_next_page_faults()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page), Is.Zero);
        Assert.That(h.Iommu.Translate(0x100ff0, 0x20, write: true, out var t), Is.EqualTo(DmaFault.None));
        Assert.That(t.Length, Is.EqualTo(0x10));
        Assert.That(h.Iommu.DmaWrite(0x100ff0, new byte[0x20], out ulong fault), Is.EqualTo(DmaFault.NotMapped));
        Assert.That(fault, Is.EqualTo(0x101000));
    }

    [Test]
    public void Dma_across_two_adjacent_mappings_reaches_both()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page, vaddr: h.Buf), Is.Zero);
        Assert.That(h.Map(0x101000, Page, vaddr: h.Buf + 8 * Page), Is.Zero);
        Assert.That(h.Iommu.DmaWrite(0x100ffc, [1, 2, 3, 4, 5, 6, 7, 8], out _), Is.EqualTo(DmaFault.None));
        Assert.That((h.P.AddressSpace.Load32(h.Buf + 0xffc), h.P.AddressSpace.Load32(h.Buf + 8 * Page)),
            Is.EqualTo((0x04030201u, 0x08070605u)));
    }

    [Test]
    public void Dma_over_a_mapping_spanning_two_memory_mappings_reaches_both()
    {
        var h = new Type1Harness();
        ulong a = h.MmapAnon(Page, Prot.Read | Prot.Write);
        ulong b = h.MmapAnon(Page, Prot.Read | Prot.Write);
        Assume.That(b, Is.EqualTo(a + Page));
        Assert.That(h.Map(0x100000, 2 * Page, vaddr: a), Is.Zero);
        Assert.That(h.Iommu.DmaWrite(0x100ffe, [1, 2, 3, 4], out _), Is.EqualTo(DmaFault.None));
        Assert.That((h.P.AddressSpace.Load16(a + 0xffe), h.P.AddressSpace.Load16(b)), Is.EqualTo(((ushort)0x0201, (ushort)0x0403)));
    }

    [Test]
    public void Dma_keeps_reaching_pinned_memory_after_the_process_unmaps_it()
    {
        // FOLL_LONGTERM pins: the pages belong to the mapping until UNMAP_DMA.
        var h = new Type1Harness();
        ulong a = h.MmapAnon(Page, Prot.Read | Prot.Write);
        h.P.AddressSpace.Store32(a, 0xCAFEF00D);
        Assert.That(h.Map(0x100000, Page, vaddr: a), Is.Zero);
        Assert.That(h.P.Munmap(a, Page), Is.Zero);
        var buf = new byte[4];
        Assert.That(h.Iommu.DmaRead(0x100000, buf, out _), Is.EqualTo(DmaFault.None));
        Assert.That(BitConverter.ToUInt32(buf), Is.EqualTo(0xCAFEF00D));
    }

    [Test]
    public void Translate_after_unmap_faults()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page), Is.Zero);
        Assert.That(h.Unmap(0x100000, Page), Is.Zero);
        Assert.That(h.Iommu.Translate(0x100000, 1, write: false, out _), Is.EqualTo(DmaFault.NotMapped));
    }
}
