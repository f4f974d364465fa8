namespace VfioSim.Vfio;

/// <summary>
/// What the driver core keeps for a PCI device beside its hardware: the bound driver (dev-&gt;driver) and the
/// driver_override string (pci_dev-&gt;driver_override). Both are null on a freshly booted machine.
/// </summary>
public sealed class PciDeviceState
{
    /// <summary>Name of the bound driver (as under /sys/bus/pci/drivers), or null when unbound.</summary>
    public string? Driver { get; internal set; }

    /// <summary>The driver_override string, or null when none is set.</summary>
    public string? DriverOverride { get; internal set; }
}
