using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;
using VfioSim.Vfio;

namespace VfioSim.Tests.Unit.Dma;

/// <summary>Machines and helpers shared by the DMA tests.</summary>
internal static class DmaMachines
{
    // No kernel drivers are registered: a bound DMA-API driver (nvme on a VF) would hold the group's DMA and
    // these tests are about the DMA path, not about binding.

    /// <summary>An edu at 01:00.0 behind a root port, as in the measured VFIO run; iommu=pt unless <paramref name="append"/> says otherwise.</summary>
    public static Machine Edu(string append = "intel_iommu=on iommu=pt") => new(QemuMachineFile.Parse($"""
        -append "{append}"
        -device pcie-root-port,id=rp,bus=pcie.0,addr=02.0,chassis=1,slot=1
        -device edu,bus=rp,addr=00.0
        """).Boot(), drivers: []);

    /// <summary>shared/conformance q2: SR-IOV PFs 08:00.0 (ACS root port) and 09:00.0, edu 03:02.0 behind conventional bridges.</summary>
    public static Machine Q2() =>
        new(MachineLoader.Load(Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "conformance", "q2.qemu")), drivers: []);

    public static PciFunction Dev(this Machine m, string bdf) => m.Topology.Get(bdf);

    public static IommuGroup GroupOf(this Machine m, PciFunction dev) => m.Groups.GroupOf(dev)!;

    /// <summary>pci_set_master(): Command |= Bus Master Enable, written as a driver would.</summary>
    public static PciFunction BusMaster(this PciFunction dev)
    {
        dev.Config.Write16(PciRegs.Command, (ushort)(dev.Config.Read16(PciRegs.Command) | PciRegs.CommandMaster));
        Assert.That(dev.Dma.BusMasterEnabled, $"{dev} keeps Bus Master Enable");
        return dev;
    }

    /// <summary>A fresh unmanaged domain, attached to the device's group as VFIO type1 does (claim, then attach).</summary>
    public static IommuDomain AttachUnmanaged(this Machine m, PciFunction dev)
    {
        var group = m.GroupOf(dev);
        var domain = m.Iommu.AllocPagingDomain();
        Assert.That(m.Iommu.ClaimDmaOwner(group, "vfio"), Is.Zero);
        Assert.That(m.Iommu.AttachGroup(domain, group), Is.Zero);
        return domain;
    }

    /// <summary>Bytes 1, 2, 3 … (mod 251, so no page repeats another's contents).</summary>
    public static byte[] Pattern(int length, int seed = 1)
    {
        var b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte)((i + seed) % 251 + 1);
        return b;
    }
}

/// <summary>A buffer that counts the accesses it gets.</summary>
internal sealed class CountingTarget(byte[] memory) : IDmaTarget
{
    private readonly MemoryTarget inner = new(memory);

    public int Reads { get; private set; }
    public int Writes { get; private set; }

    public bool Read(ulong offset, Span<byte> destination)
    {
        Reads++;
        return inner.Read(offset, destination);
    }

    public bool Write(ulong offset, ReadOnlySpan<byte> source)
    {
        Writes++;
        return inner.Write(offset, source);
    }
}
