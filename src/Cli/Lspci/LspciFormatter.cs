using System.Text;
using VfioSim.Iommu;
using VfioSim.Pci;

namespace VfioSim.Cli.Lspci;

/// <summary>What <c>vfio-sim lspci</c> was asked for, in lspci's terms.</summary>
public sealed record LspciOptions
{
    /// <summary><c>-t</c>: the bus tree instead of the device list.</summary>
    public bool Tree { get; init; }
    /// <summary><c>-v</c> (verbosity 1; -vv and -vvv are not implemented).</summary>
    public bool Verbose { get; init; }
    /// <summary>Names, <c>-n</c> or <c>-nn</c>.</summary>
    public IdDisplay Ids { get; init; }
    /// <summary><c>-D</c>: always show the PCI domain (lspci shows it anyway once any device is outside domain 0).</summary>
    public bool Domains { get; init; }
    /// <summary><c>-s</c>; null when not given.</summary>
    public SlotFilter? Filter { get; init; }
}

/// <summary>
/// lspci's output (pciutils 3.9, lspci.c) for a simulated machine, as a pure function of the topology and its
/// IOMMU groups. What the simulation has no state for is left out as lspci leaves it out when sysfs lacks it:
/// no "Kernel driver in use"/"Kernel modules" lines (no drivers are modelled), no "Physical Slot" (no hotplug
/// slots), no IRQ unless the Interrupt Line register holds one (nothing routes INTx yet).
/// </summary>
public static class LspciFormatter
{
    public static string Format(PciTopology topology, IommuGroups? groups, LspciOptions options)
    {
        var devices = LspciDevice.FromTopology(topology, groups);
        var names = PciNames.For(topology);
        if (options.Tree) return LspciTree.Format(devices, names, options);
        bool domains = options.Domains || devices.Any(d => d.Bdf.Domain != 0);
        var o = new StringBuilder();
        foreach (var d in devices.Where(d => options.Filter?.Matches(d.Bdf) ?? true))
        {
            if (options.Verbose) Verbose(o, d, names, options.Ids, domains);
            else Terse(o, d, names, options.Ids, domains, verbose: false);
        }
        return o.ToString();
    }

    private static char Flag(int value, int bit) => (value & bit) != 0 ? '+' : '-';

    /// <summary>show_terse(): the name line, and with -v the prog-if and the Subsystem line.</summary>
    private static void Terse(StringBuilder o, LspciDevice d, PciNames names, IdDisplay ids, bool domains, bool verbose)
    {
        if (domains) o.Append($"{d.Bdf.Domain:x4}:");
        o.Append($"{d.Bdf.Bus:x2}:{d.Bdf.Device:x2}.{d.Bdf.Function} ");
        o.Append(names.Class(d.Class, ids)).Append(": ").Append(names.Device(d.VendorId, d.DeviceId, ids));
        if (d.Revision != 0) o.Append($" (rev {d.Revision:x2})");
        if (verbose)
        {
            string? progIf = names.ProgIf(d.Class, d.ProgIf);
            if (d.ProgIf != 0 || progIf is not null)
                o.Append($" (prog-if {d.ProgIf:x2}").Append(progIf is null ? "" : $" [{progIf}]").Append(')');
        }
        o.Append('\n');
        if (verbose && d.SubsystemVendorId is not (0 or 0xffff))
            o.Append("\tSubsystem: ").Append(names.Subsystem(d.VendorId, d.DeviceId, d.SubsystemVendorId, d.SubsystemId, ids)).Append('\n');
    }

    /// <summary>show_verbose() at verbosity 1, followed by the blank line show_device() prints.</summary>
    private static void Verbose(StringBuilder o, LspciDevice d, PciNames names, IdDisplay ids, bool domains)
    {
        var cfg = d.Config;
        Terse(o, d, names, ids, domains, verbose: true);
        byte htype = d.HeaderType;
        byte bist = 0;
        switch (htype)
        {
            case PciRegs.HeaderTypeNormal:
                if (d.Class == 0x0604) o.Append($"\t!!! Invalid class {d.Class:x4} for header type {htype:x2}\n");
                bist = cfg.Read8(PciRegs.Bist);
                break;
            case PciRegs.HeaderTypeBridge:
            case PciRegs.HeaderTypeCardbus:
                if (d.Class >> 8 != 0x06) o.Append($"\t!!! Invalid class {d.Class:x4} for header type {htype:x2}\n");
                bist = cfg.Read8(PciRegs.Bist);
                break;
            default:
                o.Append($"\t!!! Unknown header type {htype:x2}\n");
                break;
        }
        bool known = htype <= PciRegs.HeaderTypeCardbus;
        if (known) o.Append(FlagsLine(d));
        if ((bist & 0x80) != 0)
            o.Append((bist & 0x40) != 0 ? "\tBIST is running\n" : $"\tBIST result: {bist & 0x0f:x2}\n");
        switch (htype)
        {
            case PciRegs.HeaderTypeNormal:
                Bases(o, d, 6, withoutConfig: false);
                Rom(o, d, PciRegs.RomAddress);
                CapabilityDecoder.Append(o, d, names, ids);
                break;
            case PciRegs.HeaderTypeBridge:
                Bridge(o, d);
                CapabilityDecoder.Append(o, d, names, ids);
                break;
            case PciRegs.HeaderTypeCardbus:
                CardBus(o, d);
                CapabilityDecoder.Append(o, d, names, ids);
                break;
            default:
                UnknownHeader(o, d);
                break;
        }
        o.Append('\n');
    }

    private static string FlagsLine(LspciDevice d)
    {
        int cmd = d.Config.Read16(PciRegs.Command), status = d.Config.Read16(PciRegs.Status);
        var s = new StringBuilder("\tFlags: ");
        if ((cmd & 0x4) != 0) s.Append("bus master, ");
        if ((cmd & 0x20) != 0) s.Append("VGA palette snoop, ");
        if ((cmd & 0x80) != 0) s.Append("stepping, ");
        if ((cmd & 0x200) != 0) s.Append("fast Back2Back, ");
        if ((status & 0x20) != 0) s.Append("66MHz, ");
        if ((status & 0x40) != 0) s.Append("user-definable features, ");
        s.Append(((status & 0x600) >> 9) switch { 0 => "fast", 1 => "medium", 2 => "slow", _ => "??" }).Append(" devsel");
        if ((cmd & 0x4) != 0) s.Append($", latency {d.Config.Read8(PciRegs.LatencyTimer)}");
        if (d.Irq != 0) s.Append($", IRQ {d.Irq}");
        if (d.IommuGroup is { } g) s.Append($", IOMMU group {g}");
        return s.Append('\n').ToString();
    }

    // ioflg_to_pciflg(): the BAR type bits the sysfs flags stand for.
    private static uint PciFlags(ulong ioflg)
    {
        if ((ioflg & SysfsResource.IoresourceIo) != 0) return PciRegs.BaseAddressSpaceIo;
        if ((ioflg & SysfsResource.IoresourceMem) == 0) return 0;
        return ((ioflg & SysfsResource.IoresourceMem64) != 0 ? PciRegs.BaseAddressMemType64 : 0u)
            | ((ioflg & SysfsResource.IoresourcePrefetch) != 0 ? PciRegs.BaseAddressMemPrefetch : 0u);
    }

    /// <summary>show_bases(): one line per BAR with the address (or why there is none), type and size.</summary>
    private static void Bases(StringBuilder o, LspciDevice d, int count, bool withoutConfig)
    {
        var cfg = d.Config;
        int cmd = withoutConfig ? PciRegs.CommandIo | PciRegs.CommandMemory : cfg.Read16(PciRegs.Command);
        for (int i = 0; i < count; i++)
        {
            var r = d.Bars[i];
            ulong pos = r.Start | (r.Flags & 0xf), len = r.Size, ioflg = r.Flags;
            uint flg = PciFlags(ioflg);
            if (pos == 0 && flg == 0 && len == 0) continue;
            o.Append('\t');
            uint hwLower = 0, hwUpper = 0;
            bool broken = false, isVirtual = false;
            if (!withoutConfig)
            {
                // Detect regions the OS reports but the device does not decode (VF BARs read 0).
                hwLower = cfg.Read32(PciRegs.BaseAddress0 + 4 * i);
                if ((hwLower & 1) == (flg & 1))
                {
                    if ((ioflg & SysfsResource.TypeBits) == SysfsResource.IoresourceMem && (hwLower & 6) == 4)
                    {
                        if (i >= count - 1) broken = true;
                        else hwUpper = cfg.Read32(PciRegs.BaseAddress0 + 4 * i + 1); // sic: lspci 3.9 reads at +1
                    }
                    if (pos != 0 && hwLower == 0 && hwUpper == 0) isVirtual = true;
                }
            }
            if ((flg & PciRegs.BaseAddressSpaceIo) != 0)
            {
                ulong a = pos & ~3ul;
                o.Append("I/O ports at ");
                o.Append(a != 0 || (cmd & PciRegs.CommandIo) != 0 ? $"{a:x4}" : hwLower != 0 ? "<ignored>" : "<unassigned>");
                if (isVirtual) o.Append(" [virtual]");
                else if ((cmd & PciRegs.CommandIo) == 0) o.Append(" [disabled]");
            }
            else
            {
                uint t = flg & 6;
                ulong a = pos & ~0xful;
                o.Append("Memory at ");
                o.Append(broken ? "<broken-64-bit-slot>" : a != 0 ? $"{a:x8}" : hwLower != 0 || hwUpper != 0 ? "<ignored>" : "<unassigned>");
                o.Append(" (").Append(t switch { 0 => "32-bit", 4 => "64-bit", 2 => "low-1M", _ => "type 3" })
                    .Append(", ").Append((flg & PciRegs.BaseAddressMemPrefetch) != 0 ? "" : "non-").Append("prefetchable)");
                if (isVirtual) o.Append(" [virtual]");
                else if ((cmd & PciRegs.CommandMemory) == 0) o.Append(" [disabled]");
            }
            o.Append(Size(len)).Append('\n');
        }
    }

    /// <summary>show_size(): " [size=16K]", nothing for 0.</summary>
    private static string Size(ulong x)
    {
        if (x == 0) return "";
        string[] suffix = ["", "K", "M", "G", "T"];
        int i = 0;
        for (; i < suffix.Length - 1 && x % 1024 == 0; i++) x /= 1024;
        return $" [size={(uint)x}{suffix[i]}]";
    }

    /// <summary>show_rom(); reg is the ROM BAR offset, or -1 to go by sysfs alone.</summary>
    private static void Rom(StringBuilder o, LspciDevice d, int reg)
    {
        var r = d.Rom;
        ulong rom = r.Start | (r.Flags & 0xf), len = r.Size;
        ulong flg = reg >= 0 ? d.Config.Read32(reg) : PciFlags(r.Flags);
        int cmd = reg >= 0 ? d.Config.Read16(PciRegs.Command) : PciRegs.CommandMemory;
        const ulong mask = ~0x7fful;
        if (rom == 0 && flg == 0 && len == 0) return;
        bool isVirtual = false;
        if (reg >= 0 && (rom & mask) != 0 && (flg & mask) == 0)
        {
            flg = rom;
            isVirtual = true;
        }
        o.Append("\tExpansion ROM at ");
        o.Append((rom & mask) != 0 ? $"{rom & mask:x8}" : (flg & mask) != 0 ? "<ignored>" : "<unassigned>");
        if (isVirtual) o.Append(" [virtual]");
        if ((flg & PciRegs.RomAddressEnable) == 0) o.Append(" [disabled]");
        else if (!isVirtual && (cmd & PciRegs.CommandMemory) == 0) o.Append(" [disabled by cmd]");
        o.Append(Size(len)).Append('\n');
    }

    /// <summary>show_range(): a bridge window at -v (addresses only when base &lt;= limit).</summary>
    private static void Range(StringBuilder o, string prefix, ulong @base, ulong limit, int bits, bool disabled)
    {
        o.Append(prefix).Append(':');
        int width = (bits + 3) / 4;
        if (@base <= limit) o.Append(' ').Append(@base.ToString($"x{width}")).Append('-').Append(limit.ToString($"x{width}"));
        o.Append(!disabled && @base <= limit ? Size(limit - @base + 1) : " [disabled]");
        if (bits != 0) o.Append($" [{bits}-bit]");
        o.Append('\n');
    }

    /// <summary>show_htype1(): BARs, bus numbers, the three windows and the ROM of a PCI-to-PCI bridge.</summary>
    private static void Bridge(StringBuilder o, LspciDevice d)
    {
        var cfg = d.Config;
        uint ioBase = cfg.Read8(PciRegs.IoBase), ioLimit = cfg.Read8(PciRegs.IoLimit);
        uint ioType = ioBase & 0x0f;
        uint memBase = cfg.Read16(PciRegs.MemoryBase), memLimit = cfg.Read16(PciRegs.MemoryLimit);
        uint memType = memBase & 0x0f;
        uint prefBase = cfg.Read16(PciRegs.PrefMemoryBase), prefLimit = cfg.Read16(PciRegs.PrefMemoryLimit);
        uint prefType = prefBase & 0x0f;
        var w = d.BridgeWindows;
        bool ioDisabled = w is not null && w[0].Size == 0, memDisabled = w is not null && w[1].Size == 0, prefDisabled = w is not null && w[2].Size == 0;

        Bases(o, d, 2, withoutConfig: false);
        o.Append($"\tBus: primary={cfg.Read8(PciRegs.PrimaryBus):x2}, secondary={cfg.Read8(PciRegs.SecondaryBus):x2}, " +
            $"subordinate={cfg.Read8(PciRegs.SubordinateBus):x2}, sec-latency={cfg.Read8(PciRegs.SecLatencyTimer)}\n");

        if (w is not null && !ioDisabled)
        {
            ulong b = w[0].Start & ~0xful;
            Range(o, "\tI/O behind bridge", b, b + w[0].Size - 1, (w[0].Start & 0xf) == 1 ? 32 : 16, ioDisabled);
        }
        else if (ioType != (ioLimit & 0x0f) || (ioType != 0 && ioType != 1))
            o.Append($"\t!!! Unknown I/O range types {ioBase:x}/{ioLimit:x}\n");
        else
        {
            ulong b = (ioBase & 0xf0) << 8, l = (ioLimit & 0xf0) << 8;
            if (ioType == 1)
            {
                b |= (ulong)cfg.Read16(PciRegs.IoBaseUpper16) << 16;
                l |= (ulong)cfg.Read16(PciRegs.IoLimitUpper16) << 16;
            }
            if (!(b == 0 && l == 0 && ioDisabled)) Range(o, "\tI/O behind bridge", b, l + 0xfff, ioType == 1 ? 32 : 16, ioDisabled);
        }

        if (w is not null && !memDisabled)
        {
            ulong b = w[1].Start & ~0xful;
            Range(o, "\tMemory behind bridge", b, b + w[1].Size - 1, 32, memDisabled);
        }
        else if (memType != (memLimit & 0x0f) || memType != 0)
            o.Append($"\t!!! Unknown memory range types {memBase:x}/{memLimit:x}\n");
        else
            Range(o, "\tMemory behind bridge", (ulong)(memBase & 0xfff0) << 16, ((ulong)(memLimit & 0xfff0) << 16) + 0xfffff, 32, memDisabled);

        if (w is not null && !prefDisabled)
        {
            ulong b = w[2].Start & ~0xful;
            Range(o, "\tPrefetchable memory behind bridge", b, b + w[2].Size - 1, (w[2].Start & 0xf) == 1 ? 64 : 32, prefDisabled);
        }
        else if (prefType != (prefLimit & 0x0f) || (prefType != 0 && prefType != 1))
            o.Append($"\t!!! Unknown prefetchable memory range types {prefBase:x}/{prefLimit:x}\n");
        else
        {
            ulong b = (ulong)(prefBase & 0xfff0) << 16, l = (ulong)(prefLimit & 0xfff0) << 16;
            if (prefType == 1)
            {
                b |= (ulong)cfg.Read32(PciRegs.PrefBaseUpper32) << 32;
                l |= (ulong)cfg.Read32(PciRegs.PrefLimitUpper32) << 32;
            }
            if (!(b == 0 && l == 0 && prefDisabled)) Range(o, "\tPrefetchable memory behind bridge", b, l + 0xfffff, prefType == 1 ? 64 : 32, prefDisabled);
        }

        Rom(o, d, PciRegs.RomAddress1);
    }

    /// <summary>show_htype2(): a CardBus bridge's BAR, bus numbers and windows.</summary>
    private static void CardBus(StringBuilder o, LspciDevice d)
    {
        var cfg = d.Config;
        int cmd = cfg.Read16(PciRegs.Command), brc = cfg.Read16(0x3e);
        Bases(o, d, 1, withoutConfig: false);
        o.Append($"\tBus: primary={cfg.Read8(0x18):x2}, secondary={cfg.Read8(0x19):x2}, subordinate={cfg.Read8(0x1a):x2}, sec-latency={cfg.Read8(0x1b)}\n");
        for (int i = 0; i < 2; i++)
        {
            uint b = cfg.Read32(0x1c + 8 * i), l = cfg.Read32(0x20 + 8 * i) + 0xfff;
            if (b <= l)
                o.Append($"\tMemory window {i}: {b:x8}-{l:x8}").Append((cmd & PciRegs.CommandMemory) != 0 ? "" : " [disabled]")
                    .Append((brc & (0x100 << i)) != 0 ? " (prefetchable)" : "").Append('\n');
        }
        for (int i = 0; i < 2; i++)
        {
            uint b = cfg.Read32(0x2c + 8 * i), l = cfg.Read32(0x30 + 8 * i);
            if ((b & 1) == 0)
            {
                b &= 0xffff;
                l &= 0xffff;
            }
            b &= ~3u;
            l = (l & ~3u) + 3;
            if (b <= l) o.Append($"\tI/O window {i}: {b:x8}-{l:x8}").Append((cmd & PciRegs.CommandIo) != 0 ? "" : " [disabled]").Append('\n');
        }
        if ((cfg.Read16(0x16) & 0x4000) != 0) o.Append("\tSecondary status: SERR\n");
        ushort exca = cfg.Read16(0x44);
        if (exca != 0) o.Append($"\t16-bit legacy interface ports at {exca:x4}\n");
    }

    /// <summary>show_htype_unknown(): what sysfs alone says.</summary>
    private static void UnknownHeader(StringBuilder o, LspciDevice d)
    {
        Bases(o, d, 6, withoutConfig: true);
        var w = d.BridgeWindows ?? [];
        foreach (var r in w.Where(r => r.Start != 0))
        {
            var (bits, name) = (r.Flags & SysfsResource.IoresourceIo) != 0 ? ((r.Flags & 1) != 0 ? 16 : 32, "\tI/O behind bridge")
                : (r.Flags & SysfsResource.IoresourceMem) != 0 ? ((r.Flags & SysfsResource.IoresourceMem64) != 0 ? 64 : 32,
                    (r.Flags & SysfsResource.IoresourcePrefetch) != 0 ? "\tPrefetchable memory behind bridge" : "\tMemory behind bridge")
                : (0, "\tUnknown resource behind bridge");
            Range(o, name, r.Start, r.Start + r.Size - 1, bits, disabled: false);
        }
        Rom(o, d, -1);
    }
}
