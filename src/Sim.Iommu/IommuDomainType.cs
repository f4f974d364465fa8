namespace VfioSim.Iommu;

/// <summary>The type of an IOMMU domain (IOMMU_DOMAIN_* of include/linux/iommu.h).</summary>
public enum IommuDomainType
{
    /// <summary>IOMMU_DOMAIN_BLOCKED: all DMA blocked.</summary>
    Blocked,
    /// <summary>IOMMU_DOMAIN_IDENTITY: DMA addresses are physical addresses (iommu=pt).</summary>
    Identity,
    /// <summary>IOMMU_DOMAIN_UNMANAGED: mappings made by a user such as VFIO.</summary>
    Unmanaged,
    /// <summary>IOMMU_DOMAIN_DMA: the DMA API translates, with strict invalidation.</summary>
    Dma,
    /// <summary>IOMMU_DOMAIN_DMA_FQ: the DMA API translates, with lazy (flush queue) invalidation.</summary>
    DmaFq,
}
