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
        if (!dev.IsVirtFn && dev.SriovCap != 0) VfToken = Guid.NewGuid();
    }

    /// <summary>The PF's vfio-pci device when this is a VF whose PF is bound to vfio-pci (sriov_pf_core_dev).</summary>
    internal VfioPciDevice? SriovPfCoreDev =>
        Function.PhysFn is { } pf && machine.Drivers.DriverOf(pf)?.Name == Drivers.InTreeDrivers.VfioPci ? machine.Vfio.DeviceFor(pf) : null;

    public PciFunction Function { get; }

    /// <summary>
    /// struct vfio_pci_core_device::vf_token of an SR-IOV PF (vfio_pci_vf_init(): uuid_gen() at bind, so user space
    /// cannot know it until it sets one); null for any other device.
    /// </summary>
    internal Guid? VfToken { get; set; }

    /// <summary>vf_token-&gt;users: this PF's VFs that are open (vfio_pci_vf_token_user_add()).</summary>
    internal int VfTokenUsers { get; set; }
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
        if (SriovPfCoreDev is { } pfDev) pfDev.VfTokenUsers++;
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
        if (SriovPfCoreDev is { } pfDev) pfDev.VfTokenUsers--;
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
        if (request == VfioUapi.DEVICE_PCI_HOT_RESET) return HotReset(process, arg);
        if (request == VfioUapi.DEVICE_FEATURE) return Feature(process, arg);
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

    // vfio_pci_ioctl_pci_hot_reset() and vfio_pci_ioctl_pci_hot_reset_groups() (group-path fd)
    private long HotReset(SimProcess process, ulong arg)
    {
        Span<byte> b = stackalloc byte[12];
        if (!process.AddressSpace.TryRead(arg, b)) return -Errno.EFAULT;
        var hdr = MemoryMarshal.Read<VfioPciHotReset>(b);
        if (hdr.Argsz < 12 || hdr.Flags != 0) return -Errno.EINVAL;
        if (hdr.Count == 0) return -Errno.EINVAL; // a zero-length array is only for cdev-opened devices
        if (BusResetSet() is not { } set) return -Errno.ENODEV;
        if (hdr.Count > set.Count) return -Errno.EINVAL;
        var fds = new byte[4 * hdr.Count];
        if (!process.AddressSpace.TryRead(arg + 12, fds)) return -Errno.EFAULT;
        var groups = new List<VfioGroup>();
        for (int i = 0; i < hdr.Count; i++)
        {
            var f = process.FileOf(BitConverter.ToInt32(fds, 4 * i));
            if (f is null) return -Errno.EBADF;
            if (f is not VfioGroupFile gf) return -Errno.EINVAL; // vfio_file_is_group()
            groups.Add(gf.Group);
        }
        // vfio_pci_dev_set_resettable(): every device the reset hits is in the dev_set (bound to vfio-pci) ...
        if (set.Any(d => machine.Drivers.DriverOf(d)?.Name != Drivers.InTreeDrivers.VfioPci)) return -Errno.EINVAL;
        // ... and vfio_dev_in_groups(): the caller proves it owns each of them through one of its groups.
        if (!set.All(d => groups.Any(g => g.Contains(d)))) return -Errno.EINVAL;
        foreach (var d in set) d.Device?.Reset(); // pci_reset_bus()
        return 0;
    }

    // vfio_ioctl_device_feature() with vfio_pci_core_ioctl_feature() as the driver's feature op
    private long Feature(SimProcess process, ulong arg)
    {
        Span<byte> b = stackalloc byte[8];
        if (!process.AddressSpace.TryRead(arg, b)) return -Errno.EFAULT;
        var hdr = MemoryMarshal.Read<VfioDeviceFeature>(b);
        const uint get = VfioUapi.DEVICE_FEATURE_GET, set = VfioUapi.DEVICE_FEATURE_SET, probe = VfioUapi.DEVICE_FEATURE_PROBE;
        if (hdr.Argsz < 8) return -Errno.EINVAL;
        if ((hdr.Flags & ~(VfioUapi.DEVICE_FEATURE_MASK | get | set | probe)) != 0) return -Errno.EINVAL;
        if ((hdr.Flags & probe) == 0 && (hdr.Flags & (get | set)) == (get | set)) return -Errno.EINVAL;
        return (hdr.Flags & VfioUapi.DEVICE_FEATURE_MASK) switch
        {
            VfioUapi.DEVICE_FEATURE_PCI_VF_TOKEN => FeatureVfToken(process, hdr, arg + 8),
            _ => -Errno.ENOTTY, // migration and DMA logging need mig/log ops vfio-pci lacks; the rest are not vfio-pci's
        };
    }

    // vfio_pci_core_feature_token(): SET only (a GET could leak the previous user's token)
    private long FeatureVfToken(SimProcess process, VfioDeviceFeature hdr, ulong data)
    {
        if (VfToken is null) return -Errno.ENOTTY;
        int r = CheckFeature(hdr.Flags, hdr.Argsz - 8, VfioUapi.DEVICE_FEATURE_SET, 16);
        if (r != 1) return r;
        Span<byte> uuid = stackalloc byte[16];
        if (!process.AddressSpace.TryRead(data, uuid)) return -Errno.EFAULT;
        VfToken = new Guid(uuid, bigEndian: true);
        return 0;
    }

    /// <summary>vfio_check_feature(): 1 = go on, 0 = PROBE answered "supported", else -errno.</summary>
    private static int CheckFeature(uint flags, uint dataSize, uint supportedOps, uint minSize)
    {
        if ((flags & (VfioUapi.DEVICE_FEATURE_GET | VfioUapi.DEVICE_FEATURE_SET) & ~supportedOps) != 0) return -Errno.EINVAL;
        if ((flags & VfioUapi.DEVICE_FEATURE_PROBE) != 0) return 0;
        if ((flags & (VfioUapi.DEVICE_FEATURE_GET | VfioUapi.DEVICE_FEATURE_SET)) == 0) return -Errno.EINVAL;
        return dataSize < minSize ? -Errno.EINVAL : 1;
    }

    /// <summary>
    /// vfio_pci_validate_vf_token(): a VF of a vfio-pci PF needs the PF's token; a PF with open VFs needs its own;
    /// a PF without VF users takes a given token as its new one; a token anywhere else is EINVAL.
    /// </summary>
    internal int ValidateVfToken(Guid? token)
    {
        if (Function.IsVirtFn)
        {
            if (SriovPfCoreDev is not { } pf) return token is null ? 0 : -Errno.EINVAL;
            if (token is null || token != pf.VfToken) return -Errno.EACCES;
            return 0;
        }
        if (VfToken is not null)
        {
            if (VfTokenUsers > 0) return token is null || token != VfToken ? -Errno.EACCES : 0;
            if (token is { } t) VfToken = t;
            return 0;
        }
        return token is null ? 0 : -Errno.EINVAL;
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
