using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Uapi;

namespace VfioSim.Vfio.Drivers;

/// <summary>
/// The driver core for the PCI bus (drivers/base/bus.c, dd.c and drivers/pci/pci-driver.c): the registered drivers,
/// which driver each device is bound to, and the operations behind the sysfs files that change it. Return values
/// follow the kernel: 0 or -errno.
/// <para>
/// Binding goes the kernel's way: a driver matches a device (pci_bus_match(): driver_override, dynamic IDs, ID
/// table), then really_probe() configures DMA (pci_dma_configure(): a driver that is not driver_managed_dma takes
/// the IOMMU group's default domain, -EBUSY when user space owns the group), then the driver's probe runs
/// (pci_device_probe(): a VF whose PF has sriov_drivers_autoprobe off is only probed with a driver_override).
/// The state and the sysfs links change only through <see cref="Machine.SetBoundDriver"/>.
/// </para>
/// </summary>
public sealed class DriverCore
{
    private readonly Machine machine;
    private readonly List<PciDriver> drivers = [];
    private readonly Dictionary<string, PciDriver> byName = new(StringComparer.Ordinal);
    private readonly List<string> messages = [];

    internal DriverCore(Machine machine)
    {
        this.machine = machine;
        // After the IOMMU and sysfs handlers: pci_bus_add_device() attaches a driver once the device is in place.
        machine.Topology.FunctionAdded += DeviceAdded;
        // pci_stop_dev(): the driver goes before the device leaves its group and sysfs.
        machine.Topology.FunctionStopping += Release;
    }

    /// <summary>Registered drivers in registration order (the order device_attach() tries them in).</summary>
    public IReadOnlyList<PciDriver> Drivers => drivers;

    /// <summary>The kernel log lines the driver core printed (dev_err() of failed probes), oldest first.</summary>
    public IReadOnlyList<string> Messages => messages;

    /// <summary>A device was bound (after its probe succeeded and its driver link appeared).</summary>
    public event Action<PciFunction, PciDriver>? DeviceBound;

    /// <summary>A device is being unbound (BUS_NOTIFY_UNBIND_DRIVER): still bound, before the driver's remove.</summary>
    public event Action<PciFunction, PciDriver>? DeviceUnbinding;

    /// <summary>A device was unbound: its driver link is gone and its DMA reference dropped.</summary>
    public event Action<PciFunction, PciDriver>? DeviceUnbound;

    public PciDriver? Find(string name) => byName.GetValueOrDefault(name);

    /// <summary>The driver the device is bound to (dev-&gt;driver), or null.</summary>
    public PciDriver? DriverOf(PciFunction dev) => machine.StateOf(dev).Driver is { } name ? byName[name] : null;

    /// <summary>The devices bound to a driver, in device-list order (the driver's klist of devices).</summary>
    public IEnumerable<PciFunction> DevicesBoundTo(PciDriver driver)
    {
        CheckRegistered(driver);
        return machine.Topology.Functions.Where(d => machine.StateOf(d).Driver == driver.Name);
    }

    /// <summary>Members of the group bound to vfio-pci, in the group's order: while there is one, /dev/vfio/N exists.</summary>
    public IReadOnlyList<PciFunction> VfioPciDevices(IommuGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        return group.Devices.Where(d => machine.StateOf(d).Driver == InTreeDrivers.VfioPci).ToList();
    }

    /// <summary>
    /// pci_register_driver(): bus_add_driver() makes /sys/bus/pci/drivers/NAME, then driver_attach() offers the
    /// driver every unbound device in device-list order.
    /// </summary>
    /// <exception cref="ArgumentException">A driver of that name is registered (the kernel refuses: -EBUSY).</exception>
    public void Register(PciDriver driver)
    {
        Add(driver);
        DriverAttach(driver);
    }

    /// <summary>A driver named by <see cref="Machine.SetBoundDriver"/> for the first time: registered without an ID table or attach.</summary>
    internal PciDriver FindOrAdd(string name) => Find(name) ?? Add(new PciDriver(name));

    private PciDriver Add(PciDriver driver)
    {
        ArgumentNullException.ThrowIfNull(driver);
        if (!byName.TryAdd(driver.Name, driver))
            throw new ArgumentException($"a driver named '{driver.Name}' is already registered", nameof(driver));
        drivers.Add(driver);
        machine.SysfsNodes.DriverRegistered(driver);
        return driver;
    }

    /// <summary>
    /// device_driver_attach() behind <c>drivers/NAME/bind</c>: -ENODEV when the driver does not match the device,
    /// -EBUSY when the device has a driver, else the probe's result (-EBUSY when user space owns the group of a
    /// DMA-API driver's device, the driver's own -errno).
    /// </summary>
    public int Bind(PciFunction dev, PciDriver driver)
    {
        CheckRegistered(driver);
        if (Match(driver, dev) is null) return -Errno.ENODEV;
        int ret = ProbeDevice(dev, driver);
        return ret > 0 ? -ret : ret;
    }

    /// <summary>
    /// The core of <c>drivers/NAME/unbind</c>: -ENODEV unless the device is bound to this driver; otherwise
    /// device_driver_detach(), which cannot fail.
    /// </summary>
    public int Unbind(PciFunction dev, PciDriver driver)
    {
        CheckRegistered(driver);
        if (DriverOf(dev) != driver) return -Errno.ENODEV;
        Release(dev);
        return 0;
    }

    /// <summary>device_release_driver(): the driver's remove runs and the device is left unbound (nothing if it was).</summary>
    public void Release(PciFunction dev) => machine.SetBoundDriver(dev, null);

    /// <summary>
    /// device_attach(): a bound device stays (1); otherwise each driver in registration order that matches is
    /// probed until one takes it (1). A probe the driver itself fails lets the next driver try; a failure before
    /// the driver's probe (DMA configuration: -EBUSY) stops the walk and is returned. 0: no driver took it.
    /// </summary>
    public int Attach(PciFunction dev)
    {
        if (machine.StateOf(dev).Driver is not null) return 1;
        foreach (var driver in drivers.ToList())
        {
            if (Match(driver, dev) is null) continue;
            int ret = ProbeDevice(dev, driver);
            if (ret < 0) return ret;
            if (ret == 0) return 1;
        }
        return 0;
    }

    /// <summary>
    /// The core of <c>/sys/bus/pci/drivers_probe</c> (bus_rescan_devices_helper()): a bound device is left alone;
    /// otherwise <see cref="Attach"/>, whose negative result becomes -EINVAL. 0 also when no driver took it.
    /// </summary>
    public int ProbeDrivers(PciFunction dev) => Attach(dev) < 0 ? -Errno.EINVAL : 0;

    /// <summary>Sets or (with null) clears driver_override; nothing is re-bound until the next probe.</summary>
    public void SetDriverOverride(PciFunction dev, string? driverOverride) => machine.StateOf(dev).DriverOverride = driverOverride;

    /// <summary>
    /// new_id_store() after parsing: unless all seven fields were given, an ID the driver already matches is
    /// -EEXIST; a driver_data that no static entry carries is -EINVAL (any value for a driver without a table);
    /// then pci_add_dynid() and driver_attach(), which binds every unbound device the ID matches.
    /// </summary>
    public int AddDynamicId(PciDriver driver, PciDeviceId id, bool allFieldsGiven)
    {
        CheckRegistered(driver);
        ArgumentNullException.ThrowIfNull(id);
        if (!allFieldsGiven)
        {
            // A zeroed pci_dev with the written IDs (its fields are 16 bits) and no driver_override.
            var probe = new PciIdentity((ushort)id.Vendor, (ushort)id.Device, (ushort)id.SubVendor, (ushort)id.SubDevice, id.Class);
            if (driver.Match(probe, null) is not null) return -Errno.EEXIST;
        }
        if (driver.IdTable is { } table && !table.Any(e => e.DriverData == id.DriverData)) return -Errno.EINVAL;
        driver.AddDynamicId(id);
        DriverAttach(driver);
        return 0;
    }

    /// <summary>
    /// remove_id_store() after parsing: removes the first dynamic ID with this vendor and device whose subsystem IDs
    /// equal the given ones (PCI_ANY_ID given: any) and whose class equals under the given mask; -ENODEV when none
    /// does. Bound devices stay bound.
    /// </summary>
    public int RemoveDynamicId(PciDriver driver, uint vendor, uint device, uint subVendor, uint subDevice, uint cls, uint classMask)
    {
        CheckRegistered(driver);
        var match = driver.DynamicIds.FirstOrDefault(id =>
            id.Vendor == vendor && id.Device == device &&
            (subVendor == PciDeviceId.AnyId || id.SubVendor == subVendor) &&
            (subDevice == PciDeviceId.AnyId || id.SubDevice == subDevice) &&
            ((id.Class ^ cls) & classMask) == 0);
        if (match is null) return -Errno.ENODEV;
        driver.RemoveDynamicId(match);
        return 0;
    }

    /// <summary>
    /// driver_attach(): __driver_attach() for each device in device-list order, ignoring errors (a driver may
    /// refuse some of the devices it matches).
    /// </summary>
    private void DriverAttach(PciDriver driver)
    {
        foreach (var dev in machine.Topology.Functions.ToList())
            if (dev.IsEnumerated && Match(driver, dev) is not null) ProbeDevice(dev, driver);
    }

    private void CheckRegistered(PciDriver driver)
    {
        ArgumentNullException.ThrowIfNull(driver);
        if (Find(driver.Name) != driver) throw new ArgumentException($"driver '{driver.Name}' is not registered on this machine", nameof(driver));
    }

    /// <summary>pci_bus_match() (match_driver is set for every added device).</summary>
    private PciDeviceId? Match(PciDriver driver, PciFunction dev) =>
        driver.Match(PciIdentity.Of(dev), machine.StateOf(dev).DriverOverride);

    /// <summary>
    /// __driver_probe_device() and really_probe(): 0 when bound. Negative (kernel convention) when it fails before
    /// the driver's probe: -ENODEV for a removed device, -EBUSY for a bound one or from pci_dma_configure();
    /// positive errno when pci_device_probe() or the driver's probe refused.
    /// </summary>
    private int ProbeDevice(PciFunction dev, PciDriver driver)
    {
        if (!dev.IsEnumerated) return -Errno.ENODEV;
        var state = machine.StateOf(dev);
        if (state.Driver is not null) return -Errno.EBUSY;
        if (!driver.DriverManagedDma && !machine.DmaOwnership.CanUseDefaultDomain(dev)) return -Errno.EBUSY;
        int ret = PciDeviceProbe(dev, driver, state);
        if (ret != 0)
        {
            // call_driver_probe(): -ENODEV and -ENXIO are "not mine" (dev_dbg), anything else is an error.
            if (ret is not (-Errno.ENODEV or -Errno.ENXIO))
                messages.Add($"{driver.Name} {dev.Bdf}: probe with driver {driver.Name} failed with error {ret}");
            return -ret;
        }
        machine.SetBoundDriver(dev, driver.Name);
        return 0;
    }

    /// <summary>
    /// pci_device_probe(): pci_device_can_probe() (a VF is probed only if its PF's sriov_drivers_autoprobe is on or
    /// it has a driver_override), then the matching ID and the driver's probe; a positive result counts as success
    /// (local_pci_probe()).
    /// </summary>
    private int PciDeviceProbe(PciFunction dev, PciDriver driver, PciDeviceState state)
    {
        if (dev.PhysFn is { } pf && !machine.StateOf(pf).SriovDriversAutoprobe && state.DriverOverride is null)
            return -Errno.ENODEV;
        if (Match(driver, dev) is not { } id) return -Errno.ENODEV;
        int ret = driver.Probe?.Invoke(dev, id, machine) ?? 0;
        return ret > 0 ? 0 : ret;
    }

    /// <summary>
    /// A device added after boot (an SR-IOV VF): the drivers' bus notifiers see it (BUS_NOTIFY_ADD_DEVICE), then
    /// pci_bus_add_device() attaches a driver.
    /// </summary>
    private void DeviceAdded(PciFunction dev)
    {
        foreach (var driver in drivers.ToList()) driver.DeviceAdded?.Invoke(dev, machine);
        Attach(dev);
    }

    // ---- called by Machine.SetBoundDriver, the one place the binding changes ----

    /// <summary>pci_dma_configure() for a driver that uses the DMA API.</summary>
    internal void Binding(PciFunction dev, PciDriver driver)
    {
        if (!driver.DriverManagedDma) machine.DmaOwnership.UseDefaultDomain(dev);
    }

    internal void Bound(PciFunction dev, PciDriver driver) => DeviceBound?.Invoke(dev, driver);

    /// <summary>__device_release_driver() up to the driver's remove.</summary>
    internal void Unbinding(PciFunction dev, PciDriver driver)
    {
        DeviceUnbinding?.Invoke(dev, driver);
        driver.Remove?.Invoke(dev, machine);
    }

    /// <summary>pci_dma_cleanup() and BUS_NOTIFY_UNBOUND_DRIVER.</summary>
    internal void Unbound(PciFunction dev, PciDriver driver)
    {
        if (!driver.DriverManagedDma) machine.DmaOwnership.UnuseDefaultDomain(dev);
        DeviceUnbound?.Invoke(dev, driver);
    }
}
