using VfioSim.Pci;

namespace VfioSim.Iommu;

/// <summary>struct iommu_group: an ID and its member devices in the order they joined.</summary>
public sealed class IommuGroup(int id)
{
    private readonly List<PciFunction> devices = [];

    public int Id { get; } = id;

    /// <summary>Members in join order (the kernel's group->devices list).</summary>
    public IReadOnlyList<PciFunction> Devices => devices;

    /// <summary>Members sorted by address, as <c>ls /sys/kernel/iommu_groups/N/devices</c> shows them.</summary>
    public IEnumerable<PciFunction> SortedDevices => devices.OrderBy(d => d.Bdf);

    internal void Add(PciFunction dev) => devices.Add(dev);
    internal void Remove(PciFunction dev) => devices.Remove(dev);

    public override string ToString() => $"group {Id}";
}

/// <summary>Why a device is in its group: the step of pci_device_group() that decided, and through which device.</summary>
public enum GroupStep
{
    /// <summary>Step A: a DMA-alias bridge above it (or the device's real DMA device) already had the group.</summary>
    DmaAliasWalk,
    /// <summary>Step B: a bridge above it does not isolate (ACS), and that bridge had the group.</summary>
    AcsPath,
    /// <summary>Step C: a device on the same bus is a DMA alias of it (quirk).</summary>
    DmaAliasSearch,
    /// <summary>Step D: a function in the same slot that is not ACS-isolated.</summary>
    SameSlotFunction,
    /// <summary>Step E: nothing to share with; a new group.</summary>
    NewGroup,
}

/// <summary>The decision for one device, with the reasons in the order the kernel considered them.</summary>
public sealed record GroupDecision(PciFunction Device, IommuGroup Group, GroupStep Step, PciFunction? Via, IReadOnlyList<string> Reasons)
{
    public override string ToString() => string.Join("; ", Reasons);
}
