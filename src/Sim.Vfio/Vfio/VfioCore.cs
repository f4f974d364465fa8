using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Uapi;
using VfioSim.Vfio.Process;

namespace VfioSim.Vfio;

/// <summary>
/// The VFIO core of the machine (drivers/vfio/vfio_main.c, group.c): /dev/vfio/vfio opens a new container;
/// /dev/vfio/N exists while a device of IOMMU group N is bound to vfio-pci.
/// </summary>
public sealed class VfioCore
{
    private readonly Machine machine;
    private readonly Dictionary<IommuGroup, VfioGroup> groups = [];
    private readonly Dictionary<PciFunction, VfioPciDevice> devices = [];
    private readonly Dictionary<PciFunction, VfioGroup> noiommuGroups = [];

    internal VfioCore(Machine machine)
    {
        this.machine = machine;
        // vfio_pci_core_unregister_device(): the device state (its VF token included) goes with the binding.
        machine.Drivers.DeviceBound += (dev, driver) =>
        {
            if (driver.Name == Drivers.InTreeDrivers.VfioPci && machine.Groups.GroupOf(dev) is null) AllocNoiommuGroup(dev);
        };
        machine.Drivers.DeviceUnbound += (dev, _) =>
        {
            if (devices.TryGetValue(dev, out var d) && d.OpenCount == 0) devices.Remove(dev);
            noiommuGroups.Remove(dev); // an open one lives on through its file
        };
    }

    /// <summary>
    /// vfio_noiommu_group_alloc(): vfio-pci bound a device without an IOMMU group (its probe allows that only in
    /// enable_unsafe_noiommu_mode): a fake group numbered from the IOMMU group ID space (iommu_group_alloc()).
    /// </summary>
    private void AllocNoiommuGroup(PciFunction dev)
    {
        var used = machine.Groups.All.Select(g => g.Id).Concat(noiommuGroups.Values.Select(g => g.Id)).ToHashSet();
        int id = 0;
        while (used.Contains(id)) id++;
        noiommuGroups[dev] = new VfioGroup(machine, id, dev);
    }

    /// <summary>The noiommu groups that exist now, in group-number order.</summary>
    public IEnumerable<VfioGroup> NoiommuGroups => noiommuGroups.Values.OrderBy(g => g.Id);

    public VfioGroup? GroupFor(IommuGroup group)
    {
        if (machine.Drivers.VfioPciDevices(group).Count == 0 && !(groups.TryGetValue(group, out var open) && open.IsOpen)) return null;
        if (!groups.TryGetValue(group, out var g)) groups[group] = g = new VfioGroup(machine, group);
        return g;
    }

    internal VfioPciDevice DeviceFor(PciFunction dev)
    {
        if (!devices.TryGetValue(dev, out var d)) devices[dev] = d = new VfioPciDevice(machine, dev);
        return d;
    }

    /// <summary>The nodes under /dev/vfio that exist now: "vfio" and one per group with vfio-pci devices.</summary>
    public IEnumerable<string> Nodes() =>
        machine.Groups.All.Where(g => machine.Drivers.VfioPciDevices(g).Count > 0).Select(g => g.Id.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Concat(NoiommuGroups.Select(g => g.NodeName)).Prepend("vfio");

    internal SimFile? Open(SimProcess process, string path, out int errno)
    {
        errno = Errno.ENOENT;
        if (path == "/dev/vfio/vfio") { errno = 0; return new VfioContainer(machine); }
        const string prefix = "/dev/vfio/";
        if (!path.StartsWith(prefix, StringComparison.Ordinal)) return null;
        if (noiommuGroups.Values.FirstOrDefault(g => prefix + g.NodeName == path) is { } fake) return fake.Open(process, out errno);
        if (!int.TryParse(path.AsSpan(prefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id)) return null;
        if (machine.Groups[id] is not { } iommuGroup || GroupFor(iommuGroup) is not { } group) return null;
        return group.Open(process, out errno);
    }
}
