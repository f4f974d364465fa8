using VfioSim.Pci.Quirks;

namespace VfioSim.Pci;

/// <summary>
/// Linux's enumeration of a root bus (drivers/pci/probe.c): pci_scan_child_bus() scans slots 0..31
/// (only slot 0 below a PCIe downstream-facing port, only_one_child()), function 0 then further functions
/// when it is multi-function or ARI forwarding is on (pci_scan_slot()/next_fn()), sets each device up as
/// pci_device_add() does, then recurses into bridges. Devices are registered (device_add) in
/// pci_bus_add_devices() order: a bus's own devices first, then each child bus.
/// </summary>
internal sealed class PciScan(PciTopology topology)
{
    /// <summary>pci_scan_child_bus() of a root bus: finds and sets up its devices; <see cref="AddDevices"/> registers them.</summary>
    public void ScanRootBus(PciBus root) => ScanChildBus(root);

    private void ScanChildBus(PciBus bus)
    {
        for (int slot = 0; slot < 32; slot++)
        {
            if (slot > 0 && OnlyOneChild(bus)) break;
            ScanSlot(bus, (byte)(slot << 3));
        }
        for (int i = 0; i < bus.Devices.Count; i++) // scanning a child bus adds to that bus, not this one
        {
            var dev = bus.Devices[i];
            if (dev.Secondary is not { IsRoot: false } child) continue;
            dev.Bus!.Children.Add(child);
            ScanChildBus(child);
        }
    }

    // only_one_child(): a link below a Root Port, Downstream Port or PCI-to-PCIe bridge carries device 0 only.
    private bool OnlyOneChild(PciBus bus)
    {
        var bridge = bus.Self;
        if (bridge is null || !bridge.IsPcie) return false;
        if (topology.CommandLine.PcieScanAll) return false;
        return bridge.PcieType is PcieType.RootPort or PcieType.Downstream or PcieType.PcieBridge;
    }

    // pci_scan_slot()
    private void ScanSlot(PciBus bus, byte devfn)
    {
        int fn = 0;
        do
        {
            var dev = bus.SlotAt((byte)(devfn + fn));
            if (dev is not null)
            {
                DeviceAdd(dev);
                if (fn > 0) dev.IsMultifunction = true;
            }
            else if (fn == 0)
            {
                break;
            }
            fn = NextFn(bus, dev, fn);
        } while (fn >= 0 && devfn + fn <= 0xff);
    }

    private int NextFn(PciBus bus, PciFunction? dev, int fn)
    {
        if (bus.Self is { AriEnabled: true })
        {
            // next_ari_fn()
            if (dev is null) return -1;
            int pos = dev.Config.FindExtCapability(PciRegs.ExtCapIdAri);
            if (pos == 0) return -1;
            int next = (dev.Config.Read16(pos + PciRegs.AriCap) >> 8) & 0xff;
            return next <= fn ? -1 : next;
        }
        if (fn >= 7) return -1;
        if (dev is not null && !dev.IsMultifunction) return -1;
        return fn + 1;
    }

    /// <summary>pci_setup_device() + pci_device_add(): the per-device state Linux derives, and ACS enabling.</summary>
    private void DeviceAdd(PciFunction dev)
    {
        topology.Found++;
        Setup(dev, topology);
        ConfigureAri(dev);
        InitSriov(dev);
        AcsSetup.Enable(dev, topology.CommandLine, topology.IommuPresent);
        dev.Bus!.Devices.Add(dev);
    }

    internal static void Setup(PciFunction dev, PciTopology topology)
    {
        _ = topology;
        dev.IsMultifunction = !dev.IsVirtFn && dev.HeaderMultifunctionBit;
        SetPciePortType(dev);
        dev.AcsCap = dev.Config.FindExtCapability(PciRegs.ExtCapIdAcs);
        DmaAliasQuirks.Apply(dev);
    }

    // set_pcie_port_type(): impossible labels are corrected relative to the upstream bridge.
    private static void SetPciePortType(PciFunction dev)
    {
        dev.PcieCap = dev.Config.FindCapability(PciRegs.CapIdExp);
        if (dev.PcieCap == 0) return;
        var type = (PcieType)((dev.Config.Read16(dev.PcieCap + PciRegs.ExpFlags) & PciRegs.ExpFlagsType) >> 4);
        var parent = dev.UpstreamBridge;
        if (parent is { IsPcie: true })
        {
            if (type == PcieType.Downstream && IsDownstreamPort(parent)) type = PcieType.Upstream;
            else if (type == PcieType.Upstream && parent.PcieType == PcieType.Upstream) type = PcieType.Downstream;
        }
        dev.PcieType = type;
    }

    /// <summary>pcie_downstream_port(): Root Port, Downstream Port or PCI/PCI-X-to-PCIe bridge.</summary>
    internal static bool IsDownstreamPort(PciFunction dev) =>
        dev.IsPcie && dev.PcieType is PcieType.RootPort or PcieType.Downstream or PcieType.PcieBridge;

    // pci_configure_ari(): function 0 with an ARI capability turns on ARI Forwarding in the bridge above.
    private void ConfigureAri(PciFunction dev)
    {
        if (!dev.IsPcie || dev.DevFn != 0 || dev.Bus?.Self is not { } bridge || !bridge.IsPcie) return;
        uint devcap2 = bridge.Config.Read32(bridge.PcieCap + PciRegs.ExpDevCap2);
        if ((devcap2 & PciRegs.ExpDevCap2Ari) == 0) return;
        int ctl2 = bridge.PcieCap + PciRegs.ExpDevCtl2;
        bool ari = dev.Config.FindExtCapability(PciRegs.ExtCapIdAri) != 0;
        ushort v = bridge.Config.Read16(ctl2);
        bridge.Config.Write16(ctl2, ari ? (ushort)(v | PciRegs.ExpDevCtl2Ari) : (ushort)(v & ~PciRegs.ExpDevCtl2Ari));
        bridge.AriEnabled = ari;
    }

    // sriov_init(): ARI Capable Hierarchy follows the bus's ARI forwarding.
    private void InitSriov(PciFunction dev)
    {
        int pos = dev.SriovCap;
        if (pos == 0) return;
        topology.MaxVfs += dev.Config.Read16(pos + PciRegs.SriovTotalVf);
        if (dev.Bus?.Self is { AriEnabled: true })
        {
            ushort ctrl = dev.Config.Read16(pos + PciRegs.SriovCtrl);
            dev.Config.Write16(pos + PciRegs.SriovCtrl, (ushort)(ctrl | PciRegs.SriovCtrlAri));
        }
    }

    // pci_bus_add_devices(): this bus's devices in list order, then each bridge's child bus.
    public void AddDevices(PciBus bus)
    {
        foreach (var dev in bus.Devices) topology.Register(dev);
        foreach (var dev in bus.Devices)
            if (dev.Secondary is { IsRoot: false } child) AddDevices(child);
    }
}
