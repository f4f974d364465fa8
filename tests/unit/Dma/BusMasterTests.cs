using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;

namespace VfioSim.Tests.Unit.Dma;

/// <summary>Bus Master Enable: a function whose Command register lacks it issues no DMA at all.</summary>
public class BusMasterTests
{
    [Test]
    public void Dma_without_bus_master_enable_is_a_master_abort_not_an_iommu_fault()
    {
        var m = DmaMachines.Edu();
        var edu = m.Dev("0000:01:00.0");
        Assert.That(edu.Dma.Write(0x1000, new byte[4]), Is.False);
        Assert.That((edu.Dma.MasterAborts, m.Iommu.Faults.Count), Is.EqualTo((1, 0)));
    }

    [Test]
    public void Dma_without_bus_master_enable_moves_no_bytes()
    {
        var m = DmaMachines.Edu(); // iommu=pt: with the bit set this write would reach RAM
        var edu = m.Dev("0000:01:00.0");
        edu.Dma.Write(0x1000, DmaMachines.Pattern(16));
        var ram = new byte[16];
        Assert.That(m.Iommu.SystemMemory.Read(0x1000, ram), Is.True);
        Assert.That(ram, Is.All.Zero);
    }

    [Test]
    public void Clearing_bus_master_enable_stops_dma_again()
    {
        var m = DmaMachines.Edu();
        var edu = m.Dev("0000:01:00.0").BusMaster();
        Assert.That(edu.Dma.Read(0x1000, new byte[4]), Is.True);
        edu.Config.Write16(PciRegs.Command, (ushort)(edu.Config.Read16(PciRegs.Command) & ~PciRegs.CommandMaster));
        Assert.That(edu.Dma.Read(0x1000, new byte[4]), Is.False);
    }

    [Test]
    public void A_function_connected_to_no_iommu_model_master_aborts()
    {
        var t = QemuMachineFile.Parse("-device edu,bus=pcie.0,addr=02.0").Boot();
        var edu = t.Get("0000:00:02.0").BusMaster();
        Assert.That(edu.Dma.Read(0x1000, new byte[4]), Is.False);
        Assert.That(edu.Dma.MasterAborts, Is.EqualTo(1));
    }
}
