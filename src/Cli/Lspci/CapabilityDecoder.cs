using System.Text;
using VfioSim.Pci;

namespace VfioSim.Cli.Lspci;

/// <summary>
/// The <c>Capabilities:</c> lines of <c>lspci -v</c>: one line per capability, as pciutils 3.9 prints them at
/// verbosity 1 (show_caps() in ls-caps.c, show_ext_caps() in ls-ecaps.c, show_vendor_caps() in
/// ls-caps-vendor.c). Extended capabilities are listed only after a PCI Express or PCI-X capability, as lspci does.
/// </summary>
public static class CapabilityDecoder
{
    private static char Flag(int value, int bit) => (value & bit) != 0 ? '+' : '-';

    /// <summary>Appends the capability lines of <paramref name="d"/> (show_caps(d, PCI_CAPABILITY_LIST)).</summary>
    public static void Append(StringBuilder o, LspciDevice d, PciNames names, IdDisplay ids)
    {
        var cfg = d.Config;
        bool canHaveExtCaps = false;
        if ((cfg.Read16(PciRegs.Status) & PciRegs.StatusCapList) != 0)
        {
            int listReg = d.HeaderType == PciRegs.HeaderTypeCardbus ? 0x14 : PciRegs.CapabilityList;
            int where = cfg.Read8(listReg) & ~3;
            var beenThere = new bool[256];
            while (where != 0)
            {
                o.Append("\tCapabilities: ");
                int id = cfg.Read8(where), next = cfg.Read8(where + 1) & ~3, cap = cfg.Read16(where + 2);
                o.Append($"[{where:x2}] ");
                if (beenThere[where])
                {
                    o.Append("<chain looped>\n");
                    break;
                }
                beenThere[where] = true;
                if (id == 0xff)
                {
                    o.Append("<chain broken>\n");
                    break;
                }
                switch (id)
                {
                    case 0x07: // PCI-X: a line for type 0 and type 1 headers only, nothing at all otherwise
                        o.Append(d.HeaderType switch
                        {
                            PciRegs.HeaderTypeNormal => "PCI-X non-bridge device\n",
                            PciRegs.HeaderTypeBridge => "PCI-X bridge device\n",
                            _ => "",
                        });
                        canHaveExtCaps = true;
                        break;
                    case PciRegs.CapIdExp:
                        o.Append(Express(cap)).Append('\n');
                        canHaveExtCaps = true;
                        break;
                    default:
                        o.Append(Standard(d, where, id, cap, names, ids)).Append('\n');
                        break;
                }
                where = next;
            }
        }
        if (canHaveExtCaps) AppendExtended(o, d);
    }

    private static string Standard(LspciDevice d, int where, int id, int cap, PciNames names, IdDisplay ids)
    {
        var cfg = d.Config;
        return id switch
        {
            0x00 => "Null",
            PciRegs.CapIdPm => $"Power Management version {cap & 7}",
            PciRegs.CapIdAgp => $"AGP version {(cap >> 4) & 0xf:x}.{cap & 0xf:x}",
            PciRegs.CapIdVpd => "Vital Product Data",
            PciRegs.CapIdSlotId => $"Slot ID: {cap & 0x1f} slots, First{Flag(cap, 0x20)}, chassis {cap >> 8:x2}",
            PciRegs.CapIdMsi => $"MSI: Enable{Flag(cap, 0x1)} Count={1 << ((cap & 0x70) >> 4)}/{1 << ((cap & 0xe) >> 1)} " +
                $"Maskable{Flag(cap, 0x100)} 64bit{Flag(cap, 0x80)}",
            0x06 => "CompactPCI hot-swap <?>",
            PciRegs.CapIdHt => HyperTransport(cap),
            PciRegs.CapIdVendor => "Vendor Specific Information: " + (Virtio(cfg, cap) ?? $"Len={cap & 0xff:x2} <?>"),
            0x0a => $"Debug port: BAR={cap >> 13} offset={cap & 0x1fff:x4}",
            0x0b => "CompactPCI central resource control <?>",
            PciRegs.CapIdShpc => "Hot-plug capable",
            PciRegs.CapIdSsvid => "Subsystem: " + names.Subsystem(d.VendorId, d.DeviceId, cfg.Read16(where + 4), cfg.Read16(where + 6), ids),
            0x0e => "AGP3 <?>",
            0x0f => "Secure device <?>",
            PciRegs.CapIdMsix => $"MSI-X: Enable{Flag(cap, 0x8000)} Count={(cap & 0x07ff) + 1} Masked{Flag(cap, 0x4000)}",
            PciRegs.CapIdSata => $"SATA HBA v{(cap >> 4) & 0xf}.{cap & 0xf}",
            PciRegs.CapIdAf => "PCI Advanced Features",
            0x14 => $"Enhanced Allocation (EA): NumEntries={cap & 0x3f}" + (d.HeaderType == PciRegs.HeaderTypeBridge
                ? $", secondary={cfg.Read8(where + 4)}, subordinate={cfg.Read8(where + 5)}" : ""),
            _ => $"Capability ID {Hash02x(id)} [{cap:x4}]",
        };
    }

    /// <summary>cap_express() at -v: the device/port type and the interrupt message number, no version.</summary>
    private static string Express(int cap)
    {
        string type = ((cap & 0x00f0) >> 4) switch
        {
            0x0 => "Endpoint",
            0x1 => "Legacy Endpoint",
            0x4 => $"Root Port (Slot{Flag(cap, 0x100)})",
            0x5 => "Upstream Port",
            0x6 => $"Downstream Port (Slot{Flag(cap, 0x100)})",
            0x7 => "PCI-Express to PCI/PCI-X Bridge",
            0x8 => $"PCI/PCI-X to PCI-Express Bridge (Slot{Flag(cap, 0x100)})",
            0x9 => "Root Complex Integrated Endpoint",
            0xa => "Root Complex Event Collector",
            int t => $"Unknown type {t}",
        };
        return $"Express {type}, MSI {(cap & 0x3e00) >> 9:x2}";
    }

    // show_vendor_caps_virtio(): Red Hat's virtio devices 1af4:1000-107f name their structure type.
    private static string? Virtio(ConfigSpace cfg, int cap)
    {
        ushort device = cfg.Read16(PciRegs.DeviceId);
        if (cfg.Read16(PciRegs.VendorId) != 0x1af4 || device < 0x1000 || device > 0x107f || (cap & 0xff) < 16) return null;
        return "VirtIO: " + (((cap >> 8) & 0xff) switch
        {
            1 => "CommonCfg",
            2 => "Notify",
            3 => "ISR",
            4 => "DeviceCfg",
            _ => "<unknown>",
        });
    }

    private static string HyperTransport(int cmd)
    {
        if ((cmd & 0xe000) == 0x0000) return "HyperTransport: Slave or Primary Interface";
        if ((cmd & 0xe000) == 0x2000) return "HyperTransport: Host or Secondary Interface";
        int type = cmd & 0xf800;
        return "HyperTransport: " + type switch
        {
            0x4000 => "Switch",
            0x8000 => "Interrupt Discovery and Configuration",
            0x8800 => $"Revision ID: {(cmd & 0xe0) >> 5}.{cmd & 0x1f:d2}",
            0x9000 => "UnitID Clumping",
            0x9800 => "Extended Configuration Space Access",
            0xa000 => "Address Mapping",
            0xa800 => $"MSI Mapping Enable{Flag(cmd, 0x1)} Fixed{Flag(cmd, 0x2)}",
            0xb000 => "DirectRoute",
            0xb800 => "VCSet",
            0xc000 => "Retry Mode",
            0xc800 => "X86 (reserved)",
            _ => $"#{type >> 11:x2}",
        };
    }

    /// <summary>show_ext_caps(): the chain from 0x100; a function with 256 bytes of config space has none.</summary>
    private static void AppendExtended(StringBuilder o, LspciDevice d)
    {
        var cfg = d.Config;
        var beenThere = new bool[0x1000];
        int where = 0x100;
        do
        {
            if (where + 4 > cfg.Size) break; // config_fetch() fails past the end of the sysfs config file
            uint header = cfg.Read32(where);
            if (header == 0 || header == 0xffffffff) break;
            int id = (int)(header & 0xffff);
            o.Append($"\tCapabilities: [{where:x3}] ");
            if (beenThere[where])
            {
                o.Append("<chain looped>\n");
                break;
            }
            beenThere[where] = true;
            o.Append(Extended(cfg, where, id));
            where = (int)((header >> 20) & ~3u);
        }
        while (where != 0);
    }

    private static string Extended(ConfigSpace cfg, int where, int id) => id switch
    {
        0x00 => "Null\n",
        PciRegs.ExtCapIdErr => "Advanced Error Reporting\n",
        PciRegs.ExtCapIdVc or 0x09 => "Virtual Channel\n",
        PciRegs.ExtCapIdDsn => Serial(cfg, where),
        0x04 => "Power Budgeting <?>\n",
        0x05 => "Root Complex Link\n",
        0x06 => "Root Complex Internal Link <?>\n",
        0x07 => "Root Complex Event Collector Endpoint Association\n",
        0x08 => "Multi-Function Virtual Channel <?>\n",
        0x0a => "Root Complex Register Block <?>\n",
        0x0b => $"Vendor Specific Information: ID={cfg.Read16(where + 4):x4} Rev={(cfg.Read32(where + 4) >> 16) & 0xf} " +
            $"Len={cfg.Read32(where + 4) >> 20:x3} <?>\n",
        PciRegs.ExtCapIdAcs => "Access Control Services\n",
        PciRegs.ExtCapIdAri => "Alternative Routing-ID Interpretation (ARI)\n",
        PciRegs.ExtCapIdAts => "Address Translation Service (ATS)\n",
        PciRegs.ExtCapIdSriov => "Single Root I/O Virtualization (SR-IOV)\n",
        0x11 => "Multi-Root I/O Virtualization <?>\n",
        0x12 => "Multicast\n",
        PciRegs.ExtCapIdPri => "Page Request Interface (PRI)\n",
        0x15 => "Physical Resizable BAR\n",
        0x16 => "Dynamic Power Allocation <?>\n",
        0x17 => "Transaction Processing Hints\n",
        PciRegs.ExtCapIdLtr => "Latency Tolerance Reporting\n",
        PciRegs.ExtCapIdSecPci => "Secondary PCI Express\n",
        0x1a => "Protocol Multiplexing <?>\n",
        PciRegs.ExtCapIdPasid => "Process Address Space ID (PASID)\n",
        0x1c => "LN Requester <?>\n",
        0x1d => "Downstream Port Containment\n",
        0x1e => "L1 PM Substates\n",
        0x1f => "Precision Time Measurement\n",
        0x20 => "PCI Express over M_PHY <?>\n",
        0x21 => "FRS Queueing <?>\n",
        0x22 => "Readiness Time Reporting <?>\n",
        0x23 => DesignatedVendor(cfg, where),
        0x24 => "Virtual Resizable BAR\n",
        0x25 => "Data Link Feature <?>\n",
        0x26 => "Physical Layer 16.0 GT/s <?>\n",
        0x27 => "Lane Margining at the Receiver <?>\n",
        0x28 => "Hierarchy ID <?>\n",
        0x29 => "Native PCIe Enclosure Management <?>\n",
        0x2e => "Data Object Exchange\n",
        _ => $"Extended Capability ID {Hash02x(id)}\n",
    };

    // cap_dsn(): the 64-bit serial number, most significant byte first; nothing at all if it cannot be read.
    private static string Serial(ConfigSpace cfg, int where)
    {
        if (where + 12 > cfg.Size) return "";
        ulong serial = cfg.Read32(where + 4) | ((ulong)cfg.Read32(where + 8) << 32);
        return "Device Serial Number " + string.Join('-', Enumerable.Range(0, 8).Select(i => $"{(byte)(serial >> (56 - 8 * i)):x2}")) + "\n";
    }

    private static string DesignatedVendor(ConfigSpace cfg, int where)
    {
        if (where + 12 > cfg.Size) return "Designated Vendor-Specific: <unreadable>\n";
        uint hdr = cfg.Read32(where + 4);
        int vendor = (int)(hdr & 0xffff), rev = (int)((hdr >> 16) & 0xf), len = (int)(hdr >> 20);
        int id = cfg.Read16(where + 8);
        string text = $"Designated Vendor-Specific: Vendor={vendor:x4} ID={id:x4} Rev={rev} Len={len}";
        return text + (vendor == 0x1e98 && len >= 16 ? ": CXL\n" : " <?>\n");
    }

    /// <summary>C's <c>%#02x</c>: 0x-prefixed hex, no padding, plain 0 for zero.</summary>
    private static string Hash02x(int value) => value == 0 ? "0" : $"0x{value:x}";
}
