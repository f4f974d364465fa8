using System.Text;
using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;

namespace VfioSim.Tests.Unit.MachineFiles;

/// <summary>What each property of the JSON machine format does to the booted machine.</summary>
public class JsonMachineFileTests
{
    private static string Data(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "machines", name);

    /// <summary>One root bus 0000:00 holding <paramref name="devices"/>, with optional top-level properties.</summary>
    private static PciTopology Machine(string devices, string top = "") =>
        JsonMachineFile.Parse($"{{{top}\"root_buses\": [{{\"devices\": [{devices}]}}]}}", "m.json");

    private static ushort AcsCtrl(PciFunction f) => f.Config.Read16(f.AcsCap + PciRegs.AcsCtrl);

    [Test]
    public void Hex_ids_class_and_revision_are_the_function_identity()
    {
        var f = Machine("""
            {"addr": "02.0", "kind": "endpoint", "vendor": "0x10de", "device": "1b80", "subsystem_vendor": "0x1458",
             "subsystem_device": "0x3702", "class": "0x030000", "revision": "0xa1"}
            """).Get("0000:00:02.0");
        Assert.That((f.VendorId, f.DeviceId, f.SubsystemVendorId, f.SubsystemId, f.ClassCode, f.Revision),
            Is.EqualTo(((ushort)0x10de, (ushort)0x1b80, (ushort)0x1458, (ushort)0x3702, 0x030000u, (byte)0xa1)));
    }

    [Test]
    public void Acs_cap_and_firmware_ctrl_are_what_linux_starts_from_when_enabling()
    {
        var t = Machine("""{"addr": "02.0", "kind": "root-port", "acs": {"cap": "0x1f", "ctrl": "0x20"}}""");
        Assert.That(AcsCtrl(t.Get("0000:00:02.0")), Is.EqualTo(0x003d), "firmware EC kept, SV RR CR UF enabled (pci_std_enable_acs())");
    }

    [Test]
    public void Acs_true_is_the_qemu_root_port_capability()
    {
        var f = Machine("""{"addr": "02.0", "kind": "root-port", "acs": true}""").Get("0000:00:02.0");
        Assert.That((f.Config.Read16(f.AcsCap + PciRegs.AcsCap), AcsCtrl(f)), Is.EqualTo(((ushort)0x005f, (ushort)0x001d)));
    }

    [Test]
    public void Cmdline_reaches_acs_enabling()
    {
        var f = Machine("""{"addr": "02.0", "kind": "root-port", "acs": true}""", "\"cmdline\": \"pci=noats\", ").Get("0000:00:02.0");
        Assert.That(AcsCtrl(f), Is.EqualTo(0x001f), "pci=noats adds Translation Blocking");
    }

    [Test]
    public void Vendor_and_device_ids_make_dma_alias_quirks_apply()
    {
        var t = Machine("""
            {"addr": "02.0", "kind": "endpoint", "multifunction": true},
            {"addr": "02.2", "kind": "endpoint", "vendor": "1180", "device": "e832"}
            """);
        Assert.That(t.Get("0000:00:02.2").DmaAliases.Members(), Is.EqualTo(new byte[] { 0x10 }), "quirk_dma_func0_alias");
    }

    [Test]
    public void Ari_functions_are_linked_so_linux_scans_past_function_7()
    {
        var t = Machine("""
            {"addr": "02.0", "kind": "root-port", "children": [
              {"addr": "00.0", "kind": "endpoint", "ari": true, "multifunction": true},
              {"addr": "01.2", "kind": "endpoint", "ari": true},
              {"addr": "1f.7", "kind": "endpoint", "ari": true}]}
            """);
        Assert.That(t.Functions.Select(f => f.Bdf.ToString()), Is.EqualTo(new[] { "0000:00:02.0", "0000:01:00.0", "0000:01:01.2", "0000:01:1f.7" }));
    }

    [Test]
    public void Sriov_total_offset_stride_and_vf_device_place_and_name_the_vfs()
    {
        var t = Machine("""
            {"addr": "02.0", "kind": "root-port", "children": [
              {"addr": "00.0", "kind": "endpoint", "vendor": "8086", "device": "1572",
               "sriov": {"total_vfs": 3, "offset": 16, "stride": 2, "vf_device": "0x154c"}}]}
            """);
        var pf = t.Get("0000:01:00.0");
        Assert.Multiple(() =>
        {
            Assert.That(Sriov.TotalVfs(pf), Is.EqualTo(3));
            Assert.That(Sriov.SetNumVfs(t, pf, 3, out var vfs), Is.EqualTo(SriovStatus.Ok));
            Assert.That(vfs.Select(v => $"{v.Bdf} {v.VendorId:x4}:{v.DeviceId:x4}"),
                Is.EqualTo(new[] { "0000:01:02.0 8086:154c", "0000:01:02.2 8086:154c", "0000:01:02.4 8086:154c" }));
        });
    }

    [Test]
    public void Secondary_bus_number_is_kept_and_numbering_continues_after_it()
    {
        var t = Machine("""
            {"addr": "02.0", "kind": "root-port", "secondary": "0x20", "children": [{"addr": "00.0", "kind": "endpoint"}]},
            {"addr": "03.0", "kind": "root-port", "children": [{"addr": "00.0", "kind": "endpoint"}]}
            """);
        Assert.That(t.Functions.Select(f => f.Bdf.ToShortString()), Is.EqualTo(new[] { "00:02.0", "00:03.0", "20:00.0", "21:00.0" }));
    }

    [Test]
    public void Root_buses_are_scanned_in_domain_then_bus_order()
    {
        var t = JsonMachineFile.Parse("""
            {"root_buses": [
              {"domain": "1", "bus": "00", "devices": [{"addr": "00.0", "kind": "rciep"}]},
              {"bus": "80", "devices": [{"addr": "00.0", "kind": "rciep"}]},
              {"devices": [{"addr": "00.0", "kind": "rciep"}]}]}
            """, "m.json");
        Assert.That(t.Functions.Select(f => f.Bdf.ToString()), Is.EqualTo(new[] { "0000:00:00.0", "0000:80:00.0", "0001:00:00.0" }));
    }

    [Test]
    public void Real_dma_device_routes_a_whole_root_bus_through_the_named_device()
    {
        var t = JsonMachineFile.Parse("""
            {"root_buses": [
              {"devices": [{"addr": "0e.0", "kind": "rciep", "id": "vmd", "vendor": "8086", "device": "201d"}]},
              {"domain": "1", "real_dma_device": "vmd",
               "devices": [{"addr": "00.0", "kind": "root-port", "children": [{"addr": "00.0", "kind": "endpoint"}]}]}]}
            """, "m.json");
        Assert.That(t.Get("0001:01:00.0").RealDmaDevice, Is.SameAs(t.Get("0000:00:0e.0")));
    }

    [Test]
    public void Iommu_false_leaves_the_machine_without_groups()
    {
        var groups = new IommuGroups(Machine("""{"addr": "02.0", "kind": "endpoint"}""", "\"iommu\": false, "));
        Assert.That(groups.Count, Is.Zero);
    }

    [Test]
    public void Cmdline_turning_the_iommu_off_leaves_the_machine_without_groups()
    {
        var groups = new IommuGroups(Machine("""{"addr": "02.0", "kind": "endpoint"}""", "\"cmdline\": \"intel_iommu=off\", "));
        Assert.That(groups.Count, Is.Zero);
    }

    [Test]
    public void Amd_ivrs_lets_the_amd_southbridge_quirk_isolate_its_functions()
    {
        const string sb = """
            {"addr": "14.0", "kind": "conventional", "vendor": "1002", "device": "4385", "multifunction": true},
            {"addr": "14.1", "kind": "conventional", "vendor": "1002", "device": "439c"}
            """;
        Assert.Multiple(() =>
        {
            Assert.That(new IommuGroups(Machine(sb, "\"amd_ivrs\": true, ")).Count, Is.EqualTo(2));
            Assert.That(new IommuGroups(Machine(sb)).Count, Is.EqualTo(1));
        });
    }

    [Test]
    public void Pch_acs_quirk_false_leaves_an_intel_pch_root_port_not_isolated()
    {
        const string rp = """
            {"addr": "1c.0", "kind": "root-port", "vendor": "8086", "device": "8c10", "pch_acs_quirk": PCH,
             "children": [{"addr": "00.0", "kind": "endpoint"}]}
            """;
        Assert.Multiple(() =>
        {
            Assert.That(new IommuGroups(Machine(rp.Replace("PCH", "true", StringComparison.Ordinal))).Count, Is.EqualTo(2));
            Assert.That(new IommuGroups(Machine(rp.Replace("PCH", "false", StringComparison.Ordinal))).Count, Is.EqualTo(1));
        });
    }

    [Test]
    public void Q35_adds_the_machine_own_functions()
    {
        var t = JsonMachineFile.Parse("""{"root_buses": [{"q35": true}]}""", "m.json");
        Assert.That(t.Functions.Select(f => $"{f.Bdf.ToShortString()} {f.Model}"),
            Is.EqualTo(new[] { "00:00.0 mch", "00:1f.0 ICH9-LPC", "00:1f.2 ich9-ahci", "00:1f.3 ICH9-SMB" }));
    }

    [Test]
    public void Qemu_models_take_the_personality_of_their_bus()
    {
        var t = Machine("""
            {"addr": "02.0", "qemu": "e1000e"},
            {"addr": "03.0", "qemu": "pcie-root-port,disable-acs=on", "children": [{"addr": "00.0", "qemu": "e1000e"}]}
            """);
        Assert.Multiple(() =>
        {
            Assert.That(t.Get("0000:00:02.0").PcieType, Is.EqualTo(PcieType.RcEndpoint), "e1000e on a root bus is an RCiEP");
            Assert.That(t.Get("0000:01:00.0").PcieType, Is.EqualTo(PcieType.Endpoint), "e1000e on a PCIe link is an endpoint");
            Assert.That(t.Get("0000:00:03.0").AcsCap, Is.Zero, "disable-acs=on");
        });
    }

    [Test]
    public void Comments_trailing_commas_and_a_byte_order_mark_are_accepted()
    {
        byte[] text =
        [
            0xef, 0xbb, 0xbf, .. """
            // a machine
            {"root_buses": [{"devices": [{"addr": "02.0", /* an endpoint */ "kind": "endpoint", "comment": "any object may have one"},],},],}
            """u8,
        ];
        Assert.That(JsonMachineFile.Parse(text, "m.json").Functions, Has.Count.EqualTo(1));
    }

    [Test]
    public void Machine_loader_reads_json_files_by_extension()
    {
        var t = MachineLoader.Load(Data("every-feature.json"));
        Assert.That(t.Functions, Has.Count.EqualTo(32));
    }

    [Test]
    public void Unreadable_path_is_a_machine_file_error()
    {
        string dir = TestContext.CurrentContext.TestDirectory;
        var e = Assert.Throws<MachineFileException>(() => JsonMachineFile.Load(dir));
        Assert.That(e!.Message, Does.StartWith($"{dir}:1:1: cannot read the file: "));
    }

    [Test]
    public void Parse_of_text_and_of_utf8_bytes_agree()
    {
        const string text = """{"root_buses": [{"devices": [{"addr": "02.0", "kind": "endpoint"}]}]}""";
        Assert.That(JsonMachineFile.Parse(text).Functions.Select(f => f.Bdf),
            Is.EqualTo(JsonMachineFile.Parse(Encoding.UTF8.GetBytes(text), "m.json").Functions.Select(f => f.Bdf)));
    }
}
