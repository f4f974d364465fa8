using VfioSim.Pci;

namespace VfioSim.Iommu;

/// <summary>The direction of a DMA transaction, as the fault record states it.</summary>
public enum DmaDirection
{
    Read,
    Write,
}

/// <summary>Why the IOMMU refused a transaction.</summary>
public enum IommuFaultReason
{
    /// <summary>No page table entry for the address (VT-d reports it as the missing R or W bit: 0x06 / 0x05).</summary>
    NotMapped,
    /// <summary>The page is mapped without the permission the access needs (write to read-only: 0x05).</summary>
    Permission,
    /// <summary>The group is attached to a blocking domain (its context entry is cleared: 0x02).</summary>
    Blocked,
    /// <summary>The address is above the domain's address width (0x04, "Access beyond MGAW").</summary>
    BeyondAperture,
}

/// <summary>
/// One DMA remapping fault: who asked (the function, and the requester ID the IOMMU saw, which a bridge above may
/// have replaced), for what (start IOVA, length, direction), why, the first byte that failed, and when (virtual
/// ns). A faulting transaction moves no bytes.
/// </summary>
public sealed record IommuFault(
    Bdf Device, Bdf RequesterId, ulong Iova, int Length, DmaDirection Access, IommuFaultReason Reason, ulong FaultAddress, long TimeNs)
{
    /// <summary>dma_remap_fault_reasons[] of drivers/iommu/intel/dmar.c, indexed by the VT-d fault reason code.</summary>
    private static readonly string[] DmaRemapFaultReasons =
    [
        "Software",
        "Present bit in root entry is clear",
        "Present bit in context entry is clear",
        "Invalid context entry",
        "Access beyond MGAW",
        "PTE Write access is not set",
        "PTE Read access is not set",
    ];

    /// <summary>
    /// The VT-d fault reason code hardware records: an unmapped page and a missing permission look alike
    /// (the PTE lacks the R or W bit the access needs).
    /// </summary>
    public byte VtdReasonCode => Reason switch
    {
        IommuFaultReason.Blocked => 0x02,
        IommuFaultReason.BeyondAperture => 0x04,
        _ => Access == DmaDirection.Write ? (byte)0x05 : (byte)0x06,
    };

    public string VtdReasonText => DmaRemapFaultReasons[VtdReasonCode];

    /// <summary>
    /// The line dmar_fault_do_one() logs for it, e.g.
    /// <c>DMAR: [DMA Write NO_PASID] Request device [01:00.0] fault addr 0x900000 [fault reason 0x05] PTE Write access is not set</c>.
    /// The fault recording register holds the page address (dmar_fault() masks it with VTD_PAGE_MASK), and the
    /// source ID has no PCI segment.
    /// </summary>
    public string ToDmarLine() =>
        $"DMAR: [DMA {(Access == DmaDirection.Write ? "Write" : "Read")} NO_PASID] Request device [{RequesterId.ToShortString()}] " +
        $"fault addr 0x{FaultAddress & ~(IommuDomain.PageSize - 1):x} [fault reason 0x{VtdReasonCode:x2}] {VtdReasonText}";

    public override string ToString() => ToDmarLine();
}
