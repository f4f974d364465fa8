using VfioSim.Pci;

namespace VfioSim.Iommu;

/// <summary>
/// pci_device_group() of drivers/iommu/iommu.c, step for step: the DMA-alias walk upward
/// (pci_for_each_dma_alias() with get_pci_alias_or_group()), the ACS walk upward to the first isolating
/// bridge, the alias search (get_pci_alias_group()), the same-slot function search
/// (get_pci_function_alias_group()), else a new group. Groups are never merged.
/// </summary>
internal sealed class PciDeviceGroup(IommuGroups groups, PciTopology topology, bool explain)
{
    private readonly List<string> reasons = [];

    public GroupDecision Find(PciFunction dev)
    {
        // Step A: the device (or its real DMA device), then every alias bridge above it.
        PciFunction p = dev;
        foreach (var (x, why) in DmaAliasWalk(dev))
        {
            p = x;
            if (why is not null) Say(why);
            if (groups.GroupOf(x) is { } g)
                return Decide(dev, g, GroupStep.DmaAliasWalk, x,
                    x == dev ? null : $"{dev.Bdf} joins group {g.Id} of {Acs.Name(x)}: a device behind it reaches the IOMMU with the bridge's requester ID, so it cannot be told apart");
        }

        // Step B: up to the point where ACS protects the path to the root.
        for (var bus = p.Bus!; !bus.IsRoot; bus = bus.Parent!)
        {
            if (bus.Self is null) continue; // SR-IOV virtual bus
            if (Acs.PathEnabled(bus.Self, Acs.Required, topology, out var failedAt))
            {
                if (explain) Say($"the path above it is isolated by ACS ({PathSummary(bus.Self)})");
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
                return Decide(dev, g, GroupStep.AcsPath, p, $"so {dev.Bdf} joins group {g.Id} of {Acs.Name(p)}");
        }

        // Steps C and D share one devfn bitmap.
        var seen = new bool[256];
        if (AliasGroup(p, seen, out var via) is { } ga)
            return Decide(dev, ga, GroupStep.DmaAliasSearch, via, via is not null && !AreDmaAliases(p, via)
                // the search went on through an alias's own aliases or its same-slot functions
                ? $"{Acs.Name(p)} reaches {via.Bdf} through DMA aliases (quirk), possibly via functions of an alias's slot without ACS isolation, so {dev.Bdf} joins group {ga.Id}"
                : $"{Acs.Name(p)} and {via?.Bdf} are DMA aliases of each other (quirk), so {dev.Bdf} joins group {ga.Id}");
        if (FunctionAliasGroup(p, seen, out via, out var mate) is { } gf && via is not null && mate is not null)
        {
            if (explain)
            {
                var mine = Acs.Evaluate(p, Acs.Required, topology);
                var theirs = Acs.Evaluate(mate, Acs.Required, topology);
                Say($"{Acs.Name(p)} is one function of a multi-function slot and {Acs.Describe(p, mine)}; {Acs.Name(mate)} in the same slot {Acs.Describe(mate, theirs)}");
                // the slot-mate may have no group yet and lead on to one through its DMA aliases
                if (mate != via) Say($"{mate.Bdf} reaches group {gf.Id} of {via.Bdf} through DMA aliases (quirk)");
            }
            return Decide(dev, gf, GroupStep.SameSlotFunction, via, $"so {dev.Bdf} joins group {gf.Id} of {via.Bdf}: functions of one slot without ACS isolation may reach each other");
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
        return Decide(dev, fresh, GroupStep.NewGroup, null, $"{dev.Bdf} gets a new group {fresh.Id}");
    }

    private void Say(string why)
    {
        if (explain) reasons.Add(why);
    }

    private GroupDecision Decide(PciFunction dev, IommuGroup g, GroupStep step, PciFunction? via, string? last)
    {
        if (explain && last is not null) reasons.Add(last);
        return new GroupDecision(dev, g, step, via, explain ? [.. reasons] : []);
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

    // pci_for_each_dma_alias(): which devices the walk visits (the callback only ever looks at their groups).
    private static IEnumerable<(PciFunction Dev, string? Why)> DmaAliasWalk(PciFunction dev)
    {
        var r = dev.RealDmaDevice;
        yield return (r, r == dev ? null : $"{dev.Bdf} issues DMA as {r.Bdf}");
        if (!r.DmaAliases.IsEmpty) yield return (r, null); // alias devfns change requester IDs, not the device visited
        for (var bus = r.Bus!; !bus.IsRoot; bus = bus.Parent!)
        {
            if (bus.Self is not { } tmp) continue;
            if ((tmp.DevFlags & PciDevFlags.BridgeXlateRoot) != 0) yield break;
            if (tmp.IsPcie)
            {
                switch (tmp.PcieType)
                {
                    case PcieType.RootPort or PcieType.Upstream or PcieType.Downstream:
                        continue;
                    case PcieType.PciBridge:
                        yield return (tmp, $"{Acs.Name(tmp)} above it forwards its DMA with requester ID {bus.Number:x2}:00.0");
                        continue;
                    case PcieType.PcieBridge:
                        yield return (tmp, $"{Acs.Name(tmp)} above it forwards its DMA with the bridge's own requester ID");
                        continue;
                }
            }
            else
            {
                string rid = (tmp.DevFlags & PciDevFlags.PcieBridgeAlias) != 0 ? $"{tmp.Secondary!.Number:x2}:00.0" : tmp.Bdf.ToShortString();
                yield return (tmp, $"{Acs.Name(tmp)} above it forwards its DMA with requester ID {rid}");
            }
        }
    }

    private static bool AreDmaAliases(PciFunction a, PciFunction b) =>
        a.DmaAliases.Contains(b.DevFn) || b.DmaAliases.Contains(a.DevFn) || a.RealDmaDevice == b || b.RealDmaDevice == a;

    // get_pci_alias_group()
    private IommuGroup? AliasGroup(PciFunction pdev, bool[] seen, out PciFunction? via)
    {
        via = null;
        if (seen[pdev.DevFn]) return null;
        seen[pdev.DevFn] = true;
        if (groups.GroupOf(pdev) is { } g) { via = pdev; return g; }
        foreach (var tmp in pdev.Bus!.Devices) // same bus; the bus list keeps device-list order
        {
            if (tmp == pdev || !tmp.IsEnumerated || !AreDmaAliases(pdev, tmp)) continue;
            if (AliasGroup(tmp, seen, out via) is { } g1) return g1;
            if (FunctionAliasGroup(tmp, seen, out via, out _) is { } g2) return g2;
        }
        return null;
    }

    // get_pci_function_alias_group(); mate = the function of the slot through which the group was found
    private IommuGroup? FunctionAliasGroup(PciFunction pdev, bool[] seen, out PciFunction? via, out PciFunction? mate)
    {
        via = mate = null;
        if (!pdev.IsMultifunction || Acs.IsEnabled(pdev, Acs.Required, topology)) return null;
        foreach (var tmp in pdev.Bus!.Devices)
        {
            if (tmp == pdev || !tmp.IsEnumerated || tmp.Slot != pdev.Slot || Acs.IsEnabled(tmp, Acs.Required, topology)) continue;
            if (AliasGroup(tmp, seen, out via) is { } g) { mate = tmp; return g; }
        }
        return null;
    }
}
