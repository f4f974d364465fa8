using VfioSim.Iommu;
using VfioSim.Uapi;

namespace VfioSim.Tests.Unit.Dma;

/// <summary>Translation through an unmanaged domain's page table: what iommu_map() sets up, the device's DMA gets.</summary>
public class DomainTranslationTests
{
    private const ulong Iova = 0x100000;

    [Test]
    public void Read_across_a_page_boundary_returns_consecutive_bytes_of_the_mapping()
    {
        var m = DmaMachines.Edu();
        var edu = m.Dev("0000:01:00.0").BusMaster();
        var memory = DmaMachines.Pattern(0x2000);
        Assert.That(m.AttachUnmanaged(edu).Map(Iova, new MemoryTarget(memory), 0, 0x2000, IommuPerm.ReadWrite), Is.Zero);

        var got = new byte[0x20];
        Assert.That(edu.Dma.Read(Iova + 0xff0, got), Is.True);
        Assert.That(got, Is.EqualTo(memory[0xff0..0x1010]));
    }

    [Test]
    public void Pages_mapped_to_different_targets_are_each_read_from_their_own_target()
    {
        var m = DmaMachines.Edu();
        var edu = m.Dev("0000:01:00.0").BusMaster();
        var a = DmaMachines.Pattern(0x4000, seed: 7);
        var b = DmaMachines.Pattern(0x1000, seed: 99);
        var domain = m.AttachUnmanaged(edu);
        Assert.That(domain.Map(Iova, new MemoryTarget(a), 0x3000, 0x1000, IommuPerm.Read), Is.Zero);
        Assert.That(domain.Map(Iova + 0x1000, new MemoryTarget(b), 0, 0x1000, IommuPerm.Read), Is.Zero);

        var got = new byte[0x1000];
        Assert.That(edu.Dma.Read(Iova + 0x800, got), Is.True);
        Assert.That(got, Is.EqualTo(a[0x3800..0x4000].Concat(b[..0x800]).ToArray()));
    }

    [Test]
    public void Write_across_separately_mapped_pages_lands_in_each_target()
    {
        var m = DmaMachines.Edu();
        var edu = m.Dev("0000:01:00.0").BusMaster();
        var a = new byte[0x1000];
        var b = new byte[0x2000];
        var domain = m.AttachUnmanaged(edu);
        Assert.That(domain.Map(Iova, new MemoryTarget(a), 0, 0x1000, IommuPerm.Write), Is.Zero);
        Assert.That(domain.Map(Iova + 0x1000, new MemoryTarget(b), 0x1000, 0x1000, IommuPerm.Write), Is.Zero);

        var data = DmaMachines.Pattern(0x100);
        Assert.That(edu.Dma.Write(Iova + 0xf80, data), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(a[0xf80..], Is.EqualTo(data[..0x80]));
            Assert.That(b[0x1000..0x1080], Is.EqualTo(data[0x80..]));
            Assert.That(b[..0x1000], Is.All.Zero);
        });
    }

    [Test]
    public void Pages_mapped_one_by_one_onto_consecutive_offsets_move_in_one_target_access()
    {
        var m = DmaMachines.Edu();
        var edu = m.Dev("0000:01:00.0").BusMaster();
        var target = new CountingTarget(new byte[0x10000]);
        var domain = m.AttachUnmanaged(edu);
        for (ulong page = 0; page < 16; page++)
            Assert.That(domain.Map(Iova + page * 0x1000, target, page * 0x1000, 0x1000, IommuPerm.ReadWrite), Is.Zero);

        Assert.That(edu.Dma.Read(Iova, new byte[0x10000]), Is.True);
        Assert.That(target.Reads, Is.EqualTo(1));
    }

    [Test]
    public void A_jump_in_target_offsets_splits_the_transfer_there()
    {
        var m = DmaMachines.Edu();
        var edu = m.Dev("0000:01:00.0").BusMaster();
        var target = new CountingTarget(DmaMachines.Pattern(0x4000));
        var domain = m.AttachUnmanaged(edu);
        Assert.That(domain.Map(Iova, target, 0x2000, 0x1000, IommuPerm.Write), Is.Zero);
        Assert.That(domain.Map(Iova + 0x1000, target, 0x0000, 0x1000, IommuPerm.Write), Is.Zero);

        Assert.That(edu.Dma.Write(Iova, new byte[0x2000]), Is.True);
        Assert.That(target.Writes, Is.EqualTo(2));
    }

    [Test]
    public void Translate_gives_the_target_offset_of_the_byte_and_the_page_permissions()
    {
        var m = DmaMachines.Edu();
        var target = new MemoryTarget(new byte[0x3000]);
        var domain = m.Iommu.AllocPagingDomain();
        Assert.That(domain.Map(Iova, target, 0x2000, 0x1000, IommuPerm.Read), Is.Zero);
        Assert.That(domain.Translate(Iova + 0x123), Is.EqualTo(new IommuTranslation(target, 0x2123, IommuPerm.Read)));
    }

    [Test]
    public void Unmap_returns_the_bytes_it_removed_and_skips_holes()
    {
        var domain = DmaMachines.Edu().Iommu.AllocPagingDomain();
        var target = new MemoryTarget(new byte[0x3000]);
        Assert.That(domain.Map(Iova, target, 0, 0x1000, IommuPerm.Read), Is.Zero);
        Assert.That(domain.Map(Iova + 0x2000, target, 0x2000, 0x1000, IommuPerm.Read), Is.Zero);
        Assert.That(domain.Unmap(Iova, 0x3000), Is.EqualTo(0x2000));
        Assert.That(domain.MappedBytes, Is.Zero);
    }

    [Test]
    public void Dma_to_an_unmapped_page_faults_after_unmap()
    {
        var m = DmaMachines.Edu();
        var edu = m.Dev("0000:01:00.0").BusMaster();
        var domain = m.AttachUnmanaged(edu);
        Assert.That(domain.Map(Iova, new MemoryTarget(new byte[0x1000]), 0, 0x1000, IommuPerm.Read), Is.Zero);
        Assert.That(domain.Unmap(Iova, 0x1000), Is.EqualTo(0x1000));

        Assert.That(edu.Dma.Read(Iova, new byte[4]), Is.False);
        Assert.That(m.Iommu.Faults.Single().Reason, Is.EqualTo(IommuFaultReason.NotMapped));
    }

    // __iommu_map(): iova, paddr and size aligned to the smallest page size; intel_iommu_map(): within the
    // address width (EFAULT); __domain_mapping(): some permission.
    [TestCase(0x100800UL, 0UL, 0x1000UL, IommuPerm.Read, -Errno.EINVAL, TestName = "Map_of_an_unaligned_iova_is_EINVAL")]
    [TestCase(0x100000UL, 0x10UL, 0x1000UL, IommuPerm.Read, -Errno.EINVAL, TestName = "Map_of_an_unaligned_target_offset_is_EINVAL")]
    [TestCase(0x100000UL, 0UL, 0x800UL, IommuPerm.Read, -Errno.EINVAL, TestName = "Map_of_an_unaligned_size_is_EINVAL")]
    [TestCase(0x100000UL, 0UL, 0x1000UL, IommuPerm.None, -Errno.EINVAL, TestName = "Map_without_read_or_write_permission_is_EINVAL")]
    [TestCase(0x8000000000UL, 0UL, 0x1000UL, IommuPerm.Read, -Errno.EFAULT, TestName = "Map_above_the_39_bit_address_width_is_EFAULT")]
    [TestCase(0x7ffffff000UL, 0UL, 0x2000UL, IommuPerm.Read, -Errno.EFAULT, TestName = "Map_running_past_the_address_width_is_EFAULT")]
    public void Map_checks(ulong iova, ulong offset, ulong size, IommuPerm perm, int expected)
    {
        var domain = DmaMachines.Edu().Iommu.AllocPagingDomain();
        Assert.That(domain.Map(iova, new MemoryTarget(new byte[0x4000]), offset, size, perm), Is.EqualTo(expected));
        Assert.That(domain.MappedBytes, Is.Zero);
    }

    [Test]
    public void Map_over_a_mapped_page_is_EEXIST_and_maps_none_of_the_range()
    {
        var domain = DmaMachines.Edu().Iommu.AllocPagingDomain();
        var target = new MemoryTarget(new byte[0x4000]);
        Assert.That(domain.Map(Iova + 0x2000, target, 0, 0x1000, IommuPerm.Read), Is.Zero);
        Assert.That(domain.Map(Iova, target, 0, 0x3000, IommuPerm.Read), Is.EqualTo(-Errno.EEXIST));
        Assert.That((domain.MappedBytes, domain.Translate(Iova)), Is.EqualTo((0x1000UL, (IommuTranslation?)null)));
    }

    [Test]
    public void Map_into_a_domain_without_a_page_table_is_EINVAL()
    {
        var m = DmaMachines.Edu();
        var identity = m.Iommu.DefaultDomainOf(m.GroupOf(m.Dev("0000:01:00.0")));
        Assert.That(identity.Map(Iova, new MemoryTarget(new byte[0x1000]), 0, 0x1000, IommuPerm.Read), Is.EqualTo(-Errno.EINVAL));
    }
}
