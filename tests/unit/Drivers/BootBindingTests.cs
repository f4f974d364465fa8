using VfioSim.Tests.Unit.Sysfs;
using VfioSim.Vfio;
using VfioSim.Vfio.Drivers;

namespace VfioSim.Tests.Unit.Drivers;

/// <summary>
/// Drivers bound at boot: each device goes to the first registered driver that matches and probes it
/// (driver_attach() at registration), so a q35 machine looks as it does in a Linux guest.
/// </summary>
public class BootBindingTests
{
    // q2: Intel DMI bridges, nvme PFs, e1000e, a pxb-pcie host bridge (00:10.0) with a root port on bus 0x80.
    private const string Q2Drivers = """
        0000:00:00.0 -
        0000:00:02.0 pcieport
        0000:00:03.0 pcieport
        0000:00:04.0 pcieport
        0000:00:05.0 pcieport
        0000:00:06.0 pcieport
        0000:00:0d.0 e1000e
        0000:00:0d.1 e1000e
        0000:00:0e.0 e1000e
        0000:00:10.0 -
        0000:00:1e.0 -
        0000:00:1f.0 lpc_ich
        0000:00:1f.2 ahci
        0000:00:1f.3 i801_smbus
        0000:01:00.0 -
        0000:02:01.0 -
        0000:03:02.0 -
        0000:04:00.0 pcieport
        0000:05:00.0 pcieport
        0000:05:01.0 pcieport
        0000:06:00.0 -
        0000:07:00.0 -
        0000:08:00.0 nvme
        0000:09:00.0 nvme
        0000:0a:00.0 e1000e
        0000:0a:00.1 e1000e
        0000:0b:0d.0 -
        0000:0b:0d.1 -
        0000:80:00.0 pcieport
        0000:81:00.0 -

        """;

    // The driver column pcidump printed in the measurement VM for this machine (shared/vm/logs/final-6.12-debian.log):
    // its initramfs loaded virtio-pci and vfio-pci only, so the ICH9 functions had no driver.
    private const string Q1MeasuredDrivers = """
        0000:00:00.0 -
        0000:00:02.0 pcieport
        0000:00:03.0 pcieport
        0000:00:04.0 pcieport
        0000:00:05.0 pcieport
        0000:00:06.0 pcieport
        0000:00:07.0 pcieport
        0000:00:07.1 pcieport
        0000:00:07.2 pcieport
        0000:00:08.0 pcieport
        0000:00:0a.0 -
        0000:00:0b.0 -
        0000:00:0b.1 -
        0000:00:0c.0 virtio-pci
        0000:00:1f.0 -
        0000:00:1f.2 -
        0000:00:1f.3 -
        0000:01:00.0 -
        0000:02:00.0 pcieport
        0000:03:00.0 pcieport
        0000:03:01.0 pcieport
        0000:04:00.0 -
        0000:05:00.0 -
        0000:06:00.0 -
        0000:07:01.0 -
        0000:07:02.0 -
        0000:07:03.0 -
        0000:08:01.0 -
        0000:09:00.0 -
        0000:09:00.1 -
        0000:0a:00.0 -
        0000:0b:00.0 -
        0000:0c:00.0 -
        0000:0d:00.0 -
        0000:0e:00.0 -
        0000:0e:00.1 virtio-pci

        """;

    private static string DriverTable(Machine m) =>
        string.Concat(m.Topology.Functions.OrderBy(f => f.Bdf)
            .Select(f => $"{f.Bdf} {m.Sysfs.DriverLink(f.Bdf.ToString()) ?? "-"}\n"));

    [Test]
    public void Q1_boots_with_ports_on_pcieport_virtio_on_virtio_pci_ich9_on_its_drivers_and_bridges_and_edu_unbound()
    {
        // As measured, plus the ICH9 drivers the measurement VM did not load.
        string expected = Q1MeasuredDrivers.ReplaceLineEndings("\n")
            .Replace("0000:00:1f.0 -", "0000:00:1f.0 lpc_ich", StringComparison.Ordinal)
            .Replace("0000:00:1f.2 -", "0000:00:1f.2 ahci", StringComparison.Ordinal)
            .Replace("0000:00:1f.3 -", "0000:00:1f.3 i801_smbus", StringComparison.Ordinal);
        Assert.That(DriverTable(DriverMachines.Q1()), Is.EqualTo(expected));
    }

    [Test]
    public void Q2_boots_with_nvme_on_nvme_e1000e_on_e1000e_and_dmi_bridges_and_host_bridges_unbound()
    {
        Assert.That(DriverTable(DriverMachines.Q2()), Is.EqualTo(Q2Drivers.ReplaceLineEndings("\n")));
    }

    [Test]
    public void Q1_with_the_measurement_vm_drivers_binds_what_linux_bound_there()
    {
        var m = new Machine(Pci.MachineFiles.MachineLoader.Load(SysfsMachines.Data("q1.qemu")), drivers: InTreeDrivers.MeasurementVm());
        Assert.That(DriverTable(m), Is.EqualTo(Q1MeasuredDrivers.ReplaceLineEndings("\n")));
    }

    [Test]
    public void Every_registered_driver_has_a_directory_even_without_devices()
    {
        Assert.That(DriverMachines.Q1().Sysfs.Ls("/sys/bus/pci/drivers"), Is.EquivalentTo(new[]
        {
            "pcieport", "virtio-pci", "e1000e", "nvme", "ahci", "lpc_ich", "i801_smbus", "pci-stub", "vfio-pci",
        }));
    }

    [Test]
    public void A_driver_directory_links_each_bound_device()
    {
        var m = DriverMachines.Q2();
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.Ls("/sys/bus/pci/drivers/e1000e").Where(n => n.StartsWith("0000:", StringComparison.Ordinal)),
                Is.EquivalentTo(new[] { "0000:00:0d.0", "0000:00:0d.1", "0000:00:0e.0", "0000:0a:00.0", "0000:0a:00.1" }));
            Assert.That(m.Sysfs.Link("/sys/bus/pci/drivers/nvme/0000:08:00.0"),
                Is.EqualTo("../../../../devices/pci0000:00/0000:00:04.0/0000:08:00.0"));
        });
    }

    [Test]
    public void The_driver_link_climbs_from_the_nested_device_directory_to_bus_pci_drivers()
    {
        Assert.That(DriverMachines.Q1().Sysfs.Link("/sys/bus/pci/devices/0000:03:00.0/driver"),
            Is.EqualTo("../../../../../bus/pci/drivers/pcieport"));
    }

    [Test]
    public void Vfio_pci_and_pci_stub_bind_nothing_at_boot()
    {
        var m = DriverMachines.Q1();
        Assert.Multiple(() =>
        {
            Assert.That(m.Drivers.DevicesBoundTo(m.Drivers.Find("vfio-pci")!), Is.Empty);
            Assert.That(m.Drivers.DevicesBoundTo(m.Drivers.Find("pci-stub")!), Is.Empty);
        });
    }

    [Test]
    public void Drivers_register_in_the_documented_order()
    {
        Assert.That(DriverMachines.Q1().Drivers.Drivers.Select(d => d.Name), Is.EqualTo(new[]
        {
            "pcieport", "virtio-pci", "e1000e", "nvme", "ahci", "lpc_ich", "i801_smbus", "pci-stub", "vfio-pci",
        }));
    }

    [Test]
    public void Driver_override_at_boot_decides_before_the_id_table()
    {
        // Set before the drivers register (the kernel's driver_override= style): the edu goes to pci-stub, the
        // e1000e to no one (its override names a driver that is never registered).
        var t = Pci.MachineFiles.QemuMachineFile.Parse("""
            -device pcie-root-port,id=rp,bus=pcie.0,addr=02.0,chassis=1,slot=1
            -device edu,bus=rp,addr=00.0
            -device e1000e,bus=pcie.0,addr=03.0
            """).Boot();
        var drivers = new List<PciDriver>();
        var m = new Machine(t, drivers: drivers);
        m.Drivers.SetDriverOverride(t.Get("0000:01:00.0"), "pci-stub");
        m.Drivers.SetDriverOverride(t.Get("0000:00:03.0"), "not-loaded");
        foreach (var d in InTreeDrivers.All()) m.Drivers.Register(d);
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.DriverLink("0000:01:00.0"), Is.EqualTo("pci-stub"));
            Assert.That(m.Sysfs.DriverLink("0000:00:03.0"), Is.Null);
            Assert.That(m.Sysfs.DriverLink("0000:00:02.0"), Is.EqualTo("pcieport"));
        });
    }
}
