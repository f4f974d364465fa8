using System.Text;
using VfioSim.Pci.MachineFiles;

namespace VfioSim.Tests.Unit.MachineFiles;

/// <summary>Every malformed JSON machine is reported as one exact "file:line:column: reason", never as a crash.</summary>
public class JsonMachineFileErrorTests
{
    private const string Kinds = "endpoint, legacy-endpoint, rciep, rcec, root-port, upstream-port, downstream-port, pcie-pci-bridge, " +
                                 "pci-pcie-bridge, pci-bridge, conventional, host-bridge";

    /// <summary>A machine with one root bus holding <paramref name="devices"/> (which start at column 30).</summary>
    private static string On(string devices) => "{\"root_buses\": [{\"devices\": [" + devices + "]}]}";

    private static TestCaseData Bad(string name, string text, string message) => Bad(name, Encoding.UTF8.GetBytes(text), message);

    private static TestCaseData Bad(string name, byte[] utf8, string message) => new TestCaseData(utf8, message).SetArgDisplayNames(name);

    private static IEnumerable<TestCaseData> BadInputs()
    {
        yield return Bad("empty file", "  \n", "m.json:1:1: the file is empty (expected a JSON object with \"root_buses\")");
        yield return Bad("malformed JSON: unclosed object", "{",
            "m.json:1:2: malformed JSON: Expected depth to be zero at the end of the JSON payload. There is an open JSON object or array that should be closed.");
        yield return Bad("malformed JSON: bad value", "{\n  \"root_buses\": [}\n}",
            "m.json:2:18: malformed JSON: '}' is an invalid start of a value.");
        yield return Bad("malformed JSON: missing comma", On("{\"addr\": \"02.0\" \"kind\": \"endpoint\"}"),
            "m.json:1:46: malformed JSON: '\"' is invalid after a value. Expected either ',', '}', or ']'.");
        yield return Bad("malformed JSON: text after the machine", "{} x",
            "m.json:1:4: malformed JSON: 'x' is invalid after a single JSON value. Expected end of data.");
        yield return Bad("malformed JSON: invalid UTF-8", [.. "{\"a\": \""u8, 0xff, .. "\"}"u8],
            "m.json:1:7: malformed JSON: Cannot transcode invalid UTF-8 JSON text to UTF-16 string.");
        yield return Bad("property given twice", On("{\"addr\": \"02.0\", \"kind\": \"endpoint\", \"addr\": \"03.0\"}"),
            "m.json:1:67: property \"addr\" is given twice");
        yield return Bad("wrong JSON type: the machine", "[1, 2]", "m.json:1:1: the machine must be a JSON object {...}, found an array");
        yield return Bad("wrong JSON type: root_buses", "{\"root_buses\": {}}", "m.json:1:16: \"root_buses\" must be an array [...], found an object");
        yield return Bad("wrong JSON type: a root bus", "{\"root_buses\": [42]}", "m.json:1:17: a root bus must be a JSON object {...}, found the number 42");
        yield return Bad("wrong JSON type: a device", On("\"endpoint\""), "m.json:1:30: a device must be a JSON object {...}, found the string \"endpoint\"");
        yield return Bad("wrong JSON type: string", "{\"cmdline\": 3, \"root_buses\": []}", "m.json:1:13: \"cmdline\" must be a string, found the number 3");
        yield return Bad("wrong JSON type: bool", On("{\"addr\": \"02.0\", \"kind\": \"endpoint\", \"multifunction\": \"yes\"}"),
            "m.json:1:84: \"multifunction\" must be true or false, found the string \"yes\"");
        yield return Bad("wrong JSON type: hex given as a number", On("{\"addr\": \"00.0\", \"kind\": \"endpoint\", \"vendor\": 8086}"),
            "m.json:1:77: \"vendor\" must be a hex string such as \"0x8086\", found the number 8086");
        yield return Bad("wrong JSON type: acs", On("{\"addr\": \"02.0\", \"kind\": \"endpoint\", \"acs\": \"yes\"}"),
            "m.json:1:74: \"acs\" must be an object such as {\"cap\": \"0x5f\", \"ctrl\": \"0x0\"}, or true or false; found the string \"yes\"");
        yield return Bad("wrong JSON type: count", On("{\"addr\": \"02.0\", \"kind\": \"endpoint\", \"sriov\": {\"total_vfs\": \"4\"}}"),
            "m.json:1:90: \"total_vfs\" must be a whole number from 1 to 65535, found the string \"4\"");
        yield return Bad("count out of range", On("{\"addr\": \"02.0\", \"kind\": \"endpoint\", \"sriov\": {\"total_vfs\": 70000}}"),
            "m.json:1:90: \"total_vfs\" must be a whole number from 1 to 65535, found 70000");
        yield return Bad("count not whole", On("{\"addr\": \"02.0\", \"kind\": \"endpoint\", \"sriov\": {\"total_vfs\": 1.5}}"),
            "m.json:1:90: \"total_vfs\" must be a whole number from 1 to 65535, found 1.5");
        yield return Bad("unknown JSON property in the machine", "{\"root_buses\": [], \"iommus\": true}",
            "m.json:1:20: unknown property \"iommus\" in the machine (expected one of: comment, cmdline, iommu, amd_ivrs, root_buses)");
        yield return Bad("unknown JSON property in a root bus", "{\"root_buses\": [{\"bsu\": \"0x00\"}]}",
            "m.json:1:18: unknown property \"bsu\" in a root bus (expected one of: comment, domain, bus, q35, real_dma_device, devices)");
        yield return Bad("unknown JSON property in a device", On("{\"addr\": \"00.0\", \"kind\": \"endpoint\", \"acs_cap\": 1}"),
            "m.json:1:67: unknown property \"acs_cap\" in a device (expected one of: comment, addr, kind, qemu, id, vendor, device, subsystem_vendor, " +
            "subsystem_device, class, revision, multifunction, acs, ari, ari_forwarding, sriov, pch_acs_quirk, secondary, children)");
        yield return Bad("unknown JSON property in acs", On("{\"addr\": \"02.0\", \"kind\": \"endpoint\", \"acs\": {\"cap\": \"0x1d\", \"control\": \"0x0\"}}"),
            "m.json:1:90: unknown property \"control\" in \"acs\" (expected one of: comment, cap, ctrl)");
        yield return Bad("missing root_buses", "{}", "m.json:1:1: the machine needs \"root_buses\": a list of root buses with their devices");
        yield return Bad("no root bus", "{\"root_buses\": []}", "m.json:1:16: \"root_buses\" is empty: a machine needs at least one root bus");
        yield return Bad("missing addr", On("{\"kind\": \"endpoint\"}"), "m.json:1:30: a device needs \"addr\" (slot.function in hex, e.g. \"00.0\")");
        yield return Bad("missing kind", On("{\"addr\": \"02.0\"}"), $"m.json:1:30: a device needs \"kind\" ({Kinds}) or \"qemu\" (a QEMU model)");
        yield return Bad("missing acs cap", On("{\"addr\": \"02.0\", \"kind\": \"endpoint\", \"acs\": {\"ctrl\": \"0x0\"}}"),
            "m.json:1:74: \"acs\" needs \"cap\" (the ACS Capability register, e.g. \"0x5f\")");
        yield return Bad("missing total_vfs", On("{\"addr\": \"02.0\", \"kind\": \"endpoint\", \"sriov\": {\"offset\": 1}}"),
            "m.json:1:76: \"sriov\" needs \"total_vfs\" (how many VFs the PF offers)");
        yield return Bad("unknown kind", On("{\"addr\": \"00.0\", \"kind\": \"endpont\"}"), $"m.json:1:55: unknown kind \"endpont\" (expected one of: {Kinds})");
        yield return Bad("bad hex", "{\n  \"root_buses\": [\n    {\"devices\": [\n      {\"addr\": \"00.0\", \"kind\": \"endpoint\", \"vendor\": \"0x80g6\"}\n    ]}\n  ]\n}",
            "m.json:4:54: \"vendor\": \"0x80g6\" is not a hex number (expected e.g. \"0x8086\")");
        yield return Bad("hex too large", On("{\"addr\": \"02.0\", \"kind\": \"endpoint\", \"vendor\": \"0x18086\"}"),
            "m.json:1:77: \"vendor\": 0x18086 is too large (at most 0xffff)");
        yield return Bad("column counts characters, not bytes", "{\"comment\": \"\u00e9t\u00e9\", \"root_buses\": [{\"devices\": [{\"addr\": \"02.0\", \"kind\": \"x\"}]}]}",
            $"m.json:1:73: unknown kind \"x\" (expected one of: {Kinds})");
        yield return Bad("bad addr", On("{\"addr\": \"2.0.1\", \"kind\": \"endpoint\"}"),
            "m.json:1:39: '2.0.1' is not a device address (expected slot.function in hex, slot 00-1f, function 0-7, e.g. 1c.0)");
        yield return Bad("slot in use", On("{\"addr\": \"02.0\", \"kind\": \"endpoint\"}, {\"addr\": \"02.0\", \"kind\": \"endpoint\"}"),
            "m.json:1:77: 0000:00:02.0 is already in use by endpoint");
        yield return Bad("slot in use by a q35 function", "{\"root_buses\": [{\"q35\": true, \"devices\": [{\"addr\": \"00.0\", \"kind\": \"endpoint\"}]}]}",
            "m.json:1:52: 0000:00:00.0 is already in use by mch");
        yield return Bad("single-function device in function 1", On("{\"addr\": \"02.0\", \"kind\": \"endpoint\"}, {\"addr\": \"02.1\", \"kind\": \"endpoint\"}"),
            "m.json:1:77: 0000:00:02.1 cannot be added: function 0 of its slot is single-function, so Linux never scans further functions");
        yield return Bad("single-function function 0 after function 1",
            On("{\"addr\": \"02.1\", \"kind\": \"endpoint\"}, {\"addr\": \"02.0\", \"kind\": \"endpoint\"}"),
            "m.json:1:77: 0000:00:02.0 is single-function, but other functions of its slot are present (make it multifunction)");
        yield return Bad("function without function 0", On("{\"addr\": \"00.1\", \"kind\": \"endpoint\"}"),
            "m.json:1:39: 0000:00:00.1 has no function 0 in its slot, so Linux never scans it");
        yield return Bad("slot other than 0 below a root port", On("{\"addr\": \"02.0\", \"kind\": \"root-port\", \"children\": [{\"addr\": \"01.0\", \"kind\": \"endpoint\"}]}"),
            "m.json:1:90: slot 01 is not valid below 0000:00:02.0: a PCIe link carries device 00 only, Linux never scans other slots there");
        yield return Bad("children below an endpoint", On("{\"addr\": \"02.0\", \"kind\": \"endpoint\", \"children\": []}"),
            "m.json:1:79: endpoint 0000:00:02.0 is not a bridge, so nothing can sit below it");
        yield return Bad("secondary bus of an endpoint", On("{\"addr\": \"02.0\", \"kind\": \"endpoint\", \"secondary\": \"0x05\"}"),
            "m.json:1:80: endpoint 0000:00:02.0 is not a bridge, so it has no secondary bus");
        yield return Bad("secondary bus already given out",
            On("{\"addr\": \"02.0\", \"kind\": \"root-port\", \"secondary\": \"0x05\"}, {\"addr\": \"03.0\", \"kind\": \"root-port\", \"secondary\": \"0x03\"}"),
            "m.json:1:141: secondary bus 03 of 0000:00:03.0 is not free: firmware numbers buses depth first and had given out up to 05 before it");
        yield return Bad("acs on a conventional function", On("{\"addr\": \"02.0\", \"kind\": \"conventional\", \"acs\": true}"),
            "m.json:1:78: a conventional function has no PCIe extended capabilities, so no ACS");
        yield return Bad("duplicate id", On("{\"addr\": \"02.0\", \"kind\": \"endpoint\", \"id\": \"a\"}, {\"addr\": \"03.0\", \"kind\": \"endpoint\", \"id\": \"a\"}"),
            "m.json:1:122: duplicate id 'a' (already used by 0000:00:02.0)");
        yield return Bad("unknown real_dma_device", "{\"root_buses\": [{\"real_dma_device\": \"vmd\", \"devices\": []}]}",
            "m.json:1:37: no device has id 'vmd'");
        yield return Bad("root bus given twice", "{\"root_buses\": [{\"bus\": \"0x00\"}, {\"bus\": \"0\"}]}",
            "m.json:1:42: root bus 0000:00 is already defined");
        yield return Bad("kind and qemu together", On("{\"addr\": \"02.0\", \"kind\": \"endpoint\", \"qemu\": \"edu\"}"),
            "m.json:1:47: \"kind\" does not apply to a QEMU model (QEMU properties go into \"qemu\", e.g. \"pcie-root-port,disable-acs=on\")");
        yield return Bad("unknown QEMU model", On("{\"addr\": \"02.0\", \"qemu\": \"eduu,dma_mask=1\"}"),
            "m.json:1:55: QEMU model eduu: 'eduu' is not a valid device model name (modelled: pcie-root-port, x3130-upstream, xio3130-downstream, " +
            "pcie-pci-bridge, pci-bridge, i82801b11-bridge, pxb-pcie, edu, e1000e, nvme, virtio-rng-pci, virtio-net-pci, virtio-blk-pci, " +
            "virtio-9p-pci, nvme-subsys, nvme-ns, intel-iommu, virtio-rng-device)");
        yield return Bad("unknown QEMU property", On("{\"addr\": \"02.0\", \"qemu\": \"pcie-root-port,colour=red\"}"),
            "m.json:1:55: QEMU model pcie-root-port: Property 'pcie-root-port.colour' not found");
        yield return Bad("QEMU bus given in the device text", On("{\"addr\": \"02.0\", \"qemu\": \"edu,bus=pcie.0\"}"),
            "m.json:1:55: QEMU option 'bus' is given by the machine description, not in the device text");
    }

    [TestCaseSource(nameof(BadInputs))]
    public void Malformed_json_machine_is_reported_with_position_and_reason(byte[] utf8, string message)
    {
        var e = Assert.Throws<MachineFileException>(() => JsonMachineFile.Parse(utf8, "m.json"));
        Assert.That(e!.Message, Is.EqualTo(message));
    }

    [Test]
    public void Every_prefix_of_a_valid_json_machine_loads_or_fails_with_a_machine_file_error()
    {
        string text = File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "machines", "every-feature.json"));
        Assert.That(Prefixes.FailingUnexpectedly(text, t => JsonMachineFile.Parse(t, "every-feature.json")), Is.Empty);
    }
}
