using System.Globalization;

namespace VfioSim.Pci;

/// <summary>
/// The parts of the kernel command line that change PCI enumeration or IOMMU grouping.
/// <c>pci=</c> is split on ',' into options as drivers/pci/pci.c pci_setup() does, so a device list inside
/// <c>disable_acs_redir=</c> or <c>config_acs=</c> separates entries with ';'.
/// </summary>
public sealed class KernelCommandLine
{
    public KernelCommandLine(string? text = null)
    {
        Text = text?.Trim() ?? "";
        foreach (var word in Tokenize(Text))
        {
            int eq = word.IndexOf('=', StringComparison.Ordinal);
            string key = eq < 0 ? word : word[..eq];
            string value = eq < 0 ? "" : word[(eq + 1)..];
            switch (key)
            {
                case "pci":
                    foreach (var opt in value.Split(',', StringSplitOptions.RemoveEmptyEntries)) PciOption(opt);
                    break;
                case "intel_iommu":
                    foreach (var opt in value.Split(',')) if (opt == "off") IommuDisabled = true; else if (opt == "on") IommuDisabled = false;
                    break;
                case "amd_iommu":
                    if (value == "off") IommuDisabled = true;
                    break;
                case "iommu":
                    if (value == "off") IommuDisabled = true;
                    if (value == "pt") Passthrough = true;
                    break;
                case "vfio.enable_unsafe_noiommu_mode":
                    EnableUnsafeNoiommu = value is "1" or "Y" or "y" or "";
                    break;
            }
        }
    }

    public string Text { get; }

    /// <summary>The list after <c>pci=disable_acs_redir=</c>, or null.</summary>
    public string? DisableAcsRedir { get; private set; }

    /// <summary>The list after <c>pci=config_acs=</c>, or null.</summary>
    public string? ConfigAcs { get; private set; }

    public bool NoAts { get; private set; }
    public bool PcieScanAll { get; private set; }
    public bool IommuDisabled { get; private set; }
    public bool Passthrough { get; private set; }
    public bool EnableUnsafeNoiommu { get; private set; }

    private void PciOption(string opt)
    {
        if (opt.StartsWith("disable_acs_redir=", StringComparison.Ordinal)) DisableAcsRedir = opt["disable_acs_redir=".Length..];
        else if (opt.StartsWith("config_acs=", StringComparison.Ordinal)) ConfigAcs = opt["config_acs=".Length..];
        else if (opt == "noats") NoAts = true;
        else if (opt == "pcie_scan_all") PcieScanAll = true;
    }

    /// <summary>Splits on blanks; double quotes group (the kernel's next_arg()).</summary>
    private static IEnumerable<string> Tokenize(string s)
    {
        var cur = new System.Text.StringBuilder();
        bool quoted = false;
        foreach (char c in s)
        {
            if (c == '"') { quoted = !quoted; continue; }
            if (char.IsWhiteSpace(c) && !quoted)
            {
                if (cur.Length > 0) { yield return cur.ToString(); cur.Clear(); }
                continue;
            }
            cur.Append(c);
        }
        if (cur.Length > 0) yield return cur.ToString();
    }

    public override string ToString() => Text;
}

/// <summary>
/// pci_dev_str_match() of drivers/pci/pci.c: matches one entry of a device list at <c>pos</c>
/// and advances past it. Returns 1 on match, 0 on no match, -1 when the entry cannot be parsed.
/// Forms: <c>[domain:]bus:dev.fn[/dev.fn]*</c> (a path from a root-bus device down) and
/// <c>pci:vendor:device[:subvendor:subdevice]</c> (0 matches any).
/// </summary>
public static class PciDevStrMatch
{
    public static int Match(PciFunction dev, string p, ref int pos)
    {
        string rest = p[pos..];
        int end = rest.IndexOf(';', StringComparison.Ordinal); // strchrnul(path, ';')
        string entry = end < 0 ? rest : rest[..end];
        pos += entry.Length;
        if (entry.StartsWith("pci:", StringComparison.Ordinal)) return MatchIds(dev, entry[4..]);
        return MatchPath(dev, entry);
    }

    private static int MatchIds(PciFunction dev, string s)
    {
        var f = s.Split(':');
        if (f.Length is not (2 or 4)) return -1;
        var v = new uint[4];
        for (int i = 0; i < f.Length; i++)
            if (!uint.TryParse(f[i], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v[i])) return -1;
        bool Ok(uint want, ushort have) => want == 0 || want == have;
        return Ok(v[0], dev.VendorId) && Ok(v[1], dev.DeviceId) && Ok(v[2], dev.SubsystemVendorId) && Ok(v[3], dev.SubsystemId) ? 1 : 0;
    }

    // pci_dev_str_match_path(): the last path element is the device itself, each earlier one its upstream bridge.
    private static int MatchPath(PciFunction dev, string s)
    {
        var segments = s.Split('/');
        var first = segments[0].Split(':');
        uint domain = 0, bus;
        string devfnText;
        if (first.Length == 3)
        {
            if (!Hex(first[0], out domain) || !Hex(first[1], out bus)) return -1;
            devfnText = first[2];
        }
        else if (first.Length == 2)
        {
            if (!Hex(first[0], out bus)) return -1;
            devfnText = first[1];
        }
        else return -1;
        var devfns = new List<byte>();
        foreach (var seg in segments.Skip(1).Prepend(devfnText))
        {
            var df = seg.Split('.');
            if (df.Length != 2 || !Hex(df[0], out uint d) || !Hex(df[1], out uint fn) || d > 31 || fn > 7) return -1;
            devfns.Add((byte)((d << 3) | fn));
        }
        PciFunction? cur = dev;
        for (int i = devfns.Count - 1; i >= 1; i--)
        {
            if (cur is null || cur.DevFn != devfns[i]) return 0;
            cur = cur.UpstreamBridge;
        }
        if (cur is null || cur.DevFn != devfns[0] || cur.Bus is null) return 0;
        return cur.Bus.Domain == domain && cur.Bus.Number == bus ? 1 : 0;
    }

    private static bool Hex(string s, out uint v) =>
        uint.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v);
}
