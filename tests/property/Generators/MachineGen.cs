using FsCheck;
using FsCheck.Fluent;

namespace VfioSim.Tests.Property.Generators;

/// <summary>
/// FsCheck generators of valid random machines. The size parameter is a budget of functions (split among root
/// buses, slots, functions and the buses below bridges), which keeps bus numbers far below 256 per domain.
/// PCI rules respected: only slot 0 below a root or downstream port; function 0 in every slot, with the
/// multi-function bit whenever the slot has more functions; an SR-IOV PF alone in its slot so that its VFs
/// (offset 1, stride 1, at most 7) land on free functions of that slot; switch upstream ports only as function 0
/// of a link; downstream ports only below upstream ports; conventional buses carry conventional functions.
/// </summary>
public static class MachineGen
{
    /// <summary>Where a bus is: decides which functions may sit on it and which slots exist.</summary>
    private enum Pos { Root, PxbRoot, Link, SwitchInternal, Conventional }

    private const int MaxDepth = 4;

    // Up to about one function per unit: machines average ~25 functions, the largest reach ~80-90.
    private static int Budget(int size) => 4 + size * 3 / 4;

    public static Gen<MachineSpec> Any => Gen.Frequency((1, Qemu), (1, Synthetic));

    /// <summary>QEMU q35: devices on pcie.0 and on up to two pxb-pcie expander root buses.</summary>
    public static Gen<MachineSpec> Qemu => Gen.Sized(size =>
        from budget in Gen.Constant(Budget(size))
        from pxbs in Gen.Frequency((6, Gen.Constant(0)), (2, Gen.Constant(1)), (1, Gen.Constant(2)))
        from slots in Gen.Shuffle(Range(1, 0x1e)) // 00.0 is the MCH, 1f.x the ICH9
        from root in Bus(true, Pos.Root, slots[pxbs..], budget / (pxbs + 1), 0)
        from extra in Gen.CollectToArray(Enumerable.Range(0, pxbs).Select(_ => Bus(true, Pos.PxbRoot, Range(0, 31), budget / (pxbs + 1), 0)))
        select new MachineSpec(true,
            [new RootSpec(0, 0, 0, root), .. extra.Select((devs, i) => new RootSpec(0, 0, slots[i], devs))]).Renumbered());

    /// <summary>Synthetic: one to three root buses in domains 0 and 1, GenericDevice functions of every kind.</summary>
    public static Gen<MachineSpec> Synthetic => Gen.Sized(size =>
        from budget in Gen.Constant(Budget(size))
        from roots in Gen.Frequency((5, Gen.Constant(1)), (3, Gen.Constant(2)), (1, Gen.Constant(3)))
        from domains in Gen.CollectToArray(Enumerable.Range(0, roots).Select(i => i == 0 ? Gen.Constant((ushort)0) : Gen.Elements<ushort>(0, 0, 1)))
        from buses in Gen.CollectToArray(Enumerable.Range(0, roots).Select(_ => Bus(false, Pos.Root, Range(0, 31), budget / roots, 0)))
        select new MachineSpec(false, [.. buses.Select((devs, i) => new RootSpec(domains[i], 0, 0, devs))]).Renumbered());

    /// <summary>Ports whose ACS capability can be switched on and off: every root port and downstream port without an ACS quirk.</summary>
    public static bool IsTogglePort(DevSpec d) =>
        d.Kind is DevKind.RootPort or DevKind.DownstreamPort && d.VendorId != 0x8086 && (d.QemuModel is null or "pcie-root-port");

    /// <summary>A machine with one toggleable port marked <see cref="DevSpec.Toggle"/>.</summary>
    public static Gen<MachineSpec> WithTogglePort(Gen<MachineSpec> machines) =>
        from m in machines.Where(m => m.AllDevices.Any(IsTogglePort))
        from pick in Gen.Elements(m.AllDevices.Where(IsTogglePort).ToArray())
        select m.Map(d => ReferenceEquals(d, pick) ? d with { Toggle = true } : d);

    private static byte[] Range(int from, int to) => [.. Enumerable.Range(from, to - from + 1).Select(i => (byte)i)];

    private static readonly Gen<DevSpec[]> NoDevices = Gen.Constant(Array.Empty<DevSpec>());

    private static Gen<DevSpec[]> Bus(bool qemu, Pos pos, byte[] slotChoices, int budget, int depth)
    {
        if (budget <= 0) return NoDevices;
        Gen<int> count = pos switch
        {
            Pos.Link => Gen.Frequency((1, Gen.Constant(0)), (6, Gen.Constant(1))),
            Pos.Conventional => Gen.Choose(0, Math.Min(3, budget)),
            Pos.SwitchInternal => Gen.Choose(1, Math.Min(4, budget)),
            _ => Gen.Choose(1, Math.Min(6, budget)),
        };
        return from k in count
               from order in Gen.Shuffle(pos == Pos.Link ? new byte[] { 0 } : slotChoices)
               from slots in Gen.CollectToArray(order.Take(k).Order().Select(s => Slot(qemu, pos, s, Math.Max(1, budget / Math.Max(k, 1)), depth)))
               select slots.SelectMany(s => s).ToArray();
    }

    private static Gen<DevSpec[]> Slot(bool qemu, Pos pos, byte slot, int budget, int depth)
    {
        Gen<int> functions = pos switch
        {
            Pos.SwitchInternal => Gen.Constant(1),
            Pos.PxbRoot => Gen.Frequency((6, Gen.Constant(1)), (1, Gen.Choose(2, 3))),
            _ => Gen.Frequency((8, Gen.Constant(1)), (3, Gen.Choose(2, 4)), (1, Gen.Constant(8))),
        };
        return from n in functions
               from others in Gen.Shuffle(Range(1, 7))
               let fns = others.Take(n - 1).Prepend((byte)0).Order().ToArray()
               from devs in Gen.CollectToArray(fns.Select(fn => Function(qemu, pos, slot, fn, n > 1, Math.Max(1, budget / n), depth)))
               from lonelyMf in Gen.Frequency((9, Gen.Constant(false)), (1, Gen.Constant(true)))
               select devs.Select((d, i) => i == 0 ? d with { Multifunction = n > 1 || (lonelyMf && d.TotalVfs == 0) } : d).ToArray();
    }

    private static Gen<DevSpec> Function(bool qemu, Pos pos, byte slot, byte fn, bool multi, int budget, int depth)
    {
        var start = new DevSpec { Slot = slot, Function = fn };
        var kinds = qemu ? QemuChoices(pos, fn) : SyntheticChoices(pos, fn);
        return from choice in Weighted([.. kinds.Select(k => (k.Weight, k))])
               from d in qemu ? QemuDetails(start with { Kind = choice.Kind, QemuModel = choice.Model }, pos, multi)
                              : SyntheticDetails(start with { Kind = choice.Kind }, multi)
               from children in d.IsBridge && depth < MaxDepth && budget > 1
                   ? Bus(qemu, ChildPos(d.Kind), qemu ? Range(1, 31) : Range(0, 31), budget - 1, depth + 1)
                   : NoDevices
               select d with { Children = children };
    }

    private static Pos ChildPos(DevKind kind) => kind switch
    {
        DevKind.RootPort or DevKind.DownstreamPort => Pos.Link,
        DevKind.UpstreamPort => Pos.SwitchInternal,
        _ => Pos.Conventional,
    };

    private sealed record Choice(int Weight, DevKind Kind, string? Model = null);

    private static List<Choice> QemuChoices(Pos pos, byte fn) => pos switch
    {
        Pos.Root =>
        [
            new(6, DevKind.RootPort, "pcie-root-port"), new(2, DevKind.Conventional, "edu"), new(2, DevKind.RcEndpoint, "e1000e"),
            new(1, DevKind.RcEndpoint, "nvme"), new(1, DevKind.Conventional, "virtio-net-pci"), new(1, DevKind.PcieToPciBridge, "pcie-pci-bridge"),
            new(1, DevKind.PciBridge, "pci-bridge"), new(1, DevKind.DmiToPciBridge, "i82801b11-bridge"),
        ],
        Pos.PxbRoot => [new(1, DevKind.RootPort, "pcie-root-port")],
        Pos.Link =>
        [
            new(3, DevKind.Endpoint, "e1000e"), new(3, DevKind.Endpoint, "nvme"), new(2, DevKind.Conventional, "edu"),
            new(1, DevKind.Endpoint, "virtio-rng-pci"), new(fn == 0 ? 3 : 0, DevKind.UpstreamPort, "x3130-upstream"),
            new(2, DevKind.PcieToPciBridge, "pcie-pci-bridge"), new(1, DevKind.PciBridge, "pci-bridge"),
            new(1, DevKind.DmiToPciBridge, "i82801b11-bridge"),
        ],
        Pos.SwitchInternal => [new(1, DevKind.DownstreamPort, "xio3130-downstream")],
        _ =>
        [
            new(3, DevKind.Conventional, "edu"), new(1, DevKind.Conventional, "e1000e"), new(1, DevKind.Conventional, "virtio-net-pci"),
            new(1, DevKind.PciBridge, "pci-bridge"),
        ],
    };

    private static List<Choice> SyntheticChoices(Pos pos, byte fn) => pos switch
    {
        Pos.Root or Pos.PxbRoot =>
        [
            new(5, DevKind.RootPort), new(3, DevKind.RcEndpoint), new(2, DevKind.Conventional), new(1, DevKind.PciBridge),
            new(1, DevKind.PcieToPciBridge), new(1, DevKind.DmiToPciBridge),
        ],
        Pos.Link =>
        [
            new(4, DevKind.Endpoint), new(2, DevKind.Conventional), new(fn == 0 ? 3 : 0, DevKind.UpstreamPort),
            new(2, DevKind.PcieToPciBridge), new(1, DevKind.PciBridge), new(1, DevKind.DmiToPciBridge),
        ],
        Pos.SwitchInternal => [new(1, DevKind.DownstreamPort)],
        _ => [new(3, DevKind.Conventional), new(1, DevKind.PciBridge)],
    };

    private static Gen<T> Weighted<T>(params (int Weight, T Value)[] choices) =>
        Gen.Frequency(choices.Where(c => c.Weight > 0).Select(c => (c.Weight, Gen.Constant(c.Value))));

    private static Gen<int> VfCount(bool multi) => multi ? Gen.Constant(0) : Gen.Frequency((2, Gen.Constant(0)), (1, Gen.Choose(1, 7)));

    private static Gen<DevSpec> QemuDetails(DevSpec d, Pos pos, bool multi) => d.QemuModel switch
    {
        "pcie-root-port" => Weighted<ushort?>((3, 0x5f), (2, null)).Select(acs => d with { AcsCap = acs }),
        "nvme" when pos != Pos.Conventional => VfCount(multi).Select(n => d with { TotalVfs = n }),
        _ => Gen.Constant(d),
    };

    // Device IDs that quirks.c knows (see iommu-groups.md §5): ACS quirks and DMA-alias quirks.
    private static readonly (ushort Vendor, ushort Device)[] AliasQuirkDevices =
    [
        (0x10b5, 0x87b0), // PLX NTB: every devfn of its bus is an alias
        (0x8086, 0x2260), // Intel MIC x200: aliases 10.0, 11.0, 12.3
        (0x1180, 0xe832), // Ricoh: function 0 of its slot
        (0x1b4b, 0x9230), // Marvell: function 1 of its slot
    ];

    private static Gen<DevSpec> SyntheticDetails(DevSpec d, bool multi)
    {
        Gen<ushort?> portAcs = Weighted<ushort?>((4, 0x5f), (3, null), (1, 0x1d), (1, 0x0c));
        Gen<ushort?> functionAcs = multi ? Weighted<ushort?>((3, null), (1, 0x5f), (1, 0x1d)) : Weighted<ushort?>((9, null), (1, 0x5f));
        // an Intel RCiEP is isolated by the Intel RCiEP ACS quirk; the others carry DMA-alias quirks
        Gen<(ushort, ushort)> quirkIds = Gen.Elements([((ushort)0x8086, (ushort)0x09ab), .. AliasQuirkDevices]);
        return d.Kind switch
        {
            DevKind.RootPort =>
                from pch in Weighted((9, false), (1, true))
                from acs in portAcs
                from fails in Weighted((1, false), (1, true))
                select pch ? d with { VendorId = 0x8086, DeviceId = 0x8c10, AcsCap = null, PchQuirkFails = fails } : d with { AcsCap = acs },
            DevKind.DownstreamPort => portAcs.Select(acs => d with { AcsCap = acs }),
            DevKind.UpstreamPort => (multi ? Weighted<ushort?>((2, null), (1, 0x5f)) : Gen.Constant<ushort?>(null)).Select(acs => d with { AcsCap = acs }),
            DevKind.DmiToPciBridge => Gen.Constant(d with { VendorId = 0x8086, DeviceId = 0x244e }),
            DevKind.Endpoint or DevKind.RcEndpoint =>
                from acs in functionAcs
                from id in Weighted((6, false), (1, true)).SelectMany(quirk => quirk ? quirkIds : Gen.Constant<(ushort, ushort)>((0x1b36, 0x0001)))
                from vfs in VfCount(multi)
                select d with { AcsCap = acs, VendorId = id.Item1, DeviceId = id.Item2, TotalVfs = vfs },
            DevKind.Conventional =>
                from quirk in Weighted((12, false), (1, true))
                from id in Gen.Elements(AliasQuirkDevices)
                select quirk ? d with { VendorId = id.Vendor, DeviceId = id.Device } : d,
            _ => Gen.Constant(d),
        };
    }
}
