using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using VfioSim.Uapi;
using VfioSim.Vfio.Process;

namespace VfioSim.Vfio;

public sealed partial class Type1Iommu
{
    private const int InfoMinsz = 16;   // offsetofend(struct vfio_iommu_type1_info, iova_pgsizes)
    private const int InfoSize = 24;    // sizeof(struct vfio_iommu_type1_info)
    private const int DirtyMinsz = 8;   // offsetofend(struct vfio_iommu_type1_dirty_bitmap, flags)
    private const int DirtyGetSize = 40; // sizeof(struct vfio_iommu_type1_dirty_bitmap_get)

    /// <summary>DIRTY_BITMAP_PAGES_MAX: bitmap_set() takes an int bit count.</summary>
    public const ulong DirtyBitmapPagesMax = int.MaxValue;

    /// <summary>DIRTY_BITMAP_SIZE_MAX = 256 MiB: GET_INFO's max_dirty_bitmap_size.</summary>
    public static readonly ulong DirtyBitmapSizeMax = DirtyBitmapBytes(DirtyBitmapPagesMax);

    /// <summary>DIRTY_BITMAP_BYTES(n): whole u64 words of n bits (unsigned wrap-around as in C).</summary>
    private static ulong DirtyBitmapBytes(ulong n) => ((n + 63) & ~63UL) / 8;

    // ---- VFIO_IOMMU_GET_INFO ----

    /// <summary>
    /// vfio_iommu_type1_get_info(): the capability chain (MIGRATION, DMA_AVAIL, IOVA_RANGE) follows the 24-byte
    /// struct when argsz has room for it; otherwise argsz is raised to what is needed and nothing but the struct
    /// is written. The struct is written back in min(argsz, 24) bytes.
    /// </summary>
    private int GetInfo(SimProcess process, ulong arg)
    {
        var mm = process.AddressSpace;
        Span<byte> info = stackalloc byte[InfoSize];
        info.Clear();
        if (!mm.TryRead(arg, info[..InfoMinsz])) return -Errno.EFAULT;
        uint argsz = BinaryPrimitives.ReadUInt32LittleEndian(info);
        if (argsz < InfoMinsz) return -Errno.EINVAL;
        int minsz = (int)Math.Min(argsz, InfoSize);

        uint flags = VfioUapi.IOMMU_INFO_PGSIZES;
        var caps = BuildInfoCaps();
        uint capOffset = 0;
        if (caps.Size != 0)
        {
            flags |= VfioUapi.IOMMU_INFO_CAPS;
            if (argsz < InfoSize + (uint)caps.Size) argsz = InfoSize + (uint)caps.Size;
            else
            {
                caps.Shift(InfoSize);
                if (!mm.TryWrite(arg + InfoSize, caps.Bytes)) return -Errno.EFAULT;
                capOffset = InfoSize;
            }
        }
        var result = new VfioIommuType1Info { Argsz = argsz, Flags = flags, IovaPgsizes = PgsizeBitmap, CapOffset = capOffset };
        MemoryMarshal.Write(info, in result);
        return mm.TryWrite(arg, info[..minsz]) ? 0 : -Errno.EFAULT;
    }

    /// <summary>
    /// vfio_iommu_migration_build_caps(), vfio_iommu_dma_avail_build_caps(), vfio_iommu_iova_build_caps(): the
    /// IOVA_RANGE capability is left out while the valid list is empty.
    /// </summary>
    private VfioInfoCapChain BuildInfoCaps()
    {
        var caps = new VfioInfoCapChain();
        int at = caps.Add(Marshal.SizeOf<VfioIommuType1InfoCapMigration>(), VfioUapi.IOMMU_TYPE1_INFO_CAP_MIGRATION, 1);
        var mig = caps.At(at);
        BinaryPrimitives.WriteUInt32LittleEndian(mig[8..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(mig[16..], MinPageSize); // only the minimum page size
        BinaryPrimitives.WriteUInt64LittleEndian(mig[24..], DirtyBitmapSizeMax);

        at = caps.Add(Marshal.SizeOf<VfioIommuType1InfoDmaAvail>(), VfioUapi.IOMMU_TYPE1_INFO_DMA_AVAIL, 1);
        BinaryPrimitives.WriteUInt32LittleEndian(caps.At(at)[8..], DmaAvail);

        if (iovaList.Count != 0)
        {
            int rangeSize = Marshal.SizeOf<VfioIovaRange>();
            at = caps.Add(Marshal.SizeOf<VfioIommuType1InfoCapIovaRange>() + iovaList.Count * rangeSize,
                VfioUapi.IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1);
            var cap = caps.At(at);
            BinaryPrimitives.WriteUInt32LittleEndian(cap[8..], (uint)iovaList.Count);
            for (int i = 0; i < iovaList.Count; i++)
            {
                var r = cap[(16 + i * rangeSize)..];
                BinaryPrimitives.WriteUInt64LittleEndian(r, iovaList[i].Start);
                BinaryPrimitives.WriteUInt64LittleEndian(r[8..], iovaList[i].End);
            }
        }
        return caps;
    }

    // ---- VFIO_IOMMU_DIRTY_PAGES ----

    /// <summary>vfio_iommu_type1_dirty_pages(): START, STOP or GET_BITMAP, exactly one; v2 only.</summary>
    private int DirtyPages(SimProcess process, ulong arg)
    {
        const uint mask = VfioUapi.IOMMU_DIRTY_PAGES_FLAG_START | VfioUapi.IOMMU_DIRTY_PAGES_FLAG_STOP |
            VfioUapi.IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
        if (!V2) return -Errno.EACCES; // before the argument is even read
        var mm = process.AddressSpace;
        Span<byte> buf = stackalloc byte[DirtyGetSize];
        if (!mm.TryRead(arg, buf[..DirtyMinsz])) return -Errno.EFAULT;
        var dirty = MemoryMarshal.Read<VfioIommuType1DirtyBitmap>(buf);
        if (dirty.Argsz < DirtyMinsz || (dirty.Flags & ~mask) != 0) return -Errno.EINVAL;
        // Only one flag at a time (__ffs(flags) != __fls(flags); no flag at all ends in -EINVAL too).
        if (dirty.Flags == 0 || (dirty.Flags & (dirty.Flags - 1)) != 0) return -Errno.EINVAL;

        ulong pgsize = MinPageSize;
        if (dirty.Flags == VfioUapi.IOMMU_DIRTY_PAGES_FLAG_START)
        {
            if (DirtyPageTracking) return 0;
            int ret = DmaBitmapAllocAll(pgsize);
            if (ret == 0) DirtyPageTracking = true;
            return ret;
        }
        if (dirty.Flags == VfioUapi.IOMMU_DIRTY_PAGES_FLAG_STOP)
        {
            if (DirtyPageTracking)
            {
                DirtyPageTracking = false;
                foreach (var dma in dmaList.InOrder()) dma.Bitmap = null;
            }
            return 0;
        }

        // GET_BITMAP
        uint dataSize = dirty.Argsz - DirtyMinsz;
        if (dataSize == 0 || dataSize < DirtyGetSize) return -Errno.EINVAL;
        if (!mm.TryRead(arg + DirtyMinsz, buf)) return -Errno.EFAULT;
        var range = MemoryMarshal.Read<VfioIommuType1DirtyBitmapGet>(buf);
        if (range.Iova + range.Size < range.Iova) return -Errno.EINVAL;
        if (!AccessOk(range.Bitmap.Data, range.Bitmap.Size)) return -Errno.EINVAL;
        int pgshift = BitOperations.TrailingZeroCount(range.Bitmap.Pgsize);
        int err = VerifyBitmapSize(range.Size >> pgshift, range.Bitmap.Size);
        if (err != 0) return err;
        // Only the smallest supported page size, aligned and non-empty ranges.
        if (range.Bitmap.Pgsize != pgsize) return -Errno.EINVAL;
        if ((range.Iova & (pgsize - 1)) != 0) return -Errno.EINVAL;
        if (range.Size == 0 || (range.Size & (pgsize - 1)) != 0) return -Errno.EINVAL;
        if (!DirtyPageTracking) return -Errno.EINVAL;
        return IovaDirtyBitmap(mm, range.Bitmap.Data, range.Iova, range.Size, pgsize);
    }

    /// <summary>
    /// vfio_iova_dirty_bitmap(): the range must not bisect a mapping; each mapping inside it is reported, then
    /// its bitmap is reset to "pages pinned through the pinning interface" (none here).
    /// </summary>
    private int IovaDirtyBitmap(AddressSpace mm, ulong bitmap, ulong iova, ulong size, ulong pgsize)
    {
        var d = dmaList.Find(iova, 1);
        if (d is not null && d.Iova != iova) return -Errno.EINVAL;
        d = dmaList.Find(iova + size - 1, 0);
        if (d is not null && d.Iova + d.Size != iova + size) return -Errno.EINVAL;
        // The first mapping ending above iova starts at iova or later (the check above).
        for (var dma = dmaList.FirstNode(iova, 0); dma is not null && dma.Iova <= iova + size - 1; dma = dmaList.Next(dma))
        {
            int ret = UpdateUserBitmap(mm, bitmap, dma, iova, pgsize);
            if (ret != 0) return ret;
            Array.Clear(dma.Bitmap!);
        }
        return 0;
    }

    /// <summary>
    /// update_user_bitmap(): copies the mapping's bits to the user bitmap at bit (dma.iova − base) / pgsize. Every
    /// page is dirty while an IOMMU-backed group is attached (type1 cannot see device writes). An unaligned start
    /// ORs the user's whole first word in (bitmap_or on full words); whole words are written.
    /// </summary>
    private int UpdateUserBitmap(AddressSpace mm, ulong userBitmap, DmaMapping dma, ulong baseIova, ulong pgsize)
    {
        var bm = dma.Bitmap!;
        int pgshift = BitOperations.TrailingZeroCount(pgsize);
        ulong nbits = dma.Size >> pgshift;
        ulong bitOffset = (dma.Iova - baseIova) >> pgshift;
        ulong copyOffset = bitOffset / 64;
        int shift = (int)(bitOffset % 64);
        ulong at = userBitmap + copyOffset * 8;

        if (numNonPinnedGroups != 0 && dma.IommuMapped) BitmapSet(bm, nbits);
        if (shift != 0)
        {
            BitmapShiftLeft(bm, shift, nbits + (ulong)shift);
            Span<byte> word = stackalloc byte[8];
            if (!mm.TryRead(at, word)) return -Errno.EFAULT;
            bm[0] |= BinaryPrimitives.ReadUInt64LittleEndian(word);
        }
        int words = (int)(DirtyBitmapBytes(nbits + (ulong)shift) / 8);
        return mm.TryWrite(at, MemoryMarshal.AsBytes(bm.AsSpan(0, words))) ? 0 : -Errno.EFAULT;
    }

    /// <summary>bitmap_set(map, 0, nbits).</summary>
    private static void BitmapSet(ulong[] map, ulong nbits)
    {
        int full = (int)(nbits / 64);
        map.AsSpan(0, full).Fill(ulong.MaxValue);
        int rest = (int)(nbits % 64);
        if (rest != 0) map[full] |= (1UL << rest) - 1;
    }

    /// <summary>__bitmap_shift_left(map, map, shift, nbits) for 0 &lt; shift &lt; 64.</summary>
    private static void BitmapShiftLeft(ulong[] map, int shift, ulong nbits)
    {
        int lim = (int)((nbits + 63) / 64);
        for (int k = lim - 1; k >= 0; k--)
        {
            ulong lower = k > 0 ? map[k - 1] >> (64 - shift) : 0;
            map[k] = (map[k] << shift) | lower;
        }
    }

    /// <summary>verify_bitmap_size().</summary>
    private static int VerifyBitmapSize(ulong npages, ulong bitmapSize) =>
        npages == 0 || bitmapSize == 0 || bitmapSize > DirtyBitmapSizeMax || bitmapSize < DirtyBitmapBytes(npages)
            ? -Errno.EINVAL : 0;

    /// <summary>
    /// access_ok() on x86-64 (6.12, no LAM): [addr, addr + size) must not wrap and must end at or below
    /// USER_PTR_MAX = TASK_SIZE_MAX − 1.
    /// </summary>
    private static bool AccessOk(ulong addr, ulong size)
    {
        ulong sum = addr + size;
        return sum >= addr && sum <= AddressSpace.TaskSize - 1;
    }

    /// <summary>vfio_dma_bitmap_alloc(): one bit per minimum page plus a spare word for shifting.</summary>
    private static int DmaBitmapAlloc(DmaMapping dma, ulong pgsize)
    {
        ulong npages = dma.Size / pgsize;
        if (npages > DirtyBitmapPagesMax) return -Errno.EINVAL;
        dma.Bitmap = new ulong[DirtyBitmapBytes(npages) / 8 + 1];
        return 0;
    }

    /// <summary>vfio_dma_bitmap_alloc_all(): all or nothing.</summary>
    private int DmaBitmapAllocAll(ulong pgsize)
    {
        foreach (var dma in dmaList.InOrder())
        {
            int ret = DmaBitmapAlloc(dma, pgsize);
            if (ret != 0)
            {
                foreach (var d in dmaList.InOrder()) d.Bitmap = null;
                return ret;
            }
        }
        return 0;
    }

    /// <summary>vfio_iommu_populate_bitmap_full(): every page of every mapping dirty.</summary>
    private void PopulateBitmapFull()
    {
        int pgshift = BitOperations.TrailingZeroCount(PgsizeBitmap);
        foreach (var dma in dmaList.InOrder())
            if (dma.Bitmap is not null) BitmapSet(dma.Bitmap, dma.Size >> pgshift);
    }
}
