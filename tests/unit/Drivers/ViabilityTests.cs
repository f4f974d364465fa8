namespace VfioSim.Tests.Unit.Drivers;

/// <summary>
/// Group viability for VFIO: a group is viable while no member is bound to a driver that uses the kernel DMA API
/// (iommu_device_use_default_domain() from pci_dma_configure() takes owner_cnt; driver_managed_dma drivers do not).
/// </summary>
public class ViabilityTests
{
    [Test]
    public void A_group_with_a_device_bound_to_e1000e_is_not_viable()
    {
        var m = DriverMachines.Q2();
        var group = m.GroupOf("0000:00:0d.0");
        Assert.Multiple(() =>
        {
            Assert.That(m.DmaOwnership.IsViable(group), Is.False);
            Assert.That(m.DmaOwnership.IsClaimed(group), Is.True);
            Assert.That(m.DmaOwnership.DmaApiUsers(group).Select(u => u.ToString()), Is.EqualTo(new[] { "0000:00:0d.0 (e1000e)" }));
        });
    }

    [Test]
    public void Unbinding_the_dma_api_driver_makes_the_group_viable()
    {
        var m = DriverMachines.Q2();
        m.Sysfs.Echo("/sys/bus/pci/drivers/e1000e/unbind", "0000:00:0d.0");
        var group = m.GroupOf("0000:00:0d.0");
        Assert.Multiple(() =>
        {
            Assert.That(m.DmaOwnership.IsViable(group), Is.True);
            Assert.That(m.DmaOwnership.OwnerCount(group), Is.Zero);
            Assert.That(m.DmaOwnership.DmaApiUsers(group), Is.Empty);
        });
    }

    [Test]
    public void A_group_whose_only_member_is_bound_to_pcieport_is_viable()
    {
        var m = DriverMachines.Q1();
        var group = m.GroupOf("0000:00:02.0");
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.DriverLink("0000:00:02.0"), Is.EqualTo("pcieport"));
            Assert.That(m.DmaOwnership.IsViable(group), Is.True);
            Assert.That(m.DmaOwnership.IsClaimed(group), Is.False);
        });
    }

    [Test]
    public void A_port_on_pcieport_does_not_spoil_the_group_it_shares_with_an_endpoint()
    {
        // q1 group 15: downstream port 03:00.0 (pcieport) + edu 04:00.0.
        var m = DriverMachines.Q1();
        Assert.That(m.DmaOwnership.IsViable(m.GroupOf("0000:04:00.0")), Is.True);
    }

    [Test]
    public void Binding_pci_stub_keeps_the_group_viable()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo("/sys/bus/pci/drivers/pci-stub/new_id", "1234 11e8");
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.DriverLink("0000:01:00.0"), Is.EqualTo("pci-stub"));
            Assert.That(m.DmaOwnership.IsViable(m.GroupOf("0000:01:00.0")), Is.True);
        });
    }

    [Test]
    public void Binding_vfio_pci_keeps_the_group_viable()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo("/sys/bus/pci/drivers/vfio-pci/new_id", "1234 11e8");
        Assert.That(m.DmaOwnership.IsViable(m.GroupOf("0000:01:00.0")), Is.True);
    }

    [Test]
    public void The_virtio_rng_on_virtio_pci_makes_its_edu_slot_mate_group_non_viable()
    {
        // shared/vm REPORT §3, q1 group 20: "virtio-rng bound to virtio-pci: group not viable".
        var m = DriverMachines.Q1();
        var group = m.GroupOf("0000:0e:00.0");
        Assert.Multiple(() =>
        {
            Assert.That(group.Id, Is.EqualTo(20));
            Assert.That(m.DmaOwnership.IsViable(group), Is.False);
            Assert.That(m.DmaOwnership.DmaApiUsers(group).Select(u => u.ToString()), Is.EqualTo(new[] { "0000:0e:00.1 (virtio-pci)" }));
        });
    }

    [Test]
    public void Every_dma_api_driver_of_a_group_counts_and_is_listed_by_address()
    {
        var m = DriverMachines.Q1();
        var group = m.GroupOf("0000:00:1f.0");
        Assert.Multiple(() =>
        {
            Assert.That(m.DmaOwnership.OwnerCount(group), Is.EqualTo(3));
            Assert.That(m.DmaOwnership.DmaApiUsers(group).Select(u => u.ToString()),
                Is.EqualTo(new[] { "0000:00:1f.0 (lpc_ich)", "0000:00:1f.2 (ahci)", "0000:00:1f.3 (i801_smbus)" }));
        });
    }

    [Test]
    public void The_group_stays_non_viable_until_the_last_dma_api_driver_goes()
    {
        var m = DriverMachines.Q1();
        var group = m.GroupOf("0000:00:1f.0");
        m.Sysfs.Echo("/sys/bus/pci/drivers/lpc_ich/unbind", "0000:00:1f.0");
        m.Sysfs.Echo("/sys/bus/pci/drivers/ahci/unbind", "0000:00:1f.2");
        Assert.That(m.DmaOwnership.IsViable(group), Is.False);
        m.Sysfs.Echo("/sys/bus/pci/drivers/i801_smbus/unbind", "0000:00:1f.3");
        Assert.That(m.DmaOwnership.IsViable(group), Is.True);
    }

    [Test]
    public void A_group_of_another_machine_is_refused_with_a_message()
    {
        var other = DriverMachines.Q1();
        Assert.That(() => DriverMachines.Q2().DmaOwnership.IsViable(other.GroupOf("0000:01:00.0")),
            Throws.ArgumentException.With.Message.Contains("not a group of this machine"));
    }
}
