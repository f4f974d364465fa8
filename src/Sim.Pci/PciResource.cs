namespace VfioSim.Pci;

public enum ResourceKind { Io, Mem32, Mem64, Rom }

/// <summary>
/// A BAR as the hardware implements it: index 0-5 (standard BARs), 6 (expansion ROM), 7-12 (SR-IOV VF BARs,
/// size per VF), matching the line numbers of sysfs <c>resource</c>. Size is a power of two.
/// </summary>
public sealed record PciResource(int Index, ResourceKind Kind, ulong Size, bool Prefetchable = false)
{
    public const int RomIndex = 6, FirstVfIndex = 7;

    public bool IsVfBar => Index >= FirstVfIndex;

    /// <summary>The low bits of the BAR register that describe its type (read-only).</summary>
    public uint TypeBits => Kind switch
    {
        ResourceKind.Io => PciRegs.BaseAddressSpaceIo,
        ResourceKind.Mem64 => PciRegs.BaseAddressMemType64 | (Prefetchable ? PciRegs.BaseAddressMemPrefetch : 0u),
        ResourceKind.Mem32 => Prefetchable ? PciRegs.BaseAddressMemPrefetch : 0u,
        _ => 0u,
    };

    /// <summary>Write mask of the low dword: the address bits above the size (BAR sizing reads back ~(size-1)).</summary>
    public uint LowMask => Kind switch
    {
        ResourceKind.Io => ~(uint)(Size - 1) & 0xfffffffc & 0xffff,
        ResourceKind.Rom => (~(uint)(Size - 1) & 0xfffff800) | PciRegs.RomAddressEnable,
        _ => (uint)(~(Size - 1) & 0xfffffff0),
    };

    public uint HighMask => Kind == ResourceKind.Mem64 ? (uint)(~(Size - 1) >> 32) : 0u;
}
