using System.Runtime.InteropServices;
using VfioSim.Pci;
using VfioSim.Pci.Models;
using VfioSim.Uapi;
using VfioSim.Vfio.Process;

namespace VfioSim.Vfio.Pci;

/// <summary>
/// vfio-pci interrupts (drivers/vfio/pci/vfio_pci_intrs.c and the GET_IRQ_INFO/SET_IRQS handlers of
/// vfio_pci_core.c): one of INTx, MSI or MSI-X at a time, each vector signalling an eventfd; INTx is level and
/// auto-masked (the user unmasks); ERR and REQ are single eventfds. The device model's interrupts arrive here
/// (this is the <see cref="IInterruptSink"/> vfio-pci puts in front of the device).
/// </summary>
public sealed class VfioPciIntrs : IInterruptSink
{
    public enum IrqType { None = -1, Intx = 0, Msi = 1, Msix = 2 }

    private const int IrqSetHeader = 20; // sizeof(struct vfio_irq_set)

    private readonly PciFunction dev;
    private readonly VfioPciConfig config;
    private EventFdFile?[] vectors = [];
    private EventFdFile? intxTrigger, intxUnmask, err, req;
    private bool intxAsserted;

    public VfioPciIntrs(PciFunction dev, VfioPciConfig config)
    {
        this.dev = dev;
        this.config = config;
    }

    public IrqType Type { get; private set; } = IrqType.None;

    /// <summary>INTx is masked (auto-masked on delivery, or by the user, or by virtual DisINTx).</summary>
    public bool IntxMasked { get; private set; }

    private bool virtIntxDisabled;

    /// <summary>Interrupts that arrived with nothing to signal (no eventfd, masked MSI), for tests.</summary>
    public int Dropped { get; private set; }

    public bool MsiEnabled => Type == IrqType.Msi;

    // ---- VFIO_DEVICE_GET_IRQ_INFO counts (vfio_pci_get_irq_count()) ----

    public int Count(int index)
    {
        switch (index)
        {
            case VfioUapi.PCI_INTX_IRQ_INDEX:
                return config.InterruptPin != 0 ? 1 : 0;
            case VfioUapi.PCI_MSI_IRQ_INDEX:
            {
                int cap = dev.Config.FindCapability(PciRegs.CapIdMsi);
                return cap == 0 ? 0 : 1 << ((dev.Config.Read16(cap + PciRegs.MsiFlags) >> 1) & 7);
            }
            case VfioUapi.PCI_MSIX_IRQ_INDEX:
            {
                int cap = dev.Config.FindCapability(PciRegs.CapIdMsix);
                return cap == 0 ? 0 : (dev.Config.Read16(cap + PciRegs.MsixFlags) & PciRegs.MsixFlagsQsize) + 1;
            }
            case VfioUapi.PCI_ERR_IRQ_INDEX:
                return dev.IsPcie ? 1 : 0;
            case VfioUapi.PCI_REQ_IRQ_INDEX:
                return 1;
            default:
                return 0;
        }
    }

    /// <summary>VFIO_DEVICE_GET_IRQ_INFO: copies 16 bytes, checks argsz and index, writes back 16 bytes.</summary>
    public long GetIrqInfo(SimProcess process, ulong arg)
    {
        Span<byte> buf = stackalloc byte[16];
        if (!process.AddressSpace.TryRead(arg, buf)) return -Errno.EFAULT;
        var info = MemoryMarshal.Read<VfioIrqInfo>(buf);
        if (info.Argsz < 16 || info.Index >= VfioUapi.PCI_NUM_IRQS) return -Errno.EINVAL;
        if (info.Index == VfioUapi.PCI_ERR_IRQ_INDEX && !dev.IsPcie) return -Errno.EINVAL;
        info.Flags = VfioUapi.IRQ_INFO_EVENTFD;
        info.Flags |= info.Index switch
        {
            VfioUapi.PCI_INTX_IRQ_INDEX => VfioUapi.IRQ_INFO_MASKABLE | VfioUapi.IRQ_INFO_AUTOMASKED,
            _ => VfioUapi.IRQ_INFO_NORESIZE, // no dynamic MSI-X allocation in this model
        };
        info.Count = (uint)Count((int)info.Index);
        MemoryMarshal.Write(buf, in info);
        return process.AddressSpace.TryWrite(arg, buf) ? 0 : -Errno.EFAULT;
    }

    // ---- VFIO_DEVICE_SET_IRQS (vfio_pci_core_ioctl + vfio_set_irqs_validate_and_prepare + vfio_pci_set_irqs_ioctl) ----

    public long SetIrqs(SimProcess process, ulong arg)
    {
        Span<byte> hdrBytes = stackalloc byte[IrqSetHeader];
        if (!process.AddressSpace.TryRead(arg, hdrBytes)) return -Errno.EFAULT;
        var hdr = MemoryMarshal.Read<VfioIrqSet>(hdrBytes);
        int max = hdr.Index < VfioUapi.PCI_NUM_IRQS ? Count((int)hdr.Index) : 0;

        const uint allFlags = VfioUapi.IRQ_SET_DATA_TYPE_MASK | VfioUapi.IRQ_SET_ACTION_TYPE_MASK;
        if (hdr.Argsz < IrqSetHeader || hdr.Index >= VfioUapi.PCI_NUM_IRQS || hdr.Count >= uint.MaxValue - hdr.Start ||
            (hdr.Flags & ~allFlags) != 0)
            return -Errno.EINVAL;
        if (hdr.Start >= max || hdr.Start + hdr.Count > max) return -Errno.EINVAL;
        int elem;
        switch (hdr.Flags & VfioUapi.IRQ_SET_DATA_TYPE_MASK)
        {
            case VfioUapi.IRQ_SET_DATA_NONE: elem = 0; break;
            case VfioUapi.IRQ_SET_DATA_BOOL: elem = 1; break;
            case VfioUapi.IRQ_SET_DATA_EVENTFD: elem = 4; break;
            default: return -Errno.EINVAL;
        }
        byte[] data = [];
        if (elem != 0)
        {
            if (hdr.Argsz - IrqSetHeader < (ulong)hdr.Count * (ulong)elem) return -Errno.EINVAL;
            data = new byte[hdr.Count * elem];
            if (!process.AddressSpace.TryRead(arg + IrqSetHeader, data)) return -Errno.EFAULT;
        }

        uint action = hdr.Flags & VfioUapi.IRQ_SET_ACTION_TYPE_MASK;
        uint dataType = hdr.Flags & VfioUapi.IRQ_SET_DATA_TYPE_MASK;
        var req = new Request(process, (int)hdr.Start, (int)hdr.Count, dataType, data);
        return ((int)hdr.Index, action) switch
        {
            (VfioUapi.PCI_INTX_IRQ_INDEX, VfioUapi.IRQ_SET_ACTION_MASK) => IntxMask(req),
            (VfioUapi.PCI_INTX_IRQ_INDEX, VfioUapi.IRQ_SET_ACTION_UNMASK) => IntxUnmask(req),
            (VfioUapi.PCI_INTX_IRQ_INDEX, VfioUapi.IRQ_SET_ACTION_TRIGGER) => IntxTrigger(req),
            (VfioUapi.PCI_MSI_IRQ_INDEX or VfioUapi.PCI_MSIX_IRQ_INDEX, VfioUapi.IRQ_SET_ACTION_TRIGGER) =>
                MsiTrigger(req, (int)hdr.Index == VfioUapi.PCI_MSIX_IRQ_INDEX ? IrqType.Msix : IrqType.Msi),
            (VfioUapi.PCI_ERR_IRQ_INDEX, VfioUapi.IRQ_SET_ACTION_TRIGGER) when dev.IsPcie => SingleTrigger(req, ref err),
            (VfioUapi.PCI_REQ_IRQ_INDEX, VfioUapi.IRQ_SET_ACTION_TRIGGER) => SingleTrigger(req, ref this.req),
            _ => -Errno.ENOTTY,
        };
    }

    private readonly record struct Request(SimProcess Process, int Start, int Count, uint DataType, byte[] Data)
    {
        public bool None => DataType == VfioUapi.IRQ_SET_DATA_NONE;
        public bool Bool => DataType == VfioUapi.IRQ_SET_DATA_BOOL;
        public bool Eventfd => DataType == VfioUapi.IRQ_SET_DATA_EVENTFD;
        public bool BoolAt(int i) => Data[i] != 0;
        public int FdAt(int i) => BitConverter.ToInt32(Data, 4 * i);
    }

    /// <summary>eventfd_ctx_fdget(): EBADF for no file, EINVAL for a file that is not an eventfd.</summary>
    private static EventFdFile? LookupEventfd(SimProcess process, int fd, out int errno)
    {
        errno = 0;
        var file = process.FileOf(fd);
        if (file is null) { errno = Errno.EBADF; return null; }
        if (file is not EventFdFile e) { errno = Errno.EINVAL; return null; }
        file.Get();
        return e;
    }

    private static void Release(ref EventFdFile? e)
    {
        e?.Put();
        e = null;
    }

    // vfio_pci_set_intx_mask()
    private long IntxMask(Request r)
    {
        if (Type != IrqType.Intx || r.Start != 0 || r.Count != 1) return -Errno.EINVAL;
        if (r.None || (r.Bool && r.BoolAt(0))) IntxMasked = true;
        else if (r.Eventfd) return -Errno.ENOTTY; // not implemented in the kernel either
        return 0;
    }

    // vfio_pci_set_intx_unmask()
    private long IntxUnmask(Request r)
    {
        if (Type != IrqType.Intx || r.Start != 0 || r.Count != 1) return -Errno.EINVAL;
        if (r.None || (r.Bool && r.BoolAt(0)))
        {
            Unmask();
        }
        else if (r.Eventfd)
        {
            int fd = r.FdAt(0);
            if (intxUnmask is not null) intxUnmask.Signalled -= OnUnmaskIrqfd;
            Release(ref intxUnmask);
            if (fd >= 0)
            {
                intxUnmask = LookupEventfd(r.Process, fd, out int errno);
                if (intxUnmask is null) return -errno;
                intxUnmask.Signalled += OnUnmaskIrqfd;
            }
        }
        return 0;
    }

    // vfio_pci_set_intx_trigger()
    private long IntxTrigger(Request r)
    {
        if (Type == IrqType.Intx && r.Count == 0 && r.None)
        {
            DisableIntx();
            return 0;
        }
        if (!(Type is IrqType.Intx or IrqType.None) || r.Start != 0 || r.Count != 1) return -Errno.EINVAL;
        if (r.Eventfd)
        {
            int fd = r.FdAt(0);
            EventFdFile? trigger = null;
            if (fd >= 0)
            {
                trigger = LookupEventfd(r.Process, fd, out int errno);
                if (trigger is null) return -errno;
            }
            if (Type == IrqType.None)
            {
                if (config.InterruptPin == 0) { trigger?.Put(); return -Errno.ENODEV; }
                Type = IrqType.Intx;
                IntxMasked = virtIntxDisabled;
            }
            Release(ref intxTrigger);
            intxTrigger = trigger;
            return 0;
        }
        if (Type != IrqType.Intx) return -Errno.EINVAL;
        if (r.None || (r.Bool && r.BoolAt(0))) intxTrigger?.Signal(); // loopback
        return 0;
    }

    // virqfd: a write to the unmask eventfd is consumed by the kernel and unmasks INTx.
    private void OnUnmaskIrqfd(EventFdFile e)
    {
        e.Consume();
        if (Type == IrqType.Intx) Unmask();
    }

    private void DisableIntx()
    {
        if (intxUnmask is not null) intxUnmask.Signalled -= OnUnmaskIrqfd;
        Release(ref intxTrigger);
        Release(ref intxUnmask);
        Type = IrqType.None;
        IntxMasked = false;
    }

    // vfio_pci_set_msi_trigger()
    private long MsiTrigger(Request r, IrqType kind)
    {
        if (Type == kind && r.Count == 0 && r.None)
        {
            DisableMsi();
            return 0;
        }
        if (!(Type == kind || Type == IrqType.None)) return -Errno.EINVAL;
        if (r.Eventfd)
        {
            bool enabledHere = false;
            if (Type == IrqType.None)
            {
                int nvec = r.Start + r.Count;
                vectors = new EventFdFile?[nvec];
                Type = kind;
                enabledHere = true;
                if (kind == IrqType.Msi) config.MsiQmax = (int)Math.Ceiling(Math.Log2(nvec));
                SetHardwareEnable(kind, true); // pci_alloc_irq_vectors() turns MSI/MSI-X on in the device
            }
            var changed = new List<int>();
            for (int i = 0; i < r.Count; i++)
            {
                int v = r.Start + i;
                if (v >= vectors.Length) { Rollback(); return -Errno.EINVAL; }
                int fd = r.FdAt(i);
                Release(ref vectors[v]);
                if (fd >= 0)
                {
                    var e = LookupEventfd(r.Process, fd, out int errno);
                    if (e is null) { Rollback(); return -errno; }
                    vectors[v] = e;
                }
                changed.Add(v);
            }
            return 0;

            void Rollback()
            {
                foreach (int v in changed) Release(ref vectors[v]);
                if (enabledHere) DisableMsi();
            }
        }
        if (Type != kind) return -Errno.EINVAL;
        for (int i = 0; i < r.Count; i++)
        {
            int v = r.Start + i;
            if (v < vectors.Length && (r.None || r.BoolAt(i))) vectors[v]?.Signal();
        }
        return 0;
    }

    private void SetHardwareEnable(IrqType kind, bool on)
    {
        var cs = dev.Config;
        if (kind == IrqType.Msi && cs.FindCapability(PciRegs.CapIdMsi) is var msi and not 0)
        {
            ushort f = cs.Read16(msi + PciRegs.MsiFlags);
            cs.Write16(msi + PciRegs.MsiFlags, on ? (ushort)(f | PciRegs.MsiFlagsEnable) : (ushort)(f & ~PciRegs.MsiFlagsEnable));
        }
        else if (kind == IrqType.Msix && cs.FindCapability(PciRegs.CapIdMsix) is var msix and not 0)
        {
            ushort f = cs.Read16(msix + PciRegs.MsixFlags);
            cs.Write16(msix + PciRegs.MsixFlags, on ? (ushort)(f | PciRegs.MsixFlagsEnable) : (ushort)(f & ~PciRegs.MsixFlagsEnable));
        }
    }

    private void DisableMsi()
    {
        if (Type is IrqType.Msi or IrqType.Msix) SetHardwareEnable(Type, false);
        for (int i = 0; i < vectors.Length; i++) Release(ref vectors[i]);
        vectors = [];
        if (Type == IrqType.Msi) config.MsiQmax = 0;
        Type = IrqType.None;
    }

    // vfio_pci_set_err_trigger() / vfio_pci_set_req_trigger() via vfio_pci_set_ctx_trigger_single()
    private static long SingleTrigger(Request r, ref EventFdFile? ctx)
    {
        if (r.Start != 0 || r.Count > 1) return -Errno.EINVAL;
        if (r.None)
        {
            if (ctx is null) return -Errno.EINVAL;
            if (r.Count == 1) ctx.Signal();
            else Release(ref ctx);
            return 0;
        }
        if (r.Count == 0) return -Errno.EINVAL;
        if (r.Bool)
        {
            if (r.BoolAt(0)) ctx?.Signal();
            return 0;
        }
        int fd = r.FdAt(0);
        if (fd == -1) { Release(ref ctx); return 0; }
        if (fd < -1) return 0;
        var e = LookupEventfd(r.Process, fd, out int errno);
        if (e is null) return -errno;
        Release(ref ctx);
        ctx = e;
        return 0;
    }

    // ---- delivery: the device model raises, vfio-pci signals ----

    /// <summary>vfio_intx_handler(): a level interrupt masks the line and signals the trigger eventfd.</summary>
    public void SetIntx(PciFunction function, bool asserted)
    {
        intxAsserted = asserted;
        if (!asserted) return;
        if (Type != IrqType.Intx || IntxMasked) { Dropped++; return; }
        IntxMasked = true;
        if (intxTrigger is null) Dropped++;
        else intxTrigger.Signal();
    }

    public void Msi(PciFunction function, int vector) => SignalVector(IrqType.Msi, vector);

    public void MsiX(PciFunction function, int vector) => SignalVector(IrqType.Msix, vector);

    private void SignalVector(IrqType kind, int vector)
    {
        if (Type != kind || vector >= vectors.Length || vectors[vector] is not { } e) { Dropped++; return; }
        e.Signal();
    }

    /// <summary>Unmask: if the device still asserts the line, it is re-delivered and stays masked.</summary>
    private void Unmask()
    {
        if (virtIntxDisabled) return;
        IntxMasked = false;
        if (intxAsserted) SetIntx(dev, true);
    }

    /// <summary>The virtual Command.INTX_DISABLE bit (vfio_basic_config_write()).</summary>
    public void VirtualIntxDisable(bool disabled)
    {
        if (disabled == virtIntxDisabled) return;
        virtIntxDisabled = disabled;
        if (disabled) IntxMasked = true;
        else Unmask();
    }

    /// <summary>Last close: every interrupt off, every eventfd dropped (vfio_pci_core_close_device()).</summary>
    public void DisableAll()
    {
        if (Type == IrqType.Intx) DisableIntx();
        else if (Type != IrqType.None) DisableMsi();
        Release(ref err);
        Release(ref req);
    }

    /// <summary>REQ: the host wants the device back (driver unbind request).</summary>
    public void SignalRequest() => req?.Signal();

    /// <summary>ERR: an AER error was detected.</summary>
    public void SignalError() => err?.Signal();
}
