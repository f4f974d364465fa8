using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using VfioSim.Uapi;

namespace VfioSim.Tests.Unit.Uapi;

/// <summary>Every uapi struct has the x86_64 size and field offsets of vfio-abi §3 (checked with gcc there).</summary>
public class LayoutTests
{
    [Test]
    public void VfioInfoCapHeader_matches_struct_vfio_info_cap_header()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioInfoCapHeader>(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioInfoCapHeader>(nameof(VfioInfoCapHeader.Id)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioInfoCapHeader>(nameof(VfioInfoCapHeader.Version)).ToInt32(), Is.EqualTo(2));
            Assert.That(Marshal.OffsetOf<VfioInfoCapHeader>(nameof(VfioInfoCapHeader.Next)).ToInt32(), Is.EqualTo(4));
        });
    }

    [Test]
    public void VfioGroupStatus_matches_struct_vfio_group_status()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioGroupStatus>(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioGroupStatus>(nameof(VfioGroupStatus.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioGroupStatus>(nameof(VfioGroupStatus.Flags)).ToInt32(), Is.EqualTo(4));
        });
    }

    [Test]
    public void VfioDeviceInfo_matches_struct_vfio_device_info()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioDeviceInfo>(), Is.EqualTo(24));
            Assert.That(Marshal.OffsetOf<VfioDeviceInfo>(nameof(VfioDeviceInfo.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioDeviceInfo>(nameof(VfioDeviceInfo.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioDeviceInfo>(nameof(VfioDeviceInfo.NumRegions)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioDeviceInfo>(nameof(VfioDeviceInfo.NumIrqs)).ToInt32(), Is.EqualTo(12));
            Assert.That(Marshal.OffsetOf<VfioDeviceInfo>(nameof(VfioDeviceInfo.CapOffset)).ToInt32(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<VfioDeviceInfo>(nameof(VfioDeviceInfo.Pad)).ToInt32(), Is.EqualTo(20));
        });
    }

    [Test]
    public void VfioRegionInfo_matches_struct_vfio_region_info()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioRegionInfo>(), Is.EqualTo(32));
            Assert.That(Marshal.OffsetOf<VfioRegionInfo>(nameof(VfioRegionInfo.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioRegionInfo>(nameof(VfioRegionInfo.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioRegionInfo>(nameof(VfioRegionInfo.Index)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioRegionInfo>(nameof(VfioRegionInfo.CapOffset)).ToInt32(), Is.EqualTo(12));
            Assert.That(Marshal.OffsetOf<VfioRegionInfo>(nameof(VfioRegionInfo.Size)).ToInt32(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<VfioRegionInfo>(nameof(VfioRegionInfo.Offset)).ToInt32(), Is.EqualTo(24));
        });
    }

    [Test]
    public void VfioRegionSparseMmapArea_matches_struct_vfio_region_sparse_mmap_area()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioRegionSparseMmapArea>(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<VfioRegionSparseMmapArea>(nameof(VfioRegionSparseMmapArea.Offset)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioRegionSparseMmapArea>(nameof(VfioRegionSparseMmapArea.Size)).ToInt32(), Is.EqualTo(8));
        });
    }

    [Test]
    public void VfioRegionInfoCapSparseMmap_matches_struct_vfio_region_info_cap_sparse_mmap()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioRegionInfoCapSparseMmap>(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<VfioRegionInfoCapSparseMmap>(nameof(VfioRegionInfoCapSparseMmap.Header)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioRegionInfoCapSparseMmap>(nameof(VfioRegionInfoCapSparseMmap.NrAreas)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioRegionInfoCapSparseMmap>(nameof(VfioRegionInfoCapSparseMmap.Reserved)).ToInt32(), Is.EqualTo(12));
        });
    }

    [Test]
    public void VfioRegionInfoCapType_matches_struct_vfio_region_info_cap_type()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioRegionInfoCapType>(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<VfioRegionInfoCapType>(nameof(VfioRegionInfoCapType.Header)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioRegionInfoCapType>(nameof(VfioRegionInfoCapType.Type)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioRegionInfoCapType>(nameof(VfioRegionInfoCapType.Subtype)).ToInt32(), Is.EqualTo(12));
        });
    }

    [Test]
    public void VfioIrqInfo_matches_struct_vfio_irq_info()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioIrqInfo>(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<VfioIrqInfo>(nameof(VfioIrqInfo.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioIrqInfo>(nameof(VfioIrqInfo.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioIrqInfo>(nameof(VfioIrqInfo.Index)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioIrqInfo>(nameof(VfioIrqInfo.Count)).ToInt32(), Is.EqualTo(12));
        });
    }

    [Test]
    public void VfioIrqSet_matches_struct_vfio_irq_set()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioIrqSet>(), Is.EqualTo(20));
            Assert.That(Marshal.OffsetOf<VfioIrqSet>(nameof(VfioIrqSet.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioIrqSet>(nameof(VfioIrqSet.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioIrqSet>(nameof(VfioIrqSet.Index)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioIrqSet>(nameof(VfioIrqSet.Start)).ToInt32(), Is.EqualTo(12));
            Assert.That(Marshal.OffsetOf<VfioIrqSet>(nameof(VfioIrqSet.Count)).ToInt32(), Is.EqualTo(16));
        });
    }

    [Test]
    public void VfioPciDependentDevice_matches_struct_vfio_pci_dependent_device()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioPciDependentDevice>(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioPciDependentDevice>(nameof(VfioPciDependentDevice.GroupIdOrDevid)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioPciDependentDevice>(nameof(VfioPciDependentDevice.Segment)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioPciDependentDevice>(nameof(VfioPciDependentDevice.Bus)).ToInt32(), Is.EqualTo(6));
            Assert.That(Marshal.OffsetOf<VfioPciDependentDevice>(nameof(VfioPciDependentDevice.Devfn)).ToInt32(), Is.EqualTo(7));
        });
    }

    [Test]
    public void VfioPciHotResetInfo_matches_struct_vfio_pci_hot_reset_info()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioPciHotResetInfo>(), Is.EqualTo(12));
            Assert.That(Marshal.OffsetOf<VfioPciHotResetInfo>(nameof(VfioPciHotResetInfo.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioPciHotResetInfo>(nameof(VfioPciHotResetInfo.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioPciHotResetInfo>(nameof(VfioPciHotResetInfo.Count)).ToInt32(), Is.EqualTo(8));
        });
    }

    [Test]
    public void VfioPciHotReset_matches_struct_vfio_pci_hot_reset()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioPciHotReset>(), Is.EqualTo(12));
            Assert.That(Marshal.OffsetOf<VfioPciHotReset>(nameof(VfioPciHotReset.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioPciHotReset>(nameof(VfioPciHotReset.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioPciHotReset>(nameof(VfioPciHotReset.Count)).ToInt32(), Is.EqualTo(8));
        });
    }

    [Test]
    public void VfioDeviceIoeventfd_matches_struct_vfio_device_ioeventfd()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioDeviceIoeventfd>(), Is.EqualTo(32));
            Assert.That(Marshal.OffsetOf<VfioDeviceIoeventfd>(nameof(VfioDeviceIoeventfd.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioDeviceIoeventfd>(nameof(VfioDeviceIoeventfd.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioDeviceIoeventfd>(nameof(VfioDeviceIoeventfd.Offset)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioDeviceIoeventfd>(nameof(VfioDeviceIoeventfd.Data)).ToInt32(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<VfioDeviceIoeventfd>(nameof(VfioDeviceIoeventfd.Fd)).ToInt32(), Is.EqualTo(24));
            Assert.That(Marshal.OffsetOf<VfioDeviceIoeventfd>(nameof(VfioDeviceIoeventfd.Reserved)).ToInt32(), Is.EqualTo(28));
        });
    }

    [Test]
    public void VfioDeviceFeature_matches_struct_vfio_device_feature()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioDeviceFeature>(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioDeviceFeature>(nameof(VfioDeviceFeature.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioDeviceFeature>(nameof(VfioDeviceFeature.Flags)).ToInt32(), Is.EqualTo(4));
        });
    }

    [Test]
    public void VfioDeviceBindIommufd_matches_struct_vfio_device_bind_iommufd()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioDeviceBindIommufd>(), Is.EqualTo(24));
            Assert.That(Marshal.OffsetOf<VfioDeviceBindIommufd>(nameof(VfioDeviceBindIommufd.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioDeviceBindIommufd>(nameof(VfioDeviceBindIommufd.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioDeviceBindIommufd>(nameof(VfioDeviceBindIommufd.Iommufd)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioDeviceBindIommufd>(nameof(VfioDeviceBindIommufd.OutDevid)).ToInt32(), Is.EqualTo(12));
            Assert.That(Marshal.OffsetOf<VfioDeviceBindIommufd>(nameof(VfioDeviceBindIommufd.TokenUuidPtr)).ToInt32(), Is.EqualTo(16));
        });
    }

    [Test]
    public void VfioDeviceAttachIommufdPt_matches_struct_vfio_device_attach_iommufd_pt()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioDeviceAttachIommufdPt>(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<VfioDeviceAttachIommufdPt>(nameof(VfioDeviceAttachIommufdPt.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioDeviceAttachIommufdPt>(nameof(VfioDeviceAttachIommufdPt.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioDeviceAttachIommufdPt>(nameof(VfioDeviceAttachIommufdPt.PtId)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioDeviceAttachIommufdPt>(nameof(VfioDeviceAttachIommufdPt.Pasid)).ToInt32(), Is.EqualTo(12));
        });
    }

    [Test]
    public void VfioDeviceDetachIommufdPt_matches_struct_vfio_device_detach_iommufd_pt()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioDeviceDetachIommufdPt>(), Is.EqualTo(12));
            Assert.That(Marshal.OffsetOf<VfioDeviceDetachIommufdPt>(nameof(VfioDeviceDetachIommufdPt.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioDeviceDetachIommufdPt>(nameof(VfioDeviceDetachIommufdPt.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioDeviceDetachIommufdPt>(nameof(VfioDeviceDetachIommufdPt.Pasid)).ToInt32(), Is.EqualTo(8));
        });
    }

    [Test]
    public void VfioIommuType1Info_matches_struct_vfio_iommu_type1_info()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioIommuType1Info>(), Is.EqualTo(24));
            Assert.That(Marshal.OffsetOf<VfioIommuType1Info>(nameof(VfioIommuType1Info.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioIommuType1Info>(nameof(VfioIommuType1Info.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioIommuType1Info>(nameof(VfioIommuType1Info.IovaPgsizes)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioIommuType1Info>(nameof(VfioIommuType1Info.CapOffset)).ToInt32(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<VfioIommuType1Info>(nameof(VfioIommuType1Info.Pad)).ToInt32(), Is.EqualTo(20));
        });
    }

    [Test]
    public void VfioIovaRange_matches_struct_vfio_iova_range()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioIovaRange>(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<VfioIovaRange>(nameof(VfioIovaRange.Start)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioIovaRange>(nameof(VfioIovaRange.End)).ToInt32(), Is.EqualTo(8));
        });
    }

    [Test]
    public void VfioIommuType1InfoCapIovaRange_matches_struct_vfio_iommu_type1_info_cap_iova_range()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioIommuType1InfoCapIovaRange>(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<VfioIommuType1InfoCapIovaRange>(nameof(VfioIommuType1InfoCapIovaRange.Header)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioIommuType1InfoCapIovaRange>(nameof(VfioIommuType1InfoCapIovaRange.NrIovas)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioIommuType1InfoCapIovaRange>(nameof(VfioIommuType1InfoCapIovaRange.Reserved)).ToInt32(), Is.EqualTo(12));
        });
    }

    [Test]
    public void VfioIommuType1InfoCapMigration_matches_struct_vfio_iommu_type1_info_cap_migration()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioIommuType1InfoCapMigration>(), Is.EqualTo(32));
            Assert.That(Marshal.OffsetOf<VfioIommuType1InfoCapMigration>(nameof(VfioIommuType1InfoCapMigration.Header)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioIommuType1InfoCapMigration>(nameof(VfioIommuType1InfoCapMigration.Flags)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioIommuType1InfoCapMigration>(nameof(VfioIommuType1InfoCapMigration.PgsizeBitmap)).ToInt32(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<VfioIommuType1InfoCapMigration>(nameof(VfioIommuType1InfoCapMigration.MaxDirtyBitmapSize)).ToInt32(), Is.EqualTo(24));
        });
    }

    [Test]
    public void VfioIommuType1InfoDmaAvail_matches_struct_vfio_iommu_type1_info_dma_avail()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioIommuType1InfoDmaAvail>(), Is.EqualTo(12));
            Assert.That(Marshal.OffsetOf<VfioIommuType1InfoDmaAvail>(nameof(VfioIommuType1InfoDmaAvail.Header)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioIommuType1InfoDmaAvail>(nameof(VfioIommuType1InfoDmaAvail.Avail)).ToInt32(), Is.EqualTo(8));
        });
    }

    [Test]
    public void VfioIommuType1DmaMap_matches_struct_vfio_iommu_type1_dma_map()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioIommuType1DmaMap>(), Is.EqualTo(32));
            Assert.That(Marshal.OffsetOf<VfioIommuType1DmaMap>(nameof(VfioIommuType1DmaMap.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioIommuType1DmaMap>(nameof(VfioIommuType1DmaMap.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioIommuType1DmaMap>(nameof(VfioIommuType1DmaMap.Vaddr)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioIommuType1DmaMap>(nameof(VfioIommuType1DmaMap.Iova)).ToInt32(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<VfioIommuType1DmaMap>(nameof(VfioIommuType1DmaMap.Size)).ToInt32(), Is.EqualTo(24));
        });
    }

    [Test]
    public void VfioBitmap_matches_struct_vfio_bitmap()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioBitmap>(), Is.EqualTo(24));
            Assert.That(Marshal.OffsetOf<VfioBitmap>(nameof(VfioBitmap.Pgsize)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioBitmap>(nameof(VfioBitmap.Size)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioBitmap>(nameof(VfioBitmap.Data)).ToInt32(), Is.EqualTo(16));
        });
    }

    [Test]
    public void VfioIommuType1DmaUnmap_matches_struct_vfio_iommu_type1_dma_unmap()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioIommuType1DmaUnmap>(), Is.EqualTo(24));
            Assert.That(Marshal.OffsetOf<VfioIommuType1DmaUnmap>(nameof(VfioIommuType1DmaUnmap.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioIommuType1DmaUnmap>(nameof(VfioIommuType1DmaUnmap.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioIommuType1DmaUnmap>(nameof(VfioIommuType1DmaUnmap.Iova)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioIommuType1DmaUnmap>(nameof(VfioIommuType1DmaUnmap.Size)).ToInt32(), Is.EqualTo(16));
        });
    }

    [Test]
    public void VfioIommuType1DirtyBitmap_matches_struct_vfio_iommu_type1_dirty_bitmap()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioIommuType1DirtyBitmap>(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioIommuType1DirtyBitmap>(nameof(VfioIommuType1DirtyBitmap.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioIommuType1DirtyBitmap>(nameof(VfioIommuType1DirtyBitmap.Flags)).ToInt32(), Is.EqualTo(4));
        });
    }

    [Test]
    public void VfioIommuType1DirtyBitmapGet_matches_struct_vfio_iommu_type1_dirty_bitmap_get()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioIommuType1DirtyBitmapGet>(), Is.EqualTo(40));
            Assert.That(Marshal.OffsetOf<VfioIommuType1DirtyBitmapGet>(nameof(VfioIommuType1DirtyBitmapGet.Iova)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioIommuType1DirtyBitmapGet>(nameof(VfioIommuType1DirtyBitmapGet.Size)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioIommuType1DirtyBitmapGet>(nameof(VfioIommuType1DirtyBitmapGet.Bitmap)).ToInt32(), Is.EqualTo(16));
        });
    }

    [Test]
    public void VfioIommuSpaprTceDdwInfo_matches_struct_vfio_iommu_spapr_tce_ddw_info()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioIommuSpaprTceDdwInfo>(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprTceDdwInfo>(nameof(VfioIommuSpaprTceDdwInfo.Pgsizes)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprTceDdwInfo>(nameof(VfioIommuSpaprTceDdwInfo.MaxDynamicWindowsSupported)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprTceDdwInfo>(nameof(VfioIommuSpaprTceDdwInfo.Levels)).ToInt32(), Is.EqualTo(12));
        });
    }

    [Test]
    public void VfioIommuSpaprTceInfo_matches_struct_vfio_iommu_spapr_tce_info()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioIommuSpaprTceInfo>(), Is.EqualTo(32));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprTceInfo>(nameof(VfioIommuSpaprTceInfo.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprTceInfo>(nameof(VfioIommuSpaprTceInfo.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprTceInfo>(nameof(VfioIommuSpaprTceInfo.Dma32WindowStart)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprTceInfo>(nameof(VfioIommuSpaprTceInfo.Dma32WindowSize)).ToInt32(), Is.EqualTo(12));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprTceInfo>(nameof(VfioIommuSpaprTceInfo.Ddw)).ToInt32(), Is.EqualTo(16));
        });
    }

    [Test]
    public void VfioEehPeErr_matches_struct_vfio_eeh_pe_err()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioEehPeErr>(), Is.EqualTo(24));
            Assert.That(Marshal.OffsetOf<VfioEehPeErr>(nameof(VfioEehPeErr.Type)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioEehPeErr>(nameof(VfioEehPeErr.Func)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioEehPeErr>(nameof(VfioEehPeErr.Addr)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioEehPeErr>(nameof(VfioEehPeErr.Mask)).ToInt32(), Is.EqualTo(16));
        });
    }

    [Test]
    public void VfioEehPeOp_matches_struct_vfio_eeh_pe_op()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioEehPeOp>(), Is.EqualTo(40));
            Assert.That(Marshal.OffsetOf<VfioEehPeOp>(nameof(VfioEehPeOp.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioEehPeOp>(nameof(VfioEehPeOp.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioEehPeOp>(nameof(VfioEehPeOp.Op)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioEehPeOp>(nameof(VfioEehPeOp.Err)).ToInt32(), Is.EqualTo(16));
        });
    }

    [Test]
    public void VfioIommuSpaprRegisterMemory_matches_struct_vfio_iommu_spapr_register_memory()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioIommuSpaprRegisterMemory>(), Is.EqualTo(24));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprRegisterMemory>(nameof(VfioIommuSpaprRegisterMemory.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprRegisterMemory>(nameof(VfioIommuSpaprRegisterMemory.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprRegisterMemory>(nameof(VfioIommuSpaprRegisterMemory.Vaddr)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprRegisterMemory>(nameof(VfioIommuSpaprRegisterMemory.Size)).ToInt32(), Is.EqualTo(16));
        });
    }

    [Test]
    public void VfioIommuSpaprTceCreate_matches_struct_vfio_iommu_spapr_tce_create()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioIommuSpaprTceCreate>(), Is.EqualTo(40));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprTceCreate>(nameof(VfioIommuSpaprTceCreate.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprTceCreate>(nameof(VfioIommuSpaprTceCreate.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprTceCreate>(nameof(VfioIommuSpaprTceCreate.PageShift)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprTceCreate>(nameof(VfioIommuSpaprTceCreate.Resv1)).ToInt32(), Is.EqualTo(12));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprTceCreate>(nameof(VfioIommuSpaprTceCreate.WindowSize)).ToInt32(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprTceCreate>(nameof(VfioIommuSpaprTceCreate.Levels)).ToInt32(), Is.EqualTo(24));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprTceCreate>(nameof(VfioIommuSpaprTceCreate.Resv2)).ToInt32(), Is.EqualTo(28));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprTceCreate>(nameof(VfioIommuSpaprTceCreate.StartAddr)).ToInt32(), Is.EqualTo(32));
        });
    }

    [Test]
    public void VfioIommuSpaprTceRemove_matches_struct_vfio_iommu_spapr_tce_remove()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<VfioIommuSpaprTceRemove>(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprTceRemove>(nameof(VfioIommuSpaprTceRemove.Argsz)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprTceRemove>(nameof(VfioIommuSpaprTceRemove.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<VfioIommuSpaprTceRemove>(nameof(VfioIommuSpaprTceRemove.StartAddr)).ToInt32(), Is.EqualTo(8));
        });
    }

    [Test]
    public void IommuDestroy_matches_struct_iommu_destroy()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<IommuDestroy>(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<IommuDestroy>(nameof(IommuDestroy.Size)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<IommuDestroy>(nameof(IommuDestroy.Id)).ToInt32(), Is.EqualTo(4));
        });
    }

    [Test]
    public void IommuIoasAlloc_matches_struct_iommu_ioas_alloc()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<IommuIoasAlloc>(), Is.EqualTo(12));
            Assert.That(Marshal.OffsetOf<IommuIoasAlloc>(nameof(IommuIoasAlloc.Size)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<IommuIoasAlloc>(nameof(IommuIoasAlloc.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<IommuIoasAlloc>(nameof(IommuIoasAlloc.OutIoasId)).ToInt32(), Is.EqualTo(8));
        });
    }

    [Test]
    public void IommuIovaRange_matches_struct_iommu_iova_range()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<IommuIovaRange>(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<IommuIovaRange>(nameof(IommuIovaRange.Start)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<IommuIovaRange>(nameof(IommuIovaRange.Last)).ToInt32(), Is.EqualTo(8));
        });
    }

    [Test]
    public void IommuIoasIovaRanges_matches_struct_iommu_ioas_iova_ranges()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<IommuIoasIovaRanges>(), Is.EqualTo(32));
            Assert.That(Marshal.OffsetOf<IommuIoasIovaRanges>(nameof(IommuIoasIovaRanges.Size)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<IommuIoasIovaRanges>(nameof(IommuIoasIovaRanges.IoasId)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<IommuIoasIovaRanges>(nameof(IommuIoasIovaRanges.NumIovas)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<IommuIoasIovaRanges>(nameof(IommuIoasIovaRanges.Reserved)).ToInt32(), Is.EqualTo(12));
            Assert.That(Marshal.OffsetOf<IommuIoasIovaRanges>(nameof(IommuIoasIovaRanges.AllowedIovas)).ToInt32(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<IommuIoasIovaRanges>(nameof(IommuIoasIovaRanges.OutIovaAlignment)).ToInt32(), Is.EqualTo(24));
        });
    }

    [Test]
    public void IommuIoasAllowIovas_matches_struct_iommu_ioas_allow_iovas()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<IommuIoasAllowIovas>(), Is.EqualTo(24));
            Assert.That(Marshal.OffsetOf<IommuIoasAllowIovas>(nameof(IommuIoasAllowIovas.Size)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<IommuIoasAllowIovas>(nameof(IommuIoasAllowIovas.IoasId)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<IommuIoasAllowIovas>(nameof(IommuIoasAllowIovas.NumIovas)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<IommuIoasAllowIovas>(nameof(IommuIoasAllowIovas.Reserved)).ToInt32(), Is.EqualTo(12));
            Assert.That(Marshal.OffsetOf<IommuIoasAllowIovas>(nameof(IommuIoasAllowIovas.AllowedIovas)).ToInt32(), Is.EqualTo(16));
        });
    }

    [Test]
    public void IommuIoasMap_matches_struct_iommu_ioas_map()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<IommuIoasMap>(), Is.EqualTo(40));
            Assert.That(Marshal.OffsetOf<IommuIoasMap>(nameof(IommuIoasMap.Size)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<IommuIoasMap>(nameof(IommuIoasMap.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<IommuIoasMap>(nameof(IommuIoasMap.IoasId)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<IommuIoasMap>(nameof(IommuIoasMap.Reserved)).ToInt32(), Is.EqualTo(12));
            Assert.That(Marshal.OffsetOf<IommuIoasMap>(nameof(IommuIoasMap.UserVa)).ToInt32(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<IommuIoasMap>(nameof(IommuIoasMap.Length)).ToInt32(), Is.EqualTo(24));
            Assert.That(Marshal.OffsetOf<IommuIoasMap>(nameof(IommuIoasMap.Iova)).ToInt32(), Is.EqualTo(32));
        });
    }

    [Test]
    public void IommuIoasCopy_matches_struct_iommu_ioas_copy()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<IommuIoasCopy>(), Is.EqualTo(40));
            Assert.That(Marshal.OffsetOf<IommuIoasCopy>(nameof(IommuIoasCopy.Size)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<IommuIoasCopy>(nameof(IommuIoasCopy.Flags)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<IommuIoasCopy>(nameof(IommuIoasCopy.DstIoasId)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<IommuIoasCopy>(nameof(IommuIoasCopy.SrcIoasId)).ToInt32(), Is.EqualTo(12));
            Assert.That(Marshal.OffsetOf<IommuIoasCopy>(nameof(IommuIoasCopy.Length)).ToInt32(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<IommuIoasCopy>(nameof(IommuIoasCopy.DstIova)).ToInt32(), Is.EqualTo(24));
            Assert.That(Marshal.OffsetOf<IommuIoasCopy>(nameof(IommuIoasCopy.SrcIova)).ToInt32(), Is.EqualTo(32));
        });
    }

    [Test]
    public void IommuIoasUnmap_matches_struct_iommu_ioas_unmap()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<IommuIoasUnmap>(), Is.EqualTo(24));
            Assert.That(Marshal.OffsetOf<IommuIoasUnmap>(nameof(IommuIoasUnmap.Size)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<IommuIoasUnmap>(nameof(IommuIoasUnmap.IoasId)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<IommuIoasUnmap>(nameof(IommuIoasUnmap.Iova)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<IommuIoasUnmap>(nameof(IommuIoasUnmap.Length)).ToInt32(), Is.EqualTo(16));
        });
    }

    [Test]
    public void IommuOption_matches_struct_iommu_option()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<IommuOption>(), Is.EqualTo(24));
            Assert.That(Marshal.OffsetOf<IommuOption>(nameof(IommuOption.Size)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<IommuOption>(nameof(IommuOption.OptionId)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<IommuOption>(nameof(IommuOption.Op)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<IommuOption>(nameof(IommuOption.Reserved)).ToInt32(), Is.EqualTo(10));
            Assert.That(Marshal.OffsetOf<IommuOption>(nameof(IommuOption.ObjectId)).ToInt32(), Is.EqualTo(12));
            Assert.That(Marshal.OffsetOf<IommuOption>(nameof(IommuOption.Val64)).ToInt32(), Is.EqualTo(16));
        });
    }

    [Test]
    public void IommuVfioIoas_matches_struct_iommu_vfio_ioas()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Unsafe.SizeOf<IommuVfioIoas>(), Is.EqualTo(12));
            Assert.That(Marshal.OffsetOf<IommuVfioIoas>(nameof(IommuVfioIoas.Size)).ToInt32(), Is.EqualTo(0));
            Assert.That(Marshal.OffsetOf<IommuVfioIoas>(nameof(IommuVfioIoas.IoasId)).ToInt32(), Is.EqualTo(4));
            Assert.That(Marshal.OffsetOf<IommuVfioIoas>(nameof(IommuVfioIoas.Op)).ToInt32(), Is.EqualTo(8));
            Assert.That(Marshal.OffsetOf<IommuVfioIoas>(nameof(IommuVfioIoas.Reserved)).ToInt32(), Is.EqualTo(10));
        });
    }
}
