using VfioSim.Uapi;
using VfioSim.Vfio;

namespace VfioSim.Tests.Unit.Sysfs;

/// <summary>Symlink texts as kernfs_get_target_path() builds them, and where device directories sit.</summary>
public class SysfsLinkTests
{
    private static readonly Machine Q1 = SysfsMachines.Q1();

    [TestCase("0000:00:02.0", "../../../devices/pci0000:00/0000:00:02.0")]
    [TestCase("0000:01:00.0", "../../../devices/pci0000:00/0000:00:02.0/0000:01:00.0")]
    [TestCase("0000:08:01.0", "../../../devices/pci0000:00/0000:00:04.0/0000:06:00.0/0000:07:03.0/0000:08:01.0")]
    public void Bus_pci_devices_entries_link_into_the_devices_tree_nested_by_bridges(string bdf, string target)
    {
        Assert.That(Q1.Sysfs.Link($"/sys/bus/pci/devices/{bdf}"), Is.EqualTo(target));
    }

    // The ls -l of /sys/kernel/iommu_groups/*/devices/ measured on Linux 6.12 for this machine (shared/vm/logs).
    [TestCase(1, "0000:00:02.0", "../../../../devices/pci0000:00/0000:00:02.0")]
    [TestCase(13, "0000:01:00.0", "../../../../devices/pci0000:00/0000:00:02.0/0000:01:00.0")]
    [TestCase(15, "0000:04:00.0", "../../../../devices/pci0000:00/0000:00:03.0/0000:02:00.0/0000:03:00.0/0000:04:00.0")]
    [TestCase(17, "0000:08:01.0", "../../../../devices/pci0000:00/0000:00:04.0/0000:06:00.0/0000:07:03.0/0000:08:01.0")]
    [TestCase(18, "0000:09:00.1", "../../../../devices/pci0000:00/0000:00:05.0/0000:09:00.1")]
    public void Group_member_links_match_linux(int group, string bdf, string target)
    {
        Assert.That(Q1.Sysfs.Link($"/sys/kernel/iommu_groups/{group}/devices/{bdf}"), Is.EqualTo(target));
    }

    [TestCase("0000:00:02.0", "../../../kernel/iommu_groups/1")]
    [TestCase("0000:01:00.0", "../../../../kernel/iommu_groups/13")]
    [TestCase("0000:08:01.0", "../../../../../../kernel/iommu_groups/17")]
    public void Iommu_group_link_climbs_one_level_per_directory_below_sys(string bdf, string target)
    {
        Assert.That(Q1.Sysfs.Link($"/sys/bus/pci/devices/{bdf}/iommu_group"), Is.EqualTo(target));
    }

    [Test]
    public void Subsystem_link_points_at_bus_pci()
    {
        Assert.That(Q1.Sysfs.Link("/sys/bus/pci/devices/0000:01:00.0/subsystem"), Is.EqualTo("../../../../bus/pci"));
    }

    [Test]
    public void Realpath_of_a_bus_pci_devices_entry_is_its_device_directory()
    {
        Assert.That(Q1.Sysfs.RealPath("/sys/bus/pci/devices/0000:01:00.0"),
            Is.EqualTo(("/sys/devices/pci0000:00/0000:00:02.0/0000:01:00.0", 0)));
    }

    [Test]
    public void Devices_on_a_second_root_bus_live_under_its_own_host_bridge_directory()
    {
        var q2 = SysfsMachines.Q2();
        Assert.Multiple(() =>
        {
            Assert.That(q2.Sysfs.Ls("/sys/devices"), Is.EquivalentTo(new[] { "pci0000:00", "pci0000:80" }));
            Assert.That(q2.Sysfs.RealPath("/sys/bus/pci/devices/0000:81:00.0").Path,
                Is.EqualTo("/sys/devices/pci0000:80/0000:80:00.0/0000:81:00.0"));
        });
    }

    [Test]
    public void Bus_pci_devices_lists_every_enumerated_function()
    {
        Assert.That(Q1.Sysfs.Ls("/sys/bus/pci/devices"), Is.EquivalentTo(Q1.Topology.Functions.Select(f => f.Bdf.ToString())));
    }

    [Test]
    public void Driver_link_exists_only_while_a_driver_is_bound()
    {
        var m = SysfsMachines.Q1();
        var dev = m.Topology.Get("0000:01:00.0");
        const string driverLink = "/sys/bus/pci/devices/0000:01:00.0/driver";
        Assert.That(m.Sysfs.ReadLink(driverLink).Errno, Is.EqualTo(Errno.ENOENT));

        m.SetBoundDriver(dev, "vfio-pci");
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.Link(driverLink), Is.EqualTo("../../../../bus/pci/drivers/vfio-pci"));
            Assert.That(m.Sysfs.Link("/sys/bus/pci/drivers/vfio-pci/0000:01:00.0"),
                Is.EqualTo("../../../../devices/pci0000:00/0000:00:02.0/0000:01:00.0"));
        });

        m.SetBoundDriver(dev, null);
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.ReadLink(driverLink).Errno, Is.EqualTo(Errno.ENOENT));
            Assert.That(m.Sysfs.Ls("/sys/bus/pci/drivers/vfio-pci"), Does.Not.Contain("0000:01:00.0"));
        });
    }

    [Test]
    public void A_registered_driver_directory_has_the_write_only_driver_files()
    {
        var m = SysfsMachines.Q1();
        m.SetBoundDriver(m.Topology.Get("0000:01:00.0"), "vfio-pci");
        Assert.That(m.Sysfs.Ls("/sys/bus/pci/drivers/vfio-pci"),
            Is.EquivalentTo(new[] { "bind", "unbind", "new_id", "remove_id", "uevent", "0000:01:00.0" }));
    }

    [Test]
    public void Binding_a_device_of_another_machine_is_refused_with_a_message()
    {
        var other = SysfsMachines.Q1().Topology.Get("0000:01:00.0");
        Assert.That(() => Q1.SetBoundDriver(other, "vfio-pci"),
            Throws.ArgumentException.With.Message.Contains("not an enumerated device of this machine"));
    }
}
