using VfioSim.Pci;
using VfioSim.Uapi;
using VfioSim.Vfio;
using VfioSim.Vfio.Drivers;

namespace VfioSim.Tests.Unit.Drivers;

/// <summary>The driver core's events, which VFIO uses to create and remove /dev/vfio/N as vfio-pci binds and unbinds.</summary>
public class DriverEventTests
{
    private static List<string> Record(Machine m)
    {
        var log = new List<string>();
        m.Drivers.DeviceBound += (d, drv) => log.Add($"bound {d.Bdf} {drv.Name} link={m.Sysfs.DriverLink(d.Bdf.ToString())}");
        m.Drivers.DeviceUnbinding += (d, drv) => log.Add($"unbinding {d.Bdf} {drv.Name} link={m.Sysfs.DriverLink(d.Bdf.ToString())}");
        m.Drivers.DeviceUnbound += (d, drv) => log.Add($"unbound {d.Bdf} {drv.Name} link={m.Sysfs.DriverLink(d.Bdf.ToString()) ?? "none"}");
        return log;
    }

    [Test]
    public void Binding_to_vfio_pci_raises_device_bound_after_the_link_appears()
    {
        var m = DriverMachines.Q1();
        var log = Record(m);
        m.Sysfs.Echo("/sys/bus/pci/devices/0000:01:00.0/driver_override", "vfio-pci");
        m.Sysfs.Echo("/sys/bus/pci/drivers_probe", "0000:01:00.0");
        Assert.That(log, Is.EqualTo(new[] { "bound 0000:01:00.0 vfio-pci link=vfio-pci" }));
    }

    [Test]
    public void Unbinding_raises_unbinding_while_bound_then_unbound_after_the_link_went()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo("/sys/bus/pci/drivers/vfio-pci/new_id", "1234 11e8");
        var log = Record(m);
        m.Sysfs.Echo("/sys/bus/pci/drivers/vfio-pci/unbind", "0000:01:00.0");
        Assert.That(log, Is.EqualTo(new[]
        {
            "unbinding 0000:01:00.0 vfio-pci link=vfio-pci",
            "unbound 0000:01:00.0 vfio-pci link=none",
        }));
    }

    [Test]
    public void A_failed_probe_raises_no_event()
    {
        var m = DriverMachines.Q1();
        var log = Record(m);
        m.Sysfs.Echo("/sys/bus/pci/devices/0000:06:00.0/driver_override", "vfio-pci");
        m.Sysfs.Write("/sys/bus/pci/drivers/vfio-pci/bind", "0000:06:00.0");
        Assert.That(log, Is.Empty);
    }

    [Test]
    public void Vfio_pci_devices_lists_the_members_of_a_group_bound_to_vfio_pci()
    {
        // q1 group 17: pcie-pci-bridge 06:00.0, edus 07:01.0 07:02.0, pci-bridge 07:03.0, edu 08:01.0.
        var m = DriverMachines.Q1();
        var group = m.Groups.GroupOf(m.Topology.Get("0000:07:01.0"))!;
        Assert.That(m.Drivers.VfioPciDevices(group), Is.Empty);
        m.Sysfs.Echo("/sys/bus/pci/drivers/vfio-pci/new_id", "1234 11e8");
        Assert.That(m.Drivers.VfioPciDevices(group).Select(d => d.Bdf.ToString()),
            Is.EquivalentTo(new[] { "0000:07:01.0", "0000:07:02.0", "0000:08:01.0" }));
    }

    [Test]
    public void Set_bound_driver_raises_the_same_events_as_a_probe()
    {
        var m = DriverMachines.Q1();
        var log = Record(m);
        var dev = m.Topology.Get("0000:01:00.0");
        m.SetBoundDriver(dev, InTreeDrivers.VfioPci);
        m.SetBoundDriver(dev, null);
        Assert.That(log, Is.EqualTo(new[]
        {
            "bound 0000:01:00.0 vfio-pci link=vfio-pci",
            "unbinding 0000:01:00.0 vfio-pci link=vfio-pci",
            "unbound 0000:01:00.0 vfio-pci link=none",
        }));
    }

    [Test]
    public void A_driver_registered_later_binds_the_unbound_devices_it_matches()
    {
        // bus_add_driver() -> driver_attach(): a synthetic DMA-API driver for the edu.
        var m = DriverMachines.Q1();
        var log = Record(m);
        m.Drivers.Register(new PciDriver("edu", [PciDeviceId.ForDevice(0x1234, 0x11e8)]));
        Assert.Multiple(() =>
        {
            Assert.That(log, Has.Count.EqualTo(16));
            Assert.That(m.Sysfs.DriverLink("0000:01:00.0"), Is.EqualTo("edu"));
            Assert.That(m.DmaOwnership.IsViable(m.Groups.GroupOf(m.Topology.Get("0000:01:00.0"))!), Is.False);
        });
    }

    [Test]
    public void Registering_a_second_driver_of_the_same_name_is_refused_with_a_message()
    {
        Assert.That(() => DriverMachines.Q1().Drivers.Register(InTreeDrivers.CreateVfioPci()),
            Throws.ArgumentException.With.Message.Contains("'vfio-pci' is already registered"));
    }

    [Test]
    public void A_probe_returning_a_positive_value_counts_as_success()
    {
        // local_pci_probe(): "Driver probe function unexpectedly returned 1" and the device stays bound.
        var m = DriverMachines.Q1();
        m.Drivers.Register(new PciDriver("odd", [PciDeviceId.ForDevice(0x1234, 0x11e8)], probe: (_, _, _) => 1));
        Assert.That(m.Sysfs.DriverLink("0000:01:00.0"), Is.EqualTo("odd"));
    }

    [Test]
    public void A_device_is_offered_to_the_next_driver_when_a_probe_fails()
    {
        var m = DriverMachines.Q1();
        var fails = new PciDriver("fails", [PciDeviceId.ForDevice(0x1234, 0x11e8)], probe: (_, _, _) => -Errno.EIO);
        var takes = new PciDriver("takes", [PciDeviceId.ForDevice(0x1234, 0x11e8)]);
        m.Drivers.Register(fails);
        m.Drivers.Register(takes);
        m.Sysfs.Echo("/sys/bus/pci/drivers/takes/unbind", "0000:01:00.0");
        Assert.Multiple(() =>
        {
            Assert.That(m.Drivers.Attach(m.Topology.Get("0000:01:00.0")), Is.EqualTo(1));
            Assert.That(m.Sysfs.DriverLink("0000:01:00.0"), Is.EqualTo("takes"));
            Assert.That(m.Drivers.Messages, Does.Contain("fails 0000:01:00.0: probe with driver fails failed with error -5"));
        });
    }

    [Test]
    public void Attach_of_a_device_no_driver_matches_is_0()
    {
        var m = DriverMachines.Q1();
        Assert.That(m.Drivers.Attach(m.Topology.Get(new Bdf(0, 1, 0, 0))), Is.Zero);
    }

    [Test]
    public void A_driver_object_that_is_not_registered_is_refused_with_a_message()
    {
        var m = DriverMachines.Q1();
        Assert.That(() => m.Drivers.Bind(m.Topology.Get("0000:01:00.0"), InTreeDrivers.CreateVfioPci()),
            Throws.ArgumentException.With.Message.Contains("driver 'vfio-pci' is not registered on this machine"));
    }
}
