using VfioSim.Uapi;
using VfioSim.Vfio;
using static VfioSim.Tests.Unit.Type1.Type1Harness;

namespace VfioSim.Tests.Unit.Type1;

/// <summary>VFIO_IOMMU_MAP_DMA: vfio_iommu_type1_map_dma() and vfio_dma_do_map(); errno rows of REPORT.md §4.</summary>
public class MapDmaTests
{
    [Test]
    public void Map_dma_maps_a_page_and_takes_an_entry()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page), Is.Zero);
        Assert.That(h.Iommu.Mappings.Select(m => (m.Iova, m.Size, m.Vaddr)), Is.EqualTo(new[] { (0x100000UL, Page, h.Buf) }));
        Assert.That(h.Iommu.DmaAvail, Is.EqualTo(65534));
    }

    [Test]
    public void Map_dma_with_a_bad_arg_pointer_returns_EFAULT()
    {
        var h = new Type1Harness();
        Assert.That(h.Ioctl(VfioUapi.IOMMU_MAP_DMA, Unmapped), Is.EqualTo(-Errno.EFAULT));
    }

    [Test]
    public void Map_dma_with_the_struct_crossing_into_unmapped_memory_returns_EFAULT()
    {
        var h = new Type1Harness();
        Assert.That(h.Ioctl(VfioUapi.IOMMU_MAP_DMA, h.Arg + Page - 16), Is.EqualTo(-Errno.EFAULT));
    }

    [Test]
    public void Map_dma_with_argsz_below_32_returns_EINVAL()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page, argsz: 31), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Map_dma_with_an_unknown_flag_returns_EINVAL()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page, flags: RW | 0x80), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Map_dma_without_read_or_write_returns_EINVAL()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page, flags: 0), Is.EqualTo(-Errno.EINVAL));
    }

    [TestCase(VfioUapi.DMA_MAP_FLAG_READ)]
    [TestCase(VfioUapi.DMA_MAP_FLAG_WRITE)]
    public void Map_dma_with_vaddr_and_a_protection_returns_EINVAL(uint prot)
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page, flags: prot | VfioUapi.DMA_MAP_FLAG_VADDR), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Map_dma_with_size_zero_returns_EINVAL()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, 0), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Map_dma_with_unaligned_iova_returns_EINVAL()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x1000800, Page), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Map_dma_with_unaligned_vaddr_returns_EINVAL()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page, vaddr: h.Buf + 0x800), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Map_dma_with_unaligned_size_returns_EINVAL()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, 0x1800), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Map_dma_with_a_wrapping_iova_returns_EINVAL()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0xFFFF_FFFF_FFFF_F000, 2 * Page), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Map_dma_with_a_wrapping_vaddr_returns_EINVAL()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, 2 * Page, vaddr: 0xFFFF_FFFF_FFFF_F000), Is.EqualTo(-Errno.EINVAL));
    }

    [TestCase(0x100000UL, 0x4000UL, TestName = "Map_dma_of_the_same_range_again_returns_EEXIST")]
    [TestCase(0x102000UL, 0x4000UL, TestName = "Map_dma_partially_overlapping_a_mapping_returns_EEXIST")]
    [TestCase(0x0UL, 0x400000UL, TestName = "Map_dma_covering_a_mapping_returns_EEXIST")]
    [TestCase(0x101000UL, 0x1000UL, TestName = "Map_dma_inside_a_mapping_returns_EEXIST")]
    public void Map_dma_overlapping_an_existing_mapping_returns_EEXIST(ulong iova, ulong size)
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, 0x4000), Is.Zero);
        var before = h.State();
        Assert.That(h.Map(iova, size), Is.EqualTo(-Errno.EEXIST));
        Assert.That(h.State(), Is.EqualTo(before));
    }

    [Test]
    public void Map_dma_of_a_range_ending_exactly_at_2_pow_64_finds_no_overlap_and_fails_the_range_check()
    {
        // vfio_find_dma() compares against iova + size, which wraps to 0: EINVAL (not in the aperture), not EEXIST.
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page), Is.Zero);
        Assert.That(h.Map(0x100000, ulong.MaxValue - 0xfffff), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Map_dma_of_the_same_vaddr_at_a_second_iova_succeeds()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page), Is.Zero);
        Assert.That(h.Map(0x200000, Page), Is.Zero);
        Assert.That(h.Iommu.MappingCount, Is.EqualTo(2));
    }

    [Test]
    public void Map_dma_adjacent_to_a_mapping_succeeds_and_stays_a_separate_entry()
    {
        // Entries are never merged (one vfio_dma per MAP).
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page), Is.Zero);
        Assert.That(h.Map(0x101000, Page, vaddr: h.Buf + Page), Is.Zero);
        Assert.That(h.Iommu.MappingCount, Is.EqualTo(2));
    }

    [Test]
    public void Map_dma_beyond_the_entry_limit_returns_ENOSPC()
    {
        var h = new Type1Harness(dmaEntryLimit: 3);
        for (ulong i = 0; i < 3; i++) Assert.That(h.Map(0x100000 + i * Page, Page), Is.Zero);
        var before = h.State();
        Assert.That(h.Map(0x200000, Page), Is.EqualTo(-Errno.ENOSPC));
        Assert.That(h.State(), Is.EqualTo(before));
    }

    [Test]
    public void Map_dma_checks_overlap_before_the_entry_limit()
    {
        var h = new Type1Harness(dmaEntryLimit: 1);
        Assert.That(h.Map(0x100000, Page), Is.Zero);
        Assert.That(h.Map(0x100000, Page), Is.EqualTo(-Errno.EEXIST));
    }

    [Test]
    public void Map_dma_checks_the_entry_limit_before_the_valid_iova_ranges()
    {
        var h = new Type1Harness(dmaEntryLimit: 1);
        Assert.That(h.Map(0x100000, Page), Is.Zero);
        Assert.That(h.Map(0xfee00000, Page), Is.EqualTo(-Errno.ENOSPC));
    }

    [Test]
    public void Map_dma_after_an_unmap_reuses_the_freed_entry()
    {
        var h = new Type1Harness(dmaEntryLimit: 1);
        Assert.That(h.Map(0x100000, Page), Is.Zero);
        Assert.That(h.Unmap(0x100000, Page), Is.Zero);
        Assert.That(h.Map(0x200000, Page), Is.Zero);
    }

    [TestCase(0xfee00000UL, 0x1000UL, TestName = "Map_dma_into_the_msi_window_returns_EINVAL")]
    [TestCase(0xfed00000UL, 0x200000UL, TestName = "Map_dma_running_into_the_msi_window_returns_EINVAL")]
    [TestCase(1UL << 48, 0x1000UL, TestName = "Map_dma_beyond_the_aperture_returns_EINVAL")]
    [TestCase((1UL << 39) - 0x1000, 0x2000UL, TestName = "Map_dma_running_past_the_aperture_end_returns_EINVAL")]
    public void Map_dma_outside_the_valid_iova_ranges_returns_EINVAL(ulong iova, ulong size)
    {
        var h = new Type1Harness();
        var before = h.State();
        Assert.That(h.Map(iova, size), Is.EqualTo(-Errno.EINVAL));
        Assert.That(h.State(), Is.EqualTo(before));
    }

    [TestCase(0xfed00000UL - 0x1000, TestName = "Map_dma_ending_just_below_the_msi_window_succeeds")]
    [TestCase(0xfef00000UL, TestName = "Map_dma_starting_just_above_the_msi_window_succeeds")]
    [TestCase((1UL << 39) - 0x1000, TestName = "Map_dma_of_the_last_page_of_the_aperture_succeeds")]
    public void Map_dma_at_the_edges_of_the_valid_ranges_succeeds(ulong iova)
    {
        var h = new Type1Harness();
        Assert.That(h.Map(iova, Page), Is.Zero);
    }

    [Test]
    public void Map_dma_of_a_vaddr_not_mapped_in_the_process_returns_EFAULT()
    {
        var h = new Type1Harness();
        var before = h.State();
        Assert.That(h.Map(0x100000, Page, vaddr: Unmapped), Is.EqualTo(-Errno.EFAULT));
        Assert.That(h.State(), Is.EqualTo(before));
    }

    [Test]
    public void Map_dma_running_past_the_end_of_the_memory_returns_EFAULT()
    {
        var h = new Type1Harness();
        var before = h.State();
        Assert.That(h.Map(0x100000, 2 * Page, vaddr: h.Arg), Is.EqualTo(-Errno.EFAULT), "the page after Arg is not mapped");
        Assert.That(h.State(), Is.EqualTo(before));
    }

    [Test]
    public void Map_dma_for_device_writes_of_read_only_memory_returns_EFAULT()
    {
        // pin_user_pages() with FOLL_WRITE needs VM_WRITE.
        var h = new Type1Harness();
        ulong ro = h.MmapAnon(4 * Page, Prot.Read);
        Assert.That(h.Map(0x100000, Page, vaddr: ro, flags: RW), Is.EqualTo(-Errno.EFAULT));
        Assert.That(h.Map(0x100000, Page, vaddr: ro, flags: VfioUapi.DMA_MAP_FLAG_WRITE), Is.EqualTo(-Errno.EFAULT));
    }

    [Test]
    public void Map_dma_for_device_reads_of_read_only_memory_succeeds()
    {
        var h = new Type1Harness();
        ulong ro = h.MmapAnon(4 * Page, Prot.Read);
        Assert.That(h.Map(0x100000, Page, vaddr: ro, flags: VfioUapi.DMA_MAP_FLAG_READ), Is.Zero);
    }

    [Test]
    public void Map_dma_for_device_reads_of_inaccessible_memory_returns_EFAULT()
    {
        // Without FOLL_WRITE, GUP needs VM_READ.
        var h = new Type1Harness();
        ulong none = h.MmapAnon(4 * Page, Prot.None);
        Assert.That(h.Map(0x100000, Page, vaddr: none, flags: VfioUapi.DMA_MAP_FLAG_READ), Is.EqualTo(-Errno.EFAULT));
    }

    [Test]
    public void Map_dma_for_device_writes_needs_only_writable_memory()
    {
        // check_vma_flags(): a write pin tests VM_WRITE alone.
        var h = new Type1Harness();
        ulong wo = h.MmapAnon(4 * Page, Prot.Write);
        Assert.That(h.Map(0x100000, Page, vaddr: wo, flags: RW), Is.Zero);
    }

    [Test]
    public void Map_dma_spanning_two_adjacent_memory_mappings_succeeds()
    {
        var h = new Type1Harness();
        ulong a = h.MmapAnon(2 * Page, Prot.Read | Prot.Write);
        ulong b = h.MmapAnon(2 * Page, Prot.Read | Prot.Write);
        Assume.That(b, Is.EqualTo(a + 2 * Page), "mmap places the second mapping right after the first");
        Assert.That(h.Map(0x100000, 4 * Page, vaddr: a), Is.Zero);
    }

    [Test]
    public void Map_dma_charges_its_pages_to_the_process_locked_memory()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, 4 * Page), Is.Zero);
        Assert.That(h.P.AddressSpace.LockedVm, Is.EqualTo(4));
    }

    [Test]
    public void Map_dma_of_the_same_memory_twice_charges_it_twice()
    {
        // Each vfio_dma accounts its own pins.
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, 4 * Page), Is.Zero);
        Assert.That(h.Map(0x200000, 4 * Page), Is.Zero);
        Assert.That(h.P.AddressSpace.LockedVm, Is.EqualTo(8));
    }

    [Test]
    public void Map_dma_beyond_rlimit_memlock_returns_ENOMEM()
    {
        var h = new Type1Harness();
        h.P.MemlockLimit = 16 * Page;
        Assert.That(h.Map(0x100000, 12 * Page), Is.Zero);
        var before = h.State();
        Assert.That(h.Map(0x200000, 5 * Page), Is.EqualTo(-Errno.ENOMEM));
        Assert.That(h.State(), Is.EqualTo(before));
        Assert.That(h.Map(0x200000, 4 * Page), Is.Zero, "exactly up to the limit is allowed");
    }

    [Test]
    public void Map_dma_with_cap_ipc_lock_ignores_rlimit_memlock_but_is_still_charged()
    {
        var h = new Type1Harness();
        h.P.MemlockLimit = 4 * Page;
        h.P.CapIpcLock = true;
        Assert.That(h.Map(0x100000, 16 * Page), Is.Zero);
        Assert.That(h.P.AddressSpace.LockedVm, Is.EqualTo(16));
    }

    // Pages are pinned and counted in address order: the first page that fails decides the errno. Four pages of
    // memory, then a hole; eight are asked for.
    [TestCase(2UL, -Errno.ENOMEM, TestName = "Map_dma_returns_ENOMEM_when_the_limit_is_reached_before_an_unmapped_page")]
    [TestCase(6UL, -Errno.EFAULT, TestName = "Map_dma_returns_EFAULT_when_an_unmapped_page_comes_before_the_limit")]
    public void Map_dma_reports_the_first_page_that_fails(ulong limitPages, long expected)
    {
        var h = new Type1Harness();
        ulong a = h.MmapAnon(4 * Page, Prot.Read | Prot.Write);
        h.P.MemlockLimit = limitPages * Page;
        Assert.That(h.Map(0x100000, 8 * Page, vaddr: a), Is.EqualTo(expected));
    }

    [Test]
    public void Map_dma_without_an_iommu_domain_records_the_mapping_without_pinning()
    {
        // vfio_dma_do_map(): no IOMMU-backed domain in the container, so nothing is pinned or charged (and an
        // unmapped vaddr goes unnoticed).
        var h = new Type1Harness(attach: false);
        Assert.That(h.Map(0x100000, Page, vaddr: Unmapped), Is.Zero);
        Assert.That((h.Iommu.MappingCount, h.P.AddressSpace.LockedVm), Is.EqualTo((1, 0UL)));
        Assert.That(h.Iommu.Translate(0x100000, 1, write: false, out _), Is.EqualTo(DmaFault.NotMapped));
    }

    [Test]
    public void Map_dma_of_a_device_mapping_returns_EFAULT()
    {
        // Only anonymous memory is pinnable here; a VM_PFNMAP BAR mapping is not modelled as a DMA target.
        var h = new Type1Harness();
        long bar = h.P.AddressSpace.Map(0, Page, Prot.Read | Prot.Write, fixedAddress: false, new NullMmio());
        Assert.That(h.Map(0x100000, Page, vaddr: (ulong)bar), Is.EqualTo(-Errno.EFAULT));
    }

    [Test]
    public void Map_dma_writes_nothing_back_to_the_struct()
    {
        var h = new Type1Harness();
        h.Put(h.Arg, new VfioIommuType1DmaMap { Argsz = 40, Flags = RW, Vaddr = h.Buf, Iova = 0x100000, Size = Page });
        h.Put(h.Arg + 32, 0xA5A5A5A5A5A5A5A5UL);
        var before = h.Bytes(h.Arg, 40);
        Assert.That(h.Ioctl(VfioUapi.IOMMU_MAP_DMA, h.Arg), Is.Zero);
        Assert.That(h.Bytes(h.Arg, 40), Is.EqualTo(before));
    }

    [Test]
    public void Map_dma_reads_only_minsz_bytes_so_a_larger_argsz_at_the_end_of_memory_works()
    {
        var h = new Type1Harness();
        ulong at = h.Arg + Page - 32;
        h.Put(at, new VfioIommuType1DmaMap { Argsz = 64, Flags = RW, Vaddr = h.Buf, Iova = 0x100000, Size = Page });
        Assert.That(h.Ioctl(VfioUapi.IOMMU_MAP_DMA, at), Is.Zero);
    }

    private sealed class NullMmio : VfioSim.Pci.Models.IMmio
    {
        public ulong Read(ulong offset, int size) => 0;
        public void Write(ulong offset, int size, ulong value) { }
    }
}
