using VfioSim.Iommu;
using VfioSim.Pci.MachineFiles;
using VfioSim.Uapi;
using VfioSim.Vfio;
using static VfioSim.Tests.Unit.Type1.Type1Harness;

namespace VfioSim.Tests.Unit.Type1;

/// <summary>
/// Group attach and detach (vfio_iommu_type1_attach_group() rules a-j of vfio-abi.md §4.4 step 5,
/// vfio_iommu_type1_detach_group(), vfio_iommu_type1_release()).
/// </summary>
public class AttachTests
{
    private static readonly IovaRange[] Q35Ranges = [new(0, 0xfedfffff), new(0xfef00000, 0x7f_ffff_ffff)];

    [Test]
    public void First_attach_sets_the_valid_ranges_and_page_sizes_measured_on_qemu_vt_d()
    {
        var h = new Type1Harness();
        Assert.That(h.Iommu.IovaRanges, Is.EqualTo(Q35Ranges));
        Assert.That(h.Iommu.PgsizeBitmap, Is.EqualTo(0x40201000UL));
        Assert.That(h.Iommu.MinPageSize, Is.EqualTo(Page));
    }

    [Test]
    public void A_backend_without_groups_has_page_mask_and_no_valid_ranges()
    {
        var h = new Type1Harness(attach: false);
        Assert.That(h.Iommu.PgsizeBitmap, Is.EqualTo(0xFFFF_FFFF_FFFF_F000UL));
        Assert.That(h.Iommu.IovaRanges, Is.Empty);
    }

    [Test]
    public void Intel_iommu_group_info_has_the_39_bit_aperture_and_the_msi_window()
    {
        var m = new Machine(MachineLoader.Default());
        var info = IommuGroupAttachInfo.ForIntelIommu(m.Groups.All.First());
        Assert.That((info.ApertureStart, info.ApertureEnd, info.MsiIsolated, info.EnforceCacheCoherency),
            Is.EqualTo((0UL, 0x7f_ffff_ffffUL, true, false)));
        Assert.That(info.ReservedRegions, Does.Contain(new ResvRegion(0xfee00000, 0x100000, ResvRegionType.Msi)));
    }

    [Test]
    public void Attach_of_the_same_group_twice_returns_EINVAL()
    {
        var h = new Type1Harness();
        Assert.That(h.Iommu.AttachGroup(h.Group), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Attach_of_a_second_compatible_group_shares_the_domain()
    {
        var h = new Type1Harness();
        Assert.That(h.Iommu.AttachGroup(OtherGroup(2)), Is.Zero);
        Assert.That((h.Iommu.DomainCount, h.Iommu.Groups.Count()), Is.EqualTo((1, 2)));
    }

    [Test]
    public void Attach_of_a_group_with_other_cache_coherency_gets_its_own_domain()
    {
        var h = new Type1Harness();
        Assert.That(h.Iommu.AttachGroup(OtherGroup(2) with { EnforceCacheCoherency = true }), Is.Zero);
        Assert.That(h.Iommu.DomainCount, Is.EqualTo(2));
    }

    [Test]
    public void Attach_of_a_group_without_interrupt_remapping_returns_EPERM()
    {
        var h = new Type1Harness();
        Assert.That(h.Iommu.AttachGroup(OtherGroup(2, msiIsolated: false)), Is.EqualTo(-Errno.EPERM));
        Assert.That(h.Iommu.Groups.Count(), Is.EqualTo(1));
    }

    [Test]
    public void Attach_without_interrupt_remapping_succeeds_with_allow_unsafe_interrupts()
    {
        var h = new Type1Harness();
        h.Parameters.AllowUnsafeInterrupts = true;
        Assert.That(h.Iommu.AttachGroup(OtherGroup(2, msiIsolated: false)), Is.Zero);
    }

    [Test]
    public void Attach_of_a_group_whose_reserved_region_covers_a_mapping_returns_EINVAL()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page), Is.Zero);
        var g = OtherGroup(2, extraRegions: new ResvRegion(0x100000, 0x1000, ResvRegionType.Direct));
        Assert.That(h.Iommu.AttachGroup(g), Is.EqualTo(-Errno.EINVAL));
        Assert.That(h.Iommu.IovaRanges, Is.EqualTo(Q35Ranges));
    }

    [Test]
    public void Attach_of_a_group_whose_direct_relaxable_region_covers_a_mapping_succeeds()
    {
        // The ISA-bridge floppy work-around region (first 16 MiB) may be mapped over.
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page), Is.Zero);
        var g = OtherGroup(2, extraRegions: new ResvRegion(0, 1UL << 24, ResvRegionType.DirectRelaxable));
        Assert.That(h.Iommu.AttachGroup(g), Is.Zero);
        Assert.That(h.Iommu.IovaRanges, Is.EqualTo(Q35Ranges));
    }

    [Test]
    public void Attach_of_a_group_with_a_reserved_region_removes_it_from_the_valid_ranges()
    {
        var h = new Type1Harness();
        Assert.That(h.Iommu.AttachGroup(OtherGroup(2, extraRegions: new ResvRegion(0x200000, 0x100000, ResvRegionType.Reserved))), Is.Zero);
        Assert.That(h.Iommu.IovaRanges, Is.EqualTo(new IovaRange[]
        {
            new(0, 0x1fffff), new(0x300000, 0xfedfffff), new(0xfef00000, 0x7f_ffff_ffff),
        }));
        Assert.That(h.Map(0x200000, Page), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Attach_of_a_group_with_a_narrower_aperture_shrinks_the_valid_ranges()
    {
        var h = new Type1Harness();
        Assert.That(h.Iommu.AttachGroup(OtherGroup(2, apertureEnd: (1UL << 32) - 1)), Is.Zero);
        Assert.That(h.Iommu.IovaRanges, Is.EqualTo(new IovaRange[] { new(0, 0xfedfffff), new(0xfef00000, 0xffffffff) }));
    }

    [Test]
    public void Attach_of_a_group_whose_aperture_strands_a_mapping_returns_EINVAL()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x1_0000_0000, Page), Is.Zero);
        Assert.That(h.Iommu.AttachGroup(OtherGroup(2, apertureEnd: (1UL << 32) - 1)), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Attach_of_a_group_with_a_disjoint_aperture_returns_EINVAL()
    {
        var h = new Type1Harness();
        var g = OtherGroup(2) with { ApertureStart = 1UL << 40, ApertureEnd = (1UL << 41) - 1 };
        Assert.That(h.Iommu.AttachGroup(g), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Attach_of_a_group_whose_reserved_regions_cover_its_whole_aperture_returns_EINVAL()
    {
        var h = new Type1Harness(attach: false);
        var g = OtherGroup(2, apertureEnd: 0xffffffff, extraRegions: new ResvRegion(0, 1UL << 32, ResvRegionType.Reserved));
        Assert.That(h.Iommu.AttachGroup(g), Is.EqualTo(-Errno.EINVAL));
        Assert.That(h.Iommu.Groups, Is.Empty);
    }

    [Test]
    public void Attach_to_a_nesting_backend_returns_EINVAL_on_vt_d()
    {
        // 6.12: type 6 asks iommu_enable_nesting(), which VT-d does not implement.
        var h = new Type1Harness(VfioUapi.TYPE1_NESTING_IOMMU, attach: false);
        Assert.That(h.Iommu.AttachGroup(h.Group), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void First_attach_pins_the_mappings_made_without_a_domain()
    {
        // vfio_iommu_replay().
        var h = new Type1Harness(attach: false);
        Assert.That(h.Map(0x100000, 4 * Page), Is.Zero);
        Assert.That(h.Iommu.AttachGroup(h.Group), Is.Zero);
        Assert.That(h.P.AddressSpace.LockedVm, Is.EqualTo(4));
        Assert.That(h.Iommu.Translate(0x100000, 1, write: true, out _), Is.EqualTo(DmaFault.None));
    }

    [Test]
    public void First_attach_that_cannot_pin_a_mapping_made_without_a_domain_fails_and_pins_nothing()
    {
        var h = new Type1Harness(attach: false);
        Assert.That(h.Map(0x100000, 4 * Page), Is.Zero);
        Assert.That(h.Map(0x200000, Page, vaddr: Unmapped), Is.Zero);
        Assert.That(h.Iommu.AttachGroup(h.Group), Is.EqualTo(-Errno.EFAULT));
        Assert.That((h.Iommu.Groups.Count(), h.P.AddressSpace.LockedVm, h.Iommu.IovaRanges.Count), Is.EqualTo((0, 0UL, 0)));
    }

    [Test]
    public void Detach_of_one_of_two_groups_keeps_the_mappings_and_restores_its_reserved_ranges()
    {
        var h = new Type1Harness();
        var g = OtherGroup(2, extraRegions: new ResvRegion(0x200000, 0x100000, ResvRegionType.Reserved));
        Assert.That(h.Iommu.AttachGroup(g), Is.Zero);
        Assert.That(h.Map(0x100000, Page), Is.Zero);
        h.Iommu.DetachGroup(g);
        Assert.That(h.Iommu.MappingCount, Is.EqualTo(1));
        Assert.That(h.Iommu.IovaRanges, Is.EqualTo(Q35Ranges));
    }

    [Test]
    public void Detach_of_the_last_group_removes_every_mapping_and_uncharges_it()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, 4 * Page), Is.Zero);
        Assert.That(h.Map(0x200000, 4 * Page), Is.Zero);
        h.Iommu.DetachGroup(h.Group);
        Assert.That((h.Iommu.MappingCount, h.Iommu.DmaAvail, h.P.AddressSpace.LockedVm), Is.EqualTo((0, 65535u, 0UL)));
        Assert.That(h.Iommu.Translate(0x100000, 1, write: false, out _), Is.EqualTo(DmaFault.NotMapped));
    }

    [Test]
    public void Detach_emptying_one_of_two_domains_keeps_the_mappings()
    {
        var h = new Type1Harness();
        var g = OtherGroup(2) with { EnforceCacheCoherency = true };
        Assert.That(h.Iommu.AttachGroup(g), Is.Zero);
        Assert.That(h.Map(0x100000, Page), Is.Zero);
        h.Iommu.DetachGroup(h.Group);
        Assert.That((h.Iommu.DomainCount, h.Iommu.MappingCount), Is.EqualTo((1, 1)));
    }

    [Test]
    public void Release_removes_every_mapping_and_uncharges_it()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, 4 * Page), Is.Zero);
        h.Iommu.Release();
        Assert.That((h.Iommu.MappingCount, h.P.AddressSpace.LockedVm, h.Iommu.Groups.Count()), Is.EqualTo((0, 0UL, 0)));
    }

    [Test]
    public void Unsupported_backend_types_are_refused()
    {
        Assert.That(new ulong[] { 0, 1, 2, 3, 4, 6, 7, 8, 77 }.Where(Type1Iommu.Accepts), Is.EqualTo(new ulong[] { 1, 3, 6 }));
        Assert.That(() => new Type1Iommu(2), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }
}
