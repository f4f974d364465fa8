using VfioSim.Uapi;
using static VfioSim.Tests.Unit.Type1.Type1Harness;

namespace VfioSim.Tests.Unit.Type1;

/// <summary>VFIO_IOMMU_UNMAP_DMA: vfio_iommu_type1_unmap_dma() and vfio_dma_do_unmap(); errno rows of REPORT.md §4.</summary>
public class UnmapDmaTests
{
    private static Type1Harness WithFourPages(ulong type = VfioUapi.TYPE1v2_IOMMU)
    {
        var h = new Type1Harness(type);
        Assert.That(h.Map(0x100000, 4 * Page), Is.Zero);
        return h;
    }

    [Test]
    public void Unmap_dma_with_a_bad_arg_pointer_returns_EFAULT()
    {
        var h = WithFourPages();
        Assert.That(h.Ioctl(VfioUapi.IOMMU_UNMAP_DMA, Unmapped), Is.EqualTo(-Errno.EFAULT));
    }

    [Test]
    public void Unmap_dma_with_argsz_below_24_returns_EINVAL()
    {
        var h = WithFourPages();
        Assert.That(h.Unmap(0x100000, 4 * Page, argsz: 23), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Unmap_dma_with_an_unknown_flag_returns_EINVAL()
    {
        var h = WithFourPages();
        Assert.That(h.Unmap(0x100000, 4 * Page, flags: 8), Is.EqualTo(-Errno.EINVAL));
    }

    [TestCase(VfioUapi.DMA_UNMAP_FLAG_ALL)]
    [TestCase(VfioUapi.DMA_UNMAP_FLAG_VADDR)]
    public void Unmap_dma_with_get_dirty_bitmap_and_all_or_vaddr_returns_EINVAL(uint other)
    {
        var h = WithFourPages();
        Assert.That(h.Unmap(0, 0, flags: VfioUapi.DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | other, argsz: 48), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Unmap_dma_with_unaligned_iova_returns_EINVAL()
    {
        var h = WithFourPages();
        Assert.That(h.Unmap(0x100800, 4 * Page), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Unmap_dma_with_size_zero_without_all_returns_EINVAL()
    {
        var h = WithFourPages();
        Assert.That(h.Unmap(0x100000, 0), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Unmap_dma_with_unaligned_size_returns_EINVAL()
    {
        var h = WithFourPages();
        Assert.That(h.Unmap(0x100000, 0x1800), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Unmap_dma_with_a_wrapping_range_returns_EINVAL()
    {
        var h = WithFourPages();
        Assert.That(h.Unmap(0xFFFF_FFFF_FFFF_F000, 2 * Page), Is.EqualTo(-Errno.EINVAL));
    }

    [TestCase(0x1000UL, 0UL)]
    [TestCase(0UL, 0x1000UL)]
    public void Unmap_all_with_nonzero_iova_or_size_returns_EINVAL(ulong iova, ulong size)
    {
        var h = WithFourPages();
        Assert.That(h.Unmap(iova, size, flags: VfioUapi.DMA_UNMAP_FLAG_ALL), Is.EqualTo(-Errno.EINVAL));
        Assert.That(h.Iommu.MappingCount, Is.EqualTo(1));
    }

    [Test]
    public void Unmap_all_removes_every_mapping_and_returns_their_total_size()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page), Is.Zero);
        Assert.That(h.Map(0x200000, 2 * Page), Is.Zero);
        Assert.That(h.Map(0x7f_0000_0000, 3 * Page), Is.Zero);
        Assert.That(h.Unmap(0, 0, flags: VfioUapi.DMA_UNMAP_FLAG_ALL), Is.Zero);
        Assert.That(h.UnmapStruct.Size, Is.EqualTo(0x6000));
        Assert.That(h.Iommu.MappingCount, Is.Zero);
        Assert.That(h.Iommu.DmaAvail, Is.EqualTo(65535));
        Assert.That(h.P.AddressSpace.LockedVm, Is.Zero);
    }

    [Test]
    public void Unmap_all_on_a_v1_container_removes_every_mapping_too()
    {
        var h = WithFourPages(VfioUapi.TYPE1_IOMMU);
        Assert.That(h.Map(0x200000, Page), Is.Zero);
        Assert.That(h.Unmap(0, 0, flags: VfioUapi.DMA_UNMAP_FLAG_ALL), Is.Zero);
        Assert.That(h.UnmapStruct.Size, Is.EqualTo(5 * Page));
    }

    [TestCase(0x101000UL, 0x1000UL, TestName = "V2_unmap_of_the_middle_page_of_a_mapping_returns_EINVAL")]
    [TestCase(0x100000UL, 0x1000UL, TestName = "V2_unmap_of_the_first_page_of_a_mapping_returns_EINVAL")]
    [TestCase(0x0UL, 0x101000UL, TestName = "V2_unmap_ending_inside_a_mapping_returns_EINVAL")]
    [TestCase(0x103000UL, 0x10000UL, TestName = "V2_unmap_starting_inside_a_mapping_returns_EINVAL")]
    public void V2_unmap_that_bisects_a_mapping_returns_EINVAL_and_leaves_the_struct_untouched(ulong iova, ulong size)
    {
        var h = WithFourPages();
        var before = h.State();
        Assert.That(h.Unmap(iova, size), Is.EqualTo(-Errno.EINVAL));
        var s = h.UnmapStruct;
        Assert.That((s.Argsz, s.Flags, s.Iova, s.Size), Is.EqualTo((24u, 0u, iova, size)), "struct as passed");
        Assert.That(h.State(), Is.EqualTo(before));
    }

    [Test]
    public void V2_unmap_bisecting_a_later_mapping_removes_nothing_before_it()
    {
        var h = WithFourPages();
        Assert.That(h.Map(0x200000, 4 * Page), Is.Zero);
        var before = h.State();
        Assert.That(h.Unmap(0x100000, 0x101000), Is.EqualTo(-Errno.EINVAL));
        Assert.That(h.State(), Is.EqualTo(before));
    }

    [TestCase(VfioUapi.TYPE1v2_IOMMU)]
    [TestCase(VfioUapi.TYPE1_IOMMU)]
    public void Unmap_of_a_range_ending_exactly_at_2_pow_64_unmaps_nothing(ulong type)
    {
        // vfio_find_dma_first_node() and the walk compare against iova + size, which wraps to 0.
        var h = WithFourPages(type);
        Assert.That(h.Unmap(0x100000, ulong.MaxValue - 0xfffff), Is.Zero);
        Assert.That(h.UnmapStruct.Size, Is.Zero);
        Assert.That(h.Iommu.MappingCount, Is.EqualTo(1));
    }

    [Test]
    public void Unmap_of_a_never_mapped_range_returns_0_with_size_0()
    {
        var h = WithFourPages();
        Assert.That(h.Unmap(0x800000, 4 * Page), Is.Zero);
        Assert.That(h.UnmapStruct.Size, Is.Zero);
    }

    [Test]
    public void Unmap_of_a_superset_of_one_mapping_returns_its_size()
    {
        var h = WithFourPages();
        Assert.That(h.Unmap(0x0, 0x400000), Is.Zero);
        Assert.That(h.UnmapStruct.Size, Is.EqualTo(0x4000));
        Assert.That(h.Iommu.MappingCount, Is.Zero);
    }

    [Test]
    public void Unmap_of_exactly_two_adjacent_mappings_returns_both_sizes()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, 2 * Page), Is.Zero);
        Assert.That(h.Map(0x102000, 2 * Page, vaddr: h.Buf + 2 * Page), Is.Zero);
        Assert.That(h.Unmap(0x100000, 4 * Page), Is.Zero);
        Assert.That(h.UnmapStruct.Size, Is.EqualTo(0x4000));
        Assert.That(h.Iommu.MappingCount, Is.Zero);
    }

    [Test]
    public void Unmap_keeps_mappings_outside_the_range()
    {
        var h = WithFourPages();
        Assert.That(h.Map(0x200000, Page), Is.Zero);
        Assert.That(h.Map(0x80000, Page), Is.Zero);
        Assert.That(h.Unmap(0x100000, 0x100000), Is.Zero);
        Assert.That(h.Iommu.Mappings.Select(m => m.Iova), Is.EqualTo(new[] { 0x80000UL, 0x200000UL }));
    }

    [Test]
    public void V1_unmap_of_the_first_page_of_a_larger_mapping_returns_its_whole_size()
    {
        var h = WithFourPages(VfioUapi.TYPE1_IOMMU);
        Assert.That(h.Unmap(0x100000, Page), Is.Zero);
        Assert.That(h.UnmapStruct.Size, Is.EqualTo(4 * Page));
        Assert.That(h.Iommu.MappingCount, Is.Zero);
    }

    [Test]
    public void V1_unmap_starting_inside_a_mapping_returns_0_and_keeps_it()
    {
        var h = WithFourPages(VfioUapi.TYPE1_IOMMU);
        Assert.That(h.Unmap(0x101000, Page), Is.Zero);
        Assert.That(h.UnmapStruct.Size, Is.Zero);
        Assert.That(h.Iommu.MappingCount, Is.EqualTo(1));
    }

    [Test]
    public void V1_unmap_stops_at_a_mapping_starting_below_iova_and_spares_the_ones_after_it()
    {
        var h = WithFourPages(VfioUapi.TYPE1_IOMMU);
        Assert.That(h.Map(0x200000, Page), Is.Zero);
        Assert.That(h.Unmap(0x102000, 0x200000), Is.Zero);
        Assert.That(h.UnmapStruct.Size, Is.Zero);
        Assert.That(h.Iommu.MappingCount, Is.EqualTo(2));
    }

    [Test]
    public void V1_unmap_covering_the_start_of_a_mapping_removes_all_of_it()
    {
        var h = new Type1Harness(VfioUapi.TYPE1_IOMMU);
        Assert.That(h.Map(0x100000, Page), Is.Zero);
        Assert.That(h.Map(0x101000, 8 * Page), Is.Zero);
        Assert.That(h.Unmap(0x100000, 2 * Page), Is.Zero);
        Assert.That(h.UnmapStruct.Size, Is.EqualTo(9 * Page));
    }

    [Test]
    public void Unmap_uncharges_locked_memory_and_frees_the_entry()
    {
        var h = WithFourPages();
        Assert.That(h.Unmap(0x100000, 4 * Page), Is.Zero);
        Assert.That(h.P.AddressSpace.LockedVm, Is.Zero);
        Assert.That(h.Iommu.DmaAvail, Is.EqualTo(65535));
    }

    [Test]
    public void Unmap_writes_back_exactly_the_24_byte_struct()
    {
        var h = WithFourPages();
        h.Put(h.Arg, new VfioIommuType1DmaUnmap { Argsz = 32, Iova = 0x100000, Size = 0x100000 });
        h.Put(h.Arg + 24, 0xA5A5A5A5A5A5A5A5UL);
        Assert.That(h.Ioctl(VfioUapi.IOMMU_UNMAP_DMA, h.Arg), Is.Zero);
        var s = h.UnmapStruct;
        Assert.That((s.Argsz, s.Flags, s.Iova, s.Size), Is.EqualTo((32u, 0u, 0x100000UL, 4 * Page)));
        Assert.That(h.Get<ulong>(h.Arg + 24), Is.EqualTo(0xA5A5A5A5A5A5A5A5UL));
    }

    [Test]
    public void Unmap_dma_with_a_read_only_struct_unmaps_then_returns_EFAULT()
    {
        // The copy back comes after the unmap (vfio_iommu_type1_unmap_dma()): the mapping is gone anyway.
        var h = WithFourPages();
        ulong ro = h.MmapAnon(Page, Prot.Read);
        var s = new VfioIommuType1DmaUnmap { Argsz = 24, Iova = 0x100000, Size = 4 * Page };
        System.Runtime.InteropServices.MemoryMarshal.Write(h.P.AddressSpace.Find(ro)!.Memory, in s);
        Assert.That(h.Ioctl(VfioUapi.IOMMU_UNMAP_DMA, ro), Is.EqualTo(-Errno.EFAULT));
        Assert.That(h.Iommu.MappingCount, Is.Zero);
    }
}
