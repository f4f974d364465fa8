using VfioSim.Tests.Unit.Sysfs;
using VfioSim.Uapi;

namespace VfioSim.Tests.Unit.Drivers;

/// <summary>
/// driver_override (pci-sysfs.c, driver_set_override()) and /sys/bus/pci/drivers_probe (bus.c
/// drivers_probe_store()): the single-device way to move a device to vfio-pci.
/// </summary>
public class DriverOverrideTests
{
    private const string Edu = "0000:01:00.0";
    private const string Override = "/sys/bus/pci/devices/0000:01:00.0/driver_override";
    private const string Probe = "/sys/bus/pci/drivers_probe";

    [Test]
    public void Driver_override_reads_null_in_parentheses_when_unset()
    {
        Assert.That(DriverMachines.Q1().Sysfs.Cat(Override), Is.EqualTo("(null)\n"));
    }

    [Test]
    public void Driver_override_keeps_the_text_up_to_the_first_newline()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo(Override, "vfio-pci\nignored");
        Assert.That(m.Sysfs.Cat(Override), Is.EqualTo("vfio-pci\n"));
    }

    [Test]
    public void Driver_override_ends_at_an_embedded_nul()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo(Override, "vfio-pci\0\0\0");
        Assert.That(m.Sysfs.Cat(Override), Is.EqualTo("vfio-pci\n"));
    }

    [TestCase("\n")]
    [TestCase("\0")]
    public void Driver_override_is_cleared_by_a_newline_or_an_empty_string(string text)
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo(Override, "vfio-pci");
        m.Sysfs.Echo(Override, text);
        Assert.That(m.Sysfs.Cat(Override), Is.EqualTo("(null)\n"));
    }

    [Test]
    public void Driver_override_of_a_page_less_one_byte_is_EINVAL()
    {
        var m = DriverMachines.Q1();
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.WriteErrno(Override, new string('x', 4095)), Is.EqualTo("EINVAL"));
            Assert.That(m.Sysfs.WriteErrno(Override, new string('x', 4094)), Is.EqualTo("errno 0"));
        });
    }

    [Test]
    public void Setting_driver_override_does_not_rebind_a_bound_device()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo("/sys/bus/pci/devices/0000:0e:00.1/driver_override", "vfio-pci");
        Assert.That(m.Sysfs.DriverLink("0000:0e:00.1"), Is.EqualTo("virtio-pci"));
    }

    [Test]
    public void Driver_override_then_drivers_probe_binds_that_one_device_to_vfio_pci()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo(Override, "vfio-pci");
        m.Sysfs.Echo(Probe, Edu);
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.DriverLink(Edu), Is.EqualTo("vfio-pci"));
            Assert.That(m.Drivers.DevicesBoundTo(m.Drivers.Find("vfio-pci")!).Select(d => d.Bdf.ToString()), Is.EqualTo(new[] { Edu }));
        });
    }

    [Test]
    public void Driver_override_moves_a_device_from_its_native_driver_after_unbind()
    {
        var m = DriverMachines.Q1();
        const string rng = "0000:0e:00.1";
        m.Sysfs.Echo($"/sys/bus/pci/devices/{rng}/driver_override", "vfio-pci");
        m.Sysfs.Echo("/sys/bus/pci/drivers/virtio-pci/unbind", rng);
        m.Sysfs.Echo(Probe, rng);
        Assert.That(m.Sysfs.DriverLink(rng), Is.EqualTo("vfio-pci"));
    }

    [Test]
    public void Driver_override_excludes_every_other_driver()
    {
        // The rng overridden to pci-stub no longer matches virtio-pci: binding it there is ENODEV.
        var m = DriverMachines.Q1();
        const string rng = "0000:0e:00.1";
        m.Sysfs.Echo($"/sys/bus/pci/devices/{rng}/driver_override", "pci-stub");
        m.Sysfs.Echo("/sys/bus/pci/drivers/virtio-pci/unbind", rng);
        Assert.That(m.Sysfs.WriteErrno("/sys/bus/pci/drivers/virtio-pci/bind", rng), Is.EqualTo("ENODEV"));
    }

    [Test]
    public void Drivers_probe_of_an_unknown_device_is_ENODEV()
    {
        Assert.That(DriverMachines.Q1().Sysfs.WriteErrno(Probe, "0000:42:00.0"), Is.EqualTo("ENODEV"));
    }

    [Test]
    public void Drivers_probe_of_a_bound_device_succeeds_and_changes_nothing()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo(Probe, "0000:0e:00.1");
        Assert.That(m.Sysfs.DriverLink("0000:0e:00.1"), Is.EqualTo("virtio-pci"));
    }

    [Test]
    public void Drivers_probe_that_no_driver_takes_succeeds_and_leaves_it_unbound()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo(Override, "no-such-driver");
        m.Sysfs.Echo(Probe, Edu);
        Assert.That(m.Sysfs.DriverLink(Edu), Is.Null);
    }

    [Test]
    public void Drivers_probe_without_override_rebinds_the_native_driver()
    {
        var m = DriverMachines.Q2();
        m.Sysfs.Echo("/sys/bus/pci/drivers/e1000e/unbind", "0000:00:0e.0");
        m.Sysfs.Echo(Probe, "0000:00:0e.0");
        Assert.That(m.Sysfs.DriverLink("0000:00:0e.0"), Is.EqualTo("e1000e"));
    }

    [Test]
    public void Drivers_probe_is_write_only()
    {
        Assert.That(DriverMachines.Q1().Sysfs.ReadAll(Probe).Errno, Is.EqualTo(Errno.EACCES));
    }
}
