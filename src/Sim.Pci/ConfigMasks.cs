namespace VfioSim.Pci;

/// <summary>
/// Which bits of the standard registers and capabilities software can write, set once per function after its
/// image is built (as QEMU's pci_init_wmask/pci_init_w1cmask and each capability's init function do).
/// Everything not listed is read-only.
/// </summary>
public static class ConfigMasks
{
    public static void Apply(ConfigSpace cs, IReadOnlyList<PciResource> resources)
    {
        cs.SetWritable(PciRegs.Command, 2, 0x0547);        // I/O, MEM, MASTER, PARITY, SERR, INTX_DISABLE
        cs.SetW1c(PciRegs.Status, 2, 0xf900);              // error status bits
        cs.SetWritable(PciRegs.CacheLineSize, 1, 0xff);
        cs.SetWritable(PciRegs.LatencyTimer, 1, 0xff);
        cs.SetWritable(PciRegs.InterruptLine, 1, 0xff);
        byte layout = (byte)(cs.Read8(PciRegs.HeaderType) & PciRegs.HeaderTypeMask);
        if (layout == PciRegs.HeaderTypeBridge) BridgeMasks(cs);

        foreach (var r in resources)
        {
            int reg = r.Index switch
            {
                < 6 => PciRegs.BaseAddress0 + 4 * r.Index,
                PciResource.RomIndex => layout == PciRegs.HeaderTypeBridge ? PciRegs.RomAddress1 : PciRegs.RomAddress,
                _ => -1,
            };
            if (reg >= 0) BarMask(cs, reg, r);
        }

        foreach (var (pos, id) in cs.Capabilities()) CapabilityMasks(cs, pos, id);
        foreach (var (pos, id, _) in cs.ExtendedCapabilities()) ExtCapabilityMasks(cs, pos, id, resources);
    }

    private static void BarMask(ConfigSpace cs, int reg, PciResource r)
    {
        cs.SetWritable(reg, 4, r.LowMask);
        if (r.Kind == ResourceKind.Mem64) cs.SetWritable(reg + 4, 4, r.HighMask);
    }

    private static void BridgeMasks(ConfigSpace cs)
    {
        cs.SetWritable(PciRegs.PrimaryBus, 4, 0xffffffff); // primary, secondary, subordinate, sec latency
        cs.SetWritable(PciRegs.IoBase, 2, 0xf0f0);
        cs.SetW1c(PciRegs.SecStatus, 2, 0xf900);
        cs.SetWritable(PciRegs.MemoryBase, 4, 0xfff0fff0);
        cs.SetWritable(PciRegs.PrefMemoryBase, 4, 0xfff0fff0);
        cs.SetWritable(PciRegs.PrefBaseUpper32, 4, 0xffffffff);
        cs.SetWritable(PciRegs.PrefLimitUpper32, 4, 0xffffffff);
        cs.SetWritable(PciRegs.IoBaseUpper16, 4, 0xffffffff);
        cs.SetWritable(PciRegs.BridgeControl, 2, 0x0fff);
    }

    private static void CapabilityMasks(ConfigSpace cs, int pos, byte id)
    {
        switch (id)
        {
            case PciRegs.CapIdPm:
                cs.SetWritable(pos + 4, 2, 0x0103);        // PowerState, PME_En
                cs.SetW1c(pos + 4, 2, 0x8000);             // PME_Status
                break;
            case PciRegs.CapIdMsi:
            {
                ushort flags = cs.Read16(pos + PciRegs.MsiFlags);
                bool is64 = (flags & PciRegs.MsiFlags64Bit) != 0, maskable = (flags & PciRegs.MsiFlagsMaskBit) != 0;
                cs.SetWritable(pos + 2, 2, 0x0071);        // enable, multiple message enable
                cs.SetWritable(pos + 4, 4, 0xfffffffc);
                int data = pos + 8;
                if (is64) { cs.SetWritable(pos + 8, 4, 0xffffffff); data = pos + 12; }
                cs.SetWritable(data, 2, 0xffff);
                if (maskable) cs.SetWritable(data + 4, 4, 0xffffffff);
                break;
            }
            case PciRegs.CapIdMsix:
                cs.SetWritable(pos + PciRegs.MsixFlags, 2, PciRegs.MsixFlagsEnable | PciRegs.MsixFlagsMaskAll);
                break;
            case PciRegs.CapIdExp:
            {
                ushort flags = cs.Read16(pos + PciRegs.ExpFlags);
                var type = (PcieType)((flags & PciRegs.ExpFlagsType) >> 4);
                cs.SetWritable(pos + PciRegs.ExpDevCtl, 2, 0xffff);
                cs.SetW1c(pos + PciRegs.ExpDevSta, 2, 0x000f);
                cs.SetWritable(pos + PciRegs.ExpLnkCtl, 2, 0x0fff);
                if (type is PcieType.RootPort or PcieType.Downstream)
                {
                    cs.SetWritable(pos + PciRegs.ExpSltCtl, 2, 0x1fff);
                    cs.SetW1c(pos + PciRegs.ExpSltSta, 2, 0x011f);
                }
                if (type == PcieType.RootPort) cs.SetWritable(pos + PciRegs.ExpRootCtl, 2, 0x001f);
                // Device Control 2 exists only in a version 2 capability (e1000e's is version 1, and ends
                // before 0x100 on a conventional bus).
                if ((flags & PciRegs.ExpFlagsVersion) >= 2) cs.SetWritable(pos + PciRegs.ExpDevCtl2, 2, 0xffff);
                break;
            }
            case PciRegs.CapIdShpc:
                cs.SetWritable(pos + 2, 1, 0xff);          // DWORD select
                break;
        }
    }

    private static void ExtCapabilityMasks(ConfigSpace cs, int pos, ushort id, IReadOnlyList<PciResource> resources)
    {
        switch (id)
        {
            case PciRegs.ExtCapIdAcs:
                cs.SetWritable(pos + PciRegs.AcsCtrl, 2, cs.Read16(pos + PciRegs.AcsCap) & 0x7fu);
                break;
            case PciRegs.ExtCapIdAri:
                cs.SetWritable(pos + PciRegs.AriCtrl, 2, 0x0073);
                break;
            case PciRegs.ExtCapIdErr:
                cs.SetW1c(pos + 0x04, 4, 0xffffffff);
                cs.SetWritable(pos + 0x08, 4, 0xffffffff);
                cs.SetWritable(pos + 0x0c, 4, 0xffffffff);
                cs.SetW1c(pos + 0x10, 4, 0xffffffff);
                cs.SetWritable(pos + 0x14, 4, 0xffffffff);
                cs.SetWritable(pos + 0x2c, 4, 0x7);
                break;
            case PciRegs.ExtCapIdSriov:
                cs.SetWritable(pos + PciRegs.SriovCtrl, 2, 0x001f);
                cs.SetWritable(pos + PciRegs.SriovNumVf, 2, 0xffff);
                cs.SetWritable(pos + PciRegs.SriovSysPgSize, 4, 0xffffffff);
                foreach (var r in resources.Where(r => r.IsVfBar))
                    BarMask(cs, pos + PciRegs.SriovBar + 4 * (r.Index - PciResource.FirstVfIndex), r);
                break;
        }
    }
}
