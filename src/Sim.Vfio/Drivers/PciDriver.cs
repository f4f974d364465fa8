using VfioSim.Pci;

namespace VfioSim.Vfio.Drivers;

/// <summary>
/// A driver's probe(): 0 when it takes the device, or -errno (-ENODEV/-ENXIO: "not mine", anything else: a
/// failure the kernel logs as "probe with driver X failed with error -N").
/// </summary>
public delegate int PciProbe(PciFunction dev, PciDeviceId id, Machine machine);

/// <summary>
/// A PCI driver (struct pci_driver): its name as under /sys/bus/pci/drivers, its static ID table, the dynamic IDs
/// added through new_id, its probe and remove, and <see cref="DriverManagedDma"/>.
/// </summary>
public sealed class PciDriver
{
    private readonly List<PciDeviceId> dynamicIds = [];

    /// <param name="idTable">
    /// The static ID table; null for a driver that has none (pci-stub), which then accepts any driver_data in
    /// new_id.
    /// </param>
    public PciDriver(string name, IReadOnlyList<PciDeviceId>? idTable = null, bool driverManagedDma = false,
        PciProbe? probe = null, Action<PciFunction, Machine>? remove = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal) || name is "." or ".." || name.Contains('\n', StringComparison.Ordinal))
            throw new ArgumentException($"'{name}' is not a driver name", nameof(name));
        Name = name;
        IdTable = idTable;
        DriverManagedDma = driverManagedDma;
        Probe = probe;
        Remove = remove;
    }

    public string Name { get; }

    /// <summary>The static ID table (drv-&gt;id_table), or null.</summary>
    public IReadOnlyList<PciDeviceId>? IdTable { get; }

    /// <summary>IDs added through new_id, in the order added (drv-&gt;dynids); matched before the static table.</summary>
    public IReadOnlyList<PciDeviceId> DynamicIds => dynamicIds;

    /// <summary>
    /// pci_driver.driver_managed_dma: the driver does not use the kernel DMA API (it hands DMA to user space or does
    /// none), so binding it does not take the IOMMU group's default domain (iommu_device_use_default_domain()).
    /// True for vfio-pci, pci-stub and pcieport; a driver without it makes its device's group non-viable for VFIO.
    /// </summary>
    public bool DriverManagedDma { get; }

    /// <summary>probe(); null: the driver takes every device it matches.</summary>
    public PciProbe? Probe { get; }

    /// <summary>remove(), run while the device is still bound (before its driver link goes).</summary>
    public Action<PciFunction, Machine>? Remove { get; }

    /// <summary>
    /// A bus notifier the driver registers (BUS_NOTIFY_ADD_DEVICE): called for each device added after boot,
    /// before the driver core probes it.
    /// </summary>
    public Action<PciFunction, Machine>? DeviceAdded { get; init; }

    /// <summary>
    /// pci_match_device(): a driver_override naming another driver matches nothing; then the dynamic IDs, then the
    /// static table (an override-only entry only when driver_override is set); a driver_override naming this
    /// driver matches anything left (pci_device_id_any).
    /// </summary>
    public PciDeviceId? Match(PciIdentity dev, string? driverOverride)
    {
        if (driverOverride is not null && driverOverride != Name) return null;
        foreach (var id in dynamicIds)
            if (id.Matches(dev)) return id;
        if (IdTable is not null)
            foreach (var id in IdTable)
                if (id.Matches(dev) && (!id.OverrideOnly || driverOverride is not null)) return id;
        return driverOverride is not null ? AnyDevice : null;
    }

    /// <summary>pci_device_id_any: what a driver_override match probes with.</summary>
    public static PciDeviceId AnyDevice { get; } = new(PciDeviceId.AnyId, PciDeviceId.AnyId);

    /// <summary>pci_add_dynid(): appended; the caller attaches the driver to unbound devices.</summary>
    internal void AddDynamicId(PciDeviceId id) => dynamicIds.Add(id);

    internal bool RemoveDynamicId(PciDeviceId id) => dynamicIds.Remove(id);

    public override string ToString() => Name;
}
