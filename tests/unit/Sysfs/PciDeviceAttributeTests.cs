using VfioSim.Vfio;

namespace VfioSim.Tests.Unit.Sysfs;

/// <summary>
/// The attribute files of /sys/bus/pci/devices/BDF: formats of drivers/pci/pci-sysfs.c, values as the QEMU device
/// catalogue (shared/vm/qemu-devices, "sysfs attributes") measured them in a Linux 6.12 guest.
/// </summary>
public class PciDeviceAttributeTests
{
    private const string RootPort = "/sys/bus/pci/devices/0000:00:02.0/";   // q1 rpA: pcie-root-port
    private const string Edu = "/sys/bus/pci/devices/0000:01:00.0/";        // q1 eduA, behind rpA

    private static readonly Machine Q1 = SysfsMachines.Q1();

    [TestCase(RootPort + "vendor", "0x1b36\n")]
    [TestCase(RootPort + "device", "0x000c\n")]
    [TestCase(Edu + "vendor", "0x1234\n")]
    [TestCase(Edu + "device", "0x11e8\n")]
    public void Vendor_and_device_read_as_0x_and_four_lowercase_hex_digits(string path, string expected)
    {
        Assert.That(Q1.Sysfs.Cat(path), Is.EqualTo(expected));
    }

    [TestCase(RootPort + "subsystem_vendor", "0x1b36\n")]
    [TestCase(RootPort + "subsystem_device", "0x0000\n")]
    [TestCase(Edu + "subsystem_vendor", "0x1af4\n")]
    [TestCase(Edu + "subsystem_device", "0x1100\n")]
    public void Subsystem_ids_come_from_the_header_or_a_bridge_ssvid_capability(string path, string expected)
    {
        Assert.That(Q1.Sysfs.Cat(path), Is.EqualTo(expected));
    }

    [TestCase(RootPort + "class", "0x060400\n")]
    [TestCase(Edu + "class", "0x00ff00\n")]
    public void Class_reads_as_0x_and_six_hex_digits(string path, string expected)
    {
        Assert.That(Q1.Sysfs.Cat(path), Is.EqualTo(expected));
    }

    [TestCase(RootPort + "revision", "0x00\n")]
    [TestCase(Edu + "revision", "0x10\n")]
    public void Revision_reads_as_0x_and_two_hex_digits(string path, string expected)
    {
        Assert.That(Q1.Sysfs.Cat(path), Is.EqualTo(expected));
    }

    [Test]
    public void Modalias_has_uppercase_ids_and_class_bytes()
    {
        Assert.That(Q1.Sysfs.Cat(Edu + "modalias"), Is.EqualTo("pci:v00001234d000011E8sv00001AF4sd00001100bc00scFFi00\n"));
    }

    [Test]
    public void Driver_override_reads_null_when_none_is_set()
    {
        Assert.That(Q1.Sysfs.Cat(Edu + "driver_override"), Is.EqualTo("(null)\n"));
    }

    [Test]
    public void Config_of_a_function_with_extended_space_reads_4096_bytes()
    {
        Assert.That(Q1.Sysfs.ReadAll(RootPort + "config").Data, Has.Length.EqualTo(4096));
    }

    [Test]
    public void Config_of_a_conventional_function_reads_256_bytes()
    {
        Assert.That(Q1.Sysfs.ReadAll(Edu + "config").Data, Has.Length.EqualTo(256));
    }

    [Test]
    public void Config_bytes_are_the_function_config_space()
    {
        var dev = Q1.Topology.Get("0000:00:02.0");
        var data = Q1.Sysfs.ReadAll(RootPort + "config").Data;
        Assert.That(data, Is.EqualTo(Enumerable.Range(0, 4096).Select(i => dev.Config.Read8(i)).ToArray()));
    }

    [Test]
    public void Config_read_without_cap_sys_admin_stops_after_64_bytes()
    {
        var data = Q1.Sysfs.ReadAll(RootPort + "config", capSysAdmin: false).Data;
        Assert.That(data, Is.EqualTo(Q1.Sysfs.ReadAll(RootPort + "config").Data.Take(64).ToArray()));
    }

    [Test]
    public void Config_file_size_is_cfg_size_and_attribute_size_is_a_page()
    {
        Assert.Multiple(() =>
        {
            Assert.That(((Vfio.Sysfs.SysfsFile)Q1.Sysfs.Lookup(Edu + "config")!).Size, Is.EqualTo(256));
            Assert.That(((Vfio.Sysfs.SysfsFile)Q1.Sysfs.Lookup(Edu + "vendor")!).Size, Is.EqualTo(4096));
        });
    }

    [TestCase("vendor", 0x124)]          // 0444
    [TestCase("config", 0x1a4)]          // 0644
    [TestCase("driver_override", 0x1a4)] // 0644
    public void Attribute_modes_are_those_of_pci_sysfs(string name, int mode)
    {
        Assert.That(Q1.Sysfs.Lookup(Edu + name)!.Mode, Is.EqualTo(mode));
    }

    [Test]
    public void Attributes_follow_the_device_config_space_as_it_changes()
    {
        var m = SysfsMachines.Q1();
        m.Topology.Get("0000:01:00.0").Config.Set8(0x08, 0x11); // a model changing its revision
        Assert.That(m.Sysfs.Cat(Edu + "revision"), Is.EqualTo("0x11\n"));
    }
}
