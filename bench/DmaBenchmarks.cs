using BenchmarkDotNet.Attributes;
using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;

namespace VfioSim.Bench;

/// <summary>
/// A device copies Bytes from one buffer to another by DMA through an unmanaged IOMMU domain: it reads the source
/// IOVA range into its own buffer, then writes that to the destination range, as an edu-like DMA engine would.
/// Both 1 MiB buffers are mapped with one iommu_map() call per 4 KiB page. Next to it, in the same run, a plain
/// copy of the same bytes (the baseline), each DMA direction on its own (one copy each, comparable to the
/// baseline), and the same two copies through a device buffer without the IOMMU (comparable to DmaCopy).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 8)]
public class DmaBenchmarks
{
    private const int BufferSize = 1 << 20, Page = 4096;
    private const ulong SrcIova = 0x100000, DstIova = 0x4000_0000;

    private readonly byte[] src = new byte[BufferSize], dst = new byte[BufferSize], deviceBuffer = new byte[BufferSize];
    private DmaPort port = null!, scatteredPort = null!;

    [Params(4 << 10, 64 << 10, 1 << 20)]
    public int Bytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        new Random(1).NextBytes(src);
        var topology = QemuMachineFile.Parse("""
            -device pcie-root-port,id=rp1,bus=pcie.0,addr=02.0,chassis=1,slot=1
            -device edu,bus=rp1,addr=00.0
            -device pcie-root-port,id=rp2,bus=pcie.0,addr=03.0,chassis=2,slot=2
            -device edu,bus=rp2,addr=00.0
            """).Boot();
        var groups = new IommuGroups(topology, explain: false);
        var iommu = new IommuModel(groups, new VirtualClock(), IommuDomainType.Identity);
        port = Attach(iommu, topology.Get("0000:01:00.0"), page => page);
        // The second device's pages lead to the buffers' pages in reverse order: no two are consecutive, so every
        // page is a separate target access (the worst case for coalescing).
        scatteredPort = Attach(iommu, topology.Get("0000:02:00.0"), page => BufferSize / Page - 1 - page);
    }

    private DmaPort Attach(IommuModel iommu, PciFunction dev, Func<int, int> targetPage)
    {
        var domain = iommu.AllocPagingDomain();
        var group = iommu.Groups.GroupOf(dev)!;
        Check(iommu.ClaimDmaOwner(group, this));
        Check(iommu.AttachGroup(domain, group));
        var (source, destination) = (new MemoryTarget(src), new MemoryTarget(dst));
        for (int page = 0; page < BufferSize / Page; page++)
        {
            ulong offset = (ulong)(targetPage(page) * Page), at = (ulong)(page * Page);
            Check(domain.Map(SrcIova + at, source, offset, Page, IommuPerm.Read));
            Check(domain.Map(DstIova + at, destination, offset, Page, IommuPerm.Write));
        }
        dev.Config.Write16(PciRegs.Command, PciRegs.CommandMaster);
        return dev.Dma;
    }

    private static void Check(int result)
    {
        if (result != 0) throw new InvalidOperationException($"IOMMU set-up failed: {result}");
    }

    /// <summary>The bytes copied once, source to destination.</summary>
    [Benchmark(Baseline = true)]
    public void Memcpy() => src.AsSpan(0, Bytes).CopyTo(dst);

    /// <summary>One DMA read: the device copies Bytes from the source mapping into its buffer (one copy, like Memcpy).</summary>
    [Benchmark]
    public bool DmaRead() => port.Read(SrcIova, deviceBuffer.AsSpan(0, Bytes));

    /// <summary>One DMA write: the device copies its buffer into the destination mapping.</summary>
    [Benchmark]
    public bool DmaWrite() => port.Write(DstIova, deviceBuffer.AsSpan(0, Bytes));

    /// <summary>The two copies the DMA does (source to device buffer, device buffer to destination), untranslated.</summary>
    [Benchmark]
    public void MemcpyViaDeviceBuffer()
    {
        src.AsSpan(0, Bytes).CopyTo(deviceBuffer);
        deviceBuffer.AsSpan(0, Bytes).CopyTo(dst);
    }

    /// <summary>DMA read then DMA write through the domain; consecutive pages move with one copy.</summary>
    [Benchmark]
    public bool DmaCopy() => Copy(port);

    /// <summary>The same with every page leading to a non-adjacent page: one target access per 4 KiB.</summary>
    [Benchmark]
    public bool DmaCopyScattered() => Copy(scatteredPort);

    private bool Copy(DmaPort dma)
    {
        var buffer = deviceBuffer.AsSpan(0, Bytes);
        return dma.Read(SrcIova, buffer) && dma.Write(DstIova, buffer);
    }
}
