namespace VfioSim.Pci;

/// <summary>
/// The PCI hardware of a machine (root buses, bridges, functions in their slots) and, after <see cref="Boot"/>,
/// what Linux's PCI core made of it: bus numbers, the enumerated functions in device-list order, and the
/// per-device state of struct pci_dev.
/// </summary>
public sealed class PciTopology
{
    private readonly List<PciBus> rootBuses = [];
    private readonly List<PciFunction> devices = [];
    private readonly Dictionary<Bdf, PciFunction> byBdf = [];

    public PciTopology(KernelCommandLine? cmdline = null) => CommandLine = cmdline ?? new KernelCommandLine();

    public KernelCommandLine CommandLine { get; set; }

    /// <summary>The machine's virtual time, shared by every device model.</summary>
    public VirtualClock Clock { get; } = new();

    /// <summary>An IOMMU driver is active and asked for ACS (pci_request_acs()).</summary>
    public bool IommuPresent { get; set; } = true;

    /// <summary>An ACPI IVRS table exists (AMD IOMMU); the AMD southbridge ACS quirk depends on it.</summary>
    public bool AmdIvrs { get; set; }

    /// <summary>
    /// Firmware leaves bus numbers for SR-IOV VFs past each PF's bus (pci_iov_bus_range()), as server firmware
    /// does. Off by default: SeaBIOS on QEMU reserves nothing, so VFs beyond the bridge's range cannot be enabled.
    /// </summary>
    public bool ReserveSriovBusNumbers { get; set; }

    public bool Booted { get; private set; }

    public IReadOnlyList<PciBus> RootBuses => rootBuses;

    /// <summary>Enumerated functions in the PCI core's device-list order (= IOMMU probe order).</summary>
    public IReadOnlyList<PciFunction> Functions => devices;

    /// <summary>Raised for each function Linux adds after boot (SR-IOV VFs).</summary>
    public event Action<PciFunction>? FunctionAdded;

    /// <summary>
    /// Raised first when a function is removed, before <see cref="FunctionRemoving"/>: pci_stop_dev(), where the
    /// device's driver is released while the device still has its IOMMU group.
    /// </summary>
    public event Action<PciFunction>? FunctionStopping;

    /// <summary>Raised before a function is removed (SR-IOV VFs on disable).</summary>
    public event Action<PciFunction>? FunctionRemoving;

    public PciBus AddRootBus(ushort domain, byte number, string name)
    {
        var bus = new PciBus(domain, null, null, isExpress: true, name) { Number = number };
        rootBuses.Add(bus);
        return bus;
    }

    /// <summary>Plugs a function into a slot; a bridge gets its secondary bus (PCIe below PCIe ports, else conventional).</summary>
    public PciFunction Plug(PciBus bus, byte devfn, PciFunction function, string? secondaryName = null)
    {
        if (Booted) throw new InvalidOperationException("hot-plug after boot is not modelled");
        bus.Plug(devfn, function);
        if (function.IsBridge)
        {
            var flags = RawPcieType(function);
            bool express = flags is PcieType.RootPort or PcieType.Upstream or PcieType.Downstream or PcieType.PcieBridge;
            var child = new PciBus(bus.Domain, bus, function, express, secondaryName ?? function.Id);
            function.Secondary = child;
        }
        return function;
    }

    /// <summary>Plugs a host bridge function (such as pxb-pcie) that opens another root bus with the given number.</summary>
    public PciBus PlugHostBridge(PciBus bus, byte devfn, PciFunction function, byte rootBusNumber, string? name)
    {
        Plug(bus, devfn, function);
        var root = AddRootBus(bus.Domain, rootBusNumber, name ?? $"pci{rootBusNumber:x2}");
        function.Secondary = root;
        return root;
    }

    internal static PcieType? RawPcieType(PciFunction f)
    {
        int cap = f.Config.FindCapability(PciRegs.CapIdExp);
        return cap == 0 ? null : (PcieType)((f.Config.Read16(cap + PciRegs.ExpFlags) & PciRegs.ExpFlagsType) >> 4);
    }

    /// <summary>Firmware bus numbering, then Linux's scan of every root bus (drivers/pci/probe.c).</summary>
    public void Boot()
    {
        if (Booted) throw new InvalidOperationException("already booted");
        Firmware.NumberBuses(this);
        var scan = new PciScan(this);
        var roots = rootBuses.OrderBy(r => (r.Domain, r.Number)).ToList();
        foreach (var root in roots) scan.ScanRootBus(root);
        // Room for every device found and every VF the PFs could have, so a large machine is not copied as it grows.
        devices.EnsureCapacity(Found + MaxVfs);
        byBdf.EnsureCapacity(Found + MaxVfs);
        foreach (var root in roots) scan.AddDevices(root);
        Booted = true;
    }

    /// <summary>Devices the boot scan found.</summary>
    internal int Found { get; set; }

    /// <summary>The sum of TotalVFs over the PFs the boot scan found: the most VFs that can appear later.</summary>
    internal int MaxVfs { get; set; }

    internal void Register(PciFunction f)
    {
        f.ProbeIndex = devices.Count;
        devices.Add(f);
        byBdf[f.Bdf] = f;
        if (f.Device is { } model) model.Clock = Clock;
    }

    internal void RaiseAdded(PciFunction f) => FunctionAdded?.Invoke(f);

    internal void Unregister(PciFunction f)
    {
        FunctionStopping?.Invoke(f);
        FunctionRemoving?.Invoke(f);
        // ProbeIndex is the position in the list, so only the devices after it move (none when the last VFs go).
        int at = f.ProbeIndex >= 0 && f.ProbeIndex < devices.Count && devices[f.ProbeIndex] == f ? f.ProbeIndex : devices.IndexOf(f);
        if (at >= 0)
        {
            devices.RemoveAt(at);
            for (int i = at; i < devices.Count; i++) devices[i].ProbeIndex = i;
        }
        byBdf.Remove(f.Bdf);
        f.ProbeIndex = -1;
    }

    public PciFunction? Find(Bdf bdf) => byBdf.GetValueOrDefault(bdf);

    public PciFunction Get(Bdf bdf) => Find(bdf) ?? throw new KeyNotFoundException($"no PCI device {bdf}");

    public PciFunction Get(string bdf) => Get(Bdf.Parse(bdf));

    /// <summary>Every plugged function, enumerated or not, depth first.</summary>
    public IEnumerable<PciFunction> AllPlugged()
    {
        var stack = new Stack<PciBus>(rootBuses.AsEnumerable().Reverse());
        while (stack.Count > 0)
        {
            var bus = stack.Pop();
            foreach (var f in bus.Slots.Values)
            {
                yield return f;
                if (f.Secondary is { IsRoot: false } s) stack.Push(s);
            }
        }
    }
}
