using System.Runtime.InteropServices;
using VfioSim.Iommu;
using VfioSim.Pci.MachineFiles;
using VfioSim.Uapi;
using VfioSim.Vfio;
using VfioSim.Vfio.Process;

namespace VfioSim.Tests.Unit.Type1;

/// <summary>
/// A process on the default machine with a type1 backend that has one VT-d group attached (as after
/// VFIO_SET_IOMMU), 64 pages of read-write memory at <see cref="Buf"/> and a page for ioctl structs at
/// <see cref="Arg"/>. Calls go through the byte ABI: structs are written into process memory and passed by address.
/// </summary>
internal sealed class Type1Harness
{
    public const ulong Page = 0x1000;
    public const uint RW = VfioUapi.DMA_MAP_FLAG_READ | VfioUapi.DMA_MAP_FLAG_WRITE;

    /// <summary>An address no test maps: copy_from_user from it faults.</summary>
    public const ulong Unmapped = 0x10_0000;

    public Type1Harness(ulong type = VfioUapi.TYPE1v2_IOMMU, uint dmaEntryLimit = 65535, bool attach = true)
    {
        Machine = new Machine(MachineLoader.Default());
        P = Machine.CreateProcess();
        P.CapIpcLock = false;
        Parameters = new Type1ModuleParameters { DmaEntryLimit = dmaEntryLimit };
        Iommu = new Type1Iommu(type, Parameters);
        Group = IommuGroupAttachInfo.ForIntelIommu(Machine.Groups.All.First());
        Buf = MmapAnon(64 * Page, Prot.Read | Prot.Write);
        Arg = MmapAnon(Page, Prot.Read | Prot.Write);
        if (attach) Assert.That(Iommu.AttachGroup(Group), Is.Zero, "attaching the first group");
    }

    public Machine Machine { get; }
    public SimProcess P { get; }
    public Type1ModuleParameters Parameters { get; }
    public Type1Iommu Iommu { get; }
    public IommuGroupAttachInfo Group { get; }
    public ulong Buf { get; }
    public ulong Arg { get; }

    public ulong MmapAnon(ulong length, Prot prot, SimProcess? process = null)
    {
        long a = (process ?? P).Mmap(0, length, prot, MapFlags.Private | MapFlags.Anonymous, -1, 0);
        Assert.That(a, Is.GreaterThan(0), "mmap");
        return (ulong)a;
    }

    public long Ioctl(uint request, ulong arg, SimProcess? process = null) => Iommu.Ioctl(process ?? P, request, arg);

    public void Put<T>(ulong address, T value) where T : unmanaged =>
        P.AddressSpace.Write(address, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    public T Get<T>(ulong address) where T : unmanaged
    {
        T value = default;
        P.AddressSpace.Read(address, MemoryMarshal.AsBytes(new Span<T>(ref value)));
        return value;
    }

    public byte[] Bytes(ulong address, int count)
    {
        var b = new byte[count];
        P.AddressSpace.Read(address, b);
        return b;
    }

    /// <summary>VFIO_IOMMU_MAP_DMA of [iova, iova+size) from <paramref name="vaddr"/> (default: <see cref="Buf"/>).</summary>
    public long Map(ulong iova, ulong size, ulong? vaddr = null, uint flags = RW, uint argsz = 32, SimProcess? process = null)
    {
        ulong at = process is null ? Arg : MmapAnon(Page, Prot.Read | Prot.Write, process);
        var s = new VfioIommuType1DmaMap { Argsz = argsz, Flags = flags, Vaddr = vaddr ?? Buf, Iova = iova, Size = size };
        (process ?? P).AddressSpace.Write(at, MemoryMarshal.AsBytes(new ReadOnlySpan<VfioIommuType1DmaMap>(in s)));
        return Ioctl(VfioUapi.IOMMU_MAP_DMA, at, process);
    }

    /// <summary>VFIO_IOMMU_UNMAP_DMA; the struct stays at <see cref="Arg"/> for <see cref="UnmapStruct"/>.</summary>
    public long Unmap(ulong iova, ulong size, uint flags = 0, uint argsz = 24)
    {
        Put(Arg, new VfioIommuType1DmaUnmap { Argsz = argsz, Flags = flags, Iova = iova, Size = size });
        return Ioctl(VfioUapi.IOMMU_UNMAP_DMA, Arg);
    }

    public VfioIommuType1DmaUnmap UnmapStruct => Get<VfioIommuType1DmaUnmap>(Arg);

    /// <summary>dma_avail as GET_INFO's DMA_AVAIL capability reports it.</summary>
    public uint DmaAvailFromInfo()
    {
        Put(Arg, new VfioIommuType1Info { Argsz = 256 });
        Assert.That(Ioctl(VfioUapi.IOMMU_GET_INFO, Arg), Is.Zero, "GET_INFO");
        return Get<uint>(Arg + 56 + 8);
    }

    /// <summary>Everything a failed call must leave alone.</summary>
    public string State() =>
        $"avail {Iommu.DmaAvail} locked {P.AddressSpace.LockedVm} tracking {Iommu.DirtyPageTracking} " +
        $"mappings [{string.Join("; ", Iommu.Mappings)}]";

    /// <summary>A second VT-d-like group with its own reserved regions and aperture.</summary>
    public static IommuGroupAttachInfo OtherGroup(int id, ulong apertureEnd = (1UL << 39) - 1, bool msiIsolated = true,
        params ResvRegion[] extraRegions) =>
        new(id, 0, apertureEnd, IommuGroupAttachInfo.IntelPageSizes,
            [new ResvRegion(ReservedRegions.IoapicRangeStart, 0x10_0000, ResvRegionType.Msi), .. extraRegions],
            msiIsolated, false, "intel-iommu");
}
