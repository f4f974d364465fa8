using VfioSim.Pci;

namespace VfioSim.Iommu;

/// <summary>
/// The IOMMU's groups for a booted PCI topology: every enumerated device probed in device-list order at boot,
/// devices added later (SR-IOV VFs) probed as they appear, IDs allocated smallest-free (IDA), a group freed
/// when its last member leaves. Keeps the decision for each device so it can be explained.
/// </summary>
public sealed class IommuGroups
{
    private readonly Dictionary<PciFunction, IommuGroup> groupOf = [];
    private readonly Dictionary<PciFunction, GroupDecision> decisions = [];
    private readonly SortedDictionary<int, IommuGroup> groups = [];
    private readonly SortedSet<int> freedIds = [];
    private readonly bool explain;
    private int nextId;

    public IommuGroups(PciTopology topology, bool explain = true)
    {
        Topology = topology;
        this.explain = explain;
        if (!topology.Booted) topology.Boot();
        if (!topology.IommuPresent) return; // no IOMMU, no groups (/sys/kernel/iommu_groups is empty)
        foreach (var dev in topology.Functions) Probe(dev);
        topology.FunctionAdded += Probe;
        topology.FunctionRemoving += Release;
    }

    public PciTopology Topology { get; }

    /// <summary>Groups in ID order.</summary>
    public IEnumerable<IommuGroup> All => groups.Values;

    public int Count => groups.Count;

    public IommuGroup? GroupOf(PciFunction dev) => groupOf.GetValueOrDefault(dev);

    public IommuGroup? this[int id] => groups.GetValueOrDefault(id);

    public GroupDecision? DecisionFor(PciFunction dev) => decisions.GetValueOrDefault(dev);

    /// <summary>iommu_probe_device(): a device with a group keeps it; otherwise pci_device_group() picks one.</summary>
    public void Probe(PciFunction dev)
    {
        if (groupOf.ContainsKey(dev)) return;
        var decision = new PciDeviceGroup(this, Topology, explain).Find(dev);
        groupOf[dev] = decision.Group;
        decision.Group.Add(dev);
        decisions[dev] = decision;
    }

    /// <summary>iommu_release_device(): the device leaves; an empty group is freed and its ID becomes reusable.</summary>
    public void Release(PciFunction dev)
    {
        if (!groupOf.Remove(dev, out var g)) return;
        decisions.Remove(dev);
        g.Remove(dev);
        if (g.Devices.Count == 0)
        {
            groups.Remove(g.Id);
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
        groups.Add(id, g);
        return g;
    }

    /// <summary>The <c>.groups</c> format of shared/conformance: <c>N: BDF BDF …</c>, sorted BDFs, groups by ID.</summary>
    public string ToKernelFormat() =>
        string.Concat(All.Select(g => $"{g.Id}: {string.Join(" ", g.SortedDevices.Select(d => d.Bdf))}\n"));
}
