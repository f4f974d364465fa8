using VfioSim.Iommu;
using VfioSim.Uapi;

namespace VfioSim.Tests.Unit.Dma;

/// <summary>
/// Which domain a group's DMA goes through (drivers/iommu/iommu.c): the default domain at boot, the blocking
/// domain while a user owns the group without a domain of its own, the user's domain once attached.
/// </summary>
public class GroupDomainTests
{
    private const ulong Iova = 0x100000;
    private const string EduBdf = "0000:01:00.0";

    [Test]
    public void With_iommu_pt_dma_reaches_system_memory_at_the_bus_address()
    {
        var m = DmaMachines.Edu("intel_iommu=on iommu=pt");
        var edu = m.Dev(EduBdf).BusMaster();
        var data = DmaMachines.Pattern(0x1800);
        Assert.That(edu.Dma.Write(0x3000_0800, data), Is.True);
        var ram = new byte[data.Length];
        Assert.That(m.Iommu.SystemMemory.Read(0x3000_0800, ram), Is.True);
        Assert.That(ram, Is.EqualTo(data));
    }

    [Test]
    public void Identity_dma_beyond_the_end_of_ram_is_aborted_without_a_fault()
    {
        var m = DmaMachines.Edu("intel_iommu=on iommu=pt");
        var edu = m.Dev(EduBdf).BusMaster();
        Assert.That(edu.Dma.Read(IommuModel.DefaultRamSize - 2, new byte[4]), Is.False);
        Assert.That(m.Iommu.Faults, Is.Empty);
    }

    [Test]
    public void Under_a_default_dma_domain_device_dma_faults_because_no_driver_mapped_anything()
    {
        var m = DmaMachines.Edu("intel_iommu=on");
        var edu = m.Dev(EduBdf).BusMaster();
        Assert.That(edu.Dma.Read(0x1000, new byte[4]), Is.False);
        Assert.That(m.Iommu.Faults.Single().Reason, Is.EqualTo(IommuFaultReason.NotMapped));
    }

    [Test]
    public void Without_an_iommu_dma_reaches_system_memory_untranslated()
    {
        var m = DmaMachines.Edu("intel_iommu=off");
        var edu = m.Dev(EduBdf).BusMaster();
        Assert.That(edu.Dma.Write(0x5000, DmaMachines.Pattern(8)), Is.True);
        var ram = new byte[8];
        m.Iommu.SystemMemory.Read(0x5000, ram);
        Assert.That(ram, Is.EqualTo(DmaMachines.Pattern(8)));
    }

    [Test]
    public void Attaching_an_unmanaged_domain_routes_the_groups_dma_through_its_mappings()
    {
        var m = DmaMachines.Edu();
        var edu = m.Dev(EduBdf).BusMaster();
        var buffer = DmaMachines.Pattern(0x1000);
        var domain = m.AttachUnmanaged(edu);
        domain.Map(Iova, new MemoryTarget(buffer), 0, 0x1000, IommuPerm.Read);
        var got = new byte[0x1000];
        Assert.That(edu.Dma.Read(Iova, got), Is.True);
        Assert.That((got, m.Iommu.DomainOf(m.GroupOf(edu))), Is.EqualTo((buffer, domain)));
    }

    [Test]
    public void Claiming_dma_ownership_blocks_the_groups_dma_until_a_domain_is_attached()
    {
        var m = DmaMachines.Edu();
        var edu = m.Dev(EduBdf).BusMaster();
        Assert.That(m.Iommu.ClaimDmaOwner(m.GroupOf(edu), "vfio"), Is.Zero);
        Assert.That(edu.Dma.Read(0x1000, new byte[4]), Is.False);
        Assert.That(m.Iommu.Faults.Single().Reason, Is.EqualTo(IommuFaultReason.Blocked));
    }

    [Test]
    public void Blocked_dma_logs_a_cleared_context_entry()
    {
        var m = DmaMachines.Edu();
        var edu = m.Dev(EduBdf).BusMaster();
        m.Iommu.ClaimDmaOwner(m.GroupOf(edu), "vfio");
        edu.Dma.Write(0x2000, new byte[4]);
        Assert.That(m.Iommu.Faults.Single().ToDmarLine(), Is.EqualTo(
            "DMAR: [DMA Write NO_PASID] Request device [01:00.0] fault addr 0x2000 [fault reason 0x02] Present bit in context entry is clear"));
    }

    [Test]
    public void Detaching_while_the_group_is_owned_leaves_it_blocked()
    {
        var m = DmaMachines.Edu();
        var edu = m.Dev(EduBdf).BusMaster();
        var domain = m.AttachUnmanaged(edu);
        domain.Map(Iova, new MemoryTarget(new byte[0x1000]), 0, 0x1000, IommuPerm.Read);
        m.Iommu.DetachGroup(domain, m.GroupOf(edu));
        Assert.That(edu.Dma.Read(Iova, new byte[4]), Is.False);
        Assert.That(m.Iommu.Faults.Single().Reason, Is.EqualTo(IommuFaultReason.Blocked));
    }

    [Test]
    public void Releasing_dma_ownership_returns_the_group_to_its_default_domain()
    {
        var m = DmaMachines.Edu();
        var edu = m.Dev(EduBdf).BusMaster();
        var group = m.GroupOf(edu);
        var domain = m.AttachUnmanaged(edu);
        m.Iommu.DetachGroup(domain, group);
        m.Iommu.ReleaseDmaOwner(group);
        Assert.That(m.Iommu.DomainOf(group), Is.SameAs(m.Iommu.DefaultDomainOf(group)));
        Assert.That(edu.Dma.Read(0x1000, new byte[4]), Is.True); // identity again (iommu=pt)
    }

    [Test]
    public void Detaching_an_unowned_group_returns_it_to_its_default_domain()
    {
        var m = DmaMachines.Edu();
        var group = m.GroupOf(m.Dev(EduBdf));
        var domain = m.Iommu.AllocPagingDomain();
        Assert.That(m.Iommu.AttachGroup(domain, group), Is.Zero);
        m.Iommu.DetachGroup(domain, group);
        Assert.That(m.Iommu.DomainOf(group).Type, Is.EqualTo(IommuDomainType.Identity));
    }

    [Test]
    public void Attaching_a_group_that_is_on_another_unmanaged_domain_is_EBUSY()
    {
        var m = DmaMachines.Edu();
        var edu = m.Dev(EduBdf);
        m.AttachUnmanaged(edu);
        Assert.That(m.Iommu.AttachGroup(m.Iommu.AllocPagingDomain(), m.GroupOf(edu)), Is.EqualTo(-Errno.EBUSY));
    }

    [Test]
    public void Attaching_a_domain_of_another_iommu_is_EINVAL()
    {
        var m = DmaMachines.Edu();
        var other = DmaMachines.Edu().Iommu.AllocPagingDomain();
        Assert.That(m.Iommu.AttachGroup(other, m.GroupOf(m.Dev(EduBdf))), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Claiming_a_group_already_claimed_is_EPERM()
    {
        var m = DmaMachines.Edu();
        var group = m.GroupOf(m.Dev(EduBdf));
        Assert.That(m.Iommu.ClaimDmaOwner(group, "first"), Is.Zero);
        Assert.That(m.Iommu.ClaimDmaOwner(group, "second"), Is.EqualTo(-Errno.EPERM));
    }

    [Test]
    public void Claiming_a_group_a_kernel_driver_uses_is_EPERM()
    {
        var m = DmaMachines.Edu();
        var edu = m.Dev(EduBdf);
        Assert.That(m.Iommu.DeviceUseDefaultDomain(edu), Is.Zero);
        Assert.That(m.Iommu.ClaimDmaOwner(m.GroupOf(edu), "vfio"), Is.EqualTo(-Errno.EPERM));
    }

    [Test]
    public void A_kernel_driver_cannot_bind_in_a_group_a_user_owns()
    {
        var m = DmaMachines.Edu();
        var edu = m.Dev(EduBdf);
        m.Iommu.ClaimDmaOwner(m.GroupOf(edu), "vfio");
        Assert.That(m.Iommu.DeviceUseDefaultDomain(edu), Is.EqualTo(-Errno.EBUSY));
    }

    [Test]
    public void Claiming_a_group_that_is_off_its_default_domain_is_EBUSY()
    {
        var m = DmaMachines.Edu();
        var group = m.GroupOf(m.Dev(EduBdf));
        m.Iommu.AttachGroup(m.Iommu.AllocPagingDomain(), group);
        Assert.That(m.Iommu.ClaimDmaOwner(group, "vfio"), Is.EqualTo(-Errno.EBUSY));
    }

    [Test]
    public void Dma_ownership_is_claimed_while_a_kernel_driver_uses_the_group_and_free_after_it_unbinds()
    {
        var m = DmaMachines.Edu();
        var edu = m.Dev(EduBdf);
        m.Iommu.DeviceUseDefaultDomain(edu);
        Assert.That(m.Iommu.DmaOwnerClaimed(m.GroupOf(edu)), Is.True);
        m.Iommu.DeviceUnuseDefaultDomain(edu);
        Assert.That(m.Iommu.DmaOwnerClaimed(m.GroupOf(edu)), Is.False);
    }

    [Test]
    public void Sysfs_type_keeps_showing_the_default_domain_while_a_user_domain_is_attached()
    {
        var m = DmaMachines.Edu();
        m.AttachUnmanaged(m.Dev(EduBdf));
        Assert.That(m.Sysfs.ReadAll($"/sys/kernel/iommu_groups/{m.GroupOf(m.Dev(EduBdf)).Id}/type").Data, Is.EqualTo("identity\n"u8.ToArray()));
    }
}
