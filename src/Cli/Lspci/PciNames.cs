using System.Globalization;
using System.Text.RegularExpressions;
using VfioSim.Pci;
using VfioSim.Pci.Qemu;

namespace VfioSim.Cli.Lspci;

/// <summary>How lspci shows IDs: names (default), numbers (<c>-n</c>), or both (<c>-nn</c>).</summary>
public enum IdDisplay
{
    Names,
    Numeric,
    Both,
}

/// <summary>
/// The name database lspci would consult (pci.ids), reduced to what the simulator can know: the class table,
/// a table of common vendors, and the device and subsystem names lspci printed for the catalogued QEMU models.
/// Lookups format as pciutils' <c>pci_lookup_name()</c> does (lib/names.c), including its fallbacks
/// "Device [vvvv:dddd]", "Vendor Device [vvvv:dddd]" and "Class [cccc]" for IDs it has no name for.
/// </summary>
public sealed partial class PciNames
{
    private readonly Dictionary<int, string> classes = [];            // cc
    private readonly Dictionary<int, string> subclasses = [];         // ccss
    private readonly Dictionary<int, string> progIfs = [];            // ccsspp
    private readonly Dictionary<ushort, string> vendors = new(CommonVendors);
    // "vendor device" texts as lspci printed them; a subsystem maps to null when lspci knew only its vendor
    private readonly Dictionary<(ushort, ushort), string> devices = [];
    private readonly Dictionary<(ushort, ushort, ushort, ushort), string?> subsystems = [];

    private static readonly Lazy<PciNames> Catalogue = new(() =>
    {
        var n = new PciNames();
        foreach (var name in QemuImage.Names.Order(StringComparer.Ordinal))
        {
            var image = QemuImage.Load(name);
            n.Learn(image.Lspci, image.LspciSubsystem);
        }
        return n;
    });

    private PciNames() => ParseClassTable(PciClassTable.Text);

    /// <summary>Class and vendor tables plus every name measured on the QEMU catalogue.</summary>
    public static PciNames Default => Catalogue.Value;

    /// <summary>The default names plus those the topology's own functions carry (their measured lspci lines).</summary>
    public static PciNames For(PciTopology topology)
    {
        var own = topology.Functions.Where(f => f.LspciDescription is not null || f.LspciSubsystem is not null).ToList();
        if (own.Count == 0) return Default;
        var n = Default.Clone();
        foreach (var f in own) n.Learn(f.LspciDescription, f.LspciSubsystem);
        return n;
    }

    private PciNames Clone()
    {
        var n = new PciNames();
        foreach (var (k, v) in vendors) n.vendors[k] = v;
        foreach (var (k, v) in devices) n.devices[k] = v;
        foreach (var (k, v) in subsystems) n.subsystems[k] = v;
        return n;
    }

    // ---- the lookups lspci makes ----

    /// <summary>PCI_LOOKUP_CLASS: the subclass name, else the class name with the number forced in, else "Class".</summary>
    public string Class(ushort cls, IdDisplay mode)
    {
        string num = cls.ToString("x4", CultureInfo.InvariantCulture);
        if (mode == IdDisplay.Numeric) return num;
        if (subclasses.TryGetValue(cls, out var sub)) return mode == IdDisplay.Both ? $"{sub} [{num}]" : sub;
        if (classes.TryGetValue(cls >> 8, out var c)) return $"{c} [{num}]";
        return mode == IdDisplay.Both ? $"Class [{num}]" : $"Class {num}";
    }

    /// <summary>PCI_LOOKUP_PROGIF | PCI_LOOKUP_NO_NUMBERS: the interface name or null (names show even with -n).</summary>
    public string? ProgIf(ushort cls, byte progIf)
    {
        if (progIfs.TryGetValue((cls << 8) | progIf, out var name)) return name;
        if (cls != 0x0101 || (progIf & 0x70) != 0) return null;
        // IDE controllers: lspci spells out the mode bits
        string bits = ((progIf & 0x80) != 0 ? " Master" : "") + ((progIf & 0x08) != 0 ? " SecP" : "") +
            ((progIf & 0x04) != 0 ? " SecO" : "") + ((progIf & 0x02) != 0 ? " PriP" : "") + ((progIf & 0x01) != 0 ? " PriO" : "");
        return bits.Length == 0 ? null : bits[1..];
    }

    /// <summary>PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE.</summary>
    public string Device(ushort vendor, ushort device, IdDisplay mode) =>
        Pair(vendors.GetValueOrDefault(vendor), devices.GetValueOrDefault((vendor, device)), vendor, device, mode);

    /// <summary>PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE (id_lookup_subsys()).</summary>
    public string Subsystem(ushort vendor, ushort device, ushort subVendor, ushort subDevice, IdDisplay mode)
    {
        string? full = subsystems.GetValueOrDefault((vendor, device, subVendor, subDevice));
        // No subsystem entry, but the subsystem IDs equal the device IDs: lspci names it like the device.
        if (full is null && vendor == subVendor && device == subDevice) full = devices.GetValueOrDefault((vendor, device));
        return Pair(vendors.GetValueOrDefault(subVendor), full, subVendor, subDevice, mode);
    }

    /// <summary>format_name_pair(): <paramref name="full"/> is the "vendor device" text when the device has a name.</summary>
    private static string Pair(string? vendorName, string? full, ushort v, ushort d, IdDisplay mode)
    {
        string num = $"{v:x4}:{d:x4}";
        return mode switch
        {
            IdDisplay.Numeric => num,
            IdDisplay.Both => full is not null ? $"{full} [{num}]" : vendorName is null ? $"Device [{num}]" : $"{vendorName} Device [{num}]",
            _ => full ?? (vendorName is null ? $"Device {num}" : $"{vendorName} Device {d:x4}"),
        };
    }

    // ---- learning names from lspci -nn lines ----

    [GeneratedRegex(@"^.* \[[0-9a-f]{4}\]: (?<name>.*) \[(?<v>[0-9a-f]{4}):(?<d>[0-9a-f]{4})\]( \(rev [0-9a-f]{2}\))?( \(prog-if [0-9a-f]{2}( \[[^\]]*\])?\))?$")]
    private static partial Regex DescriptionLine();

    [GeneratedRegex(@"^(?<name>.*) \[(?<v>[0-9a-f]{4}):(?<d>[0-9a-f]{4})\]$")]
    private static partial Regex SubsystemLine();

    /// <summary>Adds the names in one measured <c>lspci -nn</c> name line and its Subsystem line.</summary>
    private void Learn(string? description, string? subsystem)
    {
        if (description is not null && DescriptionLine().Match(description) is { Success: true } m)
        {
            ushort v = Hex(m.Groups["v"].Value), d = Hex(m.Groups["d"].Value);
            var (vendorName, device) = SplitPair(m.Groups["name"].Value, v);
            if (vendorName is not null) vendors.TryAdd(v, vendorName);
            if (device is not null) devices[(v, d)] = m.Groups["name"].Value;
            if (subsystem is not null && SubsystemLine().Match(subsystem) is { Success: true } s)
            {
                ushort sv = Hex(s.Groups["v"].Value), sd = Hex(s.Groups["d"].Value);
                var (subVendorName, subDevice) = SplitPair(s.Groups["name"].Value, sv);
                if (subVendorName is not null) vendors.TryAdd(sv, subVendorName);
                subsystems[(v, d, sv, sd)] = subDevice is null ? null : s.Groups["name"].Value;
            }
        }
    }

    /// <summary>Splits lspci's "vendor device" text: "Device" (neither known), "X Device" (vendor only), or both.</summary>
    private (string? Vendor, string? Device) SplitPair(string text, ushort vendorId)
    {
        if (text == "Device") return (null, null);
        if (text.EndsWith(" Device", StringComparison.Ordinal)) return (text[..^" Device".Length], null);
        string? vendorName = vendors.GetValueOrDefault(vendorId);
        if (vendorName is not null && text.StartsWith(vendorName + " ", StringComparison.Ordinal))
            return (vendorName, text[(vendorName.Length + 1)..]);
        return (null, text); // a vendor missing from our table: keep the whole text as the device's name
    }

    private static ushort Hex(string s) => ushort.Parse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);

    private void ParseClassTable(string text)
    {
        int cls = -1, sub = -1;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("C ", StringComparison.Ordinal))
            {
                cls = Hex(line[2..4]);
                classes[cls] = line[6..];
            }
            else if (line.StartsWith("\t\t", StringComparison.Ordinal))
                progIfs[(cls << 16) | (sub << 8) | Hex(line[2..4])] = line[6..];
            else if (line.StartsWith('\t'))
            {
                sub = Hex(line[1..3]);
                subclasses[(cls << 8) | sub] = line[5..];
            }
        }
    }

    /// <summary>Vendor names as pci.ids (2022.11.19) spells them, for common vendors of PCIe hardware.</summary>
    private static readonly Dictionary<ushort, string> CommonVendors = new()
    {
        [0x1000] = "Broadcom / LSI",
        [0x1002] = "Advanced Micro Devices, Inc. [AMD/ATI]",
        [0x1022] = "Advanced Micro Devices, Inc. [AMD]",
        [0x1028] = "Dell",
        [0x102b] = "Matrox Electronics Systems Ltd.",
        [0x103c] = "Hewlett-Packard Company",
        [0x104c] = "Texas Instruments",
        [0x1077] = "QLogic Corp.",
        [0x10b5] = "PLX Technology, Inc.",
        [0x10de] = "NVIDIA Corporation",
        [0x10df] = "Emulex Corporation",
        [0x10ec] = "Realtek Semiconductor Co., Ltd.",
        [0x10ee] = "Xilinx Corporation",
        [0x1106] = "VIA Technologies, Inc.",
        [0x111d] = "Microsemi / PMC / IDT",
        [0x1137] = "Cisco Systems Inc",
        [0x1172] = "Altera Corporation",
        [0x1179] = "Toshiba Corporation",
        [0x1344] = "Micron Technology Inc",
        [0x13b5] = "ARM",
        [0x1414] = "Microsoft Corporation",
        [0x144d] = "Samsung Electronics Co Ltd",
        [0x14e4] = "Broadcom Inc. and subsidiaries",
        [0x1590] = "Hewlett Packard Enterprise",
        [0x15ad] = "VMware",
        [0x15b3] = "Mellanox Technologies",
        [0x177d] = "Cavium, Inc.",
        [0x17aa] = "Lenovo",
        [0x1912] = "Renesas Technology Corp.",
        [0x1924] = "Solarflare Communications",
        [0x1987] = "Phison Electronics Corporation",
        [0x19e5] = "Huawei Technologies Co., Ltd.",
        [0x1a03] = "ASPEED Technology, Inc.",
        [0x1ae0] = "Google, Inc.",
        [0x1af4] = "Red Hat, Inc.",
        [0x1b21] = "ASMedia Technology Inc.",
        [0x1b36] = "Red Hat, Inc.",
        [0x1b4b] = "Marvell Technology Group Ltd.",
        [0x1bb1] = "Seagate Technology PLC",
        [0x1c5c] = "SK hynix",
        [0x1d0f] = "Amazon.com, Inc.",
        [0x1d17] = "Zhaoxin",
        [0x1d6a] = "Aquantia Corp.",
        [0x1e0f] = "KIOXIA Corporation",
        [0x5853] = "XenSource, Inc.",
        [0x8086] = "Intel Corporation",
        [0x9005] = "Adaptec",
    };
}
