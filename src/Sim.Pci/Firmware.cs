namespace VfioSim.Pci;

/// <summary>
/// Bus numbering as SeaBIOS does it on QEMU (pci_bios_init_bus_rec): depth first over bridges in devfn order,
/// each bridge's secondary bus taking the next number; extra root buses (pxb-pcie) number their subtree from
/// their own bus number. A bus with a <see cref="PciBus.PresetNumber"/> skips ahead to it. Linux keeps these numbers.
/// </summary>
internal static class Firmware
{
    public static void NumberBuses(PciTopology topology)
    {
        foreach (var root in topology.RootBuses.OrderBy(r => (r.Domain, r.Number)).ToList())
        {
            byte next = root.Number;
            NumberRec(root, ref next);
            root.Subordinate = next;
        }
    }

    private static void NumberRec(PciBus bus, ref byte next)
    {
        foreach (var f in VisibleFunctions(bus))
        {
            if (f.Secondary is not { IsRoot: false } child) continue;
            if ((f.ClassCode >> 8) != 0x0604) continue; // PCI_CLASS_BRIDGE_PCI
            // A preset number is kept while it is above every number handed out so far.
            next = child.PresetNumber is { } preset && preset > next ? preset : (byte)(next + 1);
            child.Number = next;
            f.Config.Write8(PciRegs.PrimaryBus, bus.Number);
            f.Config.Write8(PciRegs.SecondaryBus, next);
            f.Config.Write8(PciRegs.SubordinateBus, 0xff);
            NumberRec(child, ref next);
            child.Subordinate = next;
            f.Config.Write8(PciRegs.SubordinateBus, next);
        }
    }

    // SeaBIOS pci_next(): every slot; functions > 0 only behind a multi-function function 0.
    private static IEnumerable<PciFunction> VisibleFunctions(PciBus bus)
    {
        foreach (var (devfn, f) in bus.Slots)
        {
            if ((devfn & 7) != 0)
            {
                if (!bus.Slots.TryGetValue((byte)(devfn & ~7), out var fn0) || !fn0.HeaderMultifunctionBit) continue;
            }
            yield return f;
        }
    }
}
