using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;
using VfioSim.Pci.Qemu;

namespace VfioSim.Tests.Unit.Qemu;

/// <summary>
/// QEMU models realized with per-instance options must equal what QEMU 7.2 itself showed a Linux guest
/// (the catalogued power-on images in src/Sim.Pci/Qemu/Images).
/// </summary>
public class QemuModelTests
{
    private static PciTopology Boot(string text) => QemuMachineFile.Parse(text, "test.qemu").Boot();

    private static byte[] PowerOn(string image)
    {
        var img = QemuImage.Load(image);
        return img.Bytes.AsSpan(0, img.Size).ToArray();
    }

    private static byte[] Bytes(PciFunction f) => f.Config.Raw.ToArray();

    [Test]
    public void Root_port_with_disable_acs_has_no_acs_capability_at_all_like_qemu()
    {
        var qemu = new QemuMachine();
        var f = qemu.AddDevice("pcie-root-port", [new("id", "rp"), new("bus", "pcie.0"), new("addr", "03.0"), new("chassis", "1"), new("slot", "1"), new("disable-acs", "on")])!;
        qemu.AddDevice("edu", [new("bus", "rp"), new("addr", "00.0")]);
        Assert.That(Bytes(f), Is.EqualTo(PowerOn("pcie-root-port-disable-acs@pcie.0")));
    }

    [Test]
    public void Empty_root_port_has_slot_power_off_like_qemu()
    {
        var t = Boot("-device pcie-root-port,id=rp,bus=pcie.0,addr=04.0,chassis=1,slot=1");
        var f = t.Get("0000:00:04.0");
        int cap = f.Config.FindCapability(PciRegs.CapIdExp);
        Assert.That(f.Config.Read16(cap + PciRegs.ExpSltCtl), Is.EqualTo(0x07c0));
    }

    [Test]
    public void Root_port_slot_property_sets_the_physical_slot_number()
    {
        var t = Boot("-device pcie-root-port,id=rp,bus=pcie.0,addr=04.0,chassis=1,slot=9\n-device edu,bus=rp");
        var f = t.Get("0000:00:04.0");
        int cap = f.Config.FindCapability(PciRegs.CapIdExp);
        Assert.That(f.Config.Read32(cap + PciRegs.ExpSltCap) >> 19, Is.EqualTo(9));
    }

    [Test]
    public void Multifunction_on_sets_the_header_type_multifunction_bit_only_on_that_function()
    {
        var t = Boot("-device edu,bus=pcie.0,addr=05.0,multifunction=on\n-device edu,bus=pcie.0,addr=05.1");
        Assert.Multiple(() =>
        {
            Assert.That(t.Get("0000:00:05.0").HeaderMultifunctionBit, Is.True);
            Assert.That(t.Get("0000:00:05.1").HeaderMultifunctionBit, Is.False);
            Assert.That(t.Get("0000:00:05.1").IsMultifunction, Is.True, "Linux marks every function > 0 multi-function");
        });
    }

    [Test]
    public void Nvme_with_two_vfs_and_two_flexible_interrupts_has_63_msix_vectors_like_qemu()
    {
        var t = Boot("-device pcie-root-port,id=rp,bus=pcie.0,addr=04.0\n-device nvme,bus=rp,serial=a,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2");
        var f = t.Get("0000:01:00.0");
        int msix = f.Config.FindCapability(PciRegs.CapIdMsix);
        Assert.Multiple(() =>
        {
            Assert.That((f.Config.Read16(msix + PciRegs.MsixFlags) & PciRegs.MsixFlagsQsize) + 1, Is.EqualTo(63));
            Assert.That(Sriov.TotalVfs(f), Is.EqualTo(2));
        });
    }

    [Test]
    public void Nvme_behind_root_port_gets_ari_capable_hierarchy_and_the_port_ari_forwarding()
    {
        // Catalogue: SR-IOV Control 0x0010 on the PF and ARI Forwarding Enable (0x0020) in the port's DevCtl2.
        var t = Boot("-device pcie-root-port,id=rp,bus=pcie.0,addr=04.0\n-device nvme,bus=rp,serial=a,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2");
        var pf = t.Get("0000:01:00.0");
        var rp = t.Get("0000:00:04.0");
        Assert.Multiple(() =>
        {
            Assert.That(pf.Config.Read16(pf.SriovCap + PciRegs.SriovCtrl), Is.EqualTo(0x0010));
            Assert.That(rp.Config.Read16(rp.PcieCap + PciRegs.ExpDevCtl2) & PciRegs.ExpDevCtl2Ari, Is.EqualTo(PciRegs.ExpDevCtl2Ari));
        });
    }

    [Test]
    public void Enabling_two_vfs_sets_vf_enable_mse_and_numvfs_like_the_measured_pf()
    {
        var t = Boot("-device pcie-root-port,id=rp,bus=pcie.0,addr=04.0\n-device nvme,bus=rp,serial=a,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2");
        var pf = t.Get("0000:01:00.0");
        Assert.That(Sriov.SetNumVfs(t, pf, 2, out var vfs), Is.EqualTo(SriovStatus.Ok));
        Assert.Multiple(() =>
        {
            Assert.That(pf.Config.Read16(pf.SriovCap + PciRegs.SriovCtrl), Is.EqualTo(0x0019));
            Assert.That(pf.Config.Read16(pf.SriovCap + PciRegs.SriovNumVf), Is.EqualTo(2));
            Assert.That(vfs.Select(v => v.Bdf.ToString()), Is.EqualTo(new[] { "0000:01:00.1", "0000:01:00.2" }));
            Assert.That(vfs.Select(v => $"{v.VendorId:x4}:{v.DeviceId:x4}"), Is.All.EqualTo("1b36:0010"), "sysfs IDs of a VF come from the PF");
            Assert.That(vfs[0].Config.Read16(PciRegs.VendorId), Is.EqualTo(0xffff), "a VF's own Vendor ID reads 0xffff");
        });
    }

    [Test]
    public void Sriov_numvfs_above_totalvfs_is_out_of_range()
    {
        var t = Boot("-device pcie-root-port,id=rp,bus=pcie.0,addr=04.0\n-device nvme,bus=rp,serial=a,sriov_max_vfs=2");
        Assert.That(Sriov.SetNumVfs(t, t.Get("0000:01:00.0"), 3, out _), Is.EqualTo(SriovStatus.OutOfRange));
    }

    [Test]
    public void Pcie_model_on_a_conventional_bus_has_only_256_bytes_of_config_space()
    {
        var t = Boot("-device pcie-root-port,id=rp,bus=pcie.0,addr=04.0\n-device pcie-pci-bridge,id=ppb,bus=rp\n-device e1000e,bus=ppb,addr=01.0");
        var f = t.Get("0000:02:01.0");
        Assert.Multiple(() =>
        {
            Assert.That(f.CfgSize, Is.EqualTo(256));
            Assert.That(f.Config.Read32(0x100), Is.EqualTo(0xffffffff));
        });
    }

    [Test]
    public void Virtio_behind_a_root_port_is_a_modern_pcie_endpoint_and_transitional_on_the_root_bus()
    {
        var t = Boot("-device pcie-root-port,id=rp,bus=pcie.0,addr=04.0\n-device virtio-rng-pci,bus=rp\n-device virtio-rng-pci,bus=pcie.0,addr=05.0");
        Assert.Multiple(() =>
        {
            Assert.That(t.Get("0000:01:00.0").DeviceId, Is.EqualTo(0x1044));
            Assert.That(t.Get("0000:01:00.0").IsPcie, Is.True);
            Assert.That(t.Get("0000:00:05.0").DeviceId, Is.EqualTo(0x1005));
            Assert.That(t.Get("0000:00:05.0").IsPcie, Is.False);
        });
    }

    [Test]
    public void E1000e_serial_number_comes_from_the_mac_address()
    {
        var t = Boot("-device pcie-root-port,id=rp,bus=pcie.0,addr=04.0\n-device e1000e,bus=rp,mac=52:54:00:12:34:56");
        var f = t.Get("0000:01:00.0");
        int dsn = f.Config.FindExtCapability(PciRegs.ExtCapIdDsn);
        ulong serial = f.Config.Read32(dsn + 4) | ((ulong)f.Config.Read32(dsn + 8) << 32);
        Assert.That(serial, Is.EqualTo(0x525400ffff123456UL));
    }

    [Test]
    public void Bar_sizing_reads_back_the_size_mask_after_writing_all_ones()
    {
        var t = Boot("-device edu,bus=pcie.0,addr=05.0");
        var f = t.Get("0000:00:05.0");
        f.Config.Write32(PciRegs.BaseAddress0, 0xffffffff);
        Assert.That(f.Config.Read32(PciRegs.BaseAddress0), Is.EqualTo(0xfff00000), "edu BAR0 is 1 MiB, 32-bit, non-prefetchable");
    }

    [Test]
    public void Machine_functions_of_q35_are_present_with_their_ids()
    {
        var t = Boot("");
        Assert.That(t.Functions.Select(f => $"{f.Bdf} {f.VendorId:x4}:{f.DeviceId:x4}"), Is.EqualTo(new[]
        {
            "0000:00:00.0 8086:29c0", "0000:00:1f.0 8086:2918", "0000:00:1f.2 8086:2922", "0000:00:1f.3 8086:2930",
        }));
    }

    [Test]
    public void Enabling_vfs_onto_a_routing_id_taken_by_another_function_fails_with_exists()
    {
        // A PF at 05.0 whose VF 1 would be 05.1, where another function already sits.
        var t = MachineBuilder.Create().RootBus(0, 0, b => b
            .Add("05.0", new VfioSim.Pci.Devices.GenericDeviceSpec { Kind = VfioSim.Pci.Devices.FunctionKind.RcEndpoint, Multifunction = true, Sriov = new(TotalVfs: 2) })
            .Add("05.1", MachineBuilder.Endpoint())).Boot();
        var pf = t.Get("0000:00:05.0");
        Assert.Multiple(() =>
        {
            Assert.That(Sriov.SetNumVfs(t, pf, 2, out var added), Is.EqualTo(SriovStatus.Exists));
            Assert.That(pf.VirtFns, Is.Empty);
            Assert.That(pf.Config.Read16(pf.SriovCap + PciRegs.SriovNumVf), Is.Zero);
        });
    }
}
