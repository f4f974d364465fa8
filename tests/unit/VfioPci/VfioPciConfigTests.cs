using System.Buffers.Binary;
using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;
using VfioSim.Uapi;
using VfioSim.Vfio.Pci;

namespace VfioSim.Tests.Unit.VfioPci;

/// <summary>Config-space virtualisation of vfio-pci (drivers/vfio/pci/vfio_pci_config.c), region index 7.</summary>
public class VfioPciConfigTests
{
    private sealed class Host : IVfioPciConfigHost
    {
        public List<bool> IntxDisable { get; } = [];
        public int MemoryZaps, Flrs;
        public List<int> PowerStates { get; } = [];
        public bool MsiEnabledByUser { get; set; }
        public void IntxDisableChanged(bool disabled) => IntxDisable.Add(disabled);
        public void MemoryDecodeDisabled() => MemoryZaps++;
        public void FunctionLevelReset() => Flrs++;
        public void SetPowerState(int state) => PowerStates.Add(state);
    }

    private static PciTopology Machine(string devices) =>
        QemuMachineFile.Parse("-device pcie-root-port,id=rp,bus=pcie.0,addr=02.0\n" + devices, "t.qemu").Boot();

    private static (VfioPciConfig Config, PciFunction Dev, Host Host) Edu()
    {
        var dev = Machine("-device edu,bus=rp").Get("0000:01:00.0");
        var host = new Host();
        return (new VfioPciConfig(dev, host), dev, host);
    }

    private static uint Read32(VfioPciConfig c, int pos)
    {
        var b = new byte[4];
        Assert.That(c.Read(pos, b), Is.EqualTo(4));
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    private static ushort Read16(VfioPciConfig c, int pos)
    {
        var b = new byte[2];
        Assert.That(c.Read(pos, b), Is.EqualTo(2));
        return BinaryPrimitives.ReadUInt16LittleEndian(b);
    }

    private static void Write32(VfioPciConfig c, int pos, uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        Assert.That(c.Write(pos, b), Is.EqualTo(4));
    }

    private static void Write16(VfioPciConfig c, int pos, ushort v)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        Assert.That(c.Write(pos, b), Is.EqualTo(2));
    }

    [Test]
    public void Bar_sizing_reads_the_size_mask_from_the_virtual_bar_and_never_touches_hardware()
    {
        var (c, dev, _) = Edu();
        uint hw = dev.Config.Read32(PciRegs.BaseAddress0);
        Write32(c, PciRegs.BaseAddress0, 0xffffffff);
        Assert.Multiple(() =>
        {
            Assert.That(Read32(c, PciRegs.BaseAddress0), Is.EqualTo(0xfff00000), "1 MiB, 32-bit, non-prefetchable");
            Assert.That(dev.Config.Read32(PciRegs.BaseAddress0), Is.EqualTo(hw));
        });
    }

    [Test]
    public void Unimplemented_bars_read_zero_even_after_writing_all_ones()
    {
        var (c, _, _) = Edu();
        Write32(c, PciRegs.BaseAddress0 + 4, 0xffffffff);
        Assert.That(Read32(c, PciRegs.BaseAddress0 + 4), Is.Zero);
    }

    [Test]
    public void Vendor_and_device_ids_are_virtual_and_read_only()
    {
        var (c, _, _) = Edu();
        Write32(c, 0, 0);
        Assert.That(Read32(c, 0), Is.EqualTo(0x11e81234));
    }

    [Test]
    public void Status_error_bits_cannot_be_cleared_by_the_user()
    {
        var (c, dev, _) = Edu();
        dev.Config.Set16(PciRegs.Status, (ushort)(dev.Config.Read16(PciRegs.Status) | 0x8000));
        Write16(c, PciRegs.Status, 0xffff);
        Assert.That(Read16(c, PciRegs.Status) & 0x8000, Is.EqualTo(0x8000));
    }

    [Test]
    public void Command_intx_disable_is_virtual_and_tells_the_device_to_mask()
    {
        var (c, dev, host) = Edu();
        Write16(c, PciRegs.Command, PciRegs.CommandIntxDisable | PciRegs.CommandMemory);
        Assert.Multiple(() =>
        {
            Assert.That(host.IntxDisable, Is.EqualTo(new[] { true }));
            Assert.That(Read16(c, PciRegs.Command) & PciRegs.CommandIntxDisable, Is.EqualTo(PciRegs.CommandIntxDisable));
            Assert.That(dev.Config.Read16(PciRegs.Command) & PciRegs.CommandIntxDisable, Is.Zero, "hardware keeps DisINTx clear");
            Assert.That(dev.Config.Read16(PciRegs.Command) & PciRegs.CommandMemory, Is.EqualTo(PciRegs.CommandMemory), "memory enable reaches hardware");
            Assert.That(c.MemoryEnabled, Is.True);
        });
    }

    [Test]
    public void Bus_master_enable_is_not_virtualised_it_reaches_the_device()
    {
        var (c, dev, _) = Edu();
        Write16(c, PciRegs.Command, PciRegs.CommandMaster);
        Assert.That(dev.Config.Read16(PciRegs.Command) & PciRegs.CommandMaster, Is.EqualTo(PciRegs.CommandMaster));
    }

    [Test]
    public void Clearing_memory_enable_zaps_bar_mmaps()
    {
        var (c, _, host) = Edu();
        Write16(c, PciRegs.Command, PciRegs.CommandMemory);
        Write16(c, PciRegs.Command, 0);
        Assert.Multiple(() =>
        {
            Assert.That(host.MemoryZaps, Is.EqualTo(1));
            Assert.That(c.MemoryEnabled, Is.False);
        });
    }

    [Test]
    public void Msi_reports_multiple_message_capable_from_msi_qmax()
    {
        var (c, dev, _) = Edu();
        int msi = dev.Config.FindCapability(PciRegs.CapIdMsi);
        c.MsiQmax = 2;
        Assert.That((Read16(c, msi + PciRegs.MsiFlags) >> 1) & 7, Is.EqualTo(2));
    }

    [Test]
    public void Msi_enable_is_forced_off_unless_enabled_through_set_irqs()
    {
        var (c, dev, host) = Edu();
        int msi = dev.Config.FindCapability(PciRegs.CapIdMsi);
        Write16(c, msi + PciRegs.MsiFlags, PciRegs.MsiFlagsEnable);
        Assert.That(dev.Config.Read16(msi + PciRegs.MsiFlags) & 1, Is.Zero);
        host.MsiEnabledByUser = true;
        Write16(c, msi + PciRegs.MsiFlags, PciRegs.MsiFlagsEnable);
        Assert.Multiple(() =>
        {
            Assert.That(dev.Config.Read16(msi + PciRegs.MsiFlags) & 1, Is.EqualTo(1));
            Assert.That(Read16(c, msi + PciRegs.MsiFlags) & 1, Is.EqualTo(1));
        });
    }

    [Test]
    public void Msi_address_and_data_are_virtual()
    {
        var (c, dev, _) = Edu();
        int msi = dev.Config.FindCapability(PciRegs.CapIdMsi);
        Write32(c, msi + 4, 0xfee00000);
        Assert.Multiple(() =>
        {
            Assert.That(Read32(c, msi + 4), Is.EqualTo(0xfee00000));
            Assert.That(dev.Config.Read32(msi + 4), Is.Zero);
        });
    }

    [Test]
    public void Accesses_beyond_the_config_size_are_EFAULT()
    {
        var (c, _, _) = Edu();
        Assert.Multiple(() =>
        {
            Assert.That(c.Read(256, new byte[4]), Is.EqualTo(-Errno.EFAULT), "edu is conventional: 256 bytes");
            Assert.That(c.Read(254, new byte[4]), Is.EqualTo(-Errno.EFAULT));
            Assert.That(c.Write(-1, new byte[1]), Is.EqualTo(-Errno.EFAULT));
        });
    }

    [Test]
    public void An_unaligned_read_is_cut_into_natural_chunks_with_the_same_bytes()
    {
        var (c, _, _) = Edu();
        var b = new byte[5];
        Assert.That(c.Read(1, b), Is.EqualTo(5));
        Assert.That(b, Is.EqualTo(new byte[] { 0x12, 0xe8, 0x11, 0x00, 0x00 }), "IDs, then a Command register still 0");
    }

    [Test]
    public void Interrupt_line_is_virtual_and_writable()
    {
        var (c, dev, _) = Edu();
        c.Write(PciRegs.InterruptLine, new byte[] { 0x0b });
        var b = new byte[1];
        c.Read(PciRegs.InterruptLine, b);
        Assert.Multiple(() =>
        {
            Assert.That(b[0], Is.EqualTo(0x0b));
            Assert.That(dev.Config.Read8(PciRegs.InterruptLine), Is.Zero);
        });
    }

    [Test]
    public void A_hidden_capability_is_unlinked_from_the_virtual_chain()
    {
        // a conventional function with SSVID (hidden) at 0x40 linking to MSI at 0x50
        var cs = new ConfigSpace(ConfigSpace.ConventionalSize);
        cs.Set16(PciRegs.VendorId, 0x1234);
        cs.Set16(PciRegs.Status, PciRegs.StatusCapList);
        cs.Set8(PciRegs.CapabilityList, 0x40);
        cs.Set16(0x40, (ushort)(PciRegs.CapIdSsvid | (0x50 << 8)));
        cs.Set16(0x50, PciRegs.CapIdMsi);
        ConfigMasks.Apply(cs, []);
        var dev = new PciFunction("test", cs, []);
        var c = new VfioPciConfig(dev, new Host());
        var b = new byte[1];
        c.Read(PciRegs.CapabilityList, b);
        Assert.That(b[0], Is.EqualTo(0x50));
    }

    [Test]
    public void Pcie_initiate_flr_resets_the_function_and_reads_back_zero()
    {
        var dev = Machine("-device nvme,bus=rp,serial=a").Get("0000:01:00.0");
        var host = new Host();
        var c = new VfioPciConfig(dev, host);
        int exp = dev.PcieCap;
        Write16(c, exp + PciRegs.ExpDevCtl, 0x8000);
        Assert.Multiple(() =>
        {
            Assert.That(host.Flrs, Is.EqualTo(1), "nvme advertises FLR in DevCap");
            Assert.That(Read16(c, exp + PciRegs.ExpDevCtl) & 0x8000, Is.Zero);
        });
    }

    [Test]
    public void Extended_capabilities_of_an_sriov_pf_are_exposed_read_only()
    {
        var dev = Machine("-device nvme,bus=rp,serial=a,sriov_max_vfs=2").Get("0000:01:00.0");
        var c = new VfioPciConfig(dev, new Host());
        int sriov = dev.SriovCap;
        Write16(c, sriov + PciRegs.SriovNumVf, 2);
        Assert.Multiple(() =>
        {
            Assert.That(Read32(c, 0x100) & 0xffff, Is.EqualTo(PciRegs.ExtCapIdAri));
            Assert.That(dev.Config.Read16(sriov + PciRegs.SriovNumVf), Is.Zero, "SR-IOV is read-only through vfio");
        });
    }

    [Test]
    public void A_vf_shows_the_pf_ids_and_no_interrupt_pin()
    {
        var t = Machine("-device nvme,bus=rp,serial=a,sriov_max_vfs=2");
        Sriov.SetNumVfs(t, t.Get("0000:01:00.0"), 1, out var vfs);
        var c = new VfioPciConfig(vfs[0], new Host());
        Assert.Multiple(() =>
        {
            Assert.That(Read32(c, 0), Is.EqualTo(0x00101b36));
            Assert.That(c.InterruptPin, Is.Zero);
        });
    }

    [Test]
    public void Power_management_writes_ask_for_a_d_state()
    {
        var dev = Machine("-device nvme,bus=rp,serial=a").Get("0000:01:00.0");
        var host = new Host();
        var c = new VfioPciConfig(dev, host);
        int pm = dev.Config.FindCapability(PciRegs.CapIdPm);
        Write16(c, pm + 4, 3);
        Assert.Multiple(() =>
        {
            Assert.That(host.PowerStates, Is.EqualTo(new[] { 3 }));
            Assert.That(dev.Config.Read16(pm + 4) & 3, Is.Zero, "the state bits are not written by the user: the kernel makes the transition");
        });
    }
}
