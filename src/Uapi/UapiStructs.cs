using System.Runtime.InteropServices;

namespace VfioSim.Uapi;

// x86_64 (LP64) layouts of include/uapi/linux/vfio.h and iommufd.h, as in vfio-abi §3. Generated once from a
// table; tests/unit/Uapi/LayoutTests.cs asserts every size and offset against the same numbers.

/// <summary>struct vfio_info_cap_header (8 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public struct VfioInfoCapHeader
{
    [FieldOffset(0)] public ushort Id;
    [FieldOffset(2)] public ushort Version;
    [FieldOffset(4)] public uint Next;
}

/// <summary>struct vfio_group_status (8 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public struct VfioGroupStatus
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
}

/// <summary>struct vfio_device_info (24 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public struct VfioDeviceInfo
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public uint NumRegions;
    [FieldOffset(12)] public uint NumIrqs;
    [FieldOffset(16)] public uint CapOffset;
    [FieldOffset(20)] public uint Pad;
}

/// <summary>struct vfio_region_info (32 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct VfioRegionInfo
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public uint Index;
    [FieldOffset(12)] public uint CapOffset;
    [FieldOffset(16)] public ulong Size;
    [FieldOffset(24)] public ulong Offset;
}

/// <summary>struct vfio_region_sparse_mmap_area (16 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct VfioRegionSparseMmapArea
{
    [FieldOffset(0)] public ulong Offset;
    [FieldOffset(8)] public ulong Size;
}

/// <summary>struct vfio_region_info_cap_sparse_mmap (16 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct VfioRegionInfoCapSparseMmap
{
    [FieldOffset(0)] public VfioInfoCapHeader Header;
    [FieldOffset(8)] public uint NrAreas;
    [FieldOffset(12)] public uint Reserved;
}

/// <summary>struct vfio_region_info_cap_type (16 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct VfioRegionInfoCapType
{
    [FieldOffset(0)] public VfioInfoCapHeader Header;
    [FieldOffset(8)] public uint Type;
    [FieldOffset(12)] public uint Subtype;
}

/// <summary>struct vfio_irq_info (16 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct VfioIrqInfo
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public uint Index;
    [FieldOffset(12)] public uint Count;
}

/// <summary>struct vfio_irq_set (20 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 20)]
public struct VfioIrqSet
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public uint Index;
    [FieldOffset(12)] public uint Start;
    [FieldOffset(16)] public uint Count;
}

/// <summary>struct vfio_pci_dependent_device (8 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public struct VfioPciDependentDevice
{
    [FieldOffset(0)] public uint GroupIdOrDevid;
    [FieldOffset(4)] public ushort Segment;
    [FieldOffset(6)] public byte Bus;
    [FieldOffset(7)] public byte Devfn;
}

/// <summary>struct vfio_pci_hot_reset_info (12 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
public struct VfioPciHotResetInfo
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public uint Count;
}

/// <summary>struct vfio_pci_hot_reset (12 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
public struct VfioPciHotReset
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public uint Count;
}

/// <summary>struct vfio_device_ioeventfd (32 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct VfioDeviceIoeventfd
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public ulong Offset;
    [FieldOffset(16)] public ulong Data;
    [FieldOffset(24)] public int Fd;
    [FieldOffset(28)] public uint Reserved;
}

/// <summary>struct vfio_device_feature (8 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public struct VfioDeviceFeature
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
}

/// <summary>struct vfio_device_bind_iommufd (24 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public struct VfioDeviceBindIommufd
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public int Iommufd;
    [FieldOffset(12)] public uint OutDevid;
    [FieldOffset(16)] public ulong TokenUuidPtr;
}

/// <summary>struct vfio_device_attach_iommufd_pt (16 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct VfioDeviceAttachIommufdPt
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public uint PtId;
    [FieldOffset(12)] public uint Pasid;
}

/// <summary>struct vfio_device_detach_iommufd_pt (12 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
public struct VfioDeviceDetachIommufdPt
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public uint Pasid;
}

/// <summary>struct vfio_iommu_type1_info (24 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public struct VfioIommuType1Info
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public ulong IovaPgsizes;
    [FieldOffset(16)] public uint CapOffset;
    [FieldOffset(20)] public uint Pad;
}

/// <summary>struct vfio_iova_range (16 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct VfioIovaRange
{
    [FieldOffset(0)] public ulong Start;
    [FieldOffset(8)] public ulong End;
}

/// <summary>struct vfio_iommu_type1_info_cap_iova_range (16 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct VfioIommuType1InfoCapIovaRange
{
    [FieldOffset(0)] public VfioInfoCapHeader Header;
    [FieldOffset(8)] public uint NrIovas;
    [FieldOffset(12)] public uint Reserved;
}

/// <summary>struct vfio_iommu_type1_info_cap_migration (32 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct VfioIommuType1InfoCapMigration
{
    [FieldOffset(0)] public VfioInfoCapHeader Header;
    [FieldOffset(8)] public uint Flags;
    [FieldOffset(16)] public ulong PgsizeBitmap;
    [FieldOffset(24)] public ulong MaxDirtyBitmapSize;
}

/// <summary>struct vfio_iommu_type1_info_dma_avail (12 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
public struct VfioIommuType1InfoDmaAvail
{
    [FieldOffset(0)] public VfioInfoCapHeader Header;
    [FieldOffset(8)] public uint Avail;
}

/// <summary>struct vfio_iommu_type1_dma_map (32 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct VfioIommuType1DmaMap
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public ulong Vaddr;
    [FieldOffset(16)] public ulong Iova;
    [FieldOffset(24)] public ulong Size;
}

/// <summary>struct vfio_bitmap (24 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public struct VfioBitmap
{
    [FieldOffset(0)] public ulong Pgsize;
    [FieldOffset(8)] public ulong Size;
    [FieldOffset(16)] public ulong Data;
}

/// <summary>struct vfio_iommu_type1_dma_unmap (24 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public struct VfioIommuType1DmaUnmap
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public ulong Iova;
    [FieldOffset(16)] public ulong Size;
}

/// <summary>struct vfio_iommu_type1_dirty_bitmap (8 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public struct VfioIommuType1DirtyBitmap
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
}

/// <summary>struct vfio_iommu_type1_dirty_bitmap_get (40 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
public struct VfioIommuType1DirtyBitmapGet
{
    [FieldOffset(0)] public ulong Iova;
    [FieldOffset(8)] public ulong Size;
    [FieldOffset(16)] public VfioBitmap Bitmap;
}

/// <summary>struct vfio_iommu_spapr_tce_ddw_info (16 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct VfioIommuSpaprTceDdwInfo
{
    [FieldOffset(0)] public ulong Pgsizes;
    [FieldOffset(8)] public uint MaxDynamicWindowsSupported;
    [FieldOffset(12)] public uint Levels;
}

/// <summary>struct vfio_iommu_spapr_tce_info (32 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct VfioIommuSpaprTceInfo
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public uint Dma32WindowStart;
    [FieldOffset(12)] public uint Dma32WindowSize;
    [FieldOffset(16)] public VfioIommuSpaprTceDdwInfo Ddw;
}

/// <summary>struct vfio_eeh_pe_err (24 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public struct VfioEehPeErr
{
    [FieldOffset(0)] public uint Type;
    [FieldOffset(4)] public uint Func;
    [FieldOffset(8)] public ulong Addr;
    [FieldOffset(16)] public ulong Mask;
}

/// <summary>struct vfio_eeh_pe_op (40 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
public struct VfioEehPeOp
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public uint Op;
    [FieldOffset(16)] public VfioEehPeErr Err;
}

/// <summary>struct vfio_iommu_spapr_register_memory (24 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public struct VfioIommuSpaprRegisterMemory
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public ulong Vaddr;
    [FieldOffset(16)] public ulong Size;
}

/// <summary>struct vfio_iommu_spapr_tce_create (40 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
public struct VfioIommuSpaprTceCreate
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public uint PageShift;
    [FieldOffset(12)] public uint Resv1;
    [FieldOffset(16)] public ulong WindowSize;
    [FieldOffset(24)] public uint Levels;
    [FieldOffset(28)] public uint Resv2;
    [FieldOffset(32)] public ulong StartAddr;
}

/// <summary>struct vfio_iommu_spapr_tce_remove (16 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct VfioIommuSpaprTceRemove
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public ulong StartAddr;
}

/// <summary>struct iommu_destroy (8 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public struct IommuDestroy
{
    [FieldOffset(0)] public uint Size;
    [FieldOffset(4)] public uint Id;
}

/// <summary>struct iommu_ioas_alloc (12 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
public struct IommuIoasAlloc
{
    [FieldOffset(0)] public uint Size;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public uint OutIoasId;
}

/// <summary>struct iommu_iova_range (16 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct IommuIovaRange
{
    [FieldOffset(0)] public ulong Start;
    [FieldOffset(8)] public ulong Last;
}

/// <summary>struct iommu_ioas_iova_ranges (32 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct IommuIoasIovaRanges
{
    [FieldOffset(0)] public uint Size;
    [FieldOffset(4)] public uint IoasId;
    [FieldOffset(8)] public uint NumIovas;
    [FieldOffset(12)] public uint Reserved;
    [FieldOffset(16)] public ulong AllowedIovas;
    [FieldOffset(24)] public ulong OutIovaAlignment;
}

/// <summary>struct iommu_ioas_allow_iovas (24 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public struct IommuIoasAllowIovas
{
    [FieldOffset(0)] public uint Size;
    [FieldOffset(4)] public uint IoasId;
    [FieldOffset(8)] public uint NumIovas;
    [FieldOffset(12)] public uint Reserved;
    [FieldOffset(16)] public ulong AllowedIovas;
}

/// <summary>struct iommu_ioas_map (40 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
public struct IommuIoasMap
{
    [FieldOffset(0)] public uint Size;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public uint IoasId;
    [FieldOffset(12)] public uint Reserved;
    [FieldOffset(16)] public ulong UserVa;
    [FieldOffset(24)] public ulong Length;
    [FieldOffset(32)] public ulong Iova;
}

/// <summary>struct iommu_ioas_copy (40 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
public struct IommuIoasCopy
{
    [FieldOffset(0)] public uint Size;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public uint DstIoasId;
    [FieldOffset(12)] public uint SrcIoasId;
    [FieldOffset(16)] public ulong Length;
    [FieldOffset(24)] public ulong DstIova;
    [FieldOffset(32)] public ulong SrcIova;
}

/// <summary>struct iommu_ioas_unmap (24 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public struct IommuIoasUnmap
{
    [FieldOffset(0)] public uint Size;
    [FieldOffset(4)] public uint IoasId;
    [FieldOffset(8)] public ulong Iova;
    [FieldOffset(16)] public ulong Length;
}

/// <summary>struct iommu_option (24 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public struct IommuOption
{
    [FieldOffset(0)] public uint Size;
    [FieldOffset(4)] public uint OptionId;
    [FieldOffset(8)] public ushort Op;
    [FieldOffset(10)] public ushort Reserved;
    [FieldOffset(12)] public uint ObjectId;
    [FieldOffset(16)] public ulong Val64;
}

/// <summary>struct iommu_vfio_ioas (12 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
public struct IommuVfioIoas
{
    [FieldOffset(0)] public uint Size;
    [FieldOffset(4)] public uint IoasId;
    [FieldOffset(8)] public ushort Op;
    [FieldOffset(10)] public ushort Reserved;
}
