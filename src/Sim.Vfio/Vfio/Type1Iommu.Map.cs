using System.Runtime.InteropServices;
using VfioSim.Uapi;
using VfioSim.Vfio.Process;

namespace VfioSim.Vfio;

public sealed partial class Type1Iommu
{
    private const int MapMinsz = 32;    // offsetofend(struct vfio_iommu_type1_dma_map, size)
    private const int UnmapMinsz = 24;  // offsetofend(struct vfio_iommu_type1_dma_unmap, size)
    private const int BitmapSize = 24;  // sizeof(struct vfio_bitmap)

    private const uint MapFlagsMask = VfioUapi.DMA_MAP_FLAG_READ | VfioUapi.DMA_MAP_FLAG_WRITE | VfioUapi.DMA_MAP_FLAG_VADDR;
    private const uint UnmapFlagsMask = VfioUapi.DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VfioUapi.DMA_UNMAP_FLAG_VADDR | VfioUapi.DMA_UNMAP_FLAG_ALL;

    // ---- VFIO_IOMMU_MAP_DMA ----

    /// <summary>vfio_iommu_type1_map_dma(): copies minsz bytes, checks argsz and flags; nothing is written back.</summary>
    private int MapDma(SimProcess process, ulong arg)
    {
        Span<byte> buf = stackalloc byte[MapMinsz];
        if (!process.AddressSpace.TryRead(arg, buf)) return -Errno.EFAULT;
        var map = MemoryMarshal.Read<VfioIommuType1DmaMap>(buf);
        if (map.Argsz < MapMinsz || (map.Flags & ~MapFlagsMask) != 0) return -Errno.EINVAL;
        return DoMap(process, map);
    }

    /// <summary>vfio_dma_do_map(), checks in the kernel's order; on failure nothing changes.</summary>
    private int DoMap(SimProcess process, in VfioIommuType1DmaMap map)
    {
        bool setVaddr = (map.Flags & VfioUapi.DMA_MAP_FLAG_VADDR) != 0;
        ulong iova = map.Iova, vaddr = map.Vaddr, size = map.Size;
        var prot = DmaProt.None;
        if ((map.Flags & VfioUapi.DMA_MAP_FLAG_WRITE) != 0) prot |= DmaProt.Write;
        if ((map.Flags & VfioUapi.DMA_MAP_FLAG_READ) != 0) prot |= DmaProt.Read;
        // Exactly one of "a protection" and "a new vaddr".
        if ((prot != 0 && setVaddr) || (prot == 0 && !setVaddr)) return -Errno.EINVAL;

        ulong pgsize = MinPageSize;
        if (size == 0 || ((size | iova | vaddr) & (pgsize - 1)) != 0) return -Errno.EINVAL;
        // No IOVA or virtual address wrap.
        if (iova + size - 1 < iova || vaddr + size - 1 < vaddr) return -Errno.EINVAL;

        var dma = dmaList.FindAndRemember(iova, size);
        if (setVaddr)
        {
            if (dma is null) return -Errno.ENOENT;
            if (!dma.VaddrInvalid || dma.Iova != iova || dma.Size != size) return -Errno.EINVAL;
            int ret = ChangeDmaOwner(process, dma);
            if (ret != 0) return ret;
            dma.Vaddr = vaddr;
            dma.VaddrInvalid = false;
            vaddrInvalidCount--;
            return 0;
        }
        if (dma is not null) return -Errno.EEXIST;
        if (DmaAvail == 0) return -Errno.ENOSPC;
        if (!IovaDmaValid(iova, iova + size - 1)) return -Errno.EINVAL;

        dma = new DmaMapping(iova, size, vaddr, prot, process, process.CapIpcLock);
        DmaAvail--;
        dmaList.Insert(dma);
        // With an IOMMU domain (every group here has one; there are no mdevs) the pages are pinned and mapped now.
        // Any failure tears the whole entry down again (vfio_remove_dma()). Without a domain nothing is pinned.
        int err = domains.Count == 0 ? 0 : PinMapDma(process, dma);
        if (err == 0 && DirtyPageTracking) err = DmaBitmapAlloc(dma, pgsize);
        if (err != 0) RemoveDma(dma);
        else if (dma.IommuMapped) DmaMapped?.Invoke(dma);
        return err;
    }

    /// <summary>
    /// vfio_pin_map_dma() / vfio_pin_pages_remote(): pins the whole vaddr range page by page in address order.
    /// The first page that cannot be pinned gives -EFAULT (not anonymous memory of the process, or not writable
    /// for a device-writable mapping: pin_user_pages with FOLL_WRITE; not readable otherwise); the first page that
    /// would take locked_vm over RLIMIT_MEMLOCK without CAP_IPC_LOCK gives -ENOMEM. Success charges the pages.
    /// </summary>
    private static int PinMapDma(SimProcess process, DmaMapping dma)
    {
        var mm = process.AddressSpace;
        ulong limit = process.MemlockLimit / PageSize;
        var need = (dma.Prot & DmaProt.Write) != 0 ? Prot.Write : Prot.Read;
        ulong offset = 0, lockAcct = 0;
        PinnedChunk first = default;
        List<PinnedChunk>? more = null;
        int count = 0;
        while (offset < dma.Size)
        {
            ulong addr = dma.Vaddr + offset;
            var vma = mm.Find(addr);
            // Device mappings (VM_PFNMAP) are not modelled as DMA targets.
            if (vma?.Memory is null || (vma.Prot & need) == 0) return -Errno.EFAULT;
            ulong n = Math.Min(dma.Size - offset, vma.End - addr);
            ulong pages = n / PageSize;
            if (!dma.LockCap && mm.LockedVm + lockAcct + pages > limit) return -Errno.ENOMEM;
            lockAcct += pages;
            var chunk = new PinnedChunk(offset, vma.Memory, (int)(addr - vma.Start), (int)n);
            if (count++ == 0) first = chunk;
            else (more ??= [first]).Add(chunk);
            offset += n;
        }
        int err = mm.AccountLockedVm(lockAcct, inc: true, process.MemlockLimit, dma.LockCap);
        if (err != 0) return err;
        dma.LockedVm = lockAcct;
        dma.Chunk = first;
        dma.Chunks = more?.ToArray();
        dma.IommuMapped = true;
        return 0;
    }

    /// <summary>
    /// vfio_change_dma_owner(): a VADDR update from another process moves the locked-memory charge to it
    /// (which may fail -ENOMEM against its limit).
    /// </summary>
    private static int ChangeDmaOwner(SimProcess process, DmaMapping dma)
    {
        if (process.AddressSpace == dma.Mm) return 0;
        bool lockCap = process.CapIpcLock;
        int ret = process.AddressSpace.AccountLockedVm(dma.LockedVm, inc: true, process.MemlockLimit, lockCap);
        if (ret != 0) return ret;
        dma.Mm.AccountLockedVm(dma.LockedVm, inc: false, dma.Owner.MemlockLimit, dma.LockCap);
        dma.Owner = process;
        dma.LockCap = lockCap;
        return 0;
    }

    /// <summary>vfio_unmap_unpin(): the pinned memory is let go and its pages uncharged.</summary>
    private static void Unpin(DmaMapping dma)
    {
        dma.Mm.AccountLockedVm(dma.LockedVm, inc: false, dma.Owner.MemlockLimit, dma.LockCap);
        dma.LockedVm = 0;
        dma.IommuMapped = false;
        dma.Chunk = default;
        dma.Chunks = null;
    }

    /// <summary>vfio_remove_dma(): unmaps, unpins and uncharges one mapping and frees its slot.</summary>
    private void RemoveDma(DmaMapping dma)
    {
        if (dma.IommuMapped) DmaUnmapping?.Invoke(dma);
        Unpin(dma);
        dmaList.Remove(dma);
        dma.Bitmap = null;
        if (dma.VaddrInvalid) vaddrInvalidCount--;
        DmaAvail++;
    }

    /// <summary>vfio_iommu_unmap_unpin_all().</summary>
    private void UnmapUnpinAll()
    {
        while (dmaList.First() is { } dma) RemoveDma(dma);
    }

    // ---- VFIO_IOMMU_UNMAP_DMA ----

    /// <summary>
    /// vfio_iommu_type1_unmap_dma(): argument checks, then vfio_dma_do_unmap(); the 24-byte struct (with size =
    /// bytes unmapped) is copied back only on success.
    /// </summary>
    private int UnmapDma(SimProcess process, ulong arg)
    {
        var mm = process.AddressSpace;
        Span<byte> buf = stackalloc byte[UnmapMinsz];
        if (!mm.TryRead(arg, buf)) return -Errno.EFAULT;
        var unmap = MemoryMarshal.Read<VfioIommuType1DmaUnmap>(buf);
        if (unmap.Argsz < UnmapMinsz || (unmap.Flags & ~UnmapFlagsMask) != 0) return -Errno.EINVAL;
        bool getBitmap = (unmap.Flags & VfioUapi.DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) != 0;
        if (getBitmap && (unmap.Flags & (VfioUapi.DMA_UNMAP_FLAG_ALL | VfioUapi.DMA_UNMAP_FLAG_VADDR)) != 0) return -Errno.EINVAL;

        VfioBitmap bitmap = default;
        if (getBitmap)
        {
            if (unmap.Argsz < UnmapMinsz + BitmapSize) return -Errno.EINVAL;
            Span<byte> b = stackalloc byte[BitmapSize];
            if (!mm.TryRead(arg + UnmapMinsz, b)) return -Errno.EFAULT;
            bitmap = MemoryMarshal.Read<VfioBitmap>(b);
            if (!AccessOk(bitmap.Data, bitmap.Size)) return -Errno.EINVAL;
            int pgshift = System.Numerics.BitOperations.TrailingZeroCount(bitmap.Pgsize);
            int err = VerifyBitmapSize(unmap.Size >> pgshift, bitmap.Size);
            if (err != 0) return err;
        }

        int ret = DoUnmap(process, ref unmap, getBitmap, bitmap);
        if (ret != 0) return ret;
        MemoryMarshal.Write(buf, in unmap);
        return mm.TryWrite(arg, buf) ? 0 : -Errno.EFAULT;
    }

    /// <summary>
    /// vfio_dma_do_unmap(): v1 may unmap more than asked (whole mappings starting in the range) and stops at a
    /// mapping starting below iova; v2 refuses to bisect a mapping. <paramref name="unmap"/>.Size becomes the
    /// bytes unmapped (or invalidated, with VADDR).
    /// </summary>
    private int DoUnmap(SimProcess process, ref VfioIommuType1DmaUnmap unmap, bool getBitmap, in VfioBitmap bitmap)
    {
        ulong iova = unmap.Iova, size = unmap.Size, unmapped = 0;
        bool unmapAll = (unmap.Flags & VfioUapi.DMA_UNMAP_FLAG_ALL) != 0;
        bool invalidateVaddr = (unmap.Flags & VfioUapi.DMA_UNMAP_FLAG_VADDR) != 0;
        int ret = -Errno.EINVAL;
        ulong pgsize = MinPageSize;

        // (An emulated group would make VADDR -EBUSY here; there are none.)
        if ((iova & (pgsize - 1)) != 0) goto unlock;
        if (unmapAll)
        {
            if (iova != 0 || size != 0) goto unlock;
            size = ulong.MaxValue;
        }
        else if (size == 0 || (size & (pgsize - 1)) != 0 || iova + size - 1 < iova) goto unlock;

        // While dirty tracking, only the minimum page size is allowed.
        if (getBitmap && (!DirtyPageTracking || bitmap.Pgsize != pgsize)) goto unlock;

        DmaMapping? first = null;
        if (V2 && !unmapAll)
        {
            first = dmaList.FindAndRemember(iova, 1);
            if (first is not null && first.Iova != iova) goto unlock;
            // The mapping strictly holding the last byte; when the first one reaches that far it is the one.
            ulong last = iova + size - 1;
            var d = first is not null && first.Last >= last ? (first.Iova < last ? first : null) : dmaList.Find(last, 0);
            if (d is not null && d.Iova + d.Size != iova + size) goto unlock;
        }

        ret = 0;
        // A mapping holding iova is the first one ending above it: vfio_find_dma_first_node() would find it again.
        first ??= dmaList.FirstNode(iova, size);
        for (var dma = first; dma is not null;)
        {
            if (dma.Iova >= iova + size) break;
            if (!V2 && iova > dma.Iova) break;
            // A mapping reaching the end of the range is the last one (saves a lookup of the next).
            var next = dma.Last >= iova + size - 1 ? null : dmaList.Next(dma);
            if (invalidateVaddr)
            {
                if (dma.VaddrInvalid)
                {
                    // Revert what this call marked, then fail.
                    for (var m = first; m is not null && m != dma; m = dmaList.Next(m))
                    {
                        m.VaddrInvalid = false;
                        vaddrInvalidCount--;
                    }
                    ret = -Errno.EINVAL;
                    unmapped = 0;
                    break;
                }
                dma.VaddrInvalid = true;
                vaddrInvalidCount++;
                unmapped += dma.Size;
                dma = next;
                continue;
            }
            if (getBitmap)
            {
                ret = UpdateUserBitmap(process.AddressSpace, bitmap.Data, dma, iova, pgsize);
                if (ret != 0) break;
            }
            unmapped += dma.Size;
            RemoveDma(dma);
            dma = next;
        }

    unlock:
        unmap.Size = unmapped;
        return ret;
    }
}
