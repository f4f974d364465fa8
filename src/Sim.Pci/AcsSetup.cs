using VfioSim.Pci.Quirks;

namespace VfioSim.Pci;

/// <summary>
/// pci_acs_init() / pci_enable_acs() of drivers/pci/pci.c (Linux 6.12): what the PCI core writes into a
/// function's ACS Control register when it adds the device, including the device-specific enable quirks and
/// the <c>pci=disable_acs_redir=</c> and <c>pci=config_acs=</c> parameters.
/// </summary>
public static class AcsSetup
{
    private const ushort ValidBits = 0x7f; // SV|TB|RR|CR|UF|EC|DT

    /// <param name="acsRequested">pci_acs_enable: an IOMMU driver asked for ACS before enumeration.</param>
    public static void Enable(PciFunction dev, KernelCommandLine cmdline, bool acsRequested)
    {
        dev.AcsCap = dev.Config.FindExtCapability(PciRegs.ExtCapIdAcs);
        bool enableAcs = false;
        if (acsRequested)
            enableAcs = !DeviceSpecificEnable(dev, cmdline); // pci_dev_specific_enable_acs() == -ENOTTY

        int pos = dev.AcsCap;
        if (pos == 0) return;

        ushort cap = dev.Config.Read16(pos + PciRegs.AcsCap);
        ushort fwCtrl = dev.Config.Read16(pos + PciRegs.AcsCtrl);
        ushort ctrl = fwCtrl;
        if (enableAcs) ctrl = StdEnable(cap, ctrl, cmdline.NoAts);

        // Applied even without an IOMMU; 6.12 computes both from the firmware value (verified: q3.groups).
        ctrl = ConfigAcs(dev, ctrl, fwCtrl, cmdline.DisableAcsRedir, (ushort)(PciRegs.AcsRr | PciRegs.AcsCr | PciRegs.AcsEc), 0);
        ctrl = ConfigAcs(dev, ctrl, fwCtrl, cmdline.ConfigAcs, 0, 0);

        dev.Config.Write16(pos + PciRegs.AcsCtrl, ctrl);
    }

    // pci_std_enable_acs(): SV, RR, CR, UF where advertised; TB only with pci=noats (or external/untrusted).
    private static ushort StdEnable(uint cap, uint ctrl, bool noAts)
    {
        ctrl |= cap & (uint)(PciRegs.AcsSv | PciRegs.AcsRr | PciRegs.AcsCr | PciRegs.AcsUf);
        if (noAts) ctrl |= cap & PciRegs.AcsTb;
        return (ushort)ctrl;
    }

    // pci_dev_specific_enable_acs(): true when a quirk handled the device (returned 0).
    private static bool DeviceSpecificEnable(PciFunction dev, KernelCommandLine cmdline)
    {
        if (IntelPchRootPorts.IsPchAcsRootPort(dev))
        {
            // pci_quirk_enable_intel_pch_acs(): handled even when the LPC RCBA is unusable (it only warns).
            if (dev.PchAcsQuirkEnabled) dev.AcsEnabledByQuirk = true;
            return true;
        }
        if (IntelPchRootPorts.IsSptAcsRootPort(dev))
        {
            int pos = dev.Config.FindExtCapability(PciRegs.ExtCapIdAcs);
            if (pos == 0) return false;
            uint cap = dev.Config.Read32(pos + PciRegs.AcsCap);
            uint ctrl = dev.Config.Read32(pos + IntelPchRootPorts.SptAcsCtrl);
            ctrl |= cap & (uint)(PciRegs.AcsSv | PciRegs.AcsRr | PciRegs.AcsCr | PciRegs.AcsUf);
            if (cmdline.NoAts) ctrl |= cap & PciRegs.AcsTb;
            dev.Config.Write32(pos + IntelPchRootPorts.SptAcsCtrl, ctrl);
            return true;
        }
        return false;
    }

    /// <summary>
    /// __pci_config_acs(): with a fixed mask (disable_acs_redir) every listed device gets those bits cleared;
    /// with mask 0 (config_acs) each entry carries its own bit string before '@', read right to left.
    /// </summary>
    private static ushort ConfigAcs(PciFunction dev, ushort ctrl, ushort fwCtrl, string? p, ushort acsMask, ushort acsFlags)
    {
        if (p is null) return ctrl;
        ushort mask = acsMask, flags = acsFlags;
        int pos = 0, ret = 0;
        while (pos < p.Length)
        {
            if (acsMask == 0)
            {
                int at = p.IndexOf('@', pos);
                if (at < 0) return ctrl; // "ACS Flags missing"
                mask = 0; flags = 0;
                int shift = 0;
                for (int end = at - 1; end >= pos; end--, shift++)
                {
                    char c = p[end];
                    if (c == '0') mask |= (ushort)(1 << shift);
                    else if (c == '1') { mask |= (ushort)(1 << shift); flags |= (ushort)(1 << shift); }
                    else if (c is 'x' or 'X') { }
                    else return ctrl; // "Invalid ACS flags ... ignoring"
                    if (shift > 15) return ctrl;
                }
                pos = at + 1;
            }
            if ((mask & ~ValidBits) != 0) return ctrl; // "Invalid ACS flags specified"
            ret = PciDevStrMatch.Match(dev, p, ref pos);
            if (ret < 0 || ret == 1) break;
            if (pos >= p.Length || (p[pos] != ';' && p[pos] != ',')) break;
            pos++;
        }
        if (ret != 1) return ctrl;
        if (IntelPchRootPorts.IsSptAcsRootPort(dev) && dev.AcsCap != 0)
        {
            // pci_dev_specific_disable_acs_redir(): the SPT quirk clears RR|CR|EC in its dword control instead.
            int ctl = dev.AcsCap + IntelPchRootPorts.SptAcsCtrl;
            dev.Config.Write32(ctl, dev.Config.Read32(ctl) & ~(uint)(PciRegs.AcsRr | PciRegs.AcsCr | PciRegs.AcsEc));
            return ctrl;
        }
        return (ushort)((fwCtrl & ~mask) | (flags & mask));
    }
}
