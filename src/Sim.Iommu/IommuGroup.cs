using VfioSim.Pci;

namespace VfioSim.Iommu;

/// <summary>struct iommu_group: an ID and its member devices in the order they joined.</summary>
public sealed class IommuGroup(int id)
{
    // Members without a List: most groups hold one device (kept in a field), and a large machine has tens of
    // thousands of groups. Further members go to an array; the list view is made on first use.
    private PciFunction? first;
    private PciFunction[] rest = [];
    private int count;
    private MemberList? view;

    public int Id { get; } = id;

    /// <summary>Members in join order (the kernel's group->devices list).</summary>
    public IReadOnlyList<PciFunction> Devices => view ??= new MemberList(this);

    /// <summary>Members sorted by address, as <c>ls /sys/kernel/iommu_groups/N/devices</c> shows them.</summary>
    public IEnumerable<PciFunction> SortedDevices => Devices.OrderBy(d => d.Bdf);

    internal int Count => count;

    private PciFunction At(int index) => index == 0 ? first! : rest[index - 1];

    internal void Add(PciFunction dev)
    {
        if (count == 0) first = dev;
        else
        {
            if (count - 1 == rest.Length) Array.Resize(ref rest, Math.Max(1, rest.Length * 2));
            rest[count - 1] = dev;
        }
        count++;
    }

    internal void Remove(PciFunction dev)
    {
        int i = 0;
        while (i < count && At(i) != dev) i++;
        if (i == count) return;
        for (; i < count - 1; i++)
        {
            if (i == 0) first = rest[0]; else rest[i - 1] = rest[i];
        }
        count--;
        if (count == 0) first = null; else rest[count - 1] = null!;
    }

    public override string ToString() => $"group {Id}";

    private sealed class MemberList(IommuGroup group) : IReadOnlyList<PciFunction>
    {
        public PciFunction this[int index] =>
            (uint)index < (uint)group.count ? group.At(index) : throw new ArgumentOutOfRangeException(nameof(index));

        public int Count => group.count;

        public IEnumerator<PciFunction> GetEnumerator()
        {
            for (int i = 0; i < group.count; i++) yield return group.At(i);
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
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
