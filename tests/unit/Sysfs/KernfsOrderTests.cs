using VfioSim.Pci;
using VfioSim.Pci.Devices;
using VfioSim.Vfio;
using VfioSim.Vfio.Sysfs;

namespace VfioSim.Tests.Unit.Sysfs;

/// <summary>
/// getdents order on sysfs is kernfs order (name hash, then name). The expected orders are what os.listdir()
/// returned on a Linux 6.18 host for directories holding these names.
/// </summary>
public class KernfsOrderTests
{
    [Test]
    public void Listing_order_is_kernfs_hash_order()
    {
        string[] linuxOrder =
        [
            "warn_count", "notes", "hardlockup_count", "mm", "uevent_seqnum", "profiling", "btf", "vmcoreinfo",
            "cpu_byteorder", "software_nodes", "reboot", "tracing", "oops_count", "slab", "iommu_groups", "security",
            "irq", "fscaps", "rcu_normal", "debug", "softlockup_count", "rcu_stall_count", "rcu_expedited", "cgroup",
            "boot_params", "address_bits",
        ];
        var tree = new SysfsTree();
        var dir = tree.Directory("kernel");
        foreach (var name in linuxOrder.Order(StringComparer.Ordinal)) dir.AddDirectory(name);
        Assert.That(tree.Ls("/sys/kernel"), Is.EqualTo(linuxOrder));
    }

    [Test]
    public void Bus_pci_devices_lists_functions_in_kernfs_order()
    {
        var t = new PciTopology(new KernelCommandLine("intel_iommu=on"));
        var root = t.AddRootBus(0, 0, "pcie.0");
        for (byte slot = 0; slot <= 5; slot++) t.Plug(root, (byte)(slot << 3), GenericDevice.Create(new GenericDeviceSpec()));
        var m = new Machine(t);
        Assert.That(m.Sysfs.Ls("/sys/bus/pci/devices"), Is.EqualTo(new[]
        {
            "0000:00:01.0", "0000:00:04.0", "0000:00:00.0", "0000:00:03.0", "0000:00:02.0", "0000:00:05.0",
        }));
    }

    [Test]
    public void Device_directory_lists_its_files_in_linux_order()
    {
        // The files of a Linux PCI device directory in getdents order, restricted to those modelled here.
        string[] linuxOrder =
        [
            "subsystem_device", "vendor", "class", "device", "driver_override", "subsystem", "revision", "config",
            "modalias", "subsystem_vendor",
        ];
        var m = SysfsMachines.FromText("-device edu,bus=pcie.0,addr=02.0\n-append \"intel_iommu=off\"");
        Assert.That(m.Sysfs.Ls("/sys/bus/pci/devices/0000:00:02.0"), Is.EqualTo(linuxOrder));
    }
}
