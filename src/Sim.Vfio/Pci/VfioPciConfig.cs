using System.Buffers.Binary;
using VfioSim.Pci;
using VfioSim.Uapi;

namespace VfioSim.Vfio.Pci;

/// <summary>What config-space writes do beyond the bytes: the vfio-pci device reacts (vfio_pci_config.c callers).</summary>
public interface IVfioPciConfigHost
{
    /// <summary>The virtual Command.INTX_DISABLE bit changed: mask (true) or unmask INTx.</summary>
    void IntxDisableChanged(bool disabled);

    /// <summary>Memory decode was turned off: every BAR mmap is zapped.</summary>
    void MemoryDecodeDisabled();

    /// <summary>MSI was enabled through VFIO_DEVICE_SET_IRQS (only then may the Enable bit reach the device).</summary>
    bool MsiEnabledByUser { get; }

    /// <summary>Initiate FLR (PCIe DevCtl or AF): the kernel resets the function.</summary>
    void FunctionLevelReset();

    /// <summary>A write to PMCSR asked for D-state <paramref name="state"/> (0-3).</summary>
    void SetPowerState(int state);
}

/// <summary>
/// vfio-pci's virtualised config space (drivers/vfio/pci/vfio_pci_config.c): a virtual copy (vconfig) and per
/// byte two masks — virt (the value lives in vconfig) and write (the user may change it) — chosen by the
/// capability that owns the byte; hidden capabilities are unlinked from the chain and, with every byte no exposed
/// capability owns, pass raw to the hardware. Accesses are cut into naturally aligned chunks of 4, 2 or 1 bytes.
/// </summary>
public sealed class VfioPciConfig
{
    private enum Kind : byte { Raw, Basic, Pm, Msi, Exp, Af, Vendor, ReadOnly, Msix, Aer, Pwr, ExtVendor, ExtHeaderOnly }

    private const ushort CmdIntxDisable = PciRegs.CommandIntxDisable;

    private readonly PciFunction dev;
    private readonly IVfioPciConfigHost host;
    private readonly int size;
    private readonly byte[] vconfig;
    private readonly byte[] virt;
    private readonly byte[] write;
    private readonly Kind[] owner;
    private readonly int[] capStart;
    private bool barDirty = true;

    public VfioPciConfig(PciFunction dev, IVfioPciConfigHost host)
    {
        this.dev = dev;
        this.host = host;
        size = dev.CfgSize;
        vconfig = new byte[size];
        virt = new byte[size];
        write = new byte[size];
        owner = new Kind[size];
        capStart = new int[size];
        for (int i = 0; i < size; i++) vconfig[i] = dev.Config.Read8(i);
        InitBasic();
        InitCaps();
        if (size > ConfigSpace.ConventionalSize) InitExtCaps();
    }

    /// <summary>Multiple Message Capable as vfio reports it: log2 of the vectors enabled at the last MSI enable.</summary>
    public int MsiQmax { get; set; }

    /// <summary>The virtual Command register's MEMORY bit: gates BAR read/write/mmap (__vfio_pci_memory_enabled()).</summary>
    public bool MemoryEnabled => (Virt16(PciRegs.Command) & PciRegs.CommandMemory) != 0;

    public bool VirtIntxDisabled => (Virt16(PciRegs.Command) & CmdIntxDisable) != 0;

    /// <summary>The virtual interrupt pin (0 when INTx is hidden: VFs, no IRQ).</summary>
    public byte InterruptPin => vconfig[PciRegs.InterruptPin];

    public int Size => size;

    private ushort Virt16(int pos) => BinaryPrimitives.ReadUInt16LittleEndian(vconfig.AsSpan(pos));

    private void Perm(int pos, int width, uint virtMask, uint writeMask, Kind kind, int start)
    {
        for (int i = 0; i < width && pos + i < size; i++)
        {
            virt[pos + i] = (byte)(virtMask >> (8 * i));
            write[pos + i] = (byte)(writeMask >> (8 * i));
            owner[pos + i] = kind;
            capStart[pos + i] = start;
        }
    }

    // init_pci_cap_basic_perm()
    private void InitBasic()
    {
        Perm(0, 0x40, 0, 0, Kind.Basic, 0);
        Perm(PciRegs.VendorId, 2, 0xffff, 0, Kind.Basic, 0);
        Perm(PciRegs.DeviceId, 2, 0xffff, 0, Kind.Basic, 0);
        Perm(PciRegs.Command, 2, CmdIntxDisable, 0xffff, Kind.Basic, 0);
        Perm(PciRegs.Status, 2, PciRegs.StatusCapList, 0, Kind.Basic, 0);
        Perm(PciRegs.CacheLineSize, 1, 0, 0xff, Kind.Basic, 0);
        Perm(PciRegs.LatencyTimer, 1, 0, 0xff, Kind.Basic, 0);
        Perm(PciRegs.Bist, 1, 0, 0xff, Kind.Basic, 0);
        for (int bar = 0; bar < 6; bar++) Perm(PciRegs.BaseAddress0 + 4 * bar, 4, ~0u, ~0u, Kind.Basic, 0);
        Perm(PciRegs.RomAddress, 4, ~0u, ~0u, Kind.Basic, 0);
        Perm(PciRegs.CapabilityList, 1, 0xff, 0, Kind.Basic, 0);
        Perm(PciRegs.InterruptLine, 1, 0xff, 0xff, Kind.Basic, 0);
        Perm(PciRegs.InterruptPin, 1, 0xff, 0, Kind.Basic, 0);
        if (dev.IsVirtFn)
        {
            // VFs read 0xffff in hardware; vfio shows the IDs the PF reports (vfio_config_init()).
            BinaryPrimitives.WriteUInt16LittleEndian(vconfig.AsSpan(PciRegs.VendorId), dev.VendorId);
            BinaryPrimitives.WriteUInt16LittleEndian(vconfig.AsSpan(PciRegs.DeviceId), dev.DeviceId);
            vconfig[PciRegs.InterruptPin] = 0; // a VF has no INTx
        }
    }

    // vfio_cap_init(): walk the list, hide what has no length, link around it.
    private void InitCaps()
    {
        if ((dev.Config.Read16(PciRegs.Status) & PciRegs.StatusCapList) == 0) return;
        int prev = PciRegs.CapabilityList;
        int pos = dev.Config.Read8(PciRegs.CapabilityList);
        for (int loops = 48; pos != 0 && loops > 0; loops--)
        {
            byte id = dev.Config.Read8(pos);
            byte next = dev.Config.Read8(pos + 1);
            int len = CapLength(id, pos);
            if (len == 0)
            {
                vconfig[prev] = next; // hidden: unlinked from the virtual chain
                pos = next;
                continue;
            }
            InitCapPerms(id, pos, len);
            Perm(pos, 2, 0xffff, 0, owner[pos], pos); // ID and next are virtual, read-only
            prev = pos + 1;
            pos = next;
        }
    }

    // pci_cap_length[] and vfio_cap_len()
    private int CapLength(byte id, int pos) => id switch
    {
        PciRegs.CapIdPm => 8,
        PciRegs.CapIdAgp => 12,
        PciRegs.CapIdVpd => 8,
        PciRegs.CapIdMsi => MsiLength(dev.Config.Read16(pos + PciRegs.MsiFlags)),
        PciRegs.CapIdPcix => 8,
        PciRegs.CapIdHt => 24,
        PciRegs.CapIdVendor => dev.Config.Read8(pos + 2),
        PciRegs.CapIdExp => ExpLength(pos),
        PciRegs.CapIdMsix => 12,
        PciRegs.CapIdSata => 8,
        PciRegs.CapIdAf => 6,
        _ => 0, // null, Slot ID, CompactPCI, Debug, CCRC, SHPC, SSVID, AGP3, secure, EA, unknown: hidden
    };

    private static int MsiLength(ushort flags) =>
        10 + ((flags & PciRegs.MsiFlags64Bit) != 0 ? 4 : 0) + ((flags & PciRegs.MsiFlagsMaskBit) != 0 ? 10 : 0);

    // PCI_CAP_EXP_*_SIZEOF_*: v1 RC endpoint 0x0c else 20; v2 RC endpoint 0x2c else 52. (The v2 endpoint size was
    // briefly 0x32 by mistake and fixed to 0x34, "PCI: Fix the PCI_CAP_EXP_ENDPOINT_SIZEOF_V2 value", before 6.12.)
    private int ExpLength(int pos)
    {
        ushort flags = dev.Config.Read16(pos + PciRegs.ExpFlags);
        bool rcEnd = ((flags & PciRegs.ExpFlagsType) >> 4) == (int)PcieType.RcEndpoint;
        int len = (flags & 0xf) >= 2 ? (rcEnd ? 0x2c : 52) : (rcEnd ? 0x0c : 20);
        return Math.Min(len, size - pos);
    }

    private void InitCapPerms(byte id, int pos, int len)
    {
        switch (id)
        {
            case PciRegs.CapIdPm:
                // init_pci_cap_pm_perm(): PME_Support (PMC 15:11) virtual, read-only; in PMCSR PME_En and PME_Status
                // virtual, the power-state bits read-only (vfio_pm_config_write() performs the transition), the
                // rest of the dword writable.
                Perm(pos, len, 0, 0, Kind.Pm, pos);
                Perm(pos + 2, 2, 0xf800, 0, Kind.Pm, pos);
                Perm(pos + 4, 4, 0x8100, ~(0x8100u | 0x3u), Kind.Pm, pos);
                vconfig[pos + 3] &= 0x07;                                  // PME_Support reads 0
                vconfig[pos + 5] &= 0x7e;                                  // PME_Status, PME_En read 0
                break;
            case PciRegs.CapIdMsi:
                // init_pci_cap_msi_perm(): flags low byte, address and data virtual + writable; mask/pending raw.
                Perm(pos, len, 0, 0, Kind.Msi, pos);
                Perm(pos + PciRegs.MsiFlags, 1, 0xff, 0xff, Kind.Msi, pos);
                bool is64 = (dev.Config.Read16(pos + PciRegs.MsiFlags) & PciRegs.MsiFlags64Bit) != 0;
                Perm(pos + 4, 4, ~0u, ~0u, Kind.Msi, pos);
                int data = pos + 8;
                if (is64) { Perm(pos + 8, 4, ~0u, ~0u, Kind.Msi, pos); data = pos + 12; }
                Perm(data, 2, 0xffff, 0xffff, Kind.Msi, pos);
                if ((dev.Config.Read16(pos + PciRegs.MsiFlags) & PciRegs.MsiFlagsMaskBit) != 0)
                {
                    Perm(data + 4, 4, 0, ~0u, Kind.Msi, pos);
                    Perm(data + 8, 4, 0, ~0u, Kind.Msi, pos); // pending: raw, writable (init_pci_msi_perm())
                }
                vconfig[pos + PciRegs.MsiFlags] &= 0x81;                   // MME and MMC: reported from msi_qmax
                break;
            case PciRegs.CapIdExp:
                // init_pci_cap_exp_perm(): DevCtl writable but Phantom Functions; MPS and FLR virtual;
                // DevCtl2 writable but ARI Forwarding.
                Perm(pos, len, 0, 0, Kind.Exp, pos);
                Perm(pos + PciRegs.ExpDevCtl, 2, 0xf0e0, 0xfdff, Kind.Exp, pos); // FLR, MPS, MRRS virtual; Phantom not writable
                vconfig[pos + PciRegs.ExpDevCtl + 1] &= 0x7f;
                if (len > PciRegs.ExpDevCtl2) Perm(pos + PciRegs.ExpDevCtl2, 2, 0, 0xffdf, Kind.Exp, pos);
                break;
            case PciRegs.CapIdAf:
                Perm(pos, len, 0, 0, Kind.Af, pos);
                Perm(pos + 5, 1, 0x01, 0x01, Kind.Af, pos);
                break;
            case PciRegs.CapIdVendor:
                Perm(pos, len, 0, 0, Kind.Vendor, pos);
                break;
            case PciRegs.CapIdMsix:
                Perm(pos, len, 0, 0, Kind.Msix, pos);
                break;
            default:
                Perm(pos, len, 0, 0, Kind.ReadOnly, pos);
                break;
        }
    }

    // vfio_ecap_init()
    private void InitExtCaps()
    {
        int epos = ConfigSpace.ConventionalSize, prev = 0, exposed = 0;
        for (int loops = (ConfigSpace.ExtendedSize - ConfigSpace.ConventionalSize) / 8; loops > 0 && epos >= 0x100; loops--)
        {
            uint header = dev.Config.Read32(epos);
            ushort id = (ushort)(header & 0xffff);
            int next = (int)((header >> 20) & 0xffc);
            int len = ExtCapLength(id, epos);
            bool hidden = false;
            if (len == 0)
            {
                if (prev != 0)
                {
                    SetNext(prev, next);
                    epos = next;
                    continue;
                }
                len = 4; // a placeholder at 0x100 keeps the chain: ID 0, version 0, the real next pointer
                hidden = true;
            }
            var kind = id switch
            {
                PciRegs.ExtCapIdErr => Kind.Aer,
                0x0004 => Kind.Pwr,
                0x000b or 0x0023 => Kind.ExtVendor,
                _ => Kind.ReadOnly,
            };
            Perm(epos, Math.Min(len, size - epos), 0, 0, hidden ? Kind.ExtHeaderOnly : kind, epos);
            if (kind == Kind.Aer) InitAerPerms(epos);
            if (kind == Kind.Pwr) Perm(epos + 4, 1, 0, 0xff, Kind.Pwr, epos);
            Perm(epos, 4, ~0u, 0, hidden ? Kind.ExtHeaderOnly : kind, epos); // header dword virtual, read-only
            if (hidden) BinaryPrimitives.WriteUInt32LittleEndian(vconfig.AsSpan(epos), header & (0xffcU << 20));
            else exposed++;
            prev = epos;
            epos = next;
        }
        if (exposed == 0) BinaryPrimitives.WriteUInt32LittleEndian(vconfig.AsSpan(0x100), 0);
    }

    private void SetNext(int headerPos, int next)
    {
        uint v = BinaryPrimitives.ReadUInt32LittleEndian(vconfig.AsSpan(headerPos));
        BinaryPrimitives.WriteUInt32LittleEndian(vconfig.AsSpan(headerPos), (v & ~(0xffcU << 20)) | ((uint)next << 20));
    }

    // pci_ext_cap_length[] and vfio_ext_cap_len(): 0 = hidden
    private int ExtCapLength(ushort id, int pos) => id switch
    {
        PciRegs.ExtCapIdErr => 44,
        PciRegs.ExtCapIdVc or 0x0009 => 16,            // VC, VC9 (simplified: the fixed part)
        PciRegs.ExtCapIdDsn => 12,
        0x0004 => 16,                                  // power budgeting
        0x0008 => 16,                                  // MFVC (fixed part)
        0x000b => (int)(dev.Config.Read32(pos + 4) >> 20), // vendor-specific: length from VSEC header
        PciRegs.ExtCapIdAcs => 8,
        PciRegs.ExtCapIdAri => 8,
        PciRegs.ExtCapIdAts => 8,
        PciRegs.ExtCapIdSriov => 64,
        0x0012 => 48,                                  // multicast
        PciRegs.ExtCapIdPri => 16,
        0x0015 => 12,                                  // resizable BAR (one BAR)
        0x0016 => 16,                                  // DPA
        0x0017 => 12,                                  // TPH
        PciRegs.ExtCapIdLtr => 8,
        0x0023 => (int)(dev.Config.Read32(pos + 4) >> 20), // DVSEC
        _ => 0,                                        // RCLD, RCILC, RCEC, RCRB, CAC, MR-IOV, Secondary PCIe, PMUX, PASID, DPC, ...
    };

    // init_pci_ext_cap_err_perm()
    private void InitAerPerms(int pos)
    {
        // undefined, DLP, surprise down, poisoned TLP, FC protocol, completion timeout, completer abort, unexpected
        // completion, receiver overflow, malformed TLP, ECRC, unsupported request, ACS violation, internal, MC
        // blocked, AtomicOp egress blocked, TLP prefix blocked
        const uint UncorrectableBits = 0x03fff031;
        const uint CorrectableBits = 0x0000f1c1;
        Perm(pos + 0x04, 4, 0, UncorrectableBits, Kind.Aer, pos); // status
        Perm(pos + 0x08, 4, 0, UncorrectableBits, Kind.Aer, pos); // mask
        Perm(pos + 0x0c, 4, 0, UncorrectableBits, Kind.Aer, pos); // severity
        Perm(pos + 0x10, 4, 0, CorrectableBits, Kind.Aer, pos);   // correctable status
        Perm(pos + 0x14, 4, 0, CorrectableBits, Kind.Aer, pos);   // correctable mask
        Perm(pos + 0x18, 4, 0, 0x00000140, Kind.Aer, pos);        // ECRC generation/check enable
    }

    // ---- the region: vfio_pci_config_rw() ----

    /// <summary>read() on the config region at <paramref name="pos"/>: bytes read or -EFAULT out of range.</summary>
    public long Read(long pos, Span<byte> buffer)
    {
        if (pos < 0 || pos >= size || pos + buffer.Length > size) return -Errno.EFAULT;
        int done = 0;
        while (done < buffer.Length)
        {
            int p = (int)pos + done, count = Chunk(p, buffer.Length - done);
            uint v = ReadChunk(p, count);
            for (int i = 0; i < count; i++) buffer[done + i] = (byte)(v >> (8 * i));
            done += count;
        }
        return done;
    }

    /// <summary>write() on the config region: bytes consumed (unwritable bits are silently ignored) or -EFAULT.</summary>
    public long Write(long pos, ReadOnlySpan<byte> buffer)
    {
        if (pos < 0 || pos >= size || pos + buffer.Length > size) return -Errno.EFAULT;
        int done = 0;
        while (done < buffer.Length)
        {
            int p = (int)pos + done, count = Chunk(p, buffer.Length - done);
            uint v = 0;
            for (int i = 0; i < count; i++) v |= (uint)buffer[done + i] << (8 * i);
            WriteChunk(p, count, v);
            done += count;
        }
        return done;
    }

    // vfio_config_do_rw(): naturally aligned chunks of 4, then 2, then 1 bytes.
    private static int Chunk(int pos, int remaining) =>
        remaining >= 4 && pos % 4 == 0 ? 4 : remaining >= 2 && pos % 2 == 0 ? 2 : 1;

    private static uint Mask(int count) => count == 4 ? ~0u : (1u << (8 * count)) - 1;

    private uint Get(byte[] a, int pos, int count)
    {
        uint v = 0;
        for (int i = 0; i < count; i++) v |= (uint)a[pos + i] << (8 * i);
        return v;
    }

    private void Put(byte[] a, int pos, int count, uint v)
    {
        for (int i = 0; i < count; i++) a[pos + i] = (byte)(v >> (8 * i));
    }

    private uint ReadChunk(int pos, int count)
    {
        var kind = owner[pos];
        if (kind == Kind.Raw) return dev.Config.Read(pos, count);
        if (kind == Kind.Basic && pos >= PciRegs.BaseAddress0 && pos < PciRegs.BaseAddress0 + 24 || pos is >= PciRegs.RomAddress and < PciRegs.RomAddress + 4)
            BarFixup();
        if (kind == Kind.Msi) MsiFixup(capStart[pos]);
        // vfio_default_config_read(): virtual bits from vconfig, the rest from hardware
        uint value = Get(vconfig, pos, count), virtMask = Get(virt, pos, count);
        if (virtMask != Mask(count)) value = (value & virtMask) | (dev.Config.Read(pos, count) & ~virtMask);
        return value & Mask(count);
    }

    private void WriteChunk(int pos, int count, uint value)
    {
        var kind = owner[pos];
        switch (kind)
        {
            case Kind.Raw or Kind.Vendor or Kind.ExtVendor:
                dev.Config.Write(pos, count, value); // raw pass-through
                return;
            case Kind.ReadOnly or Kind.Msix or Kind.ExtHeaderOnly:
                return;
            case Kind.Basic:
                BasicWrite(pos, count, value);
                return;
            case Kind.Msi:
                MsiWrite(capStart[pos], pos, count, value);
                return;
            case Kind.Pm:
            {
                // vfio_pm_config_write(): PME_Status is write-1-to-clear in vconfig; a write that starts at PMCSR
                // asks for the D-state in its low two bits.
                DefaultWrite(pos, count, value);
                int pmcsr = capStart[pos] + 4;
                if (pos <= pmcsr + 1 && pmcsr + 1 < pos + count && ((value >> (8 * (pmcsr + 1 - pos))) & 0x80) != 0)
                    vconfig[pmcsr + 1] &= 0x7f;
                if (pos == pmcsr) host.SetPowerState((int)(value & 3));
                return;
            }
            case Kind.Exp:
                ExpWrite(capStart[pos], pos, count, value);
                return;
            case Kind.Af:
                DefaultWrite(pos, count, value);
                int afCtrl = capStart[pos] + 5;
                if (pos <= afCtrl && afCtrl < pos + count && (vconfig[afCtrl] & 1) != 0)
                {
                    vconfig[afCtrl] &= 0xfe;
                    host.FunctionLevelReset();
                }
                return;
            default:
                DefaultWrite(pos, count, value);
                return;
        }
    }

    // vfio_default_config_write()
    private void DefaultWrite(int pos, int count, uint value)
    {
        uint w = Get(write, pos, count);
        if (w == 0) return;
        uint v = Get(virt, pos, count);
        if ((w & v) != 0)
        {
            uint cur = Get(vconfig, pos, count);
            Put(vconfig, pos, count, (cur & ~(w & v)) | (value & w & v));
        }
        if ((w & ~v) != 0)
        {
            uint phys = dev.Config.Read(pos, count);
            dev.Config.Write(pos, count, (phys & ~(w & ~v)) | (value & w & ~v));
        }
    }

    // vfio_basic_config_write()
    private void BasicWrite(int pos, int count, uint value)
    {
        bool command = pos <= PciRegs.Command && PciRegs.Command < pos + count;
        uint newCmd = command ? (value >> (8 * (PciRegs.Command - pos))) & 0xffff : 0;
        bool wasMemory = MemoryEnabled;
        DefaultWrite(pos, count, value);
        if (command)
        {
            const ushort mask = PciRegs.CommandMemory | PciRegs.CommandIo;
            ushort vcmd = Virt16(PciRegs.Command);
            vcmd = (ushort)(((uint)vcmd & ~(uint)mask) | (newCmd & mask));
            BinaryPrimitives.WriteUInt16LittleEndian(vconfig.AsSpan(PciRegs.Command), vcmd);
            if (wasMemory && (newCmd & PciRegs.CommandMemory) == 0) host.MemoryDecodeDisabled();
            host.IntxDisableChanged((vcmd & CmdIntxDisable) != 0);
        }
        if (pos >= PciRegs.BaseAddress0 && pos < PciRegs.BaseAddress0 + 24 || pos is >= PciRegs.RomAddress and < PciRegs.RomAddress + 4)
            barDirty = true;
    }

    // vfio_bar_fixup(): sizing emulation on the virtual BARs.
    private void BarFixup()
    {
        if (!barDirty) return;
        for (int i = 0; i < 6; i++)
        {
            int reg = PciRegs.BaseAddress0 + 4 * i;
            var r = dev.Resources.FirstOrDefault(x => x.Index == i && !x.IsVfBar);
            if (r is null)
            {
                // unimplemented BAR, or the upper half of a 64-bit BAR (handled with its lower half)
                if (i == 0 || dev.Resources.FirstOrDefault(x => x.Index == i - 1)?.Kind != ResourceKind.Mem64)
                    BinaryPrimitives.WriteUInt32LittleEndian(vconfig.AsSpan(reg), 0);
                continue;
            }
            ulong mask = ~(r.Size - 1);
            uint low = BinaryPrimitives.ReadUInt32LittleEndian(vconfig.AsSpan(reg));
            low = (low & (uint)mask & (r.Kind == ResourceKind.Io ? 0xfffffffcu : 0xfffffff0u)) | r.TypeBits;
            BinaryPrimitives.WriteUInt32LittleEndian(vconfig.AsSpan(reg), low);
            if (r.Kind == ResourceKind.Mem64 && i < 5)
            {
                uint high = BinaryPrimitives.ReadUInt32LittleEndian(vconfig.AsSpan(reg + 4));
                BinaryPrimitives.WriteUInt32LittleEndian(vconfig.AsSpan(reg + 4), high & (uint)(mask >> 32));
            }
        }
        var rom = dev.Resources.FirstOrDefault(x => x.Index == PciResource.RomIndex);
        uint romv = BinaryPrimitives.ReadUInt32LittleEndian(vconfig.AsSpan(PciRegs.RomAddress));
        romv = rom is null ? 0 : romv & ((uint)~(rom.Size - 1) | PciRegs.RomAddressEnable);
        BinaryPrimitives.WriteUInt32LittleEndian(vconfig.AsSpan(PciRegs.RomAddress), romv);
        barDirty = false;
    }

    // vfio_msi_config_read(): Multiple Message Capable/Enable come from msi_qmax.
    private void MsiFixup(int cap)
    {
        int flags = cap + PciRegs.MsiFlags;
        vconfig[flags] = (byte)((vconfig[flags] & 0xf1) | ((MsiQmax & 7) << 1)); // Multiple Message Capable
    }

    // vfio_msi_config_write(): Enable only if MSI is on through SET_IRQS; Multiple Message Enable capped at qmax.
    private void MsiWrite(int cap, int pos, int count, uint value)
    {
        DefaultWrite(pos, count, value);
        int flags = cap + PciRegs.MsiFlags;
        if (pos == flags && count >= 2) // vfio_msi_config_write(): only a write of the whole flags word
        {
            byte f = vconfig[flags];
            int mme = Math.Min((f >> 4) & 7, MsiQmax);
            bool enable = (f & 1) != 0 && host.MsiEnabledByUser;
            vconfig[flags] = (byte)((f & 0x8e) | (mme << 4) | (enable ? 1 : 0));
            ushort hw = dev.Config.Read16(flags);
            dev.Config.Write16(flags, (ushort)((hw & 0xff8e) | (mme << 4) | (enable ? 1 : 0)));
        }
    }

    // vfio_exp_config_write(): Initiate FLR (bit 15) is virtual and resets the function when DevCap has FLR;
    // the Max Read Request Size the user writes is applied to the device (pcie_set_readrq()); MPS stays virtual.
    private void ExpWrite(int cap, int pos, int count, uint value)
    {
        DefaultWrite(pos, count, value);
        int devctl = cap + PciRegs.ExpDevCtl;
        if (pos <= devctl + 1 && devctl + 1 < pos + count)
        {
            ushort hw = dev.Config.Read16(devctl);
            dev.Config.Write16(devctl, (ushort)((hw & 0x8fff) | (Virt16(devctl) & 0x7000)));
        }
        if (pos <= devctl + 1 && devctl + 1 < pos + count && (vconfig[devctl + 1] & 0x80) != 0)
        {
            vconfig[devctl + 1] &= 0x7f;
            if ((dev.Config.Read32(cap + PciRegs.ExpDevCap) & 0x10000000) != 0) host.FunctionLevelReset();
        }
    }
}
