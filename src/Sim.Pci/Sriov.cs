namespace VfioSim.Pci;

public enum SriovStatus
{
    Ok,
    /// <summary>No SR-IOV capability or no VF model (the attribute would not exist).</summary>
    NotSupported,
    /// <summary>-ERANGE: more than TotalVFs.</summary>
    OutOfRange,
    /// <summary>-EBUSY: VFs are already enabled.</summary>
    Busy,
    /// <summary>-ENOMEM: a VF's bus number lies past the bridge's bus range.</summary>
    NoMemory,
    /// <summary>-EEXIST: a VF's routing ID is taken by another function (device_add() finds the name in use).</summary>
    Exists,
}

/// <summary>
/// SR-IOV enabling as drivers/pci/iov.c does it for a write to <c>sriov_numvfs</c>: NumVFs, then VF Enable and
/// VF MSE, then one pci_dev per VF at routing ID PF + First VF Offset + i * VF Stride (on a virtual bus with no
/// bridge when that falls on a higher bus number). VFs are added after boot, so they are probed last.
/// </summary>
public static class Sriov
{
    public static int TotalVfs(PciFunction pf) => pf.SriovCap is var pos and not 0 ? pf.Config.Read16(pos + PciRegs.SriovTotalVf) : 0;

    public static int NumVfs(PciFunction pf) => pf.VirtFns.Count;

    /// <summary>sriov_numvfs_store(): 0 disables; otherwise VFs must be off and n ≤ TotalVFs.</summary>
    public static SriovStatus SetNumVfs(PciTopology topology, PciFunction pf, int n, out IReadOnlyList<PciFunction> added)
    {
        added = [];
        int pos = pf.SriovCap;
        if (pos == 0 || pf.VirtualFunctionModel is null) return SriovStatus.NotSupported;
        if (n < 0 || n > TotalVfs(pf)) return SriovStatus.OutOfRange;   // -ERANGE
        if (n == pf.VirtFns.Count) return SriovStatus.Ok;
        if (n == 0) { Disable(topology, pf); return SriovStatus.Ok; }
        if (pf.VirtFns.Count != 0) return SriovStatus.Busy;               // -EBUSY: "%d VFs already enabled"

        var cfg = pf.Config;
        cfg.Write16(pos + PciRegs.SriovNumVf, (ushort)n);
        int offset = cfg.Read16(pos + PciRegs.SriovVfOffset), stride = cfg.Read16(pos + PciRegs.SriovVfStride);
        var bus = pf.Bus!;
        int lastRid = (bus.Number << 8) + pf.DevFn + offset + stride * (n - 1);
        byte limit = bus.IsRoot ? (byte)0xff : bus.Subordinate;
        if ((lastRid >> 8) > limit || (offset == 0 && n > 0)) { cfg.Write16(pos + PciRegs.SriovNumVf, 0); return SriovStatus.NoMemory; }

        for (int i = 0; i < n; i++)
        {
            int rid = (bus.Number << 8) + pf.DevFn + offset + stride * i;
            if ((rid >> 8) == bus.Number && !bus.IsFree((byte)(rid & 0xff)))
            {
                cfg.Write16(pos + PciRegs.SriovNumVf, 0);
                return SriovStatus.Exists;
            }
        }

        ushort ctrl = cfg.Read16(pos + PciRegs.SriovCtrl);
        cfg.Write16(pos + PciRegs.SriovCtrl, (ushort)(ctrl | PciRegs.SriovCtrlVfe | PciRegs.SriovCtrlMse));

        var list = new List<PciFunction>(n);
        pf.VirtFns.EnsureCapacity(n);
        for (int i = 0; i < n; i++)
        {
            int rid = (bus.Number << 8) + pf.DevFn + offset + stride * i;
            var vfBus = VirtfnBus(bus, (byte)(rid >> 8));
            var vf = pf.VirtualFunctionModel(i);
            vf.PhysFn = pf;
            vfBus.Plug((byte)(rid & 0xff), vf);
            PciScan.Setup(vf, topology);
            AcsSetup.Enable(vf, topology.CommandLine, topology.IommuPresent);
            vfBus.Devices.Add(vf);
            pf.VirtFns.Add(vf);
            topology.Register(vf);
            list.Add(vf);
            topology.RaiseAdded(vf); // device_add(): the IOMMU bus notifier probes each VF as it appears
        }
        added = list;
        return SriovStatus.Ok;
    }

    public static void Disable(PciTopology topology, PciFunction pf)
    {
        int pos = pf.SriovCap;
        foreach (var vf in pf.VirtFns.AsEnumerable().Reverse().ToList())
        {
            topology.Unregister(vf);
            var list = vf.Bus!.Devices;
            int at = list.LastIndexOf(vf); // VFs go last first, so this is the end of the list
            if (at >= 0) list.RemoveAt(at);
            vf.Bus.Unplug(vf.DevFn);
        }
        pf.VirtFns.Clear();
        if (pos == 0) return;
        ushort ctrl = pf.Config.Read16(pos + PciRegs.SriovCtrl);
        pf.Config.Write16(pos + PciRegs.SriovCtrl, (ushort)(ctrl & ~(PciRegs.SriovCtrlVfe | PciRegs.SriovCtrlMse)));
        pf.Config.Write16(pos + PciRegs.SriovNumVf, 0);
    }

    // pci_iov_virtfn_bus()/virtfn_add_bus(): a VF beyond the PF's bus number sits on a virtual child bus.
    private static PciBus VirtfnBus(PciBus pfBus, byte number)
    {
        if (number == pfBus.Number) return pfBus;
        foreach (var c in pfBus.Children)
            if (c.IsVirtual && c.Number == number) return c;
        var v = new PciBus(pfBus.Domain, pfBus, null, pfBus.IsExpress, null) { Number = number };
        pfBus.Children.Add(v);
        return v;
    }
}
