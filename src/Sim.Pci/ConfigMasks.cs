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
        // Built in per-thread scratch space, then adopted as pooled arrays: no per-function garbage.
        var b = builder ??= new MaskBuilder();
        b.Start(cs);
        try
        {
            Build(cs, b, resources);
            cs.AdoptMasks(b.Writable, b.W1c);
        }
        finally
        {
            b.Clear();
        }
    }

    [ThreadStatic] private static MaskBuilder? builder;

    /// <summary>Masks under construction for one space: its current masks, then the bits set here.</summary>
    private sealed class MaskBuilder
    {
        private readonly byte[] writable = new byte[ConfigSpace.ExtendedSize], w1c = new byte[ConfigSpace.ExtendedSize];
        private int size, end; // end: past the last byte that may be non-zero

        public ReadOnlySpan<byte> Writable => writable.AsSpan(0, end);
        public ReadOnlySpan<byte> W1c => w1c.AsSpan(0, end);

        public void Start(ConfigSpace cs)
        {
            size = cs.Capacity;
            cs.WritableMaskBytes.CopyTo(writable);
            cs.W1cMaskBytes.CopyTo(w1c);
            end = Math.Max(cs.WritableMaskBytes.Length, cs.W1cMaskBytes.Length);
        }

        public void Clear()
        {
            Array.Clear(writable, 0, end);
            Array.Clear(w1c, 0, end);
            end = 0;
        }

        public void SetWritable(int offset, int width, uint mask) => Set(writable, offset, width, mask);
        public void SetW1c(int offset, int width, uint mask) => Set(w1c, offset, width, mask);

        private void Set(byte[] m, int offset, int width, uint mask)
        {
            // A capability near the end of a 256-byte space may describe registers past it: they do not exist.
            ArgumentOutOfRangeException.ThrowIfNegative(offset);
            width = Math.Min(width, size - offset);
            if (width <= 0) return;
            for (int i = 0; i < width; i++) m[offset + i] = (byte)(mask >> (8 * i));
            end = Math.Max(end, offset + width);
        }
    }

    private static void Build(ConfigSpace cs, MaskBuilder b, IReadOnlyList<PciResource> resources)
    {
        b.SetWritable(PciRegs.Command, 2, 0x0547);        // I/O, MEM, MASTER, PARITY, SERR, INTX_DISABLE
        b.SetW1c(PciRegs.Status, 2, 0xf900);              // error status bits
        b.SetWritable(PciRegs.CacheLineSize, 1, 0xff);
        b.SetWritable(PciRegs.LatencyTimer, 1, 0xff);
        b.SetWritable(PciRegs.InterruptLine, 1, 0xff);
        byte layout = (byte)(cs.Read8(PciRegs.HeaderType) & PciRegs.HeaderTypeMask);
        if (layout == PciRegs.HeaderTypeBridge) BridgeMasks(b);

        foreach (var r in resources)
        {
            int reg = r.Index switch
            {
                < 6 => PciRegs.BaseAddress0 + 4 * r.Index,
                PciResource.RomIndex => layout == PciRegs.HeaderTypeBridge ? PciRegs.RomAddress1 : PciRegs.RomAddress,
                _ => -1,
            };
            if (reg >= 0) BarMask(b, reg, r);
        }

        for (var w = new ConfigSpace.CapWalk(cs); w.Next();) CapabilityMasks(cs, b, w.Offset, w.Id);
        for (var w = new ConfigSpace.ExtCapWalk(cs); w.Next();) ExtCapabilityMasks(cs, b, w.Offset, w.Id, resources);
    }

    private static void BarMask(MaskBuilder b, int reg, PciResource r)
    {
        b.SetWritable(reg, 4, r.LowMask);
        if (r.Kind == ResourceKind.Mem64) b.SetWritable(reg + 4, 4, r.HighMask);
    }

    private static void BridgeMasks(MaskBuilder b)
    {
        b.SetWritable(PciRegs.PrimaryBus, 4, 0xffffffff); // primary, secondary, subordinate, sec latency
        b.SetWritable(PciRegs.IoBase, 2, 0xf0f0);
        b.SetW1c(PciRegs.SecStatus, 2, 0xf900);
        b.SetWritable(PciRegs.MemoryBase, 4, 0xfff0fff0);
        b.SetWritable(PciRegs.PrefMemoryBase, 4, 0xfff0fff0);
        b.SetWritable(PciRegs.PrefBaseUpper32, 4, 0xffffffff);
        b.SetWritable(PciRegs.PrefLimitUpper32, 4, 0xffffffff);
        b.SetWritable(PciRegs.IoBaseUpper16, 4, 0xffffffff);
        b.SetWritable(PciRegs.BridgeControl, 2, 0x0fff);
    }

    private static void CapabilityMasks(ConfigSpace cs, MaskBuilder b, int pos, byte id)
    {
        switch (id)
        {
            case PciRegs.CapIdPm:
                b.SetWritable(pos + 4, 2, 0x0103);        // PowerState, PME_En
                b.SetW1c(pos + 4, 2, 0x8000);             // PME_Status
                break;
            case PciRegs.CapIdMsi:
            {
                ushort flags = cs.Read16(pos + PciRegs.MsiFlags);
                bool is64 = (flags & PciRegs.MsiFlags64Bit) != 0, maskable = (flags & PciRegs.MsiFlagsMaskBit) != 0;
                b.SetWritable(pos + 2, 2, 0x0071);        // enable, multiple message enable
                b.SetWritable(pos + 4, 4, 0xfffffffc);
                int data = pos + 8;
                if (is64) { b.SetWritable(pos + 8, 4, 0xffffffff); data = pos + 12; }
                b.SetWritable(data, 2, 0xffff);
                if (maskable) b.SetWritable(data + 4, 4, 0xffffffff);
                break;
            }
            case PciRegs.CapIdMsix:
                b.SetWritable(pos + PciRegs.MsixFlags, 2, PciRegs.MsixFlagsEnable | PciRegs.MsixFlagsMaskAll);
                break;
            case PciRegs.CapIdExp:
            {
                ushort flags = cs.Read16(pos + PciRegs.ExpFlags);
                var type = (PcieType)((flags & PciRegs.ExpFlagsType) >> 4);
                b.SetWritable(pos + PciRegs.ExpDevCtl, 2, 0xffff);
                b.SetW1c(pos + PciRegs.ExpDevSta, 2, 0x000f);
                b.SetWritable(pos + PciRegs.ExpLnkCtl, 2, 0x0fff);
                if (type is PcieType.RootPort or PcieType.Downstream)
                {
                    b.SetWritable(pos + PciRegs.ExpSltCtl, 2, 0x1fff);
                    b.SetW1c(pos + PciRegs.ExpSltSta, 2, 0x011f);
                }
                if (type == PcieType.RootPort) b.SetWritable(pos + PciRegs.ExpRootCtl, 2, 0x001f);
                // Device Control 2 exists only in a version 2 capability (e1000e's is version 1, and ends
                // before 0x100 on a conventional bus).
                if ((flags & PciRegs.ExpFlagsVersion) >= 2) b.SetWritable(pos + PciRegs.ExpDevCtl2, 2, 0xffff);
                break;
            }
            case PciRegs.CapIdShpc:
                b.SetWritable(pos + 2, 1, 0xff);          // DWORD select
                break;
        }
    }

    private static void ExtCapabilityMasks(ConfigSpace cs, MaskBuilder b, int pos, ushort id, IReadOnlyList<PciResource> resources)
    {
        switch (id)
        {
            case PciRegs.ExtCapIdAcs:
                b.SetWritable(pos + PciRegs.AcsCtrl, 2, cs.Read16(pos + PciRegs.AcsCap) & 0x7fu);
                break;
            case PciRegs.ExtCapIdAri:
                b.SetWritable(pos + PciRegs.AriCtrl, 2, 0x0073);
                break;
            case PciRegs.ExtCapIdErr:
                b.SetW1c(pos + 0x04, 4, 0xffffffff);
                b.SetWritable(pos + 0x08, 4, 0xffffffff);
                b.SetWritable(pos + 0x0c, 4, 0xffffffff);
                b.SetW1c(pos + 0x10, 4, 0xffffffff);
                b.SetWritable(pos + 0x14, 4, 0xffffffff);
                b.SetWritable(pos + 0x2c, 4, 0x7);
                break;
            case PciRegs.ExtCapIdSriov:
                b.SetWritable(pos + PciRegs.SriovCtrl, 2, 0x001f);
                b.SetWritable(pos + PciRegs.SriovNumVf, 2, 0xffff);
                b.SetWritable(pos + PciRegs.SriovSysPgSize, 4, 0xffffffff);
                foreach (var r in resources.Where(r => r.IsVfBar))
                    BarMask(b, pos + PciRegs.SriovBar + 4 * (r.Index - PciResource.FirstVfIndex), r);
                break;
        }
    }
}
