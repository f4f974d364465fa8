using System.Runtime.InteropServices;
using VfioSim.Pci;
using VfioSim.Pci.Models;
using VfioSim.Uapi;
using VfioSim.Vfio.Pci;
using VfioSim.Vfio.Process;

namespace VfioSim.Vfio;

/// <summary>
/// A vfio-pci device (struct vfio_pci_core_device): the state shared by every fd opened for it — virtual config
/// space, interrupts, regions — built at first open and torn down at last close (vfio_pci_core_enable/disable).
/// </summary>
public sealed class VfioPciDevice : IVfioPciConfigHost
{
    private int openCount;

    private readonly Machine machine;

    internal VfioPciDevice(Machine machine, PciFunction dev)
    {
        this.machine = machine;
        Function = dev;
    }

    public PciFunction Function { get; }
    public VfioPciConfig? Config { get; private set; }
    public VfioPciIntrs? Intrs { get; private set; }
    internal VfioPciRdwr? Rdwr { get; private set; }
    public int OpenCount => openCount;

    /// <summary>A function reset works at open: FLR, a PM reset (No_Soft_Reset clear), or a bus the device has to itself.</summary>
    public bool ResetWorks { get; private set; }

    // vfio_pci_core_enable() at the first open
    internal int Open()
    {
        if (openCount++ > 0) return 0;
        var cs = Function.Config;
        ushort cmd = cs.Read16(PciRegs.Command);
        cmd &= unchecked((ushort)~PciRegs.CommandMaster); // pci_clear_master()
        if (Function.Resources.Any(r => r.Kind is ResourceKind.Mem32 or ResourceKind.Mem64 && !r.IsVfBar)) cmd |= PciRegs.CommandMemory;
        if (Function.Resources.Any(r => r.Kind == ResourceKind.Io)) cmd |= PciRegs.CommandIo;
        cs.Write16(PciRegs.Command, cmd); // pci_enable_device()
        ResetWorks = CanReset();
        if (ResetWorks) Function.Device?.Reset();
        Config = new VfioPciConfig(Function, this);
        Intrs = new VfioPciIntrs(Function, Config);
        Rdwr = new VfioPciRdwr(Function, Config);
        if (Function.Device is { } model) model.Interrupts = Intrs;
        return 0;
    }

    // vfio_pci_core_disable() at the last close
    internal void Close()
    {
        if (--openCount > 0) return;
        Intrs?.DisableAll();
        Function.Config.Write16(PciRegs.Command, PciRegs.CommandIntxDisable);
        if (ResetWorks) Function.Device?.Reset();
        if (Function.Device is { } model) model.Interrupts = null;
        Config = null;
        Intrs = null;
        Rdwr = null;
    }

    private bool CanReset()
    {
        var cs = Function.Config;
        if (Function.IsPcie && (cs.Read32(Function.PcieCap + PciRegs.ExpDevCap) & 0x10000000) != 0) return true; // FLR
        int pm = cs.FindCapability(PciRegs.CapIdPm);
        if (pm != 0 && (cs.Read16(pm + 4) & 0x0008) == 0) return true; // PM reset: No_Soft_Reset clear
        var bus = Function.Bus!;
        return !bus.IsRoot && !bus.IsVirtual && bus.Devices.Count == 1; // secondary bus reset of a bus it has alone
    }

    // ---- IVfioPciConfigHost ----
    void IVfioPciConfigHost.IntxDisableChanged(bool disabled) => Intrs?.VirtualIntxDisable(disabled);
    void IVfioPciConfigHost.MemoryDecodeDisabled() { } // mappings check the virtual Memory bit on every access
    bool IVfioPciConfigHost.MsiEnabledByUser => Intrs?.MsiEnabled ?? false;
    void IVfioPciConfigHost.FunctionLevelReset() => Function.Device?.Reset();
    void IVfioPciConfigHost.SetPowerState(int state) { }

    // ---- ioctls (vfio_pci_core_ioctl()) ----

    internal long Ioctl(SimProcess process, uint request, ulong arg)
    {
        if (request == VfioUapi.DEVICE_GET_INFO) return GetInfo(process, arg);
        if (request == VfioUapi.DEVICE_GET_REGION_INFO) return Rdwr!.GetRegionInfo(process, arg);
        if (request == VfioUapi.DEVICE_GET_IRQ_INFO) return Intrs!.GetIrqInfo(process, arg);
        if (request == VfioUapi.DEVICE_SET_IRQS) return Intrs!.SetIrqs(process, arg);
        if (request == VfioUapi.DEVICE_GET_PCI_HOT_RESET_INFO) return GetHotResetInfo(process, arg);
        if (request == VfioUapi.DEVICE_RESET)
        {
            if (!ResetWorks) return -Errno.EINVAL;
            Function.Device?.Reset();
            return 0;
        }
        return -Errno.ENOTTY;
    }

    /// <summary>
    /// The devices a secondary bus reset of this device's bus would reset (pci_walk_bus() below the bus), or null
    /// when no bus reset is possible (a root bus or a VF: no bridge to reset it).
    /// </summary>
    internal IReadOnlyList<PciFunction>? BusResetSet()
    {
        var bus = Function.Bus!;
        if (bus.IsRoot || bus.IsVirtual || Function.IsVirtFn) return null;
        var list = new List<PciFunction>();
        void Walk(PciBus b)
        {
            foreach (var d in b.Devices)
            {
                list.Add(d);
                if (d.Secondary is { IsRoot: false } child) Walk(child);
            }
            foreach (var v in b.Children.Where(c => c.IsVirtual)) Walk(v);
        }
        Walk(bus);
        return list;
    }

    // vfio_pci_ioctl_get_pci_hot_reset_info() on a group-path fd
    private long GetHotResetInfo(SimProcess process, ulong arg)
    {
        Span<byte> b = stackalloc byte[12];
        if (!process.AddressSpace.TryRead(arg, b)) return -Errno.EFAULT;
        var hdr = MemoryMarshal.Read<VfioPciHotResetInfo>(b);
        if (hdr.Argsz < 12) return -Errno.EINVAL;
        hdr.Flags = 0;
        if (BusResetSet() is not { } set) return -Errno.ENODEV;
        if (set.Count == 0) return -Errno.ERANGE;
        if ((ulong)set.Count > (hdr.Argsz - 12) / 8)
        {
            hdr.Count = (uint)set.Count;
            MemoryMarshal.Write(b, in hdr);
            return process.AddressSpace.TryWrite(arg, b) ? -Errno.ENOSPC : -Errno.EFAULT;
        }
        var entries = new byte[8 * set.Count];
        for (int i = 0; i < set.Count; i++)
        {
            var d = set[i];
            if (machine.Groups.GroupOf(d) is not { } g) return -Errno.EPERM;
            var e = new VfioPciDependentDevice { GroupIdOrDevid = (uint)g.Id, Segment = d.Bdf.Domain, Bus = d.Bdf.Bus, Devfn = d.DevFn };
            MemoryMarshal.Write(entries.AsSpan(8 * i), in e);
        }
        if (!process.AddressSpace.TryWrite(arg + 12, entries)) return -Errno.EFAULT;
        hdr.Count = (uint)set.Count;
        MemoryMarshal.Write(b, in hdr);
        return process.AddressSpace.TryWrite(arg, b) ? 0 : -Errno.EFAULT;
    }

    private long GetInfo(SimProcess process, ulong arg)
    {
        Span<byte> b = stackalloc byte[24];
        if (!process.AddressSpace.TryRead(arg, b[..16])) return -Errno.EFAULT;
        var info = MemoryMarshal.Read<VfioDeviceInfo>(b);
        if (info.Argsz < 16) return -Errno.EINVAL;
        info.Flags = VfioUapi.DEVICE_FLAGS_PCI | (ResetWorks ? VfioUapi.DEVICE_FLAGS_RESET : 0);
        info.NumRegions = VfioUapi.PCI_NUM_REGIONS;
        info.NumIrqs = VfioUapi.PCI_NUM_IRQS;
        info.CapOffset = 0;
        info.Pad = 0;
        MemoryMarshal.Write(b, in info);
        int n = (int)Math.Min(info.Argsz, 24u);
        return process.AddressSpace.TryWrite(arg, b[..n]) ? 0 : -Errno.EFAULT;
    }
}

/// <summary>A device fd (vfio_device_fops): ioctls, read/write at region offsets, mmap of BARs.</summary>
internal sealed class VfioDeviceFile : SimFile
{
    private readonly VfioPciDevice device;
    private readonly VfioGroup group;

    public VfioDeviceFile(VfioPciDevice device, VfioGroup group)
    {
        this.device = device;
        this.group = group;
    }

    public override long Ioctl(SimProcess process, uint request, ulong arg) => device.Ioctl(process, request, arg);

    public override long Read(SimProcess process, Span<byte> buffer, long position) => device.Rdwr!.Rw(position, buffer, isWrite: false);

    public override long Write(SimProcess process, ReadOnlySpan<byte> buffer, long position)
    {
        var copy = buffer.ToArray();
        return device.Rdwr!.Rw(position, copy, isWrite: true);
    }

    public override long Mmap(SimProcess process, ulong length, Prot prot, MapFlags flags, long offset, out IMmio? region) =>
        device.Rdwr!.Mmap(length, offset, (flags & MapFlags.Shared) != 0, out region);

    protected override void Release()
    {
        device.Close();
        group.OpenDevices--;
        group.ReleaseGroupFile();
    }
}
