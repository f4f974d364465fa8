namespace VfioSim.Pci;

/// <summary>
/// A path for DMA by bus address: what a device model reads and writes memory through. Devices never see
/// process pointers, only bus addresses (IOVAs when an IOMMU translates).
/// </summary>
public interface IDmaPort
{
    /// <summary>A memory read request of <c>destination.Length</c> bytes at <paramref name="busAddress"/>; false = aborted (nothing read).</summary>
    bool Read(ulong busAddress, Span<byte> destination);

    /// <summary>A memory write request of <paramref name="source"/> at <paramref name="busAddress"/>; false = aborted.</summary>
    bool Write(ulong busAddress, ReadOnlySpan<byte> source);
}

/// <summary>
/// A function's bus-master interface (<see cref="PciFunction.Dma"/>). A request leaves the function only while
/// its Command register has Bus Master Enable set (PCI_COMMAND_MASTER, what pci_set_master() sets); it then goes
/// to <see cref="Upstream"/>, which the machine connects to the IOMMU. A request that does not leave the function,
/// or that nothing upstream claims, is a master abort: it is counted here and is not an IOMMU fault.
/// Only the function's own Bus Master Enable is checked, not those of the bridges above it (Linux sets them when a
/// driver enables a device below).
/// </summary>
public sealed class DmaPort : IDmaPort
{
    internal DmaPort(PciFunction function) => Function = function;

    public PciFunction Function { get; }

    /// <summary>Where requests go once they leave the function: the root complex's path for it; null when none is connected.</summary>
    public IDmaPort? Upstream { get; set; }

    /// <summary>Requests that never left the function: Bus Master Enable clear, or no upstream connected.</summary>
    public int MasterAborts { get; private set; }

    /// <summary>Whether the function may issue DMA now (Command.Bus Master Enable).</summary>
    public bool BusMasterEnabled => (Function.Config.Read16(PciRegs.Command) & PciRegs.CommandMaster) != 0;

    public bool Read(ulong busAddress, Span<byte> destination)
    {
        var up = Leave();
        return up is not null && up.Read(busAddress, destination);
    }

    public bool Write(ulong busAddress, ReadOnlySpan<byte> source)
    {
        var up = Leave();
        return up is not null && up.Write(busAddress, source);
    }

    private IDmaPort? Leave()
    {
        var up = BusMasterEnabled ? Upstream : null;
        if (up is null) MasterAborts++;
        return up;
    }
}
