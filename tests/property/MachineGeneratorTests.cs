using FsCheck;
using FsCheck.Fluent;
using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;
using VfioSim.Tests.Property.Generators;

namespace VfioSim.Tests.Property;

/// <summary>
/// The generators and shrinker themselves: machines are valid (Linux enumerates every generated function), the
/// printed QEMU machine replays, every feature the properties rely on is generated, shrinking reaches small machines.
/// </summary>
[TestFixture]
public class MachineGeneratorTests
{
    private static List<MachineSpec> Sample(Gen<MachineSpec> gen, int count) =>
        [.. Enumerable.Range(0, count).SelectMany(i => gen.Sample(1, new Rnd((ulong)(1000 + i)), 10 + i % 91))];

    /// <summary>Problems that would make a machine invalid: functions Linux would not enumerate, clashing bus numbers.</summary>
    private static List<string> Invalidity(MachineSpec spec)
    {
        var built = SpecBuilder.Build(spec);
        var t = built.Topology;
        var problems = t.AllPlugged().Where(f => !f.IsEnumerated).Select(f => $"{f} is not enumerated").ToList();
        var buses = t.Functions.Select(f => f.Bus!).Concat(t.RootBuses).Concat(t.Functions.Where(f => f.Secondary is not null).Select(f => f.Secondary!)).Distinct();
        problems.AddRange(buses.GroupBy(b => (b.Domain, b.Number)).Where(g => g.Count() > 1).Select(g => $"bus {g.Key.Domain:x4}:{g.Key.Number:x2} used {g.Count()} times"));
        problems.AddRange(spec.AllDevices.Where(d => !built.Functions.ContainsKey(d)).Select(d => $"{d.Kind} at {d.Slot:x2}.{d.Function} was not built"));
        return problems;
    }

    [MachineProperty]
    public FsCheck.Property Generated_machines_boot_with_every_function_enumerated_and_distinct_bus_numbers(MachineSpec machine)
    {
        var problems = Invalidity(machine);
        return (problems.Count == 0).Label(string.Join("\n", problems));
    }

    [MachineProperty]
    public FsCheck.Property Printed_qemu_machine_replays_to_the_same_groups(QemuMachineSpec machine)
    {
        string direct = new IommuGroups(SpecBuilder.Build(machine.Spec).Topology).ToKernelFormat();
        string replayed = new IommuGroups(QemuMachineFile.Parse(machine.ToString(), "printed.qemu").Boot()).ToKernelFormat();
        return (replayed == direct).Label($"built directly:\n{direct}replayed from the printout:\n{replayed}");
    }

    [Test]
    public void Generators_produce_every_feature_the_properties_rely_on()
    {
        var machines = Sample(MachineGen.Any, 300);
        var features = new Dictionary<string, Func<MachineSpec, PciTopology, bool>>
        {
            ["QEMU machine"] = (m, _) => m.Qemu,
            ["synthetic machine"] = (m, _) => !m.Qemu,
            ["pxb-pcie root bus"] = (m, _) => m.Qemu && m.Roots.Count > 1,
            ["second synthetic root bus in domain 0"] = (m, t) => !m.Qemu && t.RootBuses.Count(r => r.Domain == 0) > 1,
            ["root bus in domain 1"] = (_, t) => t.RootBuses.Any(r => r.Domain == 1),
            ["root port with ACS"] = (_, t) => t.Functions.Any(f => f.PcieType == PcieType.RootPort && Acs.IsEnabled(f)),
            ["root port without ACS"] = (_, t) => t.Functions.Any(f => f.PcieType == PcieType.RootPort && !Acs.IsEnabled(f)),
            ["multi-function root port"] = (_, t) => t.Functions.Any(f => f.PcieType == PcieType.RootPort && f.IsMultifunction),
            ["downstream port with ACS"] = (_, t) => t.Functions.Any(f => f.PcieType == PcieType.Downstream && Acs.IsEnabled(f)),
            ["downstream port without ACS"] = (_, t) => t.Functions.Any(f => f.PcieType == PcieType.Downstream && !Acs.IsEnabled(f)),
            ["switch below a switch"] = (_, t) => t.Functions.Any(f => f.PcieType == PcieType.Upstream && f.UpstreamBridge?.PcieType == PcieType.Downstream),
            ["PCIe-to-PCI bridge"] = (_, t) => t.Functions.Any(f => f.IsPcie && f.PcieType == PcieType.PciBridge),
            ["PCI bridge behind a PCI bridge"] = (_, t) => t.Functions.Any(f => f.IsBridge && !f.IsPcie && f.UpstreamBridge is { IsPcie: false }),
            ["Intel 82801 bridge with the PCIe bridge alias"] = (_, t) => t.Functions.Any(f => (f.DevFlags & PciDevFlags.PcieBridgeAlias) != 0),
            ["8-function slot"] = (_, t) => t.Functions.Any(f => f.FunctionNumber == 7),
            ["multi-function endpoint with and without ACS"] = (_, t) => t.Functions.Any(f => f.IsPcie && f.PcieType == PcieType.Endpoint && f.IsMultifunction && f.AcsCap != 0)
                && t.Functions.Any(f => f.IsPcie && f.PcieType == PcieType.Endpoint && f.IsMultifunction && f.AcsCap == 0),
            ["conventional function below a root port"] = (_, t) => t.Functions.Any(f => !f.IsPcie && f.UpstreamBridge?.PcieType == PcieType.RootPort),
            ["RCiEP"] = (_, t) => t.Functions.Any(f => f.IsPcie && f.PcieType == PcieType.RcEndpoint),
            ["Intel RCiEP (ACS quirk)"] = (_, t) => t.Functions.Any(f => f.VendorId == 0x8086 && f.PcieType == PcieType.RcEndpoint && f.IsMultifunction),
            ["Intel PCH root port (ACS quirk)"] = (_, t) => t.Functions.Any(f => f.VendorId == 0x8086 && f.DeviceId == 0x8c10),
            ["DMA alias across root-bus slots"] = (_, t) => t.RootBuses.Any(r => r.Devices.Any(a => r.Devices.Any(b => a.Slot != b.Slot && a.DmaAliases.Contains(b.DevFn)))),
            ["DMA alias within a slot"] = (_, t) => t.Functions.Any(a => t.Functions.Any(b => a != b && a.Bus == b.Bus && a.Slot == b.Slot && a.DmaAliases.Contains(b.DevFn))),
            ["SR-IOV PF (QEMU nvme)"] = (_, t) => t.Functions.Any(f => f.Model == "nvme" && Sriov.TotalVfs(f) > 0),
            ["SR-IOV PF (synthetic) on a root bus"] = (_, t) => t.Functions.Any(f => f.Bus!.IsRoot && f.Model.StartsWith("json:", StringComparison.Ordinal) && Sriov.TotalVfs(f) > 0),
        };
        var seen = features.Keys.ToDictionary(k => k, _ => 0);
        foreach (var m in machines)
        {
            var t = SpecBuilder.Build(m).Topology;
            foreach (var (name, has) in features) if (has(m, t)) seen[name]++;
        }
        Assert.That(seen.Where(kv => kv.Value < 3).Select(kv => kv.Key), Is.Empty,
            "features generated fewer than 3 times in 300 machines: " + string.Join(", ", seen.Select(kv => $"{kv.Key} {kv.Value}")));
    }

    [Test]
    public void Every_shrink_step_of_a_machine_is_a_valid_machine()
    {
        var problems = new List<string>();
        foreach (var m in Sample(MachineGen.Any, 12))
            foreach (var s in MachineShrinker.Shrink(m))
                problems.AddRange(Invalidity(s).Select(p => $"{p} in\n{s}"));
        Assert.That(problems, Is.Empty);
    }

    [Test]
    public void Shrinking_keeps_just_root_port_upstream_and_downstream_port_for_a_failure_needing_a_switch()
    {
        static bool HasDownstreamPort(MachineSpec m) => m.AllDevices.Any(d => d.Kind == DevKind.DownstreamPort);
        var big = Sample(MachineGen.Any, 300).First(m => HasDownstreamPort(m) && m.AllDevices.Count() >= 20);
        var m = big;
        while (MachineShrinker.Shrink(m).FirstOrDefault(HasDownstreamPort) is { } smaller) m = smaller;
        Assert.That(m.AllDevices.Select(d => d.Kind), Is.EqualTo(new[] { DevKind.RootPort, DevKind.UpstreamPort, DevKind.DownstreamPort }),
            $"from {big.AllDevices.Count()} functions shrunk to:\n{m}");
    }
}
