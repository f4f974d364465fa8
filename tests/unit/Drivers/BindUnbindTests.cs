using VfioSim.Tests.Unit.Sysfs;
using VfioSim.Uapi;

namespace VfioSim.Tests.Unit.Drivers;

/// <summary>
/// /sys/bus/pci/drivers/NAME/bind and unbind (drivers/base/bus.c bind_store()/unbind_store()): which device the
/// text names, the errnos, and the driver link after each write.
/// </summary>
public class BindUnbindTests
{
    private const string Drivers = "/sys/bus/pci/drivers/";
    private const string Edu = "0000:01:00.0";        // q1: edu behind root port 00:02.0, unbound
    private const string Rng = "0000:0e:00.1";        // q1: virtio-rng, bound to virtio-pci

    [Test]
    public void Unbind_leaves_the_device_without_a_driver_link()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo(Drivers + "virtio-pci/unbind", Rng + "\n");
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.DriverLink(Rng), Is.Null);
            Assert.That(m.Sysfs.Ls(Drivers + "virtio-pci"), Does.Not.Contain(Rng));
        });
    }

    [Test]
    public void Bind_after_unbind_restores_the_driver_link()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo(Drivers + "virtio-pci/unbind", Rng);
        m.Sysfs.Echo(Drivers + "virtio-pci/bind", Rng);
        Assert.That(m.Sysfs.DriverLink(Rng), Is.EqualTo("virtio-pci"));
    }

    [Test]
    public void Unbind_of_a_device_bound_to_another_driver_is_ENODEV()
    {
        var m = DriverMachines.Q1();
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.WriteErrno(Drivers + "pci-stub/unbind", Rng), Is.EqualTo("ENODEV"));
            Assert.That(m.Sysfs.DriverLink(Rng), Is.EqualTo("virtio-pci"));
        });
    }

    [Test]
    public void Unbind_of_an_unbound_device_is_ENODEV()
    {
        Assert.That(DriverMachines.Q1().Sysfs.WriteErrno(Drivers + "vfio-pci/unbind", Edu), Is.EqualTo("ENODEV"));
    }

    [TestCase("0000:01:00.7", TestName = "Bind_of_a_device_that_does_not_exist_is_ENODEV")]
    [TestCase("01:00.0", TestName = "Bind_names_the_device_by_its_full_name_a_short_address_is_ENODEV")]
    [TestCase("0000:01:00.0\n\n", TestName = "Bind_allows_one_trailing_newline_not_two")]
    [TestCase("0000:01:00.0 ", TestName = "Bind_with_a_trailing_space_is_ENODEV")]
    [TestCase("0000:0E:00.1", TestName = "Bind_with_upper_case_hex_is_ENODEV")]
    public void Bind_text_that_names_no_device_is_ENODEV(string text)
    {
        Assert.That(StubReady().Sysfs.WriteErrno(Drivers + "pci-stub/bind", text), Is.EqualTo("ENODEV"));
    }

    [TestCase("0000:01:00.0")]
    [TestCase("0000:01:00.0\n")]
    [TestCase("0000:0e:00.1\n")]
    public void Bind_takes_the_full_device_name_with_or_without_one_newline(string text)
    {
        var m = StubReady();
        m.Sysfs.Echo(Drivers + "pci-stub/bind", text);
        Assert.That(m.Sysfs.DriverLink(text.TrimEnd('\n')), Is.EqualTo("pci-stub"));
    }

    /// <summary>q1 with the edu 01:00.0 and the unbound virtio-rng 0e:00.1 both overridden to pci-stub, so a bind naming them works.</summary>
    private static Vfio.Machine StubReady()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo(Drivers + "virtio-pci/unbind", Rng);
        m.Sysfs.Echo($"/sys/bus/pci/devices/{Edu}/driver_override", "pci-stub");
        m.Sysfs.Echo($"/sys/bus/pci/devices/{Rng}/driver_override", "pci-stub");
        return m;
    }

    [Test]
    public void Bind_of_a_device_the_driver_does_not_match_is_ENODEV()
    {
        // vfio-pci's ID table matches only through driver_override; nothing else was done here.
        var m = DriverMachines.Q1();
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.WriteErrno(Drivers + "vfio-pci/bind", Edu), Is.EqualTo("ENODEV"));
            Assert.That(m.Sysfs.DriverLink(Edu), Is.Null);
        });
    }

    [Test]
    public void Bind_of_a_device_that_already_has_a_driver_is_EBUSY()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo("/sys/bus/pci/devices/0000:0e:00.1/driver_override", "vfio-pci");
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.WriteErrno(Drivers + "vfio-pci/bind", Rng), Is.EqualTo("EBUSY"));
            Assert.That(m.Sysfs.DriverLink(Rng), Is.EqualTo("virtio-pci"));
        });
    }

    [Test]
    public void Bind_matching_but_refused_by_the_probe_is_ENODEV_and_leaves_no_link()
    {
        // pcieport matches every class 0604 bridge but its probe keeps only PCIe ports: the PCIe-to-PCI bridge is refused.
        var m = DriverMachines.Q1();
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.WriteErrno(Drivers + "pcieport/bind", "0000:06:00.0"), Is.EqualTo("ENODEV"));
            Assert.That(m.Sysfs.DriverLink("0000:06:00.0"), Is.Null);
            Assert.That(m.Drivers.Messages, Is.Empty, "-ENODEV from a probe is not logged as an error");
        });
    }

    [Test]
    public void Vfio_pci_refuses_a_bridge_with_EINVAL_and_logs_the_failed_probe()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo("/sys/bus/pci/devices/0000:06:00.0/driver_override", "vfio-pci");
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.WriteErrno(Drivers + "vfio-pci/bind", "0000:06:00.0"), Is.EqualTo("EINVAL"));
            Assert.That(m.Drivers.Messages,
                Is.EqualTo(new[] { "vfio-pci 0000:06:00.0: probe with driver vfio-pci failed with error -22" }));
        });
    }

    [Test]
    public void Without_an_iommu_vfio_pci_probe_fails_with_EINVAL_as_measured()
    {
        // shared/vm REPORT §3: without intel-iommu each edu logs "probe with driver vfio-pci failed with error -22".
        var m = SysfsMachines.FromText("""
            -device pcie-root-port,id=rp,bus=pcie.0,addr=02.0,chassis=1,slot=1
            -device edu,bus=rp,addr=00.0
            -append "intel_iommu=off"
            """);
        m.Sysfs.Echo("/sys/bus/pci/devices/0000:01:00.0/driver_override", "vfio-pci");
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.WriteErrno(Drivers + "vfio-pci/bind", Edu), Is.EqualTo("EINVAL"));
            Assert.That(m.Drivers.Messages, Does.Contain("vfio-pci 0000:01:00.0: probe with driver vfio-pci failed with error -22"));
            Assert.That(m.Sysfs.DriverLink(Edu), Is.Null);
        });
    }

    [Test]
    public void Bind_and_unbind_files_are_write_only()
    {
        var m = DriverMachines.Q1();
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.ReadAll(Drivers + "pcieport/bind").Errno, Is.EqualTo(Errno.EACCES));
            Assert.That(m.Sysfs.ReadAll(Drivers + "pcieport/unbind").Errno, Is.EqualTo(Errno.EACCES));
        });
    }

    [Test]
    public void A_write_longer_than_a_page_is_E2BIG()
    {
        Assert.That(DriverMachines.Q1().Sysfs.WriteErrno(Drivers + "pci-stub/bind", new string('0', 4097)), Is.EqualTo("E2BIG"));
    }

    [Test]
    public void Writing_uevent_is_EACCES_because_its_store_is_not_modelled()
    {
        Assert.That(DriverMachines.Q1().Sysfs.WriteErrno(Drivers + "pci-stub/uevent", "add"), Is.EqualTo("EACCES"));
    }
}
