using VfioSim.Iommu;
using VfioSim.Pci;

namespace VfioSim.Tests.Unit.Dma;

/// <summary>DMA remapping faults: what is recorded, how the VT-d driver logs it, and that a fault moves no bytes.</summary>
public class IommuFaultTests
{
    private const ulong Src = 0x100000, Dst = 0x200000, Unmapped = 0x900000;

    /// <summary>The measured VFIO run: an edu at 01:00.0 owned by VFIO, 4 KiB at 0x100000 (read-only) and 0x200000.</summary>
    private static (Vfio.Machine M, PciFunction Edu, byte[] Src, byte[] Dst) Measured()
    {
        var m = DmaMachines.Edu();
        var edu = m.Dev("0000:01:00.0").BusMaster();
        var src = DmaMachines.Pattern(0x1000);
        var dst = new byte[0x1000];
        var domain = m.AttachUnmanaged(edu);
        Assert.That(domain.Map(Src, new MemoryTarget(src), 0, 0x1000, IommuPerm.Read), Is.Zero);
        Assert.That(domain.Map(Dst, new MemoryTarget(dst), 0, 0x1000, IommuPerm.ReadWrite), Is.Zero);
        return (m, edu, src, dst);
    }

    [Test]
    public void Dma_write_to_an_unmapped_iova_is_recorded_with_device_address_length_and_time()
    {
        var (m, edu, _, _) = Measured();
        m.Clock.Advance(2_500_000);
        Assert.That(edu.Dma.Write(Unmapped, new byte[0x800]), Is.False);
        var dev = Bdf.Parse("0000:01:00.0");
        Assert.That(m.Iommu.Faults, Is.EqualTo(new[]
        {
            new IommuFault(dev, dev, Unmapped, 0x800, DmaDirection.Write, IommuFaultReason.NotMapped, Unmapped, 2_500_000),
        }));
    }

    [Test]
    public void Unmapped_write_logs_the_dmar_line_linux_printed_in_the_measured_run()
    {
        var (m, edu, _, _) = Measured();
        edu.Dma.Write(Unmapped, new byte[0x800]);
        Assert.That(m.Iommu.Faults.Single().ToDmarLine(), Is.EqualTo(
            "DMAR: [DMA Write NO_PASID] Request device [01:00.0] fault addr 0x900000 [fault reason 0x05] PTE Write access is not set"));
    }

    [Test]
    public void Unmapped_read_logs_fault_reason_06()
    {
        var (m, edu, _, _) = Measured();
        edu.Dma.Read(Unmapped, new byte[4]);
        Assert.That(m.Iommu.Faults.Single().ToDmarLine(), Is.EqualTo(
            "DMAR: [DMA Read NO_PASID] Request device [01:00.0] fault addr 0x900000 [fault reason 0x06] PTE Read access is not set"));
    }

    [Test]
    public void Dmar_line_shows_the_page_address_of_the_faulting_byte()
    {
        var (m, edu, _, _) = Measured();
        edu.Dma.Read(Unmapped + 0x123, new byte[4]);
        Assert.That(m.Iommu.Faults.Single().ToDmarLine(), Does.Contain(" fault addr 0x900000 "));
    }

    [Test]
    public void Write_to_a_read_only_page_is_a_permission_fault_and_leaves_the_page_unchanged()
    {
        var (m, edu, src, _) = Measured();
        var before = src.ToArray();
        Assert.That(edu.Dma.Write(Src, new byte[16]), Is.False);
        Assert.Multiple(() =>
        {
            Assert.That(m.Iommu.Faults.Single().Reason, Is.EqualTo(IommuFaultReason.Permission));
            Assert.That(m.Iommu.Faults.Single().VtdReasonCode, Is.EqualTo(0x05));
            Assert.That(src, Is.EqualTo(before));
        });
    }

    [Test]
    public void Read_of_a_write_only_page_is_a_permission_fault()
    {
        var m = DmaMachines.Edu();
        var edu = m.Dev("0000:01:00.0").BusMaster();
        Assert.That(m.AttachUnmanaged(edu).Map(Dst, new MemoryTarget(new byte[0x1000]), 0, 0x1000, IommuPerm.Write), Is.Zero);
        Assert.That(edu.Dma.Read(Dst, new byte[16]), Is.False);
        Assert.That(m.Iommu.Faults.Single().Reason, Is.EqualTo(IommuFaultReason.Permission));
    }

    [Test]
    public void Read_running_into_an_unmapped_page_moves_no_bytes()
    {
        var (_, edu, _, _) = Measured();
        var got = Enumerable.Repeat((byte)0xee, 0x200).ToArray();
        Assert.That(edu.Dma.Read(Src + 0xf00, got), Is.False);
        Assert.That(got, Is.All.EqualTo(0xee));
    }

    [Test]
    public void Write_running_into_an_unmapped_page_moves_no_bytes()
    {
        var (_, edu, _, dst) = Measured();
        Assert.That(edu.Dma.Write(Dst + 0xf00, DmaMachines.Pattern(0x200)), Is.False);
        Assert.That(dst, Is.All.Zero);
    }

    [Test]
    public void Fault_address_is_the_first_byte_that_cannot_be_translated()
    {
        var (m, edu, _, _) = Measured();
        edu.Dma.Read(Src + 0xf00, new byte[0x200]);
        var f = m.Iommu.Faults.Single();
        Assert.That((f.Iova, f.Length, f.FaultAddress), Is.EqualTo((Src + 0xf00, 0x200, Src + 0x1000)));
    }

    [Test]
    public void Access_above_the_address_width_is_reported_as_beyond_mgaw()
    {
        var (m, edu, _, _) = Measured();
        edu.Dma.Read(1UL << 39, new byte[4]);
        Assert.That(m.Iommu.Faults.Single().ToDmarLine(), Is.EqualTo(
            "DMAR: [DMA Read NO_PASID] Request device [01:00.0] fault addr 0x8000000000 [fault reason 0x04] Access beyond MGAW"));
    }

    [Test]
    public void Fault_record_names_the_requester_id_a_bridge_above_put_on_the_request()
    {
        // q2: edu 03:02.0 sits behind pci-bridge 02:01.0, which forwards with its own ID, behind the i82801b11
        // bridge 01:00.0, which Linux treats as PCIe-to-PCI (quirk_use_pcie_bridge_dma_alias): it forwards with
        // (its secondary bus 02, devfn 00.0). The IOMMU sees 02:00.0; the device still is 03:02.0.
        var m = DmaMachines.Q2();
        var edu = m.Dev("0000:03:02.0").BusMaster();
        m.AttachUnmanaged(edu);
        edu.Dma.Write(Unmapped, new byte[4]);
        var f = m.Iommu.Faults.Single();
        Assert.That((f.Device, f.RequesterId), Is.EqualTo((Bdf.Parse("0000:03:02.0"), Bdf.Parse("0000:02:00.0"))));
        Assert.That(f.ToDmarLine(), Does.Contain("Request device [02:00.0]"));
    }

    [Test]
    public void A_device_behind_a_pcie_to_pci_bridge_requests_with_the_secondary_bus_and_devfn_0()
    {
        var m = new Vfio.Machine(Pci.MachineFiles.QemuMachineFile.Parse("""
            -device pcie-root-port,id=rp,bus=pcie.0,addr=02.0,chassis=1,slot=1
            -device pcie-pci-bridge,id=ppb,bus=rp,addr=00.0
            -device edu,bus=ppb,addr=03.0
            """).Boot());
        Assert.That(IommuModel.RequesterIdOf(m.Dev("0000:02:03.0")), Is.EqualTo(Bdf.Parse("0000:02:00.0")));
    }

    [Test]
    public void ClearFaults_empties_the_log()
    {
        var (m, edu, _, _) = Measured();
        edu.Dma.Read(Unmapped, new byte[4]);
        m.Iommu.ClearFaults();
        Assert.That(m.Iommu.Faults, Is.Empty);
    }
}
