namespace VfioSim.Pci.Quirks;

/// <summary>Vendor IDs used by quirk tables (include/linux/pci_ids.h).</summary>
public static class PciVendor
{
    public const ushort Any = 0xffff; // PCI_ANY_ID (low 16 bits)
    public const ushort Ati = 0x1002, Amd = 0x1022, Intel = 0x8086, Solarflare = 0x1924, Qcom = 0x17cb,
        Hxt = 0x1dbf, Cavium = 0x177d, Amcc = 0x10e8, Ampere = 0x1def, Broadcom = 0x14e4, Loongson = 0x0014,
        AmazonAnnapurna = 0x1c36, Zhaoxin = 0x1d17, Nxp = 0x1957, Wangxun = 0x8088, Emulex = 0x19a2,
        EmulexAlt = 0x10df, Ricoh = 0x1180, Glenfly = 0x6766, Marvell = 0x1b4b, Tti = 0x1103, Jmicron = 0x197b,
        Adaptec2 = 0x9005, Asmedia = 0x1b21, Plx = 0x10b5, Microsemi = 0x11f8, Efar = 0x1055, Tundra = 0x10e3,
        Ite = 0x1283, LiteOn = 0x1c28, RedHat = 0x1b36, Qumranet = 0x1af4, Ti = 0x104c;
}

/// <summary>Device ID sets shared by the ACS enable quirks (Sim.Pci) and the ACS equivalence table (Sim.Iommu).</summary>
public static class IntelPchRootPorts
{
    /// <summary>pci_quirk_intel_pch_acs_ids: PCH root ports without an ACS capability.</summary>
    public static bool IsPchAcsRootPort(PciFunction dev) =>
        dev.VendorId == PciVendor.Intel && dev.IsPcie && dev.PcieType == PcieType.RootPort && IsPchId(dev.DeviceId);

    private static bool IsPchId(ushort id) => id switch
    {
        >= 0x3b42 and <= 0x3b51 => true, // Ibexpeak
        >= 0x1c10 and <= 0x1c1f => true, // Cougarpoint
        >= 0x1e10 and <= 0x1e1f => true, // Pantherpoint
        >= 0x8c10 and <= 0x8c1f => true, // Lynxpoint-H
        >= 0x9c10 and <= 0x9c1b => true, // Lynxpoint-LP
        >= 0x9c90 and <= 0x9c9b => true, // Wildcat
        >= 0x1d10 and <= 0x1d1e => (id & 1) == 0, // Patsburg (X79), even IDs
        >= 0x8d10 and <= 0x8d1e => true, // Wellsburg (X99)
        >= 0x8c90 and <= 0x8c9e => (id & 1) == 0, // 9 series
        _ => false,
    };

    /// <summary>pci_quirk_intel_spt_pch_acs_match: root ports whose ACS registers are dwords (control at +8).</summary>
    public static bool IsSptAcsRootPort(PciFunction dev) =>
        dev.VendorId == PciVendor.Intel && dev.IsPcie && dev.PcieType == PcieType.RootPort && dev.DeviceId switch
        {
            >= 0xa110 and <= 0xa11f => true, // Sunrise Point
            >= 0xa167 and <= 0xa16a => true,
            >= 0xa290 and <= 0xa29f => true, // Union Point
            >= 0xa2e7 and <= 0xa2ee => true,
            >= 0x9d10 and <= 0x9d1b => true, // 7th & 8th Gen Mobile
            _ => false,
        };

    /// <summary>INTEL_SPT_ACS_CTRL: control dword follows the capability dword.</summary>
    public const int SptAcsCtrl = PciRegs.AcsCap + 4;
}
