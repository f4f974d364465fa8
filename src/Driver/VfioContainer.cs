using System.Runtime.InteropServices;
using VfioSim.Uapi;

namespace VfioSim.Driver;

/// <summary>An IOVA range the IOMMU accepts (inclusive end), from VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE.</summary>
public readonly record struct IovaRange(ulong Start, ulong End);

/// <summary>What VFIO_IOMMU_GET_INFO reports.</summary>
public sealed record IommuInfo(ulong PageSizes, IReadOnlyList<IovaRange> IovaRanges, uint? DmaAvailable, ulong? MigrationPageSizes);

/// <summary>/dev/vfio/vfio: the container (thin typed wrappers, in the spirit of rust-vmm's vfio-ioctls).</summary>
public sealed class VfioContainer : IDisposable
{
    private readonly IKernel kernel;
    private readonly UserBuffer arg;

    public VfioContainer(IKernel kernel, string path = "/dev/vfio/vfio")
    {
        this.kernel = kernel;
        Fd = (int)VfioException.Check(kernel.Open(path, OpenFlags.ReadWrite | OpenFlags.CloseOnExec), $"open({path})",
            e => e == Errno.ENOENT ? "is the vfio module loaded?" : null);
        arg = new UserBuffer(kernel);
    }

    public int Fd { get; }

    /// <summary>The IOMMU type set with <see cref="SetIommu"/>, or null.</summary>
    public uint? IommuType { get; private set; }

    public int ApiVersion() => (int)VfioException.Check(kernel.Ioctl(Fd, VfioUapi.GET_API_VERSION, 0), "VFIO_GET_API_VERSION");

    public bool CheckExtension(uint extension) =>
        VfioException.Check(kernel.Ioctl(Fd, VfioUapi.CHECK_EXTENSION, extension), $"VFIO_CHECK_EXTENSION({extension})") > 0;

    public void SetIommu(uint type)
    {
        VfioException.Check(kernel.Ioctl(Fd, VfioUapi.SET_IOMMU, type), $"VFIO_SET_IOMMU({type})",
            e => e == Errno.EINVAL ? "the container needs at least one group (VFIO_GROUP_SET_CONTAINER) and no IOMMU set yet" : null);
        IommuType = type;
    }

    /// <summary>VFIO_IOMMU_GET_INFO with argsz negotiation and the capability chain parsed.</summary>
    public IommuInfo GetInfo()
    {
        var info = new VfioIommuType1Info { Argsz = (uint)Marshal.SizeOf<VfioIommuType1Info>() };
        arg.Put(info);
        VfioException.Check(kernel.Ioctl(Fd, VfioUapi.IOMMU_GET_INFO, arg.Address), "VFIO_IOMMU_GET_INFO");
        info = arg.Get<VfioIommuType1Info>();
        if ((info.Flags & VfioUapi.IOMMU_INFO_CAPS) != 0 && info.Argsz > Marshal.SizeOf<VfioIommuType1Info>() && info.Argsz <= arg.Size)
        {
            uint need = info.Argsz;
            info = new VfioIommuType1Info { Argsz = need };
            arg.Put(info);
            VfioException.Check(kernel.Ioctl(Fd, VfioUapi.IOMMU_GET_INFO, arg.Address), "VFIO_IOMMU_GET_INFO");
            info = arg.Get<VfioIommuType1Info>();
        }
        var ranges = new List<IovaRange>();
        uint? avail = null;
        ulong? migration = null;
        for (uint off = info.CapOffset; off != 0 && off + 8 <= info.Argsz;)
        {
            var hdr = arg.Get<VfioInfoCapHeader>(off);
            switch (hdr.Id)
            {
                case VfioUapi.IOMMU_TYPE1_INFO_CAP_IOVA_RANGE:
                    var cap = arg.Get<VfioIommuType1InfoCapIovaRange>(off);
                    for (uint i = 0; i < cap.NrIovas; i++)
                    {
                        var r = arg.Get<VfioIovaRange>(off + 16 + 16 * i);
                        ranges.Add(new IovaRange(r.Start, r.End));
                    }
                    break;
                case VfioUapi.IOMMU_TYPE1_INFO_DMA_AVAIL:
                    avail = arg.Get<VfioIommuType1InfoDmaAvail>(off).Avail;
                    break;
                case VfioUapi.IOMMU_TYPE1_INFO_CAP_MIGRATION:
                    migration = arg.Get<VfioIommuType1InfoCapMigration>(off).PgsizeBitmap;
                    break;
            }
            if (hdr.Next <= off) break;
            off = hdr.Next;
        }
        return new IommuInfo(info.IovaPgsizes, ranges, avail, migration);
    }

    public void MapDma(ulong vaddr, ulong iova, ulong size, bool read = true, bool write = true)
    {
        var map = new VfioIommuType1DmaMap
        {
            Argsz = (uint)Marshal.SizeOf<VfioIommuType1DmaMap>(),
            Flags = (read ? VfioUapi.DMA_MAP_FLAG_READ : 0) | (write ? VfioUapi.DMA_MAP_FLAG_WRITE : 0),
            Vaddr = vaddr,
            Iova = iova,
            Size = size,
        };
        arg.Put(map);
        VfioException.Check(kernel.Ioctl(Fd, VfioUapi.IOMMU_MAP_DMA, arg.Address), $"VFIO_IOMMU_MAP_DMA(iova=0x{iova:x}, size=0x{size:x})",
            e => e switch
            {
                Errno.EEXIST => "the IOVA range overlaps an existing mapping; unmap it first",
                Errno.ENOMEM => "RLIMIT_MEMLOCK is too small for the pinned memory (ulimit -l)",
                Errno.EFAULT => "the virtual address range is not mapped in this process",
                Errno.ENOSPC => "the container reached its DMA mapping limit (dma_entry_limit)",
                Errno.EINVAL => "check alignment to the IOMMU page size, the IOVA ranges of GET_INFO, and that an IOMMU type is set",
                _ => null,
            });
    }

    /// <summary>VFIO_IOMMU_UNMAP_DMA; returns the bytes the kernel unmapped.</summary>
    public ulong UnmapDma(ulong iova, ulong size, bool all = false)
    {
        var unmap = new VfioIommuType1DmaUnmap
        {
            Argsz = (uint)Marshal.SizeOf<VfioIommuType1DmaUnmap>(),
            Flags = all ? VfioUapi.DMA_UNMAP_FLAG_ALL : 0,
            Iova = iova,
            Size = size,
        };
        arg.Put(unmap);
        VfioException.Check(kernel.Ioctl(Fd, VfioUapi.IOMMU_UNMAP_DMA, arg.Address), $"VFIO_IOMMU_UNMAP_DMA(iova=0x{iova:x}, size=0x{size:x})",
            e => e == Errno.EINVAL ? "type1v2 cannot unmap part of a mapping: unmap whole mappings" : null);
        return arg.Get<VfioIommuType1DmaUnmap>().Size;
    }

    public ulong UnmapAll() => UnmapDma(0, 0, all: true);

    public void Dispose()
    {
        arg.Dispose();
        kernel.Close(Fd);
    }
}
