using VfioSim.Pci.MachineFiles;

namespace VfioSim.Tests.Unit.MachineFiles;

/// <summary>Every malformed .qemu input is reported as one exact "file:line:column: reason", never as a crash.</summary>
public class QemuMachineFileErrorTests
{
    private static TestCaseData Bad(string name, string text, string message) => new TestCaseData(text, message).SetArgDisplayNames(name);

    private static IEnumerable<TestCaseData> BadInputs()
    {
        yield return Bad("unknown device model", "-device foo,bus=pcie.0",
            "m.qemu:1:9: -device foo: 'foo' is not a valid device model name (modelled: pcie-root-port, x3130-upstream, xio3130-downstream, " +
            "pcie-pci-bridge, pci-bridge, i82801b11-bridge, pxb-pcie, edu, e1000e, nvme, virtio-rng-pci, virtio-net-pci, virtio-blk-pci, " +
            "virtio-9p-pci, nvme-subsys, nvme-ns, intel-iommu, virtio-rng-device)");
        yield return Bad("unknown property", "-device edu,bus=pcie.0,colour=red",
            "m.qemu:1:24: -device edu: Property 'edu.colour' not found");
        yield return Bad("property given twice", "-device edu,bus=pcie.0,addr=02.0,addr=03.0",
            "m.qemu:1:34: -device edu: Property 'edu.addr' given twice");
        yield return Bad("bad addr slot", "-device edu,bus=pcie.0,addr=20.0",
            "m.qemu:1:24: -device edu: Property 'addr' doesn't take value '20.0' (expected slot[.function], e.g. 06.0)");
        yield return Bad("bad addr function", "-device edu,bus=pcie.0,addr=02.8",
            "m.qemu:1:24: -device edu: Property 'addr' doesn't take value '02.8' (function must be 0-7)");
        yield return Bad("unknown bus", "-device edu,bus=nope",
            "m.qemu:1:13: -device edu: Bus 'nope' not found");
        yield return Bad("duplicate id", "-device pcie-root-port,id=rp,addr=02.0\n-device pcie-root-port,id=rp,addr=03.0",
            "m.qemu:2:24: -device pcie-root-port: Duplicate ID 'rp' for device");
        yield return Bad("slot in use", "-device edu,addr=02.0\n-device edu,addr=02.0",
            "m.qemu:2:13: -device edu: PCI: slot 2 function 0 not available for edu, in use by edu");
        yield return Bad("single-function device in function 1", "-device edu,addr=02.0\n-device edu,addr=02.1",
            "m.qemu:2:13: -device edu: PCI: single function device can't be populated in function 2.1");
        yield return Bad("single-function function 0 after function 1", "-device edu,addr=02.1\n-device edu,addr=02.0",
            "m.qemu:2:13: -device edu: PCI: 2.0 indicates single function, but 2.1 is already populated.");
        yield return Bad("slot other than 0 below a root port", "-device pcie-root-port,id=rp,addr=02.0\n-device edu,bus=rp,addr=01.0",
            "m.qemu:2:20: -device edu: PCI: slot 1 is not valid for edu, parent device only allows plugging into slot 0.");
        yield return Bad("non-integer property", "-device pcie-root-port,addr=02.0,multifunction=on,chassis=x",
            "m.qemu:1:51: -device pcie-root-port: Parameter 'chassis' expects an integer");
        yield return Bad("non-boolean property", "-device pcie-root-port,disable-acs=maybe",
            "m.qemu:1:24: -device pcie-root-port: Parameter 'disable-acs' expects 'on' or 'off'");
        yield return Bad("required property missing", "-device pxb-pcie,id=pxb",
            "m.qemu:1:9: -device pxb-pcie: 'bus_nr' property is required");
        yield return Bad("unterminated double quote", "-append \"intel_iommu=on",
            "m.qemu:1:9: unterminated \" quote");
        yield return Bad("unterminated single quote", "-device 'edu,bus=pcie.0\n-device edu",
            "m.qemu:1:9: unterminated ' quote");
        yield return Bad("option without its argument", "-device edu\n-device",
            "m.qemu:2:1: option -device requires an argument");
        yield return Bad("stray comma", "-device ,bus=pcie.0",
            "m.qemu:1:9: empty option in -device (a stray ',')");
        yield return Bad("no model name", "-device bus=pcie.0",
            "m.qemu:1:9: -device needs a device model name first (e.g. -device edu,bus=pcie.0)");
        yield return Bad("option name missing before =", "-device edu,bus=pcie.0,=x",
            "m.qemu:1:24: option name expected before '='");
        yield return Bad("machine type other than q35", "-M pc",
            "m.qemu:1:4: machine type 'pc' is not modelled (only q35)");
        yield return Bad("text that is not an option", "edu",
            "m.qemu:1:1: expected a QEMU option such as -device, found 'edu'");
        yield return Bad("column inside a quoted device", "-device \"edu,bus=pcie.0,colour=red\"",
            "m.qemu:1:25: -device edu: Property 'edu.colour' not found");
        yield return Bad("line after comments and a continuation", "# a machine\nqemu-system-x86_64 -M q35 \\\n  -device edu,colour=red",
            "m.qemu:3:15: -device edu: Property 'edu.colour' not found");
    }

    [TestCaseSource(nameof(BadInputs))]
    public void Malformed_qemu_machine_is_reported_with_position_and_reason(string text, string message)
    {
        var e = Assert.Throws<MachineFileException>(() => QemuMachineFile.Parse(text, "m.qemu").Boot());
        Assert.That(e!.Message, Is.EqualTo(message));
    }

    [Test]
    public void Every_prefix_of_a_valid_qemu_machine_loads_or_fails_with_a_machine_file_error()
    {
        string text = File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "conformance", "q2.qemu"));
        Assert.That(Prefixes.FailingUnexpectedly(text, t => QemuMachineFile.Parse(t, "q2.qemu").Boot()), Is.Empty);
    }
}
