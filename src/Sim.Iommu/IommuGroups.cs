using VfioSim.Pci;

namespace VfioSim.Iommu;

/// <summary>
/// The IOMMU's groups for a booted PCI topology: every enumerated device probed in device-list order at boot,
/// devices added later (SR-IOV VFs) probed as they appear, IDs allocated smallest-free (IDA), a group freed
/// when its last member leaves. Keeps the decision for each device so it can be explained.
/// </summary>
public sealed class IommuGroups
{
    // A device's decision holds its group, stored inline (GroupDecision objects are made on request).
    // Groups are indexed by ID (IDs stay below the number of devices).
    private readonly Dictionary<PciFunction, Decision> decisions;
    private readonly List<IommuGroup?> groups = [];
    private readonly SortedSet<int> freedIds = [];
    private readonly PciDeviceGroup finder;
    private int nextId, count;

    public IommuGroups(PciTopology topology, bool explain = true)
    {
        Topology = topology;
        finder = new PciDeviceGroup(this, topology, explain);
        if (!topology.Booted) topology.Boot();
        decisions = new Dictionary<PciFunction, Decision>(topology.Functions.Count + topology.MaxVfs);
        if (!topology.IommuPresent) return; // no IOMMU, no groups (/sys/kernel/iommu_groups is empty)
        finder.BeginBootProbe();
        foreach (var dev in topology.Functions) Probe(dev);
        finder.EndBootProbe();
        topology.FunctionAdded += Probe;
        topology.FunctionRemoving += Release;
    }

    public PciTopology Topology { get; }

    /// <summary>Groups in ID order.</summary>
    public IEnumerable<IommuGroup> All => groups.OfType<IommuGroup>();

    public int Count => count;

    public IommuGroup? GroupOf(PciFunction dev) => decisions.TryGetValue(dev, out var d) ? d.Group : null;

    public IommuGroup? this[int id] => id >= 0 && id < groups.Count ? groups[id] : null;

    public GroupDecision? DecisionFor(PciFunction dev) =>
        decisions.TryGetValue(dev, out var d) ? new GroupDecision(dev, d.Group, d.Step, d.Via, d.Reasons) : null;

    /// <summary>iommu_probe_device(): a device with a group keeps it; otherwise pci_device_group() picks one.</summary>
    public void Probe(PciFunction dev)
    {
        if (decisions.ContainsKey(dev)) return;
        var decision = finder.Find(dev);
        decision.Group.Add(dev);
        decisions[dev] = decision;
    }

    /// <summary>iommu_release_device(): the device leaves; an empty group is freed and its ID becomes reusable.</summary>
    public void Release(PciFunction dev)
    {
        if (!decisions.Remove(dev, out var d)) return;
        var g = d.Group;
        g.Remove(dev);
        if (g.Count == 0)
        {
            groups[g.Id] = null;
            count--;
            if (g.Id == nextId - 1) nextId--; else freedIds.Add(g.Id);
            while (nextId > 0 && freedIds.Remove(nextId - 1)) nextId--;
        }
    }

    /// <summary>iommu_group_alloc(): the smallest ID not in use.</summary>
    internal IommuGroup Allocate()
    {
        int id;
        if (freedIds.Count > 0)
        {
            id = freedIds.Min;
            freedIds.Remove(id);
        }
        else
        {
            id = nextId++;
        }
        var g = new IommuGroup(id);
        while (groups.Count <= id) groups.Add(null);
        groups[id] = g;
        count++;
        return g;
    }

    /// <summary>The <c>.groups</c> format of shared/conformance: <c>N: BDF BDF …</c>, sorted BDFs, groups by ID.</summary>
    public string ToKernelFormat() =>
        string.Concat(All.Select(g => $"{g.Id}: {string.Join(" ", g.SortedDevices.Select(d => d.Bdf))}\n"));
}
