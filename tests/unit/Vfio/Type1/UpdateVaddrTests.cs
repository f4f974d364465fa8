using VfioSim.Uapi;
using VfioSim.Vfio;
using static VfioSim.Tests.Unit.Type1.Type1Harness;

namespace VfioSim.Tests.Unit.Type1;

/// <summary>
/// VFIO_UPDATE_VADDR (vfio-abi.md §4.9): UNMAP with VFIO_DMA_UNMAP_FLAG_VADDR invalidates host addresses of whole
/// mappings (vfio_dma_do_unmap()), MAP with VFIO_DMA_MAP_FLAG_VADDR gives them back (vfio_dma_do_map(),
/// vfio_change_dma_owner()).
/// </summary>
public class UpdateVaddrTests
{
    private const uint Vaddr = VfioUapi.DMA_MAP_FLAG_VADDR;
    private const uint UnmapVaddr = VfioUapi.DMA_UNMAP_FLAG_VADDR;

    private static Type1Harness Mapped()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, 4 * Page), Is.Zero);
        Assert.That(h.Map(0x200000, 2 * Page, vaddr: h.Buf + 8 * Page), Is.Zero);
        return h;
    }

    [Test]
    public void Unmap_with_vaddr_invalidates_but_keeps_the_mapping_and_its_translation()
    {
        var h = Mapped();
        Assert.That(h.Unmap(0x100000, 4 * Page, UnmapVaddr), Is.Zero);
        Assert.That(h.UnmapStruct.Size, Is.EqualTo(4 * Page));
        var m = h.Iommu.Mappings.First();
        Assert.That((m.VaddrInvalid, h.Iommu.MappingCount, h.Iommu.DmaAvail), Is.EqualTo((true, 2, 65533u)));
        Assert.That(h.Iommu.Translate(0x100000, 8, write: true, out _), Is.EqualTo(DmaFault.None));
        Assert.That(h.P.AddressSpace.LockedVm, Is.EqualTo(6), "no unpin");
    }

    [Test]
    public void Unmap_with_vaddr_and_all_invalidates_every_mapping()
    {
        var h = Mapped();
        Assert.That(h.Unmap(0, 0, UnmapVaddr | VfioUapi.DMA_UNMAP_FLAG_ALL), Is.Zero);
        Assert.That(h.UnmapStruct.Size, Is.EqualTo(6 * Page));
        Assert.That(h.Iommu.Mappings.All(m => m.VaddrInvalid), Is.True);
    }

    [Test]
    public void Unmap_with_vaddr_of_an_already_invalid_mapping_reverts_this_call_and_returns_EINVAL()
    {
        var h = Mapped();
        Assert.That(h.Unmap(0x200000, 2 * Page, UnmapVaddr), Is.Zero);
        Assert.That(h.Unmap(0, 0x400000, UnmapVaddr), Is.EqualTo(-Errno.EINVAL));
        Assert.That(h.Iommu.Mappings.Select(m => m.VaddrInvalid), Is.EqualTo(new[] { false, true }));
        Assert.That(h.UnmapStruct.Size, Is.EqualTo(0x400000UL), "struct not written back");
    }

    [Test]
    public void V2_unmap_with_vaddr_that_bisects_a_mapping_returns_EINVAL()
    {
        var h = Mapped();
        Assert.That(h.Unmap(0x101000, Page, UnmapVaddr), Is.EqualTo(-Errno.EINVAL));
        Assert.That(h.Iommu.Mappings.Any(m => m.VaddrInvalid), Is.False);
    }

    [Test]
    public void Map_with_vaddr_where_nothing_is_mapped_returns_ENOENT()
    {
        var h = Mapped();
        Assert.That(h.Map(0x800000, Page, flags: Vaddr), Is.EqualTo(-Errno.ENOENT));
    }

    [Test]
    public void Map_with_vaddr_of_a_valid_mapping_returns_EINVAL()
    {
        var h = Mapped();
        Assert.That(h.Map(0x100000, 4 * Page, flags: Vaddr), Is.EqualTo(-Errno.EINVAL));
    }

    [TestCase(0x100000UL, 2 * Page)]
    [TestCase(0x101000UL, 3 * Page)]
    public void Map_with_vaddr_of_a_different_range_returns_EINVAL(ulong iova, ulong size)
    {
        var h = Mapped();
        Assert.That(h.Unmap(0x100000, 4 * Page, UnmapVaddr), Is.Zero);
        Assert.That(h.Map(iova, size, flags: Vaddr), Is.EqualTo(-Errno.EINVAL));
        Assert.That(h.Iommu.Mappings.First().VaddrInvalid, Is.True);
    }

    [Test]
    public void Map_with_vaddr_revalidates_the_mapping_at_the_new_address()
    {
        var h = Mapped();
        Assert.That(h.Unmap(0x100000, 4 * Page, UnmapVaddr), Is.Zero);
        Assert.That(h.Map(0x100000, 4 * Page, vaddr: h.Buf + 32 * Page, flags: Vaddr), Is.Zero);
        var m = h.Iommu.Mappings.First();
        Assert.That((m.VaddrInvalid, m.Vaddr, m.Prot), Is.EqualTo((false, h.Buf + 32 * Page, DmaProt.Read | DmaProt.Write)));
        Assert.That(h.Iommu.DmaAvail, Is.EqualTo(65533), "still the two entries");
    }

    [Test]
    public void Attach_while_a_vaddr_is_invalid_returns_EBUSY()
    {
        var h = Mapped();
        Assert.That(h.Unmap(0x100000, 4 * Page, UnmapVaddr), Is.Zero);
        Assert.That(h.Iommu.AttachGroup(OtherGroup(99)), Is.EqualTo(-Errno.EBUSY));
        Assert.That(h.Map(0x100000, 4 * Page, flags: Vaddr), Is.Zero);
        Assert.That(h.Iommu.AttachGroup(OtherGroup(99)), Is.Zero);
    }

    [Test]
    public void Unmapping_an_invalidated_mapping_lets_groups_attach_again()
    {
        // vfio_remove_dma() drops the invalid count with the mapping.
        var h = Mapped();
        Assert.That(h.Unmap(0x100000, 4 * Page, UnmapVaddr), Is.Zero);
        Assert.That(h.Unmap(0x100000, 4 * Page), Is.Zero);
        Assert.That(h.Iommu.AttachGroup(OtherGroup(99)), Is.Zero);
    }

    [Test]
    public void Map_with_vaddr_from_another_process_moves_the_locked_memory_charge()
    {
        var h = Mapped();
        var p2 = h.Machine.CreateProcess("new");
        ulong mem = h.MmapAnon(8 * Page, Prot.Read | Prot.Write, p2);
        Assert.That(h.Unmap(0x100000, 4 * Page, UnmapVaddr), Is.Zero);
        Assert.That(h.Map(0x100000, 4 * Page, vaddr: mem, flags: Vaddr, process: p2), Is.Zero);
        Assert.That((h.P.AddressSpace.LockedVm, p2.AddressSpace.LockedVm), Is.EqualTo((2UL, 4UL)));
        Assert.That(h.Iommu.Mappings.First().Owner, Is.SameAs(p2));
    }

    [Test]
    public void Map_with_vaddr_from_a_process_without_room_under_its_limit_returns_ENOMEM()
    {
        var h = Mapped();
        var p2 = h.Machine.CreateProcess("new");
        p2.MemlockLimit = 2 * Page;
        ulong mem = h.MmapAnon(8 * Page, Prot.Read | Prot.Write, p2);
        Assert.That(h.Unmap(0x100000, 4 * Page, UnmapVaddr), Is.Zero);
        Assert.That(h.Map(0x100000, 4 * Page, vaddr: mem, flags: Vaddr, process: p2), Is.EqualTo(-Errno.ENOMEM));
        Assert.That(h.Iommu.Mappings.First().VaddrInvalid, Is.True);
        Assert.That((h.P.AddressSpace.LockedVm, p2.AddressSpace.LockedVm), Is.EqualTo((6UL, 0UL)));
    }
}
