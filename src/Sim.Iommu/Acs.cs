using VfioSim.Pci;

namespace VfioSim.Iommu;

/// <summary>Which rule of pci_acs_enabled() decided, so an explanation can name it.</summary>
public enum AcsRule
{
    Quirk,
    Conventional,
    BridgeType,
    NoAcsCapability,
    AcsControl,
    SingleFunction,
    OtherType,
}

/// <summary>The answer of pci_acs_enabled() with what it was based on.</summary>
public readonly record struct AcsVerdict(bool Enabled, AcsRule Rule, string? Quirk = null, ushort Cap = 0, ushort Ctrl = 0, ushort Want = 0);

/// <summary>
/// ACS predicates of drivers/pci/pci.c: pci_acs_enabled() (quirk table, then by PCIe type),
/// pci_acs_flags_enabled() and pci_acs_path_enabled().
/// </summary>
public static class Acs
{
    /// <summary>REQ_ACS_FLAGS of drivers/iommu/iommu.c: what isolation needs.</summary>
    public const ushort Required = PciRegs.AcsSv | PciRegs.AcsRr | PciRegs.AcsCr | PciRegs.AcsUf;

    public static bool IsEnabled(PciFunction dev, ushort want = Required, PciTopology? topology = null) =>
        Evaluate(dev, want, topology).Enabled;

    public static AcsVerdict Evaluate(PciFunction dev, ushort want = Required, PciTopology? topology = null)
    {
        var (q, quirk) = AcsQuirks.Evaluate(dev, want, topology);
        if (q >= 0) return new AcsVerdict(q > 0, AcsRule.Quirk, quirk, Want: want);
        if (!dev.IsPcie) return new AcsVerdict(false, AcsRule.Conventional, Want: want);
        switch (dev.PcieType)
        {
            case PcieType.PcieBridge or PcieType.PciBridge or PcieType.RcEventCollector:
                return new AcsVerdict(false, AcsRule.BridgeType, Want: want);
            case PcieType.Downstream or PcieType.RootPort:
                return FlagsEnabled(dev, want);
            case PcieType.Endpoint or PcieType.Upstream or PcieType.LegacyEndpoint or PcieType.RcEndpoint:
                return dev.IsMultifunction ? FlagsEnabled(dev, want) : new AcsVerdict(true, AcsRule.SingleFunction, Want: want);
            default:
                return new AcsVerdict(true, AcsRule.OtherType, Want: want);
        }
    }

    /// <summary>pci_acs_flags_enabled(): controls not advertised in the capability count as hard-wired on (except EC).</summary>
    public static AcsVerdict FlagsEnabled(PciFunction dev, ushort want)
    {
        int pos = dev.AcsCap;
        if (pos == 0) return new AcsVerdict(false, AcsRule.NoAcsCapability, Want: want);
        ushort cap = dev.Config.Read16(pos + PciRegs.AcsCap);
        ushort ctrl = dev.Config.Read16(pos + PciRegs.AcsCtrl);
        ushort effective = (ushort)(want & (cap | PciRegs.AcsEc));
        return new AcsVerdict((ctrl & effective) == effective, AcsRule.AcsControl, null, cap, ctrl, effective);
    }

    /// <summary>
    /// pci_acs_path_enabled(start, NULL, want): <paramref name="start"/> and every bridge above it up to the root
    /// bus pass; <paramref name="failedAt"/> names the first that does not.
    /// </summary>
    public static bool PathEnabled(PciFunction start, ushort want, PciTopology? topology, out PciFunction? failedAt)
    {
        var pdev = start;
        while (true)
        {
            if (!IsEnabled(pdev, want, topology)) { failedAt = pdev; return false; }
            if (pdev.Bus!.IsRoot || pdev.Bus.Self is null) { failedAt = null; return true; }
            pdev = pdev.Bus.Self;
        }
    }

    public static string FlagNames(ushort flags)
    {
        var names = new List<string>();
        string[] all = ["SV", "TB", "RR", "CR", "UF", "EC", "DT"];
        for (int i = 0; i < all.Length; i++) if ((flags & (1 << i)) != 0) names.Add(all[i]);
        return names.Count == 0 ? "none" : string.Join(" ", names);
    }

    /// <summary>A sentence fragment saying why <paramref name="dev"/> is or is not isolated, e.g. "has no ACS capability".</summary>
    public static string Describe(PciFunction dev, AcsVerdict v) => v.Rule switch
    {
        AcsRule.Quirk => v.Enabled
            ? $"is treated as isolated by the ACS quirk {v.Quirk}"
            : $"is treated as not isolated by the ACS quirk {v.Quirk}",
        AcsRule.Conventional => "is conventional PCI (no PCIe capability), which never isolates",
        AcsRule.BridgeType => $"is a {TypeName(dev.PcieType)}, which never isolates",
        AcsRule.NoAcsCapability => "has no ACS capability",
        AcsRule.AcsControl when v.Enabled => $"has ACS Control 0x{v.Ctrl:x4}, covering {FlagNames(v.Want)}",
        AcsRule.AcsControl => $"has ACS Control 0x{v.Ctrl:x4} without {FlagNames((ushort)(v.Want & ~v.Ctrl))} (needs {FlagNames(v.Want)})",
        AcsRule.SingleFunction => $"is a single-function {TypeName(dev.PcieType)}, which needs no ACS",
        _ => "is of a PCIe type that ACS does not apply to",
    };

    public static string TypeName(PcieType t) => t switch
    {
        PcieType.Endpoint => "PCIe endpoint",
        PcieType.LegacyEndpoint => "legacy PCIe endpoint",
        PcieType.RootPort => "root port",
        PcieType.Upstream => "switch upstream port",
        PcieType.Downstream => "switch downstream port",
        PcieType.PciBridge => "PCIe-to-PCI bridge",
        PcieType.PcieBridge => "PCI-to-PCIe bridge",
        PcieType.RcEndpoint => "root-complex integrated endpoint",
        PcieType.RcEventCollector => "root-complex event collector",
        _ => $"PCIe type {(int)t:x}",
    };

    /// <summary>"root port 0000:00:02.0", "conventional PCI function 0000:01:00.0", …</summary>
    public static string Name(PciFunction dev)
    {
        string kind = dev.IsPcie ? TypeName(dev.PcieType)
            : dev.IsBridge ? "PCI bridge"
            : dev.ClassCode >> 8 == 0x0600 ? "host bridge"
            : "conventional PCI function";
        return $"{kind} {dev.Bdf}";
    }
}
