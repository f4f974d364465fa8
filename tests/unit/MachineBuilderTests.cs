using VfioSim.Pci;
using VfioSim.Pci.Devices;
using static VfioSim.Pci.MachineBuilder;

namespace VfioSim.Tests.Unit;

/// <summary>The C# machine builder: helpers, placement checks, platform facts.</summary>
public class MachineBuilderTests
{
    private static MachineBuildException Rejected(Action<BusBuilder> bus) =>
        Assert.Throws<MachineBuildException>(() => MachineBuilder.Create().RootBus(0, 0, bus).Boot())!;

    [Test]
    public void Ids_helper_argument_sets_vendor_and_device()
    {
        var spec = RootPort(acs: false, "8086:8c10");
        Assert.That((spec.VendorId, spec.DeviceId, spec.AcsCapability), Is.EqualTo(((ushort)0x8086, (ushort)0x8c10, (ushort?)null)));
    }

    [Test]
    public void Malformed_ids_are_an_argument_error()
    {
        Assert.That(() => Endpoint("8086-8c10"), Throws.ArgumentException.With.Message.StartsWith("'8086-8c10' is not vendor:device in hex"));
    }

    [Test]
    public void Port_with_acs_gets_the_qemu_capability()
    {
        Assert.That(DownstreamPort(acs: true).AcsCapability, Is.EqualTo(StandardAcs));
    }

    [Test]
    public void Switch_puts_the_upstream_port_at_its_address_and_downstream_port_i_at_slot_i()
    {
        var t = MachineBuilder.Create().RootBus(0, 0, b => b.Add("01.0", RootPort(acs: true), rp => rp.Switch("00.0", downstreamAcs: true,
            d => d.Add("00.0", Endpoint()), d => d.Add("00.0", Endpoint()), d => { }))).Boot();
        Assert.That(t.Functions.Select(f => $"{f.Bdf.ToShortString()} {f.PcieType}"), Is.EqualTo(new[]
        {
            "00:01.0 RootPort", "01:00.0 Upstream", "02:00.0 Downstream", "02:01.0 Downstream", "02:02.0 Downstream", "03:00.0 Endpoint", "04:00.0 Endpoint",
        }));
    }

    [Test]
    public void Slot_in_use_is_rejected_with_the_occupant()
    {
        var e = Rejected(b => b.Add("02.0", Endpoint(), id: "nic").Add("02.0", Endpoint()));
        Assert.That((e.Message, e.Property), Is.EqualTo(("0000:00:02.0 is already in use by endpoint 'nic'", "addr")));
    }

    [Test]
    public void Slot_other_than_0_below_a_downstream_port_is_rejected()
    {
        var e = Rejected(b => b.Add("01.0", RootPort(acs: true), rp => rp.Add("00.0", UpstreamPort(), usp =>
            usp.Add("00.0", DownstreamPort(acs: false), dsp => dsp.Add("03.0", Endpoint())))));
        Assert.That(e.Message, Is.EqualTo("slot 03 is not valid below 0000:00:01.0/00.0/00.0: a PCIe link carries device 00 only, Linux never scans other slots there"));
    }

    [Test]
    public void Slot_other_than_0_below_a_root_port_is_allowed_with_pcie_scan_all()
    {
        var t = MachineBuilder.Create("pci=pcie_scan_all").RootBus(0, 0, b => b.Add("01.0", RootPort(acs: true), rp => rp.Add("03.0", Endpoint()))).Boot();
        Assert.That(t.Find(Bdf.Parse("01:03.0")), Is.Not.Null);
    }

    [Test]
    public void Devices_below_a_non_bridge_are_rejected()
    {
        var e = Rejected(b => b.Add("02.0", Endpoint(), ep => ep.Add("00.0", Endpoint())));
        Assert.That((e.Message, e.Property), Is.EqualTo(("endpoint 0000:00:02.0 is not a bridge, so nothing can sit below it", "children")));
    }

    [Test]
    public void Sriov_on_a_conventional_function_is_rejected()
    {
        var e = Rejected(b => b.Add("02.0", Conventional() with { Sriov = new(4) }));
        Assert.That((e.Message, e.Property), Is.EqualTo(("a conventional function has no PCIe extended capabilities, so no SRIOV", "sriov")));
    }

    [Test]
    public void Duplicate_id_is_rejected()
    {
        var e = Rejected(b => b.Add("02.0", Endpoint(), id: "x").Add("03.0", Endpoint(), id: "x"));
        Assert.That(e.Message, Is.EqualTo("duplicate id 'x' (already used by 0000:00:02.0)"));
    }

    [Test]
    public void Second_root_bus_with_the_same_number_is_rejected()
    {
        var builder = MachineBuilder.Create().RootBus(0, 0, _ => { });
        Assert.That(() => builder.RootBus(0, 0, _ => { }), Throws.TypeOf<MachineBuildException>().With.Message.EqualTo("root bus 0000:00 is already defined"));
    }

    [Test]
    public void Secondary_bus_below_an_already_given_number_is_rejected_at_boot()
    {
        var e = Rejected(b => b
            .Add("02.0", RootPort(acs: true), secondary: 0x08)
            .Add("03.0", RootPort(acs: true), secondary: 0x04));
        Assert.That((e.Property, (e.Subject as PciFunction)?.Bdf.ToString()), Is.EqualTo(("secondary", "0000:00:03.0")));
    }

    [Test]
    public void Ari_helper_links_every_function_to_the_next()
    {
        var t = MachineBuilder.Create().RootBus(0, 0, b => b.Add("01.0", RootPort(acs: true), rp => rp.Ari(10, Endpoint(multifunction: true)))).Boot();
        var next = t.Functions.Skip(1).Select(f => f.Config.Read16(f.Config.FindExtCapability(PciRegs.ExtCapIdAri) + PciRegs.AriCap) >> 8);
        Assert.That(next, Is.EqualTo(new[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 0 }));
    }

    [Test]
    public void Qemu_device_text_may_not_name_its_bus()
    {
        var e = Rejected(b => b.Qemu("02.0", "edu,bus=pcie.0"));
        Assert.That((e.Message, e.Property), Is.EqualTo(("QEMU option 'bus' is given by the machine description, not in the device text", "qemu")));
    }

    [Test]
    public void Qemu_models_and_synthetic_functions_mix_on_one_bus()
    {
        var t = MachineBuilder.Create().RootBus(0, 0, b => b
            .Q35Functions()
            .Qemu("02.0", "pcie-root-port,chassis=1,slot=1", rp => rp.Add("00.0", Endpoint("8086:1572")))
            .Add("03.0", FunctionKind.RcEndpoint)).Boot();
        Assert.That(t.Functions.Select(f => $"{f.Bdf.ToShortString()} {f.Model}"), Is.EqualTo(new[]
        {
            "00:00.0 mch", "00:02.0 pcie-root-port", "00:03.0 json:rciep", "00:1f.0 ICH9-LPC", "00:1f.2 ich9-ahci", "00:1f.3 ICH9-SMB", "01:00.0 json:endpoint",
        }));
    }

    [Test]
    public void Iommu_is_absent_when_the_command_line_turns_it_off()
    {
        Assert.That(MachineBuilder.Create("intel_iommu=off").Topology.IommuPresent, Is.False);
    }

    [Test]
    public void Platform_facts_reach_the_topology()
    {
        var t = MachineBuilder.Create().IommuPresent(false).AmdIvrs().RootBus(0, 0, _ => { }).Boot();
        Assert.That((t.IommuPresent, t.AmdIvrs), Is.EqualTo((false, true)));
    }

    [Test]
    public void Unknown_real_dma_device_is_rejected_at_boot()
    {
        var e = Assert.Throws<MachineBuildException>(() => MachineBuilder.Create().RootBus(1, 0, _ => { }, realDmaDevice: "vmd").Boot())!;
        Assert.That((e.Message, e.Property), Is.EqualTo(("no device has id 'vmd'", "real_dma_device")));
    }
}
