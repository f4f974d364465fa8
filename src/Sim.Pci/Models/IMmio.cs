namespace VfioSim.Pci.Models;

/// <summary>
/// A device region as the bus sees it: loads and stores of 1, 2, 4 or 8 bytes at an offset into the region
/// (a BAR's MMIO, or a region a process mapped).
/// </summary>
public interface IMmio
{
    ulong Read(ulong offset, int size);
    void Write(ulong offset, int size, ulong value);
}
