namespace VfioSim.Pci.Quirks;

/// <summary>
/// The DMA-alias header fixups of drivers/pci/quirks.c, as data: each entry matches vendor:device (and
/// optionally subsystem) and adds devfns to dma_alias_mask or sets a bridge flag.
/// Switchtec NTB aliases are read from device MMIO at boot and cannot be derived statically (not modelled).
/// </summary>
public static class DmaAliasQuirks
{
    public enum Kind { Function0, Function1, FixedDevFn, PcieBridgeAlias, Devfns, BridgeXlateRoot }

    public sealed record Entry(ushort Vendor, ushort Device, Kind Kind, string Name, byte[]? DevFns = null,
        ushort SubVendor = PciVendor.Any, ushort SubDevice = PciVendor.Any);

    private static byte DF(int slot, int fn) => (byte)((slot << 3) | fn);

    private static readonly byte[] MicX200 = [DF(0x10, 0), DF(0x11, 0), DF(0x12, 3)];
    private static readonly byte[] PexVca = Enumerable.Range(0, 32).SelectMany(s => Enumerable.Range(0, 5).Select(f => DF(s, f))).ToArray();
    private static readonly byte[] AllDevFns = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();

    public static readonly IReadOnlyList<Entry> Table = BuildTable();

    // Every entry names a vendor, so a per-vendor list (in table order) applies the same fixups as a full scan.
    private static readonly Dictionary<ushort, Entry[]> ByVendor = Table.GroupBy(e => e.Vendor).ToDictionary(g => g.Key, g => g.ToArray());

    private static List<Entry> BuildTable()
    {
        var t = new List<Entry>();
        // quirk_dma_func0_alias
        foreach (var (v, d) in new[] { (PciVendor.Ricoh, 0xe832), (PciVendor.Ricoh, 0xe476), (PciVendor.Glenfly, 0x3d40), (PciVendor.Glenfly, 0x3d41) })
            t.Add(new(v, (ushort)d, Kind.Function0, "quirk_dma_func0_alias"));
        // quirk_dma_func1_alias
        foreach (var d in new[] { 0x9120, 0x9123, 0x9125, 0x9128, 0x9130, 0x9170, 0x9172, 0x917a, 0x9182, 0x9183, 0x91a0, 0x9215, 0x9220, 0x9230, 0x9235 })
            t.Add(new(PciVendor.Marvell, (ushort)d, Kind.Function1, "quirk_dma_func1_alias"));
        t.Add(new(PciVendor.Tti, 0x0642, Kind.Function1, "quirk_dma_func1_alias"));
        t.Add(new(PciVendor.Tti, 0x0645, Kind.Function1, "quirk_dma_func1_alias"));
        t.Add(new(PciVendor.Jmicron, 0x2392, Kind.Function1, "quirk_dma_func1_alias"));
        t.Add(new(PciVendor.LiteOn, 0x0122, Kind.Function1, "quirk_dma_func1_alias"));
        // quirk_fixed_dma_alias (fixed_dma_alias_tbl): Adaptec 3405 and 3805
        t.Add(new(PciVendor.Adaptec2, 0x0285, Kind.FixedDevFn, "quirk_fixed_dma_alias", [DF(1, 0)], PciVendor.Adaptec2, 0x02bb));
        t.Add(new(PciVendor.Adaptec2, 0x0285, Kind.FixedDevFn, "quirk_fixed_dma_alias", [DF(1, 0)], PciVendor.Adaptec2, 0x02bc));
        // quirk_use_pcie_bridge_dma_alias
        foreach (var (v, d) in new[] { (PciVendor.Asmedia, 0x1080), (PciVendor.Tundra, 0x8113), (PciVendor.Ite, 0x8892), (PciVendor.Ite, 0x8893), (PciVendor.Intel, 0x244e) })
            t.Add(new(v, (ushort)d, Kind.PcieBridgeAlias, "quirk_use_pcie_bridge_dma_alias"));
        // quirk_mic_x200_dma_alias
        t.Add(new(PciVendor.Intel, 0x2260, Kind.Devfns, "quirk_mic_x200_dma_alias", MicX200));
        t.Add(new(PciVendor.Intel, 0x2264, Kind.Devfns, "quirk_mic_x200_dma_alias", MicX200));
        // quirk_pex_vca_alias
        foreach (var d in new[] { 0x2954, 0x2955, 0x2956, 0x2958, 0x2959, 0x295a })
            t.Add(new(PciVendor.Intel, (ushort)d, Kind.Devfns, "quirk_pex_vca_alias", PexVca));
        // quirk_plx_ntb_dma_alias
        t.Add(new(PciVendor.Plx, 0x87b0, Kind.Devfns, "quirk_plx_ntb_dma_alias", AllDevFns));
        t.Add(new(PciVendor.Plx, 0x87b1, Kind.Devfns, "quirk_plx_ntb_dma_alias", AllDevFns));
        // quirk_bridge_cavm_thrx2_pcie_root
        t.Add(new(PciVendor.Broadcom, 0x9000, Kind.BridgeXlateRoot, "quirk_bridge_cavm_thrx2_pcie_root"));
        t.Add(new(PciVendor.Broadcom, 0x9084, Kind.BridgeXlateRoot, "quirk_bridge_cavm_thrx2_pcie_root"));
        return t;
    }

    /// <summary>Applies every matching header fixup (pci_fixup_device(pci_fixup_header, dev)); returns the quirk names applied.</summary>
    public static IReadOnlyList<string> Apply(PciFunction dev)
    {
        if (!ByVendor.TryGetValue(dev.VendorId, out var entries)) return [];
        var applied = new List<string>();
        ushort device = dev.DeviceId;
        foreach (var e in entries)
        {
            if (e.Device != device) continue;
            if (e.SubVendor != PciVendor.Any && (e.SubVendor != dev.SubsystemVendorId || e.SubDevice != dev.SubsystemId)) continue;
            bool did = true;
            switch (e.Kind)
            {
                case Kind.Function0:
                    if (dev.FunctionNumber != 0) dev.DmaAliases.Add((byte)(dev.Slot << 3)); else did = false;
                    break;
                case Kind.Function1:
                    if (dev.FunctionNumber != 1) dev.DmaAliases.Add((byte)((dev.Slot << 3) | 1)); else did = false;
                    break;
                case Kind.FixedDevFn or Kind.Devfns:
                    foreach (var df in e.DevFns!) dev.DmaAliases.Add(df);
                    break;
                case Kind.PcieBridgeAlias:
                    did = dev.Bus is { IsRoot: false, Self: { IsPcie: true } parent } && dev.HeaderLayout == PciRegs.HeaderTypeBridge &&
                          !dev.IsPcie && parent.PcieType != PcieType.PciBridge;
                    if (did) dev.DevFlags |= PciDevFlags.PcieBridgeAlias;
                    break;
                case Kind.BridgeXlateRoot:
                    dev.DevFlags |= PciDevFlags.BridgeXlateRoot;
                    break;
            }
            if (did) applied.Add(e.Name);
        }
        return applied;
    }
}
