using System.Text.RegularExpressions;
using FsCheck.Fluent;
using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Tests.Property.Generators;

namespace VfioSim.Tests.Property;

/// <summary>
/// Invariants of Linux's IOMMU grouping (shared/spec/iommu-groups.md §3-§6) over random machines. On failure
/// FsCheck prints the shrunk machine (QEMU -device lines or a synthetic tree) and the label names the offending
/// functions and shows the groups.
/// </summary>
[TestFixture]
public partial class IommuGroupProperties
{
    private static IommuGroups Boot(MachineSpec spec) => new(SpecBuilder.Build(spec).Topology);

    private static FsCheck.Property Check(bool ok, IommuGroups groups, string why) =>
        ok.Label($"{why}\ngroups:\n{groups.ToKernelFormat()}");

    /// <summary>Enables every VF of every PF (sriov_numvfs = TotalVFs), in device-list order.</summary>
    private static void EnableAllVfs(PciTopology t)
    {
        foreach (var pf in t.Functions.Where(f => Sriov.TotalVfs(f) > 0).ToList())
        {
            var status = Sriov.SetNumVfs(t, pf, Sriov.TotalVfs(pf), out _);
            if (status != SriovStatus.Ok) throw new InvalidOperationException($"enabling VFs of {pf.Bdf}: {status}");
        }
    }

    [MachineProperty]
    public FsCheck.Property Groups_partition_the_enumerated_functions(MachineSpec machine)
    {
        var groups = Boot(machine);
        var functions = groups.Topology.Functions;
        var members = groups.All.SelectMany(g => g.Devices).ToList();
        var empty = groups.All.Where(g => g.Devices.Count == 0).Select(g => g.Id).ToList();
        var twice = members.GroupBy(f => f).Where(x => x.Count() > 1).Select(x => x.Key.Bdf).ToList();
        var missing = functions.Except(members).Select(f => f.Bdf).ToList();
        var strangers = members.Except(functions).Select(f => f.ToString()).ToList();
        var inconsistent = functions.Where(f => groups.GroupOf(f) is not { } g || !g.Devices.Contains(f)).Select(f => f.Bdf).ToList();
        return Check(empty.Count + twice.Count + missing.Count + strangers.Count + inconsistent.Count == 0, groups,
            $"empty groups [{string.Join(", ", empty)}], in two groups [{string.Join(", ", twice)}], in no group [{string.Join(", ", missing)}], " +
            $"not enumerated [{string.Join(", ", strangers)}], GroupOf disagrees [{string.Join(", ", inconsistent)}]");
    }

    /// <summary>iommu-groups.md §4.6.1: the bridge is probed first and every DMA-alias walk from below visits it.</summary>
    [MachineProperty]
    public FsCheck.Property Functions_below_a_pci_or_pcie_to_pci_bridge_share_the_bridge_group(MachineSpec machine)
    {
        var groups = Boot(machine);
        var wrong = new List<string>();
        foreach (var f in groups.Topology.Functions)
        {
            for (var up = f.UpstreamBridge; up is not null; up = up.UpstreamBridge)
            {
                bool aliasBridge = !up.IsPcie || up.PcieType is PcieType.PciBridge or PcieType.PcieBridge;
                if (aliasBridge && groups.GroupOf(f) != groups.GroupOf(up))
                    wrong.Add($"{f.Bdf} is in {groups.GroupOf(f)} but {Acs.Name(up)} above it in {groups.GroupOf(up)}");
            }
        }
        return Check(wrong.Count == 0, groups, string.Join("\n", wrong));
    }

    /// <summary>
    /// ACS on a port only ever isolates more: the partition with the port's ACS is a refinement of the one without
    /// (no two functions apart without ACS are together with it).
    /// </summary>
    [MachineProperty]
    public FsCheck.Property Enabling_acs_on_a_port_never_merges_groups(PortToggleMachine machine)
    {
        var without = Boot(SpecBuilder.WithToggledAcs(machine.Spec, acs: false));
        var with = Boot(SpecBuilder.WithToggledAcs(machine.Spec, acs: true));
        var groupWithout = without.Topology.Functions.ToDictionary(f => f.Bdf, f => without.GroupOf(f)!.Id);
        var merged = new List<string>();
        foreach (var g in with.All)
        {
            var apart = g.Devices.Select(f => f.Bdf).GroupBy(b => groupWithout[b]).ToList();
            if (apart.Count > 1)
                merged.Add($"with ACS group {g.Id} holds {string.Join(" and ", apart.Select(a => $"{{{string.Join(" ", a)}}} (group {a.Key} without ACS)"))}");
        }
        return (merged.Count == 0).Label(
            $"{string.Join("\n", merged)}\ngroups without ACS:\n{without.ToKernelFormat()}groups with ACS:\n{with.ToKernelFormat()}");
    }

    [MachineProperty]
    public FsCheck.Property Group_ids_are_0_to_n_minus_1_after_boot(MachineSpec machine)
    {
        var groups = Boot(machine);
        var ids = groups.All.Select(g => g.Id).Order().ToList();
        return Check(ids.SequenceEqual(Enumerable.Range(0, ids.Count)), groups, $"ids: {string.Join(" ", ids)}");
    }

    [GeneratedRegex(@"(?<![0-9a-f:])(?:(?<dom>[0-9a-f]{4}):)?(?<bus>[0-9a-f]{2}):(?<dev>[0-9a-f]{2})\.(?<fn>[0-7])(?![0-9a-f])")]
    private static partial Regex BdfToken();

    /// <summary>
    /// Every BDF named in an explanation is a function of the machine; a requester ID (which may name no function,
    /// e.g. a PCIe-to-PCI bridge's secondary bus with devfn 00.0) must at least be on one of the machine's buses.
    /// Checked at boot and after enabling all VFs.
    /// </summary>
    [MachineProperty]
    public FsCheck.Property Explanations_name_only_functions_of_the_machine(MachineSpec machine)
    {
        var groups = Boot(machine);
        var t = groups.Topology;
        var bad = new List<string>();
        void CheckAll()
        {
            foreach (var f in t.Functions)
            {
                var decision = groups.DecisionFor(f);
                if (decision is null || decision.Reasons.Count == 0) { bad.Add($"{f.Bdf} has no explanation"); continue; }
                foreach (var reason in decision.Reasons)
                {
                    foreach (Match m in BdfToken().Matches(reason))
                    {
                        bool requesterId = reason[..m.Index].EndsWith("requester ID ", StringComparison.Ordinal);
                        if (requesterId && !m.Groups["dom"].Success)
                        {
                            byte bus = Convert.ToByte(m.Groups["bus"].Value, 16);
                            if (!t.Functions.Any(x => x.Bus!.Domain == f.Bus!.Domain && x.Bus.Number == bus))
                                bad.Add($"{f.Bdf}: requester ID {m.Value} is on no bus of the machine: \"{reason}\"");
                        }
                        else if (!Bdf.TryParse(m.Value, out var bdf) || t.Find(bdf) is not { IsEnumerated: true } || !m.Groups["dom"].Success)
                        {
                            bad.Add($"{f.Bdf}: '{m.Value}' is not a function of the machine: \"{reason}\"");
                        }
                    }
                }
            }
        }
        CheckAll();
        EnableAllVfs(t);
        CheckAll();
        return Check(bad.Count == 0, groups, string.Join("\n", bad));
    }

    /// <summary>
    /// What an explanation says about two functions holds: "DMA aliases of each other" are aliases by quirk
    /// (dma_alias_mask), "in the same slot" shares bus and slot.
    /// </summary>
    [MachineProperty]
    public FsCheck.Property Explanations_state_only_true_relations_between_functions(MachineSpec machine)
    {
        var groups = Boot(machine);
        var t = groups.Topology;
        var bad = new List<string>();
        foreach (var f in t.Functions)
        {
            foreach (var reason in groups.DecisionFor(f)!.Reasons)
            {
                var named = BdfToken().Matches(reason).Select(m => t.Find(Bdf.Parse(m.Value))).ToList();
                if (named.Count < 2 || named[0] is not { } a || named[1] is not { } b) continue;
                if (reason.Contains("are DMA aliases of each other", StringComparison.Ordinal) && !a.DmaAliases.Contains(b.DevFn) && !b.DmaAliases.Contains(a.DevFn))
                    bad.Add($"{f.Bdf}: {a.Bdf} and {b.Bdf} are no DMA aliases: \"{reason}\"");
                if (reason.Contains("in the same slot", StringComparison.Ordinal) && (a.Bus != b.Bus || a.Slot != b.Slot))
                    bad.Add($"{f.Bdf}: {a.Bdf} and {b.Bdf} are not in one slot: \"{reason}\"");
            }
        }
        return Check(bad.Count == 0, groups, string.Join("\n", bad));
    }

    [MachineProperty]
    public FsCheck.Property Enabling_then_disabling_vfs_restores_the_boot_groups(SriovMachine machine)
    {
        var groups = Boot(machine.Spec);
        var t = groups.Topology;
        string boot = groups.ToKernelFormat();
        var pfs = t.Functions.Where(f => Sriov.TotalVfs(f) > 0).ToList();
        EnableAllVfs(t);
        string enabled = groups.ToKernelFormat();
        foreach (var pf in pfs) Sriov.SetNumVfs(t, pf, 0, out _);
        return (groups.ToKernelFormat() == boot).Label($"boot:\n{boot}with VFs:\n{enabled}after disabling:\n{groups.ToKernelFormat()}");
    }

    /// <summary>VFs are probed after boot (§6): they join existing groups or get new ones, never move anybody.</summary>
    [MachineProperty]
    public FsCheck.Property Enabling_vfs_only_adds_vfs_to_the_boot_groups(SriovMachine machine)
    {
        var groups = Boot(machine.Spec);
        var t = groups.Topology;
        string boot = groups.ToKernelFormat();
        var before = groups.All.ToDictionary(g => g.Id, g => g.Devices.ToList());
        EnableAllVfs(t);
        var changed = new List<string>();
        foreach (var g in groups.All)
        {
            var others = g.Devices.Where(f => !f.IsVirtFn).ToList();
            var old = before.GetValueOrDefault(g.Id, []);
            if (!others.ToHashSet().SetEquals(old))
                changed.Add($"group {g.Id}: boot members {{{string.Join(" ", old.Select(f => f.Bdf))}}}, now without VFs {{{string.Join(" ", others.Select(f => f.Bdf))}}}");
        }
        return (changed.Count == 0).Label($"{string.Join("\n", changed)}\nboot:\n{boot}with VFs:\n{groups.ToKernelFormat()}");
    }

    /// <summary>
    /// §4.6.3 / E13: on a root bus no bridge is checked and the function rule stays within a slot, so different
    /// slots share a group only when a DMA-alias quirk links them (get_pci_alias_group()).
    /// </summary>
    [MachineProperty]
    public FsCheck.Property Functions_in_different_root_bus_slots_share_a_group_only_through_dma_aliases(MachineSpec machine)
    {
        var groups = Boot(machine);
        var wrong = new List<string>();
        foreach (var root in groups.Topology.RootBuses)
        {
            var devices = root.Devices.Where(f => f.IsEnumerated).ToList();
            // slots linked by an alias between two of their functions (union-find over slot numbers)
            var link = Enumerable.Range(0, 32).ToArray();
            int Find(int s) => link[s] == s ? s : link[s] = Find(link[s]);
            foreach (var a in devices)
                foreach (var b in devices)
                    if (a.DmaAliases.Contains(b.DevFn)) link[Find(a.Slot)] = Find(b.Slot);
            foreach (var a in devices)
                foreach (var b in devices)
                    if (a.Slot < b.Slot && groups.GroupOf(a) == groups.GroupOf(b) && Find(a.Slot) != Find(b.Slot))
                        wrong.Add($"{a.Bdf} and {b.Bdf} share {groups.GroupOf(a)} without a DMA alias between their slots");
        }
        return Check(wrong.Count == 0, groups, string.Join("\n", wrong));
    }

    /// <summary>The <c>N: BDF BDF …</c> output (also after enabling VFs): IDs ascending, each function exactly once, sorted in its line.</summary>
    [MachineProperty]
    public FsCheck.Property Kernel_format_lists_each_function_once_sorted_within_its_group(SriovMachine machine)
    {
        // VFs join groups after boot, out of address order: the case where sorting matters
        var groups = Boot(machine.Spec);
        var problems = new List<string>();
        void CheckOutput(string when)
        {
            var seen = new List<Bdf>();
            int lastId = -1;
            foreach (var line in groups.ToKernelFormat().Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = line.Split(' ');
                int id = int.Parse(parts[0].TrimEnd(':'), System.Globalization.CultureInfo.InvariantCulture);
                if (id <= lastId) problems.Add($"{when}: group {id} after group {lastId}");
                lastId = id;
                var bdfs = parts.Skip(1).Select(Bdf.Parse).ToList();
                if (bdfs.Count == 0) problems.Add($"{when}: group {id} lists no device");
                if (!bdfs.SequenceEqual(bdfs.Order())) problems.Add($"{when}: '{line}' is not sorted");
                seen.AddRange(bdfs);
            }
            var dup = seen.GroupBy(b => b).Where(g => g.Count() > 1).Select(g => g.Key.ToString()).ToList();
            if (dup.Count > 0) problems.Add($"{when}: listed more than once: {string.Join(" ", dup)}");
            var expected = groups.Topology.Functions.Select(f => f.Bdf).ToHashSet();
            if (!expected.SetEquals(seen)) problems.Add($"{when}: lists {{{string.Join(" ", seen.Order())}}}, functions are {{{string.Join(" ", expected.Order())}}}");
        }
        CheckOutput("at boot");
        EnableAllVfs(groups.Topology);
        CheckOutput("with VFs");
        return Check(problems.Count == 0, groups, string.Join("\n", problems));
    }
}
