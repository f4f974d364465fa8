using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Pci.Devices;
using static VfioSim.Pci.MachineBuilder;

namespace VfioSim.Tests.Golden;

/// <summary>
/// The worked examples E1–E25 of the grouping research note (shared/spec/iommu-groups.md §7), each machine built
/// from the listed devices only, so group IDs count from 0 as the note assumes. Bus numbers the note takes from
/// the measured QEMU machines (Q1/Q2) are given to the firmware as preset secondary bus numbers.
/// </summary>
public class WorkedExamplesTests
{
    private static IommuGroups Groups(PciTopology t) => new(t);

    private static string Kernel(params string[] groups) =>
        string.Concat(groups.Select((g, i) => $"{i}: {string.Join(" ", g.Split(' ').Select(b => "0000:" + b))}\n"));

    private static PciTopology Machine(Action<BusBuilder> bus0) => MachineBuilder.Create().RootBus(0, 0, bus0).Boot();

    [Test]
    public void E1_endpoint_below_an_isolating_root_port_gets_its_own_group()
    {
        var t = Machine(b => b.Add("02.0", RootPort(acs: true), rp => rp.Add("00.0", Conventional())));
        Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel("00:02.0", "01:00.0")));
    }

    [Test]
    public void E2_root_port_without_acs_shares_its_group_with_the_device_below()
    {
        var t = Machine(b => b.Add("06.0", RootPort(acs: false), rp => rp.Add("00.0", Conventional()), secondary: 0x0a));
        Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel("00:06.0 0a:00.0")));
    }

    private static PciTopology E3Machine() => Machine(b => b.Add("03.0", RootPort(acs: true), secondary: 0x02, below: rp => rp
        .Add("00.0", UpstreamPort("104c:8232"), usp => usp
            .Add("00.0", DownstreamPort(acs: false, "104c:8233"), d => d.Add("00.0", Conventional()))
            .Add("01.0", DownstreamPort(acs: false, "104c:8233"), d => d.Add("00.0", Conventional())))));

    [Test]
    public void E3_switch_downstream_ports_without_acs_split_endpoints_into_port_groups()
    {
        Assert.That(Groups(E3Machine()).ToKernelFormat(),
            Is.EqualTo(Kernel("00:03.0", "02:00.0", "03:00.0 04:00.0", "03:01.0 05:00.0")));
    }

    [Test]
    public void E3_explanation_names_the_downstream_port_without_acs_capability()
    {
        var groups = Groups(E3Machine());
        var decision = groups.DecisionFor(groups.Topology.Get("0000:04:00.0"))!;
        Assert.Multiple(() =>
        {
            Assert.That(decision.Step, Is.EqualTo(GroupStep.AcsPath));
            Assert.That(decision.Via?.Bdf.ToString(), Is.EqualTo("0000:03:00.0"));
            Assert.That(decision.Reasons, Has.Some.Contains("switch downstream port 0000:03:00.0").And.Contains("no ACS capability"));
        });
    }

    [Test]
    public void E4_switch_below_a_root_port_without_acs_is_one_group()
    {
        var t = Machine(b => b.Add("03.0", RootPort(acs: false), secondary: 0x04, below: rp => rp.Switch("00.0", downstreamAcs: false,
            d => d.Add("00.0", Conventional()),
            d => d.Add("00.0", Conventional()))));
        Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel("00:03.0 04:00.0 05:00.0 05:01.0 06:00.0 07:00.0")));
    }

    [Test]
    public void E5_switch_whose_downstream_ports_have_acs_isolates_every_port_and_endpoint()
    {
        var t = Machine(b => b.Add("01.0", RootPort(acs: true), rp => rp.Switch("00.0", downstreamAcs: true,
            d => d.Add("00.0", Endpoint()),
            d => d.Add("00.0", Endpoint()))));
        Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel("00:01.0", "01:00.0", "02:00.0", "02:01.0", "03:00.0", "04:00.0")));
    }

    [Test]
    public void E6_everything_behind_a_pcie_to_pci_bridge_joins_the_bridge_group()
    {
        var t = Machine(b => b.Add("04.0", RootPort(acs: true), secondary: 0x06, below: rp => rp
            .Add("00.0", PcieToPciBridge("1b36:000e"), ppb => ppb
                .Add("01.0", Conventional())
                .Add("02.0", Conventional())
                .Add("03.0", PciBridge("1b36:0001"), pb => pb.Add("01.0", Conventional())))));
        Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel("00:04.0", "06:00.0 07:01.0 07:02.0 07:03.0 08:01.0")));
    }

    [Test]
    public void E7_device_behind_the_intel_82801_bridge_below_a_root_port_joins_the_82801_group()
    {
        var t = Machine(b => b.Add("02.0", RootPort(acs: true), rp => rp
            .Add("00.0", PciBridge("8086:244e"), dmi => dmi
                .Add("01.0", PciBridge(), pb => pb.Add("02.0", Conventional())))));
        Assert.Multiple(() =>
        {
            Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel("00:02.0", "01:00.0 02:01.0 03:02.0")));
            Assert.That(t.Get("0000:01:00.0").DevFlags, Is.EqualTo(PciDevFlags.PcieBridgeAlias), "quirk_use_pcie_bridge_dma_alias");
        });
    }

    [Test]
    public void E8_vfio_rst_example_conventional_card_behind_the_dmi_to_pci_bridge_shares_its_group()
    {
        var t = Machine(b => b.Add("1e.0", PciBridge("8086:244e"), secondary: 0x06, below: br => br
            .Add("0d.0", Conventional(multifunction: true))
            .Add("0d.1", Conventional())));
        Assert.Multiple(() =>
        {
            Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel("00:1e.0 06:0d.0 06:0d.1")));
            Assert.That(t.Get("0000:00:1e.0").DevFlags, Is.EqualTo(PciDevFlags.None), "the bridge alias quirk does not apply on a root bus");
        });
    }

    [Test]
    public void E8_with_a_single_function_card_the_group_is_the_bridge_and_the_card()
    {
        var t = Machine(b => b.Add("1e.0", PciBridge("8086:244e"), secondary: 0x06, below: br => br.Add("0d.0", Conventional())));
        Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel("00:1e.0 06:0d.0")));
    }

    [Test]
    public void E9_multifunction_endpoint_without_acs_below_an_isolating_root_port_is_one_group()
    {
        var t = Machine(b => b.Add("05.0", RootPort(acs: true), secondary: 0x09, below: rp => rp
            .Add("00.0", Conventional(multifunction: true))
            .Add("00.1", Conventional())));
        Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel("00:05.0", "09:00.0 09:00.1")));
    }

    [Test]
    public void E10_multifunction_endpoint_where_only_function_0_has_acs_isolates_function_0_only()
    {
        var t = Machine(b => b.Add("01.0", RootPort(acs: true), rp => rp
            .Add("00.0", Endpoint(multifunction: true) with { AcsCapability = 0x000c })
            .Add("00.1", Endpoint())
            .Add("00.2", Endpoint())));
        var fn0 = t.Get("0000:01:00.0");
        Assert.Multiple(() =>
        {
            Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel("00:01.0", "01:00.0", "01:00.1 01:00.2")));
            Assert.That(fn0.Config.Read16(fn0.AcsCap + PciRegs.AcsCtrl), Is.EqualTo(0x000c), "pci_std_enable_acs() enables RR|CR");
        });
    }

    [Test]
    public void E11_multifunction_root_ports_with_mixed_acs_share_a_group_between_the_non_acs_functions()
    {
        var t = Machine(b => b
            .Add("07.0", RootPort(acs: true, multifunction: true), rp => rp.Add("00.0", Conventional()), secondary: 0x0b)
            .Add("07.1", RootPort(acs: false), rp => rp.Add("00.0", Conventional()))
            .Add("07.2", RootPort(acs: false), rp => rp.Add("00.0", Conventional())));
        Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel("00:07.0", "00:07.1 00:07.2 0c:00.0 0d:00.0", "0b:00.0")));
    }

    [Test]
    public void E12a_conventional_functions_on_the_root_bus_group_per_slot()
    {
        var t = Machine(b => b
            .Add("0a.0", Conventional())
            .Add("0b.0", Conventional(multifunction: true))
            .Add("0b.1", Conventional())
            .Add("1f.0", Conventional("8086:2918", multifunction: true))
            .Add("1f.2", Conventional("8086:2922"))
            .Add("1f.3", Conventional("8086:2930")));
        Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel("00:0a.0", "00:0b.0 00:0b.1", "00:1f.0 00:1f.2 00:1f.3")));
    }

    [Test]
    public void E12b_intel_multifunction_rcieps_without_acs_are_split_by_the_intel_rciep_quirk()
    {
        var t = Machine(b => b
            .Add("0d.0", RcEndpoint("8086:10d3", multifunction: true))
            .Add("0d.1", RcEndpoint("8086:10d3"))
            .Add("0e.0", RcEndpoint("8086:10d3")));
        var groups = Groups(t);
        Assert.Multiple(() =>
        {
            Assert.That(groups.ToKernelFormat(), Is.EqualTo(Kernel("00:0d.0", "00:0d.1", "00:0e.0")));
            Assert.That(Acs.Evaluate(t.Get("0000:00:0d.1")).Quirk, Is.EqualTo("pci_quirk_rciep_acs"));
        });
    }

    [Test]
    public void E12c_non_intel_multifunction_rcieps_without_acs_share_a_group()
    {
        var t = Machine(b => b
            .Add("0d.0", RcEndpoint("1af4:1000", multifunction: true))
            .Add("0d.1", RcEndpoint("1af4:1000"))
            .Add("0e.0", RcEndpoint("1af4:1000")));
        Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel("00:0d.0 00:0d.1", "00:0e.0")));
    }

    [Test]
    public void E13_conventional_devices_on_the_root_bus_are_never_joined_across_slots()
    {
        var t = Machine(b => b
            .Add("0a.0", Conventional())
            .Add("0b.0", Conventional(multifunction: true))
            .Add("0b.1", Conventional())
            .Add("0c.0", Conventional()));
        Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel("00:0a.0", "00:0b.0 00:0b.1", "00:0c.0")));
    }

    /// <summary>An SR-IOV PF like QEMU's nvme: VF i at routing ID PF + 1 + i.</summary>
    private static GenericDeviceSpec NvmePf => Endpoint("1b36:0010") with { Sriov = new(TotalVfs: 2, FirstVfOffset: 1, VfStride: 1) };

    [Test]
    public void E14_vfs_of_a_pf_below_an_isolating_root_port_each_get_a_new_group()
    {
        var t = Machine(b => b.Add("04.0", RootPort(acs: true), rp => rp.Add("00.0", NvmePf), secondary: 0x08));
        var groups = Groups(t);
        string boot = groups.ToKernelFormat();
        var status = Sriov.SetNumVfs(t, t.Get("0000:08:00.0"), 2, out _);
        Assert.Multiple(() =>
        {
            Assert.That(boot, Is.EqualTo(Kernel("00:04.0", "08:00.0")));
            Assert.That(status, Is.EqualTo(SriovStatus.Ok));
            Assert.That(groups.ToKernelFormat(), Is.EqualTo(Kernel("00:04.0", "08:00.0", "08:00.1", "08:00.2")));
        });
    }

    [Test]
    public void E15_vfs_of_a_pf_below_a_root_port_without_acs_join_the_root_port_group()
    {
        var t = Machine(b => b.Add("05.0", RootPort(acs: false), rp => rp.Add("00.0", NvmePf), secondary: 0x09));
        var groups = Groups(t);
        string boot = groups.ToKernelFormat();
        var status = Sriov.SetNumVfs(t, t.Get("0000:09:00.0"), 2, out _);
        Assert.Multiple(() =>
        {
            Assert.That(boot, Is.EqualTo(Kernel("00:05.0 09:00.0")));
            Assert.That(status, Is.EqualTo(SriovStatus.Ok));
            Assert.That(groups.ToKernelFormat(), Is.EqualTo(Kernel("00:05.0 09:00.0 09:00.1 09:00.2")));
        });
    }

    [Test]
    public void E16_conventional_function_0_and_pcie_function_1_share_a_group()
    {
        var t = Machine(b => b.Add("08.0", RootPort(acs: true), secondary: 0x0e, below: rp => rp
            .Add("00.0", Conventional(multifunction: true))
            .Add("00.1", Endpoint("1af4:1044"))));
        Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel("00:08.0", "0e:00.0 0e:00.1")));
    }

    private static PciTopology E17Machine(bool quirkSucceeds) => Machine(b => b
        .Add("1c.0", RootPort(acs: false, "8086:8c10", multifunction: true), rp => rp.Add("00.0", Endpoint()), pchAcsQuirkEnabled: quirkSucceeds)
        .Add("1c.4", RootPort(acs: false, "8086:8c18"), rp => rp.Add("00.0", Endpoint()), pchAcsQuirkEnabled: quirkSucceeds));

    [Test]
    public void E17a_intel_pch_root_ports_isolate_when_the_chipset_acs_quirk_succeeded()
    {
        Assert.That(Groups(E17Machine(quirkSucceeds: true)).ToKernelFormat(), Is.EqualTo(Kernel("00:1c.0", "00:1c.4", "01:00.0", "02:00.0")));
    }

    [Test]
    public void E17b_intel_pch_root_ports_and_their_devices_are_one_group_when_the_quirk_failed()
    {
        Assert.That(Groups(E17Machine(quirkSucceeds: false)).ToKernelFormat(), Is.EqualTo(Kernel("00:1c.0 00:1c.4 01:00.0 02:00.0")));
    }

    [Test]
    public void E18a_marvell_function_1_alias_without_a_function_1_leaves_the_device_alone()
    {
        var t = Machine(b => b.Add("01.0", RootPort(acs: true), rp => rp.Add("00.0", Endpoint("1b4b:9230")), secondary: 0x03));
        var marvell = t.Get("0000:03:00.0");
        Assert.Multiple(() =>
        {
            Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel("00:01.0", "03:00.0")));
            Assert.That(marvell.DmaAliases.Members(), Is.EqualTo(new byte[] { 0x01 }), "quirk_dma_func1_alias");
        });
    }

    private static PciTopology E18bMachine(string fn3Ids) => Machine(b => b.Add("1c.0", RootPort(acs: true), secondary: 0x05, below: rp => rp
        .Add("00.0", Endpoint(multifunction: true) with { AcsCapability = 0x001d })
        .Add("00.3", Endpoint(fn3Ids) with { AcsCapability = 0x001d })));

    [Test]
    public void E18b_ricoh_function_0_alias_joins_two_acs_isolated_functions()
    {
        Assert.That(Groups(E18bMachine("1180:e832")).ToKernelFormat(), Is.EqualTo(Kernel("00:1c.0", "05:00.0 05:00.3")));
    }

    [Test]
    public void E18b_without_the_alias_quirk_acs_isolated_functions_get_separate_groups()
    {
        Assert.That(Groups(E18bMachine("1180:e830")).ToKernelFormat(), Is.EqualTo(Kernel("00:1c.0", "05:00.0", "05:00.3")));
    }

    [Test]
    public void E18c_plx_ntb_aliases_every_devfn_so_the_function_probed_second_joins_the_first()
    {
        var t = Machine(b => b.Add("01.0", RootPort(acs: true), secondary: 0x03, below: rp => rp
            .Add("00.0", Endpoint(multifunction: true) with { AcsCapability = 0x001d })
            .Add("00.1", Endpoint("10b5:87b0") with { AcsCapability = 0x001d })));
        var groups = Groups(t);
        Assert.Multiple(() =>
        {
            Assert.That(groups.ToKernelFormat(), Is.EqualTo(Kernel("00:01.0", "03:00.0 03:00.1")));
            Assert.That(groups.DecisionFor(t.Get("0000:03:00.1"))!.Step, Is.EqualTo(GroupStep.DmaAliasSearch));
        });
    }

    private static PciTopology E19Machine(bool ivrs) => MachineBuilder.Create().AmdIvrs(ivrs).RootBus(0, 0, b => b
        .Add("14.0", Conventional("1002:4385", multifunction: true))
        .Add("14.1", Conventional("1002:439c"))
        .Add("14.2", Conventional("1002:4383"))
        .Add("14.3", Conventional("1002:439d"))
        .Add("14.4", PciBridge("1002:4384"), br => br.Add("00.0", Conventional()), secondary: 0x05)
        .Add("14.5", Conventional("1002:4399"))).Boot();

    [Test]
    public void E19_amd_southbridge_functions_are_isolated_by_the_quirk_when_ivrs_is_present()
    {
        Assert.That(Groups(E19Machine(ivrs: true)).ToKernelFormat(),
            Is.EqualTo(Kernel("00:14.0", "00:14.1", "00:14.2", "00:14.3", "00:14.4 05:00.0", "00:14.5")));
    }

    [Test]
    public void E19_without_ivrs_the_amd_southbridge_functions_share_one_group()
    {
        Assert.That(Groups(E19Machine(ivrs: false)).ToKernelFormat(),
            Is.EqualTo(Kernel("00:14.0 00:14.1 00:14.2 00:14.3 00:14.4 00:14.5 05:00.0")));
    }

    [Test]
    public void E20_a_second_root_bus_is_grouped_after_the_whole_first_tree()
    {
        var t = MachineBuilder.Create()
            .RootBus(0, 0x00, b => b
                .Add("02.0", RootPort(acs: true), rp => rp.Add("00.0", Conventional()))
                .Add("10.0", HostBridge("1b36:000b")))
            .RootBus(0, 0x80, b => b.Add("00.0", RootPort(acs: true), rp => rp.Add("00.0", Conventional())))
            .Boot();
        Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel("00:02.0", "00:10.0", "01:00.0", "80:00.0", "81:00.0")));
    }

    [Test]
    public void E21_multifunction_switch_upstream_port_without_acs_gathers_the_whole_switch()
    {
        var t = Machine(b => b.Add("01.0", RootPort(acs: true), rp => rp
            .Add("00.0", UpstreamPort(multifunction: true), usp => usp
                .Add("00.0", DownstreamPort(acs: true), dsp => dsp.Add("00.0", Endpoint())))
            .Add("00.1", Endpoint())));
        Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel("00:01.0", "01:00.0 01:00.1 02:00.0 03:00.0")));
    }

    [Test]
    public void E22_nested_switch_without_acs_groups_each_endpoint_with_its_inner_downstream_port()
    {
        var t = Machine(b => b.Add("01.0", RootPort(acs: true), rp => rp
            .Add("00.0", UpstreamPort(), usp1 => usp1
                .Add("00.0", DownstreamPort(acs: true), dsp1 => dsp1.Switch("00.0", downstreamAcs: false,
                    d => d.Add("00.0", Endpoint()),
                    d => d.Add("00.0", Endpoint())))
                .Add("01.0", DownstreamPort(acs: true), dsp1b => dsp1b.Add("00.0", Endpoint())))));
        Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel(
            "00:01.0", "01:00.0", "02:00.0", "02:01.0", "03:00.0", "04:00.0 05:00.0", "04:01.0 06:00.0", "07:00.0")));
    }

    [Test]
    public void E23_every_function_below_a_non_isolating_port_joins_the_port_group_in_the_acs_walk()
    {
        var t = Machine(b => b.Add("06.0", RootPort(acs: false), rp => rp
            .Add("00.0", Endpoint(multifunction: true))
            .Add("00.1", Endpoint())));
        var groups = Groups(t);
        Assert.Multiple(() =>
        {
            Assert.That(groups.ToKernelFormat(), Is.EqualTo(Kernel("00:06.0 01:00.0 01:00.1")));
            Assert.That(groups.DecisionFor(t.Get("0000:01:00.1"))!.Step, Is.EqualTo(GroupStep.AcsPath), "decided in step B, not by the function rule");
        });
    }

    [Test]
    public void E24_ari_device_with_16_functions_without_acs_forms_one_group_per_8_functions()
    {
        var t = Machine(b => b.Add("01.0", RootPort(acs: true), rp => rp.Ari(16, Endpoint(multifunction: true))));
        Assert.Multiple(() =>
        {
            Assert.That(t.Functions, Has.Count.EqualTo(17), "all 16 functions enumerated through ARI");
            Assert.That(Groups(t).ToKernelFormat(), Is.EqualTo(Kernel("00:01.0",
                "01:00.0 01:00.1 01:00.2 01:00.3 01:00.4 01:00.5 01:00.6 01:00.7",
                "01:01.0 01:01.1 01:01.2 01:01.3 01:01.4 01:01.5 01:01.6 01:01.7")));
        });
    }

    /// <summary>Linux numbers VMD domains from 0x10000; Bdf's domain is 16 bits here, so domain 0001 stands in.</summary>
    [Test]
    public void E25_devices_behind_intel_vmd_join_the_vmd_endpoint_group()
    {
        var t = MachineBuilder.Create()
            .RootBus(0, 0x00, b => b.Add("0e.0", RcEndpoint("8086:9a0b"), id: "vmd"))
            .RootBus(1, 0xe0, b => b.Add("06.0", RootPort(acs: true, "8086:9a09"), rp => rp.Add("00.0", Endpoint("144d:a808"))), realDmaDevice: "vmd")
            .Boot();
        var groups = Groups(t);
        Assert.Multiple(() =>
        {
            Assert.That(groups.ToKernelFormat(), Is.EqualTo("0: 0000:00:0e.0 0001:e0:06.0 0001:e1:00.0\n"));
            Assert.That(groups.DecisionFor(t.Get("0001:e1:00.0"))!.Reasons, Has.Some.Contains("issues DMA as 0000:00:0e.0"));
        });
    }
}
