using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using VfioSim.Pci.MachineFiles;
using VfioSim.Uapi;
using VfioSim.Vfio;
using VfioSim.Vfio.Process;

namespace VfioSim.Bench;

/// <summary>
/// The type1 backend through the byte ABI, as a driver uses it: VFIO_IOMMU_MAP_DMA + VFIO_IOMMU_UNMAP_DMA pairs
/// of one page while <see cref="LiveMappings"/> other mappings exist, and VFIO_IOMMU_GET_INFO with room for the
/// capability chain. The structs sit in process memory; each ioctl copies them in (and UNMAP/GET_INFO out).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 8)]
public class Type1Benchmarks
{
    private const ulong Page = 0x1000;
    private const int Slots = 64; // pairs cycle through 64 free IOVAs spread over the live mappings
    private const int PairsPerInvoke = 1000;

    private SimProcess process = null!;
    private Type1Iommu iommu = null!;
    private ulong maps, unmaps, info;

    [Params(1_000, 65_000)]
    public int LiveMappings { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var machine = new Machine(MachineLoader.Default());
        process = machine.CreateProcess("bench");
        process.CapIpcLock = true; // 65 000 pinned pages are far beyond the default RLIMIT_MEMLOCK
        iommu = new Type1Iommu(VfioUapi.TYPE1v2_IOMMU);
        if (iommu.AttachGroup(IommuGroupAttachInfo.ForIntelIommu(machine.Groups.All.First())) != 0)
            throw new InvalidOperationException("attach failed");
        ulong buf = Mmap(Page);
        ulong arg = Mmap(Page);
        // Live mappings one page each at every other page, all of the same buffer: the odd pages stay free.
        for (int i = 0; i < LiveMappings; i++)
        {
            Put(arg, new VfioIommuType1DmaMap { Argsz = 32, Flags = 3, Vaddr = buf, Iova = (ulong)i * 2 * Page, Size = Page });
            if (iommu.Ioctl(process, VfioUapi.IOMMU_MAP_DMA, arg) != 0) throw new InvalidOperationException($"map {i} failed");
        }
        maps = Mmap(Slots * 32);
        unmaps = Mmap(Slots * 24);
        for (int s = 0; s < Slots; s++)
        {
            ulong iova = ((ulong)(s * LiveMappings / Slots) * 2 + 1) * Page;
            Put(maps + (ulong)s * 32, new VfioIommuType1DmaMap { Argsz = 32, Flags = 3, Vaddr = buf, Iova = iova, Size = Page });
            Put(unmaps + (ulong)s * 24, new VfioIommuType1DmaUnmap { Argsz = 24, Iova = iova, Size = Page });
        }
        info = Mmap(Page);
        Put(info, new VfioIommuType1Info { Argsz = 256 });
    }

    /// <summary>One MAP_DMA + UNMAP_DMA pair (OperationsPerInvoke: the time shown is per pair).</summary>
    [Benchmark(OperationsPerInvoke = PairsPerInvoke)]
    public long MapUnmapPair()
    {
        long r = 0;
        for (int i = 0; i < PairsPerInvoke; i++)
        {
            int s = i % Slots;
            r += iommu.Ioctl(process, VfioUapi.IOMMU_MAP_DMA, maps + (ulong)s * 32);
            r += iommu.Ioctl(process, VfioUapi.IOMMU_UNMAP_DMA, unmaps + (ulong)s * 24);
        }
        if (r != 0) throw new InvalidOperationException("an ioctl failed");
        return r;
    }

    /// <summary>VFIO_IOMMU_GET_INFO with argsz 256: struct, MIGRATION, DMA_AVAIL and IOVA_RANGE written.</summary>
    [Benchmark]
    public long GetInfo() => iommu.Ioctl(process, VfioUapi.IOMMU_GET_INFO, info);

    private ulong Mmap(ulong length) =>
        (ulong)process.Mmap(0, length, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous, -1, 0);

    private void Put<T>(ulong at, T value) where T : unmanaged =>
        process.AddressSpace.Write(at, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));
}
