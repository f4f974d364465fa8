namespace VfioSim.Vfio;

/// <summary>
/// What the driver core keeps for a PCI device beside its hardware: the bound driver (dev-&gt;driver), the
/// driver_override string (pci_dev-&gt;driver_override) and, for an SR-IOV PF, sriov-&gt;drivers_autoprobe.
/// </summary>
public sealed class PciDeviceState
{
    /// <summary>Name of the bound driver (as under /sys/bus/pci/drivers), or null when unbound.</summary>
    public string? Driver { get; internal set; }

    /// <summary>The driver_override string, or null when none is set.</summary>
    public string? DriverOverride { get; internal set; }

    /// <summary>
    /// A PF's sriov_drivers_autoprobe (on by default): when off, its VFs are probed only with a driver_override.
    /// </summary>
    public bool SriovDriversAutoprobe { get; internal set; } = true;
}
