using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Vfio.Drivers;

namespace VfioSim.Vfio.Sysfs;

/// <summary>
/// Keeps a machine's sysfs tree in step with the machine: the device directories of /sys/devices (nested by
/// bridges under one <c>pciDDDD:BB</c> per root bus), /sys/bus/pci with its drivers, and /sys/kernel/iommu_groups.
/// Built once at boot; devices added or removed later (SR-IOV VFs) are added and removed as the PCI core and IOMMU
/// core do, drivers as they register.
/// </summary>
internal sealed class MachineSysfs
{
    private readonly Machine machine;
    private readonly SysfsDirectory devices, busPci, busPciDevices, busPciDrivers, iommuGroups;
    private readonly Dictionary<PciFunction, DeviceNodes> nodes = [];
    private readonly Dictionary<IommuGroup, SysfsDirectory> groupDirs = [];

    /// <summary>The nodes made for one device, so they can all go when it is removed.</summary>
    private sealed record DeviceNodes(SysfsDirectory Dir, SysfsLink BusLink)
    {
        public IommuGroup? Group { get; set; }
        public SysfsLink? GroupMember { get; set; }
        public SysfsLink? Virtfn { get; set; }
    }

    public MachineSysfs(Machine machine)
    {
        this.machine = machine;
        Tree = new SysfsTree();
        devices = Tree.Directory("devices");
        busPci = Tree.Directory("bus", "pci");
        busPciDevices = busPci.AddDirectory("devices");
        busPciDrivers = busPci.AddDirectory("drivers");
        DriverAttributes.PopulateBus(busPci, machine);
        // iommu_init() creates the kset whenever the kernel has IOMMU support; groups appear only with an IOMMU.
        iommuGroups = Tree.Directory("kernel", "iommu_groups");

        var topology = machine.Topology;
        // One directory per PCI host bridge (pci_register_host_bridge(): "pci%04x:%02x").
        foreach (var root in topology.RootBuses.OrderBy(r => (r.Domain, r.Number))) HostBridgeDir(root);
        foreach (var dev in topology.Functions) DeviceAdd(dev);
        topology.FunctionAdded += DeviceAdd;
        topology.FunctionRemoving += DeviceRemove;
    }

    public SysfsTree Tree { get; }

    private SysfsDirectory HostBridgeDir(PciBus root) => devices.GetOrAddDirectory($"pci{root.Domain:x4}:{root.Number:x2}");

    /// <summary>The device's parent directory: its bus's bridge, or the host bridge; a VF's is its PF's parent.</summary>
    private SysfsDirectory ParentDir(PciFunction dev)
    {
        var bus = (dev.PhysFn ?? dev).Bus!;
        return bus.IsRoot ? HostBridgeDir(bus) : nodes[bus.Self!].Dir;
    }

    /// <summary>pci_device_add() + pci_bus_add_device(): the directory, its bus link, the SR-IOV links and the group.</summary>
    private void DeviceAdd(PciFunction dev)
    {
        var dir = ParentDir(dev).AddDirectory(dev.Bdf.ToString());
        PciDeviceAttributes.Populate(dir, dev);
        DriverAttributes.PopulateDevice(dir, dev, machine);
        dir.AddLink("subsystem", busPci);
        if (SriovAttributes.IsPhysFn(dev)) SriovAttributes.PopulatePhysFn(dir, dev, machine.StateOf(dev));
        var entry = new DeviceNodes(dir, busPciDevices.AddLink(dir.Name, dir));
        nodes[dev] = entry;
        if (dev.PhysFn is { } pf)
        {
            SriovAttributes.PopulateVirtFn(dir);
            entry.Virtfn = SriovAttributes.Link(nodes[pf].Dir, dir, pf.VirtFns.IndexOf(dev));
        }
        if (machine.Groups.GroupOf(dev) is { } group)
        {
            if (!groupDirs.TryGetValue(group, out var groupDir))
                groupDirs[group] = groupDir = IommuGroupAttributes.Create(iommuGroups, group, machine);
            entry.Group = group;
            entry.GroupMember = IommuGroupAttributes.AddDevice(groupDir, dir);
        }
    }

    /// <summary>
    /// pci_stop_and_remove_bus_device() for a VF (its driver already released at FunctionStopping): its links in
    /// the PF, the group and /sys/bus/pci go, then its directory; a group left empty (iommu_group_release()) loses
    /// its directory.
    /// </summary>
    private void DeviceRemove(PciFunction dev)
    {
        if (!nodes.Remove(dev, out var entry)) return;
        if (entry.Virtfn is { } virtfn) virtfn.Parent?.Remove(virtfn);
        if (entry.GroupMember is { } member) member.Parent?.Remove(member);
        busPciDevices.Remove(entry.BusLink);
        entry.Dir.Parent?.Remove(entry.Dir);
        if (entry.Group is { } group && machine.Groups[group.Id] != group && groupDirs.Remove(group, out var groupDir))
            iommuGroups.Remove(groupDir);
    }

    /// <summary>bus_add_driver(): the driver's directory under /sys/bus/pci/drivers.</summary>
    public void DriverRegistered(PciDriver driver) =>
        DriverAttributes.PopulateDriver(busPciDrivers.AddDirectory(driver.Name), driver, machine);

    /// <summary>driver_sysfs_add(): <c>drivers/NAME/BDF</c> and the device's <c>driver</c> link.</summary>
    public void DriverBound(PciFunction dev, string driver)
    {
        var driverDir = DriverDir(driver);
        var devDir = nodes[dev].Dir;
        driverDir.AddLink(devDir.Name, devDir);
        devDir.AddLink("driver", driverDir);
    }

    /// <summary>driver_sysfs_remove(): both links go; the driver stays registered.</summary>
    public void DriverUnbound(PciFunction dev, string driver)
    {
        var devDir = nodes[dev].Dir;
        devDir.Remove("driver");
        DriverDir(driver).Remove(devDir.Name);
    }

    private SysfsDirectory DriverDir(string driver) => (SysfsDirectory)busPciDrivers.Child(driver)!;
}
