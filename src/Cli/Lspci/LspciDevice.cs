using VfioSim.Iommu;
using VfioSim.Pci;

namespace VfioSim.Cli.Lspci;

/// <summary>One line of sysfs <c>resource</c>: start, size (end - start + 1, or 0) and the kernel's IORESOURCE_* flags.</summary>
public readonly record struct SysfsResource(ulong Start, ulong Size, ulong Flags)
{
    public const ulong IoresourceIo = 0x100, IoresourceMem = 0x200, IoresourcePrefetch = 0x2000,
        IoresourceReadonly = 0x4000, IoresourceSizealign = 0x40000, IoresourceMem64 = 0x100000, TypeBits = 0x1f00;
}

/// <summary>
/// A PCI function as lspci sees it through sysfs (pciutils lib/sysfs.c): the IDs, class and IRQ the kernel
/// reports, the <c>resource</c> lines, the IOMMU group and the parent device, next to the raw config space.
/// The sysfs values are derived from the simulated config space the way the PCI core derives them at probe
/// (pci_setup_device, __pci_read_base, pci_read_bridge_bases), so BARs the firmware left unprogrammed read as
/// resources at address 0 with their size, and IRQ is the Interrupt Line register (0: none routed yet).
/// </summary>
public sealed class LspciDevice
{
    private LspciDevice(PciFunction f, int? group)
    {
        Function = f;
        Bdf = f.Bdf;
        VendorId = f.VendorId;
        DeviceId = f.DeviceId;
        Class = (ushort)(f.ClassCode >> 8);
        ProgIf = (byte)f.ClassCode;
        Revision = f.Revision;
        SubsystemVendorId = f.SubsystemVendorId;
        SubsystemId = f.SubsystemId;
        Irq = f.IsVirtFn || f.Config.Read8(PciRegs.InterruptPin) == 0 ? 0 : f.Config.Read8(PciRegs.InterruptLine); // pci_read_irq()
        IommuGroup = group;
        Bars = [.. Enumerable.Range(0, 6).Select(i => BarResource(f, i))];
        Rom = BarResource(f, PciResource.RomIndex);
        // The resource file has the four bridge-window lines only for bridges with a subordinate bus.
        if (f.Secondary is { IsRoot: false }) BridgeWindows = BridgeWindowResources(f.Config);
    }

    public PciFunction Function { get; }
    public Bdf Bdf { get; }
    public ConfigSpace Config => Function.Config;
    public ushort VendorId { get; }
    public ushort DeviceId { get; }
    /// <summary>Base class and subclass (sysfs class &gt;&gt; 8).</summary>
    public ushort Class { get; }
    public byte ProgIf { get; }
    public byte Revision { get; }
    public ushort SubsystemVendorId { get; }
    public ushort SubsystemId { get; }
    public int Irq { get; }
    public int? IommuGroup { get; }
    public IReadOnlyList<SysfsResource> Bars { get; }
    public SysfsResource Rom { get; }
    /// <summary>I/O, memory, prefetchable memory and a spare line; null when the resource file has none.</summary>
    public IReadOnlyList<SysfsResource>? BridgeWindows { get; }
    /// <summary>The PCI device sysfs puts above this one (the bridge of its bus; for a VF, its PF's); null on a root bus.</summary>
    public LspciDevice? Parent { get; private set; }

    public byte HeaderType => (byte)(Config.Read8(PciRegs.HeaderType) & PciRegs.HeaderTypeMask);

    /// <summary>Every function Linux enumerated, sorted as lspci sorts them (domain, bus, device, function).</summary>
    public static IReadOnlyList<LspciDevice> FromTopology(PciTopology topology, IommuGroups? groups)
    {
        var map = topology.Functions.ToDictionary(f => f, f => new LspciDevice(f, groups?.GroupOf(f)?.Id));
        foreach (var (f, d) in map)
        {
            var parent = (f.PhysFn ?? f).Bus is { IsRoot: false } bus ? bus.Self : null;
            d.Parent = parent is null ? null : map.GetValueOrDefault(parent);
        }
        return [.. map.Values.OrderBy(d => d.Bdf)];
    }

    private static SysfsResource BarResource(PciFunction f, int index)
    {
        var r = f.Resources.FirstOrDefault(x => x.Index == index);
        if (r is null) return default;
        var cfg = f.Config;
        ulong start, flags;
        if (index == PciResource.RomIndex)
        {
            int reg = f.IsBridge ? PciRegs.RomAddress1 : PciRegs.RomAddress;
            start = cfg.Read32(reg) & 0xfffff800;
            flags = SysfsResource.IoresourceMem | SysfsResource.IoresourcePrefetch | SysfsResource.IoresourceReadonly;
        }
        else
        {
            // decode_bar(): the low bits of the BAR are kept in the flags.
            flags = r.TypeBits | (r.Kind == ResourceKind.Io ? SysfsResource.IoresourceIo : SysfsResource.IoresourceMem)
                | (r.Prefetchable ? SysfsResource.IoresourcePrefetch : 0) | (r.Kind == ResourceKind.Mem64 ? SysfsResource.IoresourceMem64 : 0);
            start = f.PhysFn is { } pf ? VfBarStart(pf, f, index) : BarAddress(cfg, PciRegs.BaseAddress0 + 4 * index, r.Kind);
        }
        return new SysfsResource(start, r.Size, flags | SysfsResource.IoresourceSizealign);
    }

    private static ulong BarAddress(ConfigSpace cfg, int reg, ResourceKind kind) => kind switch
    {
        ResourceKind.Io => cfg.Read32(reg) & ~3u,
        ResourceKind.Mem64 => (cfg.Read32(reg) & ~0xfu) | ((ulong)cfg.Read32(reg + 4) << 32),
        _ => cfg.Read32(reg) & ~0xfu,
    };

    // A VF's BARs read 0; the kernel places VF n at the PF's VF BAR plus n times the VF BAR size (pci_iov_add_virtfn).
    private static ulong VfBarStart(PciFunction pf, PciFunction vf, int index)
    {
        var vfBar = pf.Resources.FirstOrDefault(x => x.Index == PciResource.FirstVfIndex + index);
        if (vfBar is null) return 0;
        ulong bar = BarAddress(pf.Config, pf.SriovCap + PciRegs.SriovBar + 4 * index, vfBar.Kind);
        return bar == 0 ? 0 : bar + (ulong)pf.VirtFns.IndexOf(vf) * vfBar.Size;
    }

    // pci_read_bridge_io()/_mmio()/_mmio_pref(): a window exists when base <= limit.
    private static SysfsResource[] BridgeWindowResources(ConfigSpace cfg)
    {
        byte ioBaseLo = cfg.Read8(PciRegs.IoBase), ioLimitLo = cfg.Read8(PciRegs.IoLimit);
        ulong ioBase = (ulong)(ioBaseLo & 0xf0) << 8, ioLimit = (ulong)(ioLimitLo & 0xf0) << 8;
        if ((ioBaseLo & 0x0f) == 0x01)
        {
            ioBase |= (ulong)cfg.Read16(PciRegs.IoBaseUpper16) << 16;
            ioLimit |= (ulong)cfg.Read16(PciRegs.IoLimitUpper16) << 16;
        }
        var io = ioBase <= ioLimit ? new SysfsResource(ioBase, ioLimit + 0x1000 - ioBase, SysfsResource.IoresourceIo | (ulong)(ioBaseLo & 0x0fu)) : default;

        ushort memBaseLo = cfg.Read16(PciRegs.MemoryBase), memLimitLo = cfg.Read16(PciRegs.MemoryLimit);
        ulong memBase = (ulong)(memBaseLo & 0xfff0) << 16, memLimit = (ulong)(memLimitLo & 0xfff0) << 16;
        var mem = memBase <= memLimit ? new SysfsResource(memBase, memLimit + 0x100000 - memBase, SysfsResource.IoresourceMem | (ulong)(memBaseLo & 0x0fu)) : default;

        ushort prefBaseLo = cfg.Read16(PciRegs.PrefMemoryBase), prefLimitLo = cfg.Read16(PciRegs.PrefMemoryLimit);
        ulong prefBase = (ulong)(prefBaseLo & 0xfff0) << 16, prefLimit = (ulong)(prefLimitLo & 0xfff0) << 16;
        bool pref64 = (prefBaseLo & 0x0f) == 0x01;
        if (pref64)
        {
            prefBase |= (ulong)cfg.Read32(PciRegs.PrefBaseUpper32) << 32;
            prefLimit |= (ulong)cfg.Read32(PciRegs.PrefLimitUpper32) << 32;
        }
        var pref = prefBase <= prefLimit
            ? new SysfsResource(prefBase, prefLimit + 0x100000 - prefBase, SysfsResource.IoresourceMem | SysfsResource.IoresourcePrefetch
                | (pref64 ? SysfsResource.IoresourceMem64 : 0) | (ulong)(prefBaseLo & 0x0fu))
            : default;
        return [io, mem, pref, default];
    }
}
