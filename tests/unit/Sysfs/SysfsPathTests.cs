using VfioSim.Uapi;
using VfioSim.Vfio;

namespace VfioSim.Tests.Unit.Sysfs;

/// <summary>Path walk and the errno of each call, as Linux gives them for open/read/readlink/getdents on sysfs.</summary>
public class SysfsPathTests
{
    private const string Dev = "/sys/bus/pci/devices/0000:01:00.0";

    private static readonly Machine Q1 = SysfsMachines.Q1();

    [TestCase("/sys/bus/pci/devices/0000:7f:00.0")]
    [TestCase("/sys/kernel/iommu_groups/99")]
    [TestCase(Dev + "/no_such_attribute")]
    [TestCase("/proc/self")]
    [TestCase("sys/bus")]
    [TestCase("")]
    public void A_missing_path_is_ENOENT(string path)
    {
        Assert.Multiple(() =>
        {
            Assert.That(Q1.Sysfs.ReadAll(path).Errno, Is.EqualTo(Errno.ENOENT));
            Assert.That(Q1.Sysfs.ReadLink(path).Errno, Is.EqualTo(Errno.ENOENT));
            Assert.That(Q1.Sysfs.List(path).Errno, Is.EqualTo(Errno.ENOENT));
            Assert.That(Q1.Sysfs.Lookup(path), Is.Null);
        });
    }

    [TestCase(Dev + "/vendor/x")]
    [TestCase(Dev + "/vendor/")]
    [TestCase(Dev + "/vendor/.")]
    public void A_path_through_a_file_is_ENOTDIR(string path)
    {
        Assert.That(Q1.Sysfs.ReadAll(path).Errno, Is.EqualTo(Errno.ENOTDIR));
    }

    [Test]
    public void Reading_a_directory_is_EISDIR()
    {
        Assert.That(Q1.Sysfs.ReadAll(Dev).Errno, Is.EqualTo(Errno.EISDIR));
    }

    [Test]
    public void Listing_a_file_is_ENOTDIR()
    {
        Assert.That(Q1.Sysfs.List(Dev + "/vendor").Errno, Is.EqualTo(Errno.ENOTDIR));
    }

    [Test]
    public void Readlink_of_something_that_is_not_a_link_is_EINVAL()
    {
        Assert.That(Q1.Sysfs.ReadLink(Dev + "/vendor").Errno, Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void Readlink_does_not_follow_the_last_link_but_follows_links_before_it()
    {
        Assert.That(Q1.Sysfs.ReadLink(Dev + "/iommu_group"), Is.EqualTo(("../../../../kernel/iommu_groups/13", 0)));
    }

    [Test]
    public void Dotdot_after_a_symlink_goes_up_from_where_the_link_led()
    {
        Assert.That(Q1.Sysfs.RealPath(Dev + "/.."), Is.EqualTo(("/sys/devices/pci0000:00/0000:00:02.0", 0)));
    }

    [Test]
    public void Repeated_slashes_and_dots_are_ignored()
    {
        Assert.That(Q1.Sysfs.Cat("//sys/./bus/pci//devices/0000:01:00.0/./vendor"), Is.EqualTo("0x1234\n"));
    }

    [Test]
    public void Reading_a_write_only_attribute_is_EACCES_even_for_root()
    {
        var m = SysfsMachines.Q1();
        m.SetBoundDriver(m.Topology.Get("0000:01:00.0"), "vfio-pci");
        Assert.That(m.Sysfs.ReadAll("/sys/bus/pci/drivers/vfio-pci/bind").Errno, Is.EqualTo(Errno.EACCES));
    }

    [Test]
    public void Sys_holds_bus_devices_and_kernel()
    {
        Assert.That(Q1.Sysfs.Ls("/sys"), Is.EquivalentTo(new[] { "bus", "devices", "kernel" }));
    }
}
