namespace VfioSim.Pci;

/// <summary>
/// Bus numbering as SeaBIOS does it on QEMU (pci_bios_init_bus_rec): depth first over bridges in devfn order,
/// each bridge's secondary bus taking the next number; extra root buses (pxb-pcie) number their subtree from
/// their own bus number; a bus with a <see cref="PciBus.PresetNumber"/> skips ahead to it. Linux keeps these numbers. With <see cref="PciTopology.ReserveSriovBusNumbers"/> it
/// also leaves room for VFs past a bus's own number, as server firmware does and as Linux does when it assigns
/// buses itself (pci_scan_child_bus_extend(): <c>max += pci_iov_bus_range(bus)</c> before numbering bridges).
/// </summary>
internal static class Firmware
{
    public static void NumberBuses(PciTopology topology)
    {
        foreach (var root in topology.RootBuses.OrderBy(r => (r.Domain, r.Number)).ToList())
        {
            int next = root.Number;
            NumberRec(root, ref next, topology.ReserveSriovBusNumbers);
            root.Subordinate = (byte)next;
        }
    }

    private static void NumberRec(PciBus bus, ref int next, bool reserveSriov)
    {
        if (reserveSriov) next += IovBusRange(bus);
        for (int i = 0; i < bus.SlotCount; i++)
        {
            var f = bus.FunctionAt(i);
            if (f.Secondary is not { IsRoot: false } child || !IsVisible(bus, bus.DevFnAt(i))) continue;
            if ((f.ClassCode >> 8) != 0x0604) continue; // PCI_CLASS_BRIDGE_PCI
            if (next >= 0xff)
                throw new InvalidOperationException($"no bus number left for the bridge {bus}:{f.Slot:x2}.{f.FunctionNumber} (domain {bus.Domain:x4} has buses 00-ff)");
            // A preset number is kept while it is above every number handed out so far.
            next = child.PresetNumber is { } preset && preset > next ? preset : next + 1;
            child.Number = (byte)next;
            f.Config.Write8(PciRegs.PrimaryBus, bus.Number);
            f.Config.Write8(PciRegs.SecondaryBus, (byte)next);
            f.Config.Write8(PciRegs.SubordinateBus, 0xff);
            NumberRec(child, ref next, reserveSriov);
            child.Subordinate = (byte)next;
            f.Config.Write8(PciRegs.SubordinateBus, (byte)next);
        }
    }

    /// <summary>
    /// pci_iov_bus_range(): how many bus numbers past <paramref name="bus"/> its PFs' VFs can reach, from each PF's
    /// max_VF_buses (compute_max_vf_buses(): the bus of the last of TotalVFs VFs). A PF whose First VF Offset is 0
    /// (or whose stride is 0 with several VFs) fails sriov_init() and reserves nothing.
    /// </summary>
    private static int IovBusRange(PciBus bus)
    {
        int max = 0;
        for (int i = 0; i < bus.SlotCount; i++)
        {
            var f = bus.FunctionAt(i);
            if (!IsVisible(bus, bus.DevFnAt(i))) continue;
            int pos = f.SriovCap;
            if (pos == 0) continue;
            int total = f.Config.Read16(pos + PciRegs.SriovTotalVf);
            int offset = f.Config.Read16(pos + PciRegs.SriovVfOffset), stride = f.Config.Read16(pos + PciRegs.SriovVfStride);
            if (total == 0 || offset == 0 || (total > 1 && stride == 0)) continue;
            int vfBus = bus.Number + ((f.DevFn + offset + stride * (total - 1)) >> 8); // pci_iov_virtfn_bus()
            max = Math.Max(max, vfBus);
        }
        return Math.Min(max == 0 ? 0 : max - bus.Number, 0xff - bus.Number);
    }

    // SeaBIOS pci_next(): every slot; functions > 0 only behind a multi-function function 0.
    private static bool IsVisible(PciBus bus, byte devfn) =>
        (devfn & 7) == 0 || bus.SlotAt((byte)(devfn & ~7)) is { HeaderMultifunctionBit: true };
}
