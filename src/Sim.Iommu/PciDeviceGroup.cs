using VfioSim.Pci;

namespace VfioSim.Iommu;

/// <summary>
/// pci_device_group() of drivers/iommu/iommu.c, step for step: the DMA-alias walk upward
/// (pci_for_each_dma_alias() with get_pci_alias_or_group()), the ACS walk upward to the first isolating
/// bridge, the alias search (get_pci_alias_group()), the same-slot function search
/// (get_pci_function_alias_group()), else a new group. Groups are never merged.
/// </summary>
/// <summary>What <see cref="PciDeviceGroup.Find"/> decided for a device (a <see cref="GroupDecision"/> without the device).</summary>
internal readonly record struct Decision(IommuGroup Group, GroupStep Step, PciFunction? Via, IReadOnlyList<string> Reasons);

internal sealed class PciDeviceGroup(IommuGroups groups, PciTopology topology, bool explain)
{
    // One instance serves every probe of an IommuGroups: the reasons list and the devfn bitmap are reused.
    // Without explain no reason text is built at all; with it, the same sentences in the same order.
    private readonly List<string> reasons = [];
    private readonly bool[] seen = new bool[256];

    public Decision Find(PciFunction dev)
    {
        reasons.Clear();

        // Step A, pci_for_each_dma_alias(): the device (or its real DMA device), then every alias bridge above it.
        // Alias devfns of the device change the requester IDs seen, not the device visited, so they add no visit.
        var r = dev.RealDmaDevice;
        if (explain && r != dev) Say($"{dev.Bdf} issues DMA as {r.Bdf}");
        if (groups.GroupOf(r) is { } gr)
            return Decide(gr, GroupStep.DmaAliasWalk, r, !explain || r == dev ? null : JoinsAliasBridge(dev, gr, r));
        PciFunction p = r;
        for (var bus = r.Bus!; !bus.IsRoot; bus = bus.Parent!)
        {
            if (bus.Self is not { } tmp) continue;
            if ((tmp.DevFlags & PciDevFlags.BridgeXlateRoot) != 0) break;
            if (tmp.IsPcie && tmp.PcieType is not (PcieType.PciBridge or PcieType.PcieBridge)) continue;
            p = tmp;
            if (explain) Say(ForwardsDma(tmp, bus));
            if (groups.GroupOf(tmp) is { } g)
                return Decide(g, GroupStep.DmaAliasWalk, tmp, explain ? JoinsAliasBridge(dev, g, tmp) : null);
        }

        // Step B: up to the point where ACS protects the path to the root.
        for (var bus = p.Bus!; !bus.IsRoot; bus = bus.Parent!)
        {
            if (bus.Self is null) continue; // SR-IOV virtual bus
            if (Acs.PathEnabled(bus.Self, Acs.Required, topology, out var failedAt))
            {
                if (explain) Say(IsolatedPath(bus.Self));
                break;
            }
            if (explain)
            {
                var v = Acs.Evaluate(failedAt!, Acs.Required, topology);
                Say(failedAt == bus.Self
                    ? $"{Acs.Name(bus.Self)} above it does not isolate: it {Acs.Describe(failedAt!, v)}"
                    : $"{Acs.Name(bus.Self)} above it is not isolated from the root: {Acs.Name(failedAt!)} {Acs.Describe(failedAt!, v)}");
            }
            p = bus.Self;
            if (groups.GroupOf(p) is { } g)
                return Decide(g, GroupStep.AcsPath, p, explain ? $"so {dev.Bdf} joins group {g.Id} of {Acs.Name(p)}" : null);
        }

        // Steps C and D share one devfn bitmap.
        Array.Clear(seen);
        if (AliasGroup(p, out var via) is { } ga)
            return Decide(ga, GroupStep.DmaAliasSearch, via, !explain ? null : via is not null && !AreDmaAliases(p, via)
                // the search went on through an alias's own aliases or its same-slot functions
                ? $"{Acs.Name(p)} reaches {via.Bdf} through DMA aliases (quirk), possibly via functions of an alias's slot without ACS isolation, so {dev.Bdf} joins group {ga.Id}"
                : $"{Acs.Name(p)} and {via?.Bdf} are DMA aliases of each other (quirk), so {dev.Bdf} joins group {ga.Id}");
        if (FunctionAliasGroup(p, out via, out var mate) is { } gf && via is not null && mate is not null)
        {
            if (explain)
            {
                var mine = Acs.Evaluate(p, Acs.Required, topology);
                var theirs = Acs.Evaluate(mate, Acs.Required, topology);
                Say($"{Acs.Name(p)} is one function of a multi-function slot and {Acs.Describe(p, mine)}; {Acs.Name(mate)} in the same slot {Acs.Describe(mate, theirs)}");
                // the slot-mate may have no group yet and lead on to one through its DMA aliases
                if (mate != via) Say($"{mate.Bdf} reaches group {gf.Id} of {via.Bdf} through DMA aliases (quirk)");
            }
            return Decide(gf, GroupStep.SameSlotFunction, via,
                explain ? $"so {dev.Bdf} joins group {gf.Id} of {via.Bdf}: functions of one slot without ACS isolation may reach each other" : null);
        }

        var fresh = groups.Allocate();
        if (explain)
        {
            if (p != dev) Say($"{Acs.Name(p)} is where its isolation is decided");
            if (p.IsMultifunction)
            {
                var v = Acs.Evaluate(p, Acs.Required, topology);
                Say(v.Enabled
                    ? $"{Acs.Name(p)} is one function of a multi-function slot, isolated from its slot-mates: it {Acs.Describe(p, v)}"
                    : $"{Acs.Name(p)} is the first function of its multi-function slot without ACS isolation to be probed; slot-mates like it will join its group");
            }
            else if (dev.Bus!.IsRoot && p == dev)
                Say("it sits on a root bus, where no bridge is checked and different slots never share a group");
        }
        return Decide(fresh, GroupStep.NewGroup, null, explain ? $"{dev.Bdf} gets a new group {fresh.Id}" : null);
    }

    private static string JoinsAliasBridge(PciFunction dev, IommuGroup g, PciFunction x) =>
        $"{dev.Bdf} joins group {g.Id} of {Acs.Name(x)}: a device behind it reaches the IOMMU with the bridge's requester ID, so it cannot be told apart";

    // The requester ID a bridge above puts on forwarded DMA (pci_for_each_dma_alias()'s cases).
    private static string ForwardsDma(PciFunction bridge, PciBus secondary)
    {
        if (bridge.IsPcie)
            return bridge.PcieType == PcieType.PciBridge
                ? $"{Acs.Name(bridge)} above it forwards its DMA with requester ID {secondary.Number:x2}:00.0"
                : $"{Acs.Name(bridge)} above it forwards its DMA with the bridge's own requester ID";
        string rid = (bridge.DevFlags & PciDevFlags.PcieBridgeAlias) != 0 ? $"{bridge.Secondary!.Number:x2}:00.0" : bridge.Bdf.ToShortString();
        return $"{Acs.Name(bridge)} above it forwards its DMA with requester ID {rid}";
    }

    private void Say(string why)
    {
        if (explain) reasons.Add(why);
    }

    private Decision Decide(IommuGroup g, GroupStep step, PciFunction? via, string? last)
    {
        if (explain && last is not null) reasons.Add(last);
        return new Decision(g, step, via, explain ? [.. reasons] : []);
    }

    // While IommuGroups probes the devices found at boot nothing changes in between, so every device below a bridge
    // gets the same sentence about the path above it: made once per bridge, and shared.
    private Dictionary<PciFunction, string>? pathSentences;

    /// <summary>From here until <see cref="EndBootProbe"/> no config space changes, so path sentences can be shared.</summary>
    public void BeginBootProbe() => pathSentences = explain ? [] : null;

    public void EndBootProbe() => pathSentences = null;

    private string IsolatedPath(PciFunction bridge)
    {
        if (pathSentences is null) return $"the path above it is isolated by ACS ({PathSummary(bridge)})";
        if (!pathSentences.TryGetValue(bridge, out var sentence))
            pathSentences[bridge] = sentence = $"the path above it is isolated by ACS ({PathSummary(bridge)})";
        return sentence;
    }

    private string PathSummary(PciFunction start)
    {
        var parts = new List<string>();
        for (var x = start; ; x = x.Bus.Self!)
        {
            var v = Acs.Evaluate(x, Acs.Required, topology);
            parts.Add($"{Acs.Name(x)} {Acs.Describe(x, v)}");
            if (x.Bus!.IsRoot || x.Bus.Self is null) break;
        }
        return string.Join("; ", parts);
    }

    private static bool AreDmaAliases(PciFunction a, PciFunction b) =>
        a.HasDmaAlias(b.DevFn) || b.HasDmaAlias(a.DevFn) || a.RealDmaDevice == b || b.RealDmaDevice == a;

    // get_pci_alias_group()
    private IommuGroup? AliasGroup(PciFunction pdev, out PciFunction? via)
    {
        via = null;
        if (seen[pdev.DevFn]) return null;
        seen[pdev.DevFn] = true;
        if (groups.GroupOf(pdev) is { } g) { via = pdev; return g; }
        foreach (var tmp in pdev.Bus!.Devices) // same bus; the bus list keeps device-list order
        {
            if (tmp == pdev || !tmp.IsEnumerated || !AreDmaAliases(pdev, tmp)) continue;
            if (AliasGroup(tmp, out via) is { } g1) return g1;
            if (FunctionAliasGroup(tmp, out via, out _) is { } g2) return g2;
        }
        return null;
    }

    // get_pci_function_alias_group(); mate = the function of the slot through which the group was found
    private IommuGroup? FunctionAliasGroup(PciFunction pdev, out PciFunction? via, out PciFunction? mate)
    {
        via = mate = null;
        if (!pdev.IsMultifunction || Acs.IsEnabled(pdev, Acs.Required, topology)) return null;
        foreach (var tmp in pdev.Bus!.Devices)
        {
            if (tmp == pdev || !tmp.IsEnumerated || tmp.Slot != pdev.Slot || Acs.IsEnabled(tmp, Acs.Required, topology)) continue;
            if (AliasGroup(tmp, out via) is { } g) { mate = tmp; return g; }
        }
        return null;
    }
}
