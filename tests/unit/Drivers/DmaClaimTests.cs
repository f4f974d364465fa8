using VfioSim.Uapi;
using VfioSim.Vfio;

namespace VfioSim.Tests.Unit.Drivers;

/// <summary>
/// User-space DMA ownership (iommu_group_claim_dma_owner(), iommu_device_claim_dma_owner()) against kernel
/// drivers: each excludes the other.
/// </summary>
public class DmaClaimTests
{
    private const string Rng = "0000:0e:00.1";

    [Test]
    public void Claiming_a_viable_group_makes_the_claimer_its_owner()
    {
        var m = DriverMachines.Q1();
        var group = m.GroupOf("0000:01:00.0");
        var owner = new object();
        Assert.Multiple(() =>
        {
            Assert.That(m.DmaOwnership.TryClaimDmaOwner(group, owner, out int errno), Is.True);
            Assert.That(errno, Is.Zero);
            Assert.That(m.DmaOwnership.OwnerOf(group), Is.SameAs(owner));
            Assert.That(m.DmaOwnership.IsClaimed(group), Is.True);
            Assert.That(m.DmaOwnership.IsViable(group), Is.True, "user ownership is not a kernel DMA user");
        });
    }

    [Test]
    public void Claiming_a_group_with_a_dma_api_driver_bound_is_EPERM()
    {
        var m = DriverMachines.Q2();
        var group = m.GroupOf("0000:00:0d.0");
        Assert.Multiple(() =>
        {
            Assert.That(m.DmaOwnership.TryClaimDmaOwner(group, new object(), out int errno), Is.False);
            Assert.That(Errno.Name(errno), Is.EqualTo("EPERM"));
            Assert.That(m.DmaOwnership.OwnerOf(group), Is.Null);
        });
    }

    [Test]
    public void Claiming_a_group_another_owner_holds_is_EPERM()
    {
        var m = DriverMachines.Q1();
        var group = m.GroupOf("0000:01:00.0");
        m.DmaOwnership.TryClaimDmaOwner(group, "first", out _);
        Assert.Multiple(() =>
        {
            Assert.That(m.DmaOwnership.TryClaimDmaOwner(group, "second", out int errno), Is.False);
            Assert.That(Errno.Name(errno), Is.EqualTo("EPERM"));
            Assert.That(m.DmaOwnership.OwnerOf(group), Is.EqualTo("first"));
        });
    }

    [Test]
    public void Claiming_a_group_twice_is_EPERM_even_for_the_same_owner()
    {
        var m = DriverMachines.Q1();
        var group = m.GroupOf("0000:01:00.0");
        m.DmaOwnership.TryClaimDmaOwner(group, "vfio-group", out _);
        Assert.That(m.DmaOwnership.TryClaimDmaOwner(group, "vfio-group", out _), Is.False);
    }

    [Test]
    public void Releasing_returns_the_group_to_unclaimed()
    {
        var m = DriverMachines.Q1();
        var group = m.GroupOf("0000:01:00.0");
        m.DmaOwnership.TryClaimDmaOwner(group, "owner", out _);
        m.DmaOwnership.ReleaseDmaOwner(group, "owner");
        Assert.Multiple(() =>
        {
            Assert.That(m.DmaOwnership.IsClaimed(group), Is.False);
            Assert.That(m.DmaOwnership.TryClaimDmaOwner(group, "next", out _), Is.True);
        });
    }

    [Test]
    public void Releasing_a_group_one_does_not_own_is_refused_with_a_message()
    {
        var m = DriverMachines.Q1();
        var group = m.GroupOf("0000:01:00.0");
        m.DmaOwnership.TryClaimDmaOwner(group, "owner", out _);
        Assert.That(() => m.DmaOwnership.ReleaseDmaOwner(group, "intruder"),
            Throws.InvalidOperationException.With.Message.Contains("is not owned by intruder"));
    }

    /// <summary>
    /// q1 group 20 (edu 0e:00.0 + virtio-rng 0e:00.1) with the rng unbound from virtio-pci and the group claimed by
    /// "vfio-group".
    /// </summary>
    private static Machine Group20Owned()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo("/sys/bus/pci/drivers/virtio-pci/unbind", Rng);
        Assert.That(m.DmaOwnership.TryClaimDmaOwner(m.GroupOf(Rng), "vfio-group", out _), Is.True);
        return m;
    }

    [Test]
    public void Binding_a_dma_api_driver_in_a_user_owned_group_is_EBUSY_and_leaves_it_unbound()
    {
        var m = Group20Owned();
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.WriteErrno("/sys/bus/pci/drivers/virtio-pci/bind", Rng), Is.EqualTo("EBUSY"));
            Assert.That(m.Sysfs.DriverLink(Rng), Is.Null);
            Assert.That(m.DmaOwnership.OwnerOf(m.GroupOf(Rng)), Is.EqualTo("vfio-group"));
            Assert.That(m.DmaOwnership.OwnerCount(m.GroupOf(Rng)), Is.EqualTo(1));
        });
    }

    [Test]
    public void Drivers_probe_onto_a_user_owned_group_fails_with_EINVAL()
    {
        // bus_rescan_devices_helper() turns the attach's -EBUSY (from pci_dma_configure()) into -EINVAL.
        Assert.That(Group20Owned().Sysfs.WriteErrno("/sys/bus/pci/drivers_probe", Rng), Is.EqualTo("EINVAL"));
    }

    [Test]
    public void A_driver_managed_dma_driver_binds_in_a_user_owned_group()
    {
        var m = Group20Owned();
        m.Sysfs.Echo("/sys/bus/pci/drivers/vfio-pci/new_id", "1234 11e8");
        Assert.That(m.Sysfs.DriverLink("0000:0e:00.0"), Is.EqualTo("vfio-pci"));
    }

    [Test]
    public void After_release_the_native_driver_binds_again()
    {
        var m = Group20Owned();
        m.DmaOwnership.ReleaseDmaOwner(m.GroupOf(Rng), "vfio-group");
        m.Sysfs.Echo("/sys/bus/pci/drivers_probe", Rng);
        Assert.That(m.Sysfs.DriverLink(Rng), Is.EqualTo("virtio-pci"));
    }

    [Test]
    public void Set_bound_driver_refuses_a_dma_api_driver_in_a_user_owned_group()
    {
        var m = DriverMachines.Q1();
        m.DmaOwnership.TryClaimDmaOwner(m.GroupOf("0000:01:00.0"), "vfio-group", out _);
        Assert.That(() => m.SetBoundDriver(m.Topology.Get("0000:01:00.0"), "some-dma-driver"),
            Throws.InvalidOperationException.With.Message.Contains("iommu_device_use_default_domain"));
    }

    [Test]
    public void Device_claims_by_one_owner_stack_and_the_last_release_frees_the_group()
    {
        // q1 group 18: the two edu functions 09:00.0 and 09:00.1 (iommufd binds each device).
        var m = DriverMachines.Q1();
        var f0 = m.Topology.Get("0000:09:00.0");
        var f1 = m.Topology.Get("0000:09:00.1");
        var group = m.GroupOf("0000:09:00.0");
        Assert.That(m.DmaOwnership.TryClaimDeviceDmaOwner(f0, "ictx", out _), Is.True);
        Assert.That(m.DmaOwnership.TryClaimDeviceDmaOwner(f1, "ictx", out _), Is.True);
        Assert.That(m.DmaOwnership.OwnerCount(group), Is.EqualTo(2));
        m.DmaOwnership.ReleaseDeviceDmaOwner(f0, "ictx");
        Assert.That(m.DmaOwnership.OwnerOf(group), Is.EqualTo("ictx"));
        m.DmaOwnership.ReleaseDeviceDmaOwner(f1, "ictx");
        Assert.That(m.DmaOwnership.IsClaimed(group), Is.False);
    }

    [Test]
    public void A_device_claim_by_another_owner_is_EPERM()
    {
        var m = DriverMachines.Q1();
        m.DmaOwnership.TryClaimDeviceDmaOwner(m.Topology.Get("0000:09:00.0"), "ictx-1", out _);
        Assert.Multiple(() =>
        {
            Assert.That(m.DmaOwnership.TryClaimDeviceDmaOwner(m.Topology.Get("0000:09:00.1"), "ictx-2", out int errno), Is.False);
            Assert.That(Errno.Name(errno), Is.EqualTo("EPERM"));
        });
    }

    [Test]
    public void A_device_claim_where_a_kernel_driver_does_dma_is_EPERM()
    {
        var m = DriverMachines.Q1();
        Assert.That(m.DmaOwnership.TryClaimDeviceDmaOwner(m.Topology.Get("0000:0e:00.0"), "ictx", out int errno), Is.False);
        Assert.That(Errno.Name(errno), Is.EqualTo("EPERM"));
    }

    [Test]
    public void A_device_claim_without_an_iommu_group_is_ENODEV()
    {
        var m = Tests.Unit.Sysfs.SysfsMachines.FromText("""
            -device edu,bus=pcie.0,addr=05.0
            -append "intel_iommu=off"
            """);
        Assert.That(m.DmaOwnership.TryClaimDeviceDmaOwner(m.Topology.Get("0000:00:05.0"), "ictx", out int errno), Is.False);
        Assert.That(Errno.Name(errno), Is.EqualTo("ENODEV"));
    }
}
