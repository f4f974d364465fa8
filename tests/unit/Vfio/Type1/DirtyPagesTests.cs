using VfioSim.Uapi;
using static VfioSim.Tests.Unit.Type1.Type1Harness;

namespace VfioSim.Tests.Unit.Type1;

/// <summary>
/// VFIO_IOMMU_DIRTY_PAGES (vfio_iommu_type1_dirty_pages(), vfio_iova_dirty_bitmap(), update_user_bitmap()) and
/// UNMAP with VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP. Without page pinning type1 cannot see device writes, so
/// every page of every mapping is reported dirty.
/// </summary>
public class DirtyPagesTests
{
    private const uint Start = VfioUapi.IOMMU_DIRTY_PAGES_FLAG_START;
    private const uint Stop = VfioUapi.IOMMU_DIRTY_PAGES_FLAG_STOP;
    private const uint GetBitmap = VfioUapi.IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;

    private static long Dirty(Type1Harness h, uint flags, uint argsz = 8)
    {
        h.Put(h.Arg, new VfioIommuType1DirtyBitmap { Argsz = argsz, Flags = flags });
        return h.Ioctl(VfioUapi.IOMMU_DIRTY_PAGES, h.Arg);
    }

    /// <summary>The user bitmap: a page of its own after Arg.</summary>
    private static ulong BitmapAt(Type1Harness h) => h.Buf + 63 * Page;

    private static long Get(Type1Harness h, ulong iova, ulong size, ulong pgsize = Page, ulong bitmapSize = 8,
        ulong? data = null, uint argsz = 48)
    {
        h.Put(h.Arg, new VfioIommuType1DirtyBitmap { Argsz = argsz, Flags = GetBitmap });
        h.Put(h.Arg + 8, new VfioIommuType1DirtyBitmapGet
        {
            Iova = iova,
            Size = size,
            Bitmap = new VfioBitmap { Pgsize = pgsize, Size = bitmapSize, Data = data ?? BitmapAt(h) },
        });
        return h.Ioctl(VfioUapi.IOMMU_DIRTY_PAGES, h.Arg);
    }

    /// <summary>UNMAP_DMA with GET_DIRTY_BITMAP: the 24-byte struct and a struct vfio_bitmap after it.</summary>
    private static long UnmapWithBitmap(Type1Harness h, ulong iova, ulong size, ulong pgsize = Page, ulong bitmapSize = 8,
        ulong? data = null)
    {
        h.Put(h.Arg, new VfioIommuType1DmaUnmap { Argsz = 48, Flags = VfioUapi.DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, Iova = iova, Size = size });
        h.Put(h.Arg + 24, new VfioBitmap { Pgsize = pgsize, Size = bitmapSize, Data = data ?? BitmapAt(h) });
        return h.Ioctl(VfioUapi.IOMMU_UNMAP_DMA, h.Arg);
    }

    /// <summary>Two mappings: 4 pages at 0x100000 and 2 pages at 0x106000, tracking started.</summary>
    private static Type1Harness Tracking()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, 4 * Page), Is.Zero);
        Assert.That(h.Map(0x106000, 2 * Page), Is.Zero);
        Assert.That(Dirty(h, Start), Is.Zero);
        return h;
    }

    [Test]
    public void Dirty_pages_on_a_v1_container_returns_EACCES_before_reading_the_argument()
    {
        var h = new Type1Harness(VfioUapi.TYPE1_IOMMU);
        Assert.That(h.Ioctl(VfioUapi.IOMMU_DIRTY_PAGES, Unmapped), Is.EqualTo(-Errno.EACCES));
    }

    [Test]
    public void Dirty_pages_with_a_bad_arg_pointer_returns_EFAULT()
    {
        var h = new Type1Harness();
        Assert.That(h.Ioctl(VfioUapi.IOMMU_DIRTY_PAGES, Unmapped), Is.EqualTo(-Errno.EFAULT));
    }

    [Test]
    public void Dirty_pages_with_argsz_below_8_returns_EINVAL()
    {
        var h = new Type1Harness();
        Assert.That(Dirty(h, Start, argsz: 7), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Dirty_pages_with_an_unknown_flag_returns_EINVAL()
    {
        var h = new Type1Harness();
        Assert.That(Dirty(h, 8), Is.EqualTo(-Errno.EINVAL));
    }

    [TestCase(0u)]
    [TestCase(Start | Stop)]
    [TestCase(Stop | GetBitmap)]
    public void Dirty_pages_without_exactly_one_flag_returns_EINVAL(uint flags)
    {
        var h = new Type1Harness();
        Assert.That(Dirty(h, flags), Is.EqualTo(-Errno.EINVAL));
        Assert.That(h.Iommu.DirtyPageTracking, Is.False);
    }

    [Test]
    public void Start_and_stop_are_idempotent()
    {
        var h = new Type1Harness();
        Assert.That(new[] { Dirty(h, Start), Dirty(h, Start) }, Is.All.Zero);
        Assert.That(h.Iommu.DirtyPageTracking, Is.True);
        Assert.That(new[] { Dirty(h, Stop), Dirty(h, Stop) }, Is.All.Zero);
        Assert.That(h.Iommu.DirtyPageTracking, Is.False);
    }

    [Test]
    public void Get_bitmap_reports_every_page_of_every_mapping_dirty()
    {
        var h = Tracking();
        Assert.That(Get(h, 0x100000, 8 * Page), Is.Zero);
        Assert.That(h.Get<ulong>(BitmapAt(h)), Is.EqualTo(0b1100_1111UL));
    }

    [Test]
    public void Get_bitmap_a_second_time_reports_the_same_pages_again()
    {
        var h = Tracking();
        Assert.That(Get(h, 0x100000, 8 * Page), Is.Zero);
        h.Put(BitmapAt(h), 0UL);
        Assert.That(Get(h, 0x100000, 8 * Page), Is.Zero);
        Assert.That(h.Get<ulong>(BitmapAt(h)), Is.EqualTo(0b1100_1111UL));
    }

    [Test]
    public void Get_bitmap_overwrites_whole_words_from_a_word_aligned_mapping()
    {
        var h = Tracking();
        h.Put(BitmapAt(h), ulong.MaxValue);
        Assert.That(Get(h, 0x100000, 4 * Page), Is.Zero);
        Assert.That(h.Get<ulong>(BitmapAt(h)), Is.EqualTo(0b1111UL));
    }

    [Test]
    public void Get_bitmap_ors_in_the_users_first_word_when_a_mapping_starts_inside_it()
    {
        // update_user_bitmap(): bitmap_or() on whole words with the user's word at the mapping's first bit.
        var h = Tracking();
        h.Put(BitmapAt(h), 0x8000_0000_0000_0005UL);
        Assert.That(Get(h, 0x104000, 4 * Page), Is.Zero);
        Assert.That(h.Get<ulong>(BitmapAt(h)), Is.EqualTo(0x8000_0000_0000_000DUL));
    }

    [Test]
    public void Get_bitmap_of_a_mapping_made_while_tracking_reports_it()
    {
        var h = Tracking();
        Assert.That(h.Map(0x200000, 3 * Page), Is.Zero);
        Assert.That(Get(h, 0x200000, 3 * Page), Is.Zero);
        Assert.That(h.Get<ulong>(BitmapAt(h)), Is.EqualTo(0b111UL));
    }

    [Test]
    public void Get_bitmap_before_start_returns_EINVAL()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, 4 * Page), Is.Zero);
        Assert.That(Get(h, 0x100000, 4 * Page), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Get_bitmap_after_stop_returns_EINVAL()
    {
        var h = Tracking();
        Assert.That(Dirty(h, Stop), Is.Zero);
        Assert.That(Get(h, 0x100000, 4 * Page), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Get_bitmap_with_argsz_below_48_returns_EINVAL()
    {
        var h = Tracking();
        Assert.That(Get(h, 0x100000, 4 * Page, argsz: 47), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Get_bitmap_with_the_range_struct_in_unmapped_memory_returns_EFAULT()
    {
        var h = Tracking();
        ulong at = h.Arg + Page - 8;
        h.Put(at, new VfioIommuType1DirtyBitmap { Argsz = 48, Flags = GetBitmap });
        Assert.That(h.Ioctl(VfioUapi.IOMMU_DIRTY_PAGES, at), Is.EqualTo(-Errno.EFAULT));
    }

    [Test]
    public void Get_bitmap_with_a_wrapping_range_returns_EINVAL()
    {
        var h = Tracking();
        Assert.That(Get(h, 0xFFFF_FFFF_FFFF_F000, Page), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Get_bitmap_with_a_bitmap_beyond_user_space_returns_EINVAL()
    {
        // access_ok(): the bitmap must end below TASK_SIZE_MAX.
        var h = Tracking();
        Assert.That(Get(h, 0x100000, 4 * Page, data: 0x7fff_ffff_f000), Is.EqualTo(-Errno.EINVAL));
    }

    [TestCase(0UL, TestName = "Get_bitmap_with_a_zero_sized_bitmap_returns_EINVAL")]
    [TestCase(0x1000_0008UL, TestName = "Get_bitmap_with_a_bitmap_above_256_MiB_returns_EINVAL")]
    public void Get_bitmap_with_a_bad_bitmap_size_returns_EINVAL(ulong bitmapSize)
    {
        var h = Tracking();
        Assert.That(Get(h, 0x100000, 4 * Page, bitmapSize: bitmapSize), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Get_bitmap_with_a_bitmap_too_small_for_the_range_returns_EINVAL()
    {
        // verify_bitmap_size(): 65 pages need two u64 words.
        var h = Tracking();
        Assert.That(Get(h, 0x100000, 65 * Page, bitmapSize: 8), Is.EqualTo(-Errno.EINVAL));
        Assert.That(Get(h, 0x100000, 65 * Page, bitmapSize: 16), Is.Zero);
    }

    [Test]
    public void Get_bitmap_with_a_page_size_other_than_the_minimum_returns_EINVAL()
    {
        var h = Tracking();
        Assert.That(Get(h, 0x100000, 4 * Page, pgsize: 0x20_0000), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Get_bitmap_with_an_unaligned_iova_returns_EINVAL()
    {
        var h = Tracking();
        Assert.That(Get(h, 0x100800, 4 * Page), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Get_bitmap_of_a_range_that_bisects_a_mapping_returns_EINVAL()
    {
        var h = Tracking();
        Assert.That(Get(h, 0x101000, Page), Is.EqualTo(-Errno.EINVAL));
        Assert.That(Get(h, 0x100000, 2 * Page), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Unmap_with_get_dirty_bitmap_reports_the_removed_pages_dirty()
    {
        var h = Tracking();
        Assert.That(UnmapWithBitmap(h, 0x100000, 8 * Page), Is.Zero);
        Assert.That(h.UnmapStruct.Size, Is.EqualTo(6 * Page));
        Assert.That(h.Get<ulong>(BitmapAt(h)), Is.EqualTo(0b1100_1111UL));
        Assert.That(h.Iommu.MappingCount, Is.Zero);
    }

    [Test]
    public void Unmap_with_get_dirty_bitmap_and_argsz_below_48_returns_EINVAL()
    {
        var h = Tracking();
        Assert.That(h.Unmap(0x100000, 4 * Page, VfioUapi.DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, argsz: 47), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Unmap_with_get_dirty_bitmap_and_the_bitmap_struct_in_unmapped_memory_returns_EFAULT()
    {
        var h = Tracking();
        ulong at = h.Arg + Page - 24;
        h.Put(at, new VfioIommuType1DmaUnmap { Argsz = 48, Flags = VfioUapi.DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, Iova = 0x100000, Size = 4 * Page });
        Assert.That(h.Ioctl(VfioUapi.IOMMU_UNMAP_DMA, at), Is.EqualTo(-Errno.EFAULT));
    }

    [Test]
    public void Unmap_with_get_dirty_bitmap_before_start_returns_EINVAL()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, 4 * Page), Is.Zero);
        Assert.That(UnmapWithBitmap(h, 0x100000, 4 * Page), Is.EqualTo(-Errno.EINVAL));
        Assert.That(h.Iommu.MappingCount, Is.EqualTo(1));
    }

    [Test]
    public void Unmap_with_get_dirty_bitmap_at_another_page_size_returns_EINVAL()
    {
        var h = Tracking();
        Assert.That(UnmapWithBitmap(h, 0x100000, 4 * Page, pgsize: 0x2000), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Unmap_with_get_dirty_bitmap_that_faults_keeps_what_it_removed_and_writes_nothing_back()
    {
        // The walk stops at the failing copy; mappings removed before it stay removed. Word 0 of the bitmap is
        // writable, word 1 (for the mapping 64 pages on) lies in unmapped memory.
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, 4 * Page), Is.Zero);
        Assert.That(h.Map(0x140000, Page), Is.Zero);
        Assert.That(Dirty(h, Start), Is.Zero);
        Assert.That(UnmapWithBitmap(h, 0x100000, 65 * Page, bitmapSize: 16, data: h.Arg + Page - 8), Is.EqualTo(-Errno.EFAULT));
        Assert.That(h.Iommu.Mappings.Select(m => m.Iova), Is.EqualTo(new[] { 0x140000UL }));
        Assert.That(h.Get<ulong>(h.Arg + Page - 8), Is.EqualTo(0b1111UL));
        Assert.That(h.UnmapStruct.Size, Is.EqualTo(65 * Page));
    }
}
