using VfioSim.Pci;
using VfioSim.Pci.Quirks;

namespace VfioSim.Iommu;

/// <summary>
/// pci_dev_acs_enabled[] of drivers/pci/quirks.c: devices whose isolation is known without (or despite) an ACS
/// capability. Entries are tried in table order; a result ≥ 0 is final (&gt;0 isolated, 0 not), −1 means
/// "not mine" and the search goes on (pci_dev_specific_acs_enabled()).
/// </summary>
public static class AcsQuirks
{
    public sealed record Entry(ushort Vendor, ushort Device, string Name, Func<PciFunction, ushort, PciTopology?, int> Check);

    private const ushort Any = PciVendor.Any;
    private const ushort SvRrCrUf = PciRegs.AcsSv | PciRegs.AcsRr | PciRegs.AcsCr | PciRegs.AcsUf;

    /// <summary>pci_acs_ctrl_enabled(): 1 when every requested control is among those provided.</summary>
    private static int CtrlEnabled(ushort want, uint provided) => (want & provided) == want ? 1 : 0;

    private static int AmdSb(PciFunction dev, ushort want, PciTopology? t)
    {
        if (!dev.IsMultifunction || dev.Bus is not { IsRoot: true }) return -1;
        if (t is not { AmdIvrs: true }) return -1; // no IVRS table: not an AMD IOMMU system
        want &= PciRegs.AcsRr | PciRegs.AcsCr | PciRegs.AcsEc | PciRegs.AcsDt;
        return CtrlEnabled(want, PciRegs.AcsRr | PciRegs.AcsCr);
    }

    private static int MfEndpoint(PciFunction dev, ushort want, PciTopology? t) =>
        CtrlEnabled(want, PciRegs.AcsSv | PciRegs.AcsTb | PciRegs.AcsRr | PciRegs.AcsCr | PciRegs.AcsUf | PciRegs.AcsDt);

    private static int Rciep(PciFunction dev, ushort want, PciTopology? t) =>
        dev.IsPcie && dev.PcieType == PcieType.RcEndpoint ? CtrlEnabled(want, SvRrCrUf) : -1;

    private static int SvRrCrUfProvided(PciFunction dev, ushort want, PciTopology? t) => CtrlEnabled(want, SvRrCrUf);

    private static int IntelPch(PciFunction dev, ushort want, PciTopology? t)
    {
        if (!IntelPchRootPorts.IsPchAcsRootPort(dev)) return -1;
        return dev.AcsEnabledByQuirk ? CtrlEnabled(want, SvRrCrUf) : 0;
    }

    private static int IntelSpt(PciFunction dev, ushort want, PciTopology? t)
    {
        if (!IntelPchRootPorts.IsSptAcsRootPort(dev) || dev.AcsCap == 0) return -1;
        uint cap = dev.Config.Read32(dev.AcsCap + PciRegs.AcsCap);
        want &= (ushort)(cap | PciRegs.AcsEc);
        return CtrlEnabled(want, dev.Config.Read32(dev.AcsCap + IntelPchRootPorts.SptAcsCtrl));
    }

    private static int Cavium(PciFunction dev, ushort want, PciTopology? t)
    {
        bool match = dev.IsPcie && dev.PcieType == PcieType.RootPort &&
                     ((dev.DeviceId & 0xf800) == 0xa000 || dev.DeviceId is 0xaf84 or 0xb884);
        return match ? CtrlEnabled(want, SvRrCrUf) : -1;
    }

    private static int AnnapurnaLabs(PciFunction dev, ushort want, PciTopology? t)
    {
        if (!dev.IsPcie || dev.PcieType != PcieType.RootPort) return -1;
        return (want & ~SvRrCrUf) != 0 ? 0 : 1;
    }

    private static int ZhaoxinPorts(PciFunction dev, ushort want, PciTopology? t)
    {
        if (!dev.IsPcie || dev.PcieType is not (PcieType.RootPort or PcieType.Downstream)) return -1;
        return dev.DeviceId is (>= 0x0710 and <= 0x071e) or 0x0721 or (>= 0x0723 and <= 0x0752) ? CtrlEnabled(want, SvRrCrUf) : 0;
    }

    private static int WangxunNic(PciFunction dev, ushort want, PciTopology? t) =>
        dev.DeviceId is (>= 0x0100 and <= 0x010f) or 0x1001 or 0x2001 or 0x5010 or 0x5025 or 0x5040 or 0x5110 or 0x5125 or 0x5140
            ? CtrlEnabled(want, SvRrCrUf)
            : 0;

    public static readonly IReadOnlyList<Entry> Table = Build();

    // Every entry names a vendor, so a per-vendor list (in table order) answers the same as a full scan.
    private static readonly Dictionary<ushort, Entry[]> ByVendor =
        Table.GroupBy(e => e.Vendor).ToDictionary(g => g.Key, g => g.ToArray());

    private static List<Entry> Build()
    {
        var t = new List<Entry>();
        void Add(ushort v, ushort d, string name, Func<PciFunction, ushort, PciTopology?, int> f) => t.Add(new(v, d, name, f));
        void AddMany(ushort v, IEnumerable<int> ids, string name, Func<PciFunction, ushort, PciTopology?, int> f)
        {
            foreach (var d in ids) Add(v, (ushort)d, name, f);
        }
        static IEnumerable<int> R(int from, int to) => Enumerable.Range(from, to - from + 1);

        AddMany(PciVendor.Ati, [0x4385, 0x439c, 0x4383, 0x439d, 0x4384, 0x4399], "pci_quirk_amd_sb_acs", AmdSb);
        AddMany(PciVendor.Amd, [0x780f, 0x7809], "pci_quirk_amd_sb_acs", AmdSb);
        AddMany(PciVendor.Solarflare, [0x0903, 0x0923, 0x0a03], "pci_quirk_mf_endpoint_acs", MfEndpoint);
        AddMany(PciVendor.Intel,
            [0x10c6, 0x10db, 0x10dd, 0x10e1, 0x10f1, 0x10f7, 0x10f8, 0x10f9, 0x10fa, 0x10fb, 0x10fc, 0x1507, 0x1514, 0x151c,
             0x1529, 0x152a, 0x154d, 0x154f, 0x1551, 0x1558,
             0x1509, 0x150e, 0x150f, 0x1510, 0x1511, 0x1516, 0x1527,           // 82580
             0x10c9, 0x10e6, 0x10e7, 0x10e8, 0x150a, 0x150d, 0x1518, 0x1526, // 82576
             0x10a7, 0x10a9, 0x10d6,                                         // 82575
             0x1521, 0x1522, 0x1523, 0x1524,                                 // I350
             0x105e, 0x105f, 0x1060, 0x10d9,                                 // 82571
             0x15b7, 0x15b8],                                                // I219
            "pci_quirk_mf_endpoint_acs", MfEndpoint);
        Add(PciVendor.Intel, Any, "pci_quirk_rciep_acs", Rciep);
        AddMany(PciVendor.Qcom, [0x0400, 0x0401, 0x0115], "pci_quirk_qcom_rp_acs", SvRrCrUfProvided);
        Add(PciVendor.Hxt, 0x0401, "pci_quirk_qcom_rp_acs", SvRrCrUfProvided);
        Add(PciVendor.Intel, Any, "pci_quirk_intel_pch_acs", IntelPch);
        Add(PciVendor.Intel, Any, "pci_quirk_intel_spt_pch_acs", IntelSpt);
        Add(PciVendor.Emulex, 0x0710, "pci_quirk_mf_endpoint_acs", MfEndpoint);
        Add(PciVendor.EmulexAlt, 0x0720, "pci_quirk_mf_endpoint_acs", MfEndpoint);
        Add(PciVendor.Cavium, Any, "pci_quirk_cavium_acs", Cavium);
        AddMany(PciVendor.Cavium, [0xa026, 0xa059, 0xa060], "pci_quirk_mf_endpoint_acs", MfEndpoint);
        Add(PciVendor.Amcc, 0xe004, "pci_quirk_xgene_acs", SvRrCrUfProvided);
        AddMany(PciVendor.Ampere, R(0xe005, 0xe00c), "pci_quirk_xgene_acs", SvRrCrUfProvided);
        Add(PciVendor.Broadcom, 0xd714, "pci_quirk_brcm_acs", SvRrCrUfProvided);
        AddMany(PciVendor.Loongson, [0x3c09, 0x3c19, 0x3c29, 0x7a09, 0x7a19, 0x7a29, 0x7a39, 0x7a49, 0x7a59, 0x7a69], "pci_quirk_loongson_acs", SvRrCrUfProvided);
        Add(PciVendor.AmazonAnnapurna, 0x0031, "pci_quirk_al_acs", AnnapurnaLabs);
        AddMany(PciVendor.Zhaoxin, [0x3038, 0x3104, 0x9083], "pci_quirk_mf_endpoint_acs", MfEndpoint);
        AddMany(PciVendor.Nxp,
            [.. R(0x8d80, 0x8d83), .. R(0x8d88, 0x8d8b), .. R(0x8d90, 0x8d93), .. R(0x8d98, 0x8d9b),
             0x8da0, 0x8da1, 0x8da8, 0x8da9, 0x8db0, 0x8db1, 0x8db8, 0x8db9],
            "pci_quirk_nxp_rp_acs", SvRrCrUfProvided);
        Add(PciVendor.Zhaoxin, Any, "pci_quirk_zhaoxin_pcie_ports_acs", ZhaoxinPorts);
        Add(PciVendor.Wangxun, Any, "pci_quirk_wangxun_nic_acs", WangxunNic);
        return t;
    }

    /// <summary>pci_dev_specific_acs_enabled(): the first entry that answers, or (-1, null).</summary>
    public static (int Result, string? Quirk) Evaluate(PciFunction dev, ushort want, PciTopology? topology)
    {
        if (!ByVendor.TryGetValue(dev.VendorId, out var entries)) return (-1, null);
        ushort device = dev.DeviceId;
        foreach (var e in entries)
        {
            if (e.Device != device && e.Device != Any) continue;
            int r = e.Check(dev, want, topology);
            if (r >= 0) return (r, e.Name);
        }
        return (-1, null);
    }
}
