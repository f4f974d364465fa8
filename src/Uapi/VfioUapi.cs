namespace VfioSim.Uapi;

/// <summary>
/// include/uapi/linux/vfio.h: ioctl request numbers (all _IO(';', 100 + n): 0x3B00 | nr on x86_64) and constants.
/// One number serves several fd kinds (0x3B70 is IOMMU_GET_INFO on a container, GET_PCI_HOT_RESET_INFO on a device):
/// the file kind dispatches.
/// </summary>
public static class VfioUapi
{
    public const int Type = ';';
    public const int Base = 100;
    public const int ApiVersion = 0;

    /// <summary>_IO(type, nr) with x86_64 encoding: direction and size bits are zero.</summary>
    public static uint Io(int nr) => (uint)((Type << 8) | nr);

    public static readonly uint GET_API_VERSION = Io(Base + 0);
    public static readonly uint CHECK_EXTENSION = Io(Base + 1);
    public static readonly uint SET_IOMMU = Io(Base + 2);
    public static readonly uint GROUP_GET_STATUS = Io(Base + 3);
    public static readonly uint GROUP_SET_CONTAINER = Io(Base + 4);
    public static readonly uint GROUP_UNSET_CONTAINER = Io(Base + 5);
    public static readonly uint GROUP_GET_DEVICE_FD = Io(Base + 6);
    public static readonly uint DEVICE_GET_INFO = Io(Base + 7);
    public static readonly uint DEVICE_GET_REGION_INFO = Io(Base + 8);
    public static readonly uint DEVICE_GET_IRQ_INFO = Io(Base + 9);
    public static readonly uint DEVICE_SET_IRQS = Io(Base + 10);
    public static readonly uint DEVICE_RESET = Io(Base + 11);
    public static readonly uint DEVICE_GET_PCI_HOT_RESET_INFO = Io(Base + 12);
    public static readonly uint IOMMU_GET_INFO = Io(Base + 12);
    public static readonly uint IOMMU_SPAPR_TCE_GET_INFO = Io(Base + 12);
    public static readonly uint DEVICE_PCI_HOT_RESET = Io(Base + 13);
    public static readonly uint IOMMU_MAP_DMA = Io(Base + 13);
    public static readonly uint DEVICE_QUERY_GFX_PLANE = Io(Base + 14);
    public static readonly uint IOMMU_UNMAP_DMA = Io(Base + 14);
    public static readonly uint DEVICE_GET_GFX_DMABUF = Io(Base + 15);
    public static readonly uint IOMMU_ENABLE = Io(Base + 15);
    public static readonly uint DEVICE_IOEVENTFD = Io(Base + 16);
    public static readonly uint IOMMU_DISABLE = Io(Base + 16);
    public static readonly uint DEVICE_FEATURE = Io(Base + 17);
    public static readonly uint IOMMU_DIRTY_PAGES = Io(Base + 17);
    public static readonly uint IOMMU_SPAPR_REGISTER_MEMORY = Io(Base + 17);
    public static readonly uint DEVICE_BIND_IOMMUFD = Io(Base + 18);
    public static readonly uint IOMMU_SPAPR_UNREGISTER_MEMORY = Io(Base + 18);
    public static readonly uint DEVICE_ATTACH_IOMMUFD_PT = Io(Base + 19);
    public static readonly uint IOMMU_SPAPR_TCE_CREATE = Io(Base + 19);
    public static readonly uint DEVICE_DETACH_IOMMUFD_PT = Io(Base + 20);
    public static readonly uint IOMMU_SPAPR_TCE_REMOVE = Io(Base + 20);
    public static readonly uint EEH_PE_OP = Io(Base + 21);
    public static readonly uint MIG_GET_PRECOPY_INFO = Io(Base + 21);

    // Extensions (VFIO_CHECK_EXTENSION / VFIO_SET_IOMMU)
    public const uint TYPE1_IOMMU = 1, SPAPR_TCE_IOMMU = 2, TYPE1v2_IOMMU = 3, DMA_CC_IOMMU = 4, EEH = 5,
        TYPE1_NESTING_IOMMU = 6, SPAPR_TCE_v2_IOMMU = 7, NOIOMMU_IOMMU = 8, UNMAP_ALL = 9, UPDATE_VADDR = 10;

    // vfio_group_status.flags
    public const uint GROUP_FLAGS_VIABLE = 1 << 0, GROUP_FLAGS_CONTAINER_SET = 1 << 1;

    // vfio_device_info.flags
    public const uint DEVICE_FLAGS_RESET = 1 << 0, DEVICE_FLAGS_PCI = 1 << 1, DEVICE_FLAGS_PLATFORM = 1 << 2,
        DEVICE_FLAGS_AMBA = 1 << 3, DEVICE_FLAGS_CCW = 1 << 4, DEVICE_FLAGS_AP = 1 << 5, DEVICE_FLAGS_FSL_MC = 1 << 6,
        DEVICE_FLAGS_CAPS = 1 << 7, DEVICE_FLAGS_CDX = 1 << 8;

    // vfio_region_info.flags and capability ids
    public const uint REGION_INFO_FLAG_READ = 1 << 0, REGION_INFO_FLAG_WRITE = 1 << 1, REGION_INFO_FLAG_MMAP = 1 << 2,
        REGION_INFO_FLAG_CAPS = 1 << 3;
    public const ushort REGION_INFO_CAP_SPARSE_MMAP = 1, REGION_INFO_CAP_TYPE = 2, REGION_INFO_CAP_MSIX_MAPPABLE = 3;

    // vfio_irq_info.flags
    public const uint IRQ_INFO_EVENTFD = 1 << 0, IRQ_INFO_MASKABLE = 1 << 1, IRQ_INFO_AUTOMASKED = 1 << 2,
        IRQ_INFO_NORESIZE = 1 << 3;

    // vfio_irq_set.flags
    public const uint IRQ_SET_DATA_NONE = 1 << 0, IRQ_SET_DATA_BOOL = 1 << 1, IRQ_SET_DATA_EVENTFD = 1 << 2,
        IRQ_SET_ACTION_MASK = 1 << 3, IRQ_SET_ACTION_UNMASK = 1 << 4, IRQ_SET_ACTION_TRIGGER = 1 << 5;
    public const uint IRQ_SET_DATA_TYPE_MASK = IRQ_SET_DATA_NONE | IRQ_SET_DATA_BOOL | IRQ_SET_DATA_EVENTFD;
    public const uint IRQ_SET_ACTION_TYPE_MASK = IRQ_SET_ACTION_MASK | IRQ_SET_ACTION_UNMASK | IRQ_SET_ACTION_TRIGGER;

    // vfio-pci region and IRQ indices (include/uapi/linux/vfio.h)
    public const int PCI_BAR0_REGION_INDEX = 0, PCI_BAR5_REGION_INDEX = 5, PCI_ROM_REGION_INDEX = 6,
        PCI_CONFIG_REGION_INDEX = 7, PCI_VGA_REGION_INDEX = 8, PCI_NUM_REGIONS = 9;
    public const int PCI_INTX_IRQ_INDEX = 0, PCI_MSI_IRQ_INDEX = 1, PCI_MSIX_IRQ_INDEX = 2, PCI_ERR_IRQ_INDEX = 3,
        PCI_REQ_IRQ_INDEX = 4, PCI_NUM_IRQS = 5;

    /// <summary>VFIO_PCI_OFFSET_SHIFT (include/linux/vfio_pci_core.h): region index in the file offset's top bits.</summary>
    public const int PCI_OFFSET_SHIFT = 40;
    public static ulong PciIndexToOffset(int index) => (ulong)index << PCI_OFFSET_SHIFT;
    public static int PciOffsetToIndex(ulong offset) => (int)(offset >> PCI_OFFSET_SHIFT);
    public const ulong PCI_OFFSET_MASK = (1UL << PCI_OFFSET_SHIFT) - 1;

    // vfio_pci_hot_reset_info.flags, dependent device ids
    public const uint PCI_HOT_RESET_FLAG_DEV_ID = 1 << 0, PCI_HOT_RESET_FLAG_DEV_ID_OWNED = 1 << 1;
    public const uint PCI_DEVID_OWNED = 0, PCI_DEVID_NOT_OWNED = 0xffffffff;

    // type1
    public const uint IOMMU_INFO_PGSIZES = 1 << 0, IOMMU_INFO_CAPS = 1 << 1;
    public const ushort IOMMU_TYPE1_INFO_CAP_IOVA_RANGE = 1, IOMMU_TYPE1_INFO_CAP_MIGRATION = 2, IOMMU_TYPE1_INFO_DMA_AVAIL = 3;
    public const uint DMA_MAP_FLAG_READ = 1 << 0, DMA_MAP_FLAG_WRITE = 1 << 1, DMA_MAP_FLAG_VADDR = 1 << 2;
    public const uint DMA_UNMAP_FLAG_GET_DIRTY_BITMAP = 1 << 0, DMA_UNMAP_FLAG_ALL = 1 << 1, DMA_UNMAP_FLAG_VADDR = 1 << 2;
    public const uint IOMMU_DIRTY_PAGES_FLAG_START = 1 << 0, IOMMU_DIRTY_PAGES_FLAG_STOP = 1 << 1,
        IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP = 1 << 2;

    // device feature
    public const uint DEVICE_FEATURE_MASK = 0xffff, DEVICE_FEATURE_GET = 1 << 16, DEVICE_FEATURE_SET = 1 << 17,
        DEVICE_FEATURE_PROBE = 1 << 18;
    public const uint DEVICE_FEATURE_PCI_VF_TOKEN = 0;
}

/// <summary>include/uapi/linux/iommufd.h: _IO(';', 0x80 + n).</summary>
public static class IommufdUapi
{
    public const int CmdBase = 0x80;
    public static readonly uint DESTROY = VfioUapi.Io(CmdBase + 0);
    public static readonly uint IOAS_ALLOC = VfioUapi.Io(CmdBase + 1);
    public static readonly uint IOAS_ALLOW_IOVAS = VfioUapi.Io(CmdBase + 2);
    public static readonly uint IOAS_COPY = VfioUapi.Io(CmdBase + 3);
    public static readonly uint IOAS_IOVA_RANGES = VfioUapi.Io(CmdBase + 4);
    public static readonly uint IOAS_MAP = VfioUapi.Io(CmdBase + 5);
    public static readonly uint IOAS_UNMAP = VfioUapi.Io(CmdBase + 6);
    public static readonly uint OPTION = VfioUapi.Io(CmdBase + 7);
    public static readonly uint VFIO_IOAS = VfioUapi.Io(CmdBase + 8);
    public static readonly uint HWPT_ALLOC = VfioUapi.Io(CmdBase + 9);
    public static readonly uint GET_HW_INFO = VfioUapi.Io(CmdBase + 10);
    public static readonly uint HWPT_SET_DIRTY_TRACKING = VfioUapi.Io(CmdBase + 11);
    public static readonly uint HWPT_GET_DIRTY_BITMAP = VfioUapi.Io(CmdBase + 12);
    public static readonly uint HWPT_INVALIDATE = VfioUapi.Io(CmdBase + 13);

    public const uint IOAS_MAP_FIXED_IOVA = 1 << 0, IOAS_MAP_WRITEABLE = 1 << 1, IOAS_MAP_READABLE = 1 << 2;
    public const uint OPTION_RLIMIT_MODE = 0, OPTION_HUGE_PAGES = 1, OPTION_OP_SET = 0, OPTION_OP_GET = 1;
    public const ushort VFIO_IOAS_GET = 0, VFIO_IOAS_SET = 1, VFIO_IOAS_CLEAR = 2;
}
