using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;
using VfioSim.Vfio.Drivers;
using VfioSim.Vfio.Sysfs;

namespace VfioSim.Vfio;

/// <summary>
/// A booted machine as the simulated kernel sees it: the PCI topology, its IOMMU groups, the driver core (which
/// driver each device is bound to, DMA ownership of the groups) and the sysfs tree that shows them. At boot every
/// device is offered to the drivers in registration order, as Linux does. SR-IOV VFs enabled later
/// (<see cref="Sriov.SetNumVfs"/>) join the groups, sysfs and a driver as they appear, and leave them when disabled.
/// </summary>
public sealed class Machine
{
    private readonly Dictionary<PciFunction, PciDeviceState> states = [];
    private readonly MachineSysfs sysfs;

    /// <param name="topology">The machine's PCI hardware; booted here if it has not been.</param>
    /// <param name="dmaStrict">
    /// Strict IOTLB invalidation: the VT-d driver forces it when the IOMMU has Caching Mode, as QEMU's
    /// intel-iommu,caching-mode=on does ("IOMMU batching disallowed due to virtualization"), so DMA domains are
    /// IOMMU_DOMAIN_DMA; false gives the lazy IOMMU_DOMAIN_DMA_FQ of bare-metal x86 (CONFIG_IOMMU_DEFAULT_DMA_LAZY).
    /// </param>
    /// <param name="drivers">
    /// The drivers to register, in registration order; null: <see cref="InTreeDrivers.All"/> (pcieport, virtio-pci,
    /// e1000e, nvme, ahci, lpc_ich, i801_smbus, pci-stub, vfio-pci).
    /// </param>
    public Machine(PciTopology topology, bool dmaStrict = true, IEnumerable<PciDriver>? drivers = null)
    {
        Topology = topology;
        DmaStrict = dmaStrict;
        if (!topology.Booted) topology.Boot();
        Groups = new IommuGroups(topology);  // subscribes first: a new VF has its group before sysfs shows it
        Iommu = new IommuModel(Groups, Clock, DefaultDomainType);
        sysfs = new MachineSysfs(this);
        topology.FunctionRemoving += dev => states.Remove(dev);
        DmaOwnership = new DmaOwnership(this);
        Drivers = new DriverCore(this);      // after sysfs: a new VF's directory exists before its driver binds
        Vfio = new VfioCore(this);           // before any binding: vfio-pci's noiommu groups are made as it binds
        foreach (var driver in drivers ?? InTreeDrivers.All()) Drivers.Register(driver);
    }

    /// <summary>Loads and boots a machine file (.qemu or .json); throws <see cref="MachineFileException"/> on a bad file.</summary>
    public static Machine Load(string path) => new(MachineLoader.Load(path));

    public PciTopology Topology { get; }
    public IommuGroups Groups { get; }

    /// <summary>The PCI driver core: registered drivers, bindings, and the operations behind the sysfs files.</summary>
    public DriverCore Drivers { get; }

    /// <summary>DMA ownership of the IOMMU groups: viability, and the claims VFIO and iommufd make.</summary>
    public DmaOwnership DmaOwnership { get; }

    /// <summary>
    /// The IOMMU: each group's current domain, and every function's DMA port (<see cref="PciFunction.Dma"/>)
    /// routed through it, VFs included; DMA remapping faults are in <see cref="IommuModel.Faults"/>.
    /// </summary>
    public IommuModel Iommu { get; }

    /// <summary>The VFIO core: /dev/vfio/vfio containers and /dev/vfio/N groups.</summary>
    public VfioCore Vfio { get; }

    /// <summary>Simulated time shared by devices and processes (the topology's clock, which device models use).</summary>
    public VirtualClock Clock => Topology.Clock;

    private int nextPid = 1000;

    /// <summary>Starts a process on this machine: its own fds, memory and limits.</summary>
    public Process.SimProcess CreateProcess(string name = "driver") => new(this, nextPid++, name);

    /// <summary>
    /// Opens a device node (/dev/...) for <paramref name="process"/>; null with <paramref name="errno"/> when it
    /// does not exist. The VFIO nodes come with the VFIO objects.
    /// </summary>
    internal Process.SimFile? OpenDevice(Process.SimProcess process, string path, Uapi.OpenFlags flags, out int errno)
    {
        _ = flags;
        return Vfio.Open(process, path, out errno);
    }

    /// <summary>The sysfs tree mounted at /sys.</summary>
    public SysfsTree Sysfs => sysfs.Tree;

    internal MachineSysfs SysfsNodes => sysfs;

    public bool IommuPresent => Topology.IommuPresent;
    public bool DmaStrict { get; }

    /// <summary>
    /// The default domain type of every group (iommu_def_domain_type): identity with <c>iommu=pt</c>,
    /// otherwise a DMA domain, strict or lazy (see <see cref="DmaStrict"/>).
    /// </summary>
    public IommuDomainType DefaultDomainType =>
        Topology.CommandLine.Passthrough ? IommuDomainType.Identity : DmaStrict ? IommuDomainType.Dma : IommuDomainType.DmaFq;

    /// <summary>The type of the group's default domain (group-&gt;default_domain-&gt;type), what sysfs <c>type</c> shows.</summary>
    public IommuDomainType DomainTypeOf(IommuGroup group) => Iommu.DefaultDomainOf(group).Type;

    /// <summary>The driver-core state of an enumerated device of this machine.</summary>
    public PciDeviceState StateOf(PciFunction dev)
    {
        CheckOwn(dev);
        if (!states.TryGetValue(dev, out var state)) states[dev] = state = new PciDeviceState();
        return state;
    }

    /// <summary>
    /// Records that a driver is (or, with null, no longer is) bound to the device: the one place a binding changes.
    /// The driver core calls it once a probe has succeeded, and with null to release a driver; called directly it
    /// binds without matching or probing. Unbinding runs __device_release_driver(): the
    /// <see cref="DriverCore.DeviceUnbinding"/> event, the driver's remove, the links going, the DMA reference
    /// dropped, <see cref="DriverCore.DeviceUnbound"/>. Binding takes the DMA reference of a DMA-API driver, shows
    /// the links the way driver_sysfs_add() does (the device's <c>driver</c> link and the driver's device link) and
    /// raises <see cref="DriverCore.DeviceBound"/>. A driver named for the first time is registered (its
    /// /sys/bus/pci/drivers directory appears) with no ID table.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// A driver that uses the DMA API onto a device whose group user space owns: the kernel never gets there
    /// (iommu_device_use_default_domain() fails the probe with -EBUSY; <see cref="DriverCore.Bind"/> answers so).
    /// </exception>
    public void SetBoundDriver(PciFunction dev, string? driver)
    {
        var state = StateOf(dev);
        if (driver is not null && (driver.Length == 0 || driver.Contains('/', StringComparison.Ordinal) || driver is "." or ".."))
            throw new ArgumentException($"'{driver}' is not a driver name", nameof(driver));
        if (state.Driver == driver) return;
        if (state.Driver is { } old)
        {
            var oldDriver = Drivers.Find(old)!;
            Drivers.Unbinding(dev, oldDriver);
            sysfs.DriverUnbound(dev, old);
            state.Driver = null;
            Drivers.Unbound(dev, oldDriver);
        }
        if (driver is null) return;
        var newDriver = Drivers.FindOrAdd(driver);
        Drivers.Binding(dev, newDriver);
        state.Driver = driver;
        sysfs.DriverBound(dev, driver);
        Drivers.Bound(dev, newDriver);
    }

    private void CheckOwn(PciFunction dev)
    {
        ArgumentNullException.ThrowIfNull(dev);
        if (!dev.IsEnumerated || Topology.Find(dev.Bdf) != dev)
            throw new ArgumentException($"{dev} is not an enumerated device of this machine", nameof(dev));
    }
}
