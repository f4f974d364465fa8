using System.Globalization;
using VfioSim.Pci;
using VfioSim.Pci.Devices;
using VfioSim.Pci.Qemu;

namespace VfioSim.Tests.Property.Generators;

/// <summary>One <c>-device</c> option list, and the generated function it realizes (null for non-PCI devices).</summary>
public sealed record QemuDeviceLine(string Model, IReadOnlyList<KeyValuePair<string, string>> Options, DevSpec? Node)
{
    public override string ToString() =>
        $"-device {Model}{string.Concat(Options.Select(o => $",{o.Key}={o.Value}"))}";
}

/// <summary>A booted machine and which simulator function each generated function became.</summary>
public sealed class BuiltMachine(PciTopology topology, IReadOnlyDictionary<DevSpec, PciFunction> functions)
{
    public PciTopology Topology { get; } = topology;

    /// <summary>Keyed by reference: equal-looking functions in different places are different functions.</summary>
    public IReadOnlyDictionary<DevSpec, PciFunction> Functions { get; } = functions;
}

/// <summary>
/// Builds a <see cref="MachineSpec"/>: QEMU machines through <see cref="QemuMachine.AddDevice"/> with the very option
/// lists that are printed on failure, synthetic ones through <see cref="GenericDevice"/> and
/// <see cref="PciTopology.AddRootBus"/>/<see cref="PciTopology.Plug"/>. Both are booted.
/// </summary>
public static class SpecBuilder
{
    public static BuiltMachine Build(MachineSpec spec) => spec.Qemu ? BuildQemu(spec) : BuildSynthetic(spec);

    /// <summary>The machine with one port's ACS capability present or absent (the port marked <see cref="DevSpec.Toggle"/>).</summary>
    public static MachineSpec WithToggledAcs(MachineSpec spec, bool acs) =>
        spec.Map(d => d.Toggle ? d with { AcsCap = acs ? (ushort)0x5f : null } : d);

    /// <summary>Names each function in depth-first order (rp1, ep2, …): QEMU ids and tree labels.</summary>
    public static Dictionary<DevSpec, string> Names(MachineSpec spec)
    {
        var names = new Dictionary<DevSpec, string>(ReferenceEqualityComparer.Instance);
        foreach (var d in spec.AllDevices)
            names[d] = Prefix(d.Kind) + (names.Count + 1).ToString(CultureInfo.InvariantCulture);
        return names;
    }

    private static string Prefix(DevKind kind) => kind switch
    {
        DevKind.RootPort => "rp",
        DevKind.UpstreamPort => "usp",
        DevKind.DownstreamPort => "dsp",
        DevKind.PcieToPciBridge => "ppb",
        DevKind.PciBridge => "pb",
        DevKind.DmiToPciBridge => "dmi",
        DevKind.Endpoint => "ep",
        DevKind.RcEndpoint => "rc",
        _ => "pci",
    };

    // ---------------- QEMU ----------------

    /// <summary>The <c>-device</c> lines, parents before children, function 0 before the other functions of a slot.</summary>
    public static List<QemuDeviceLine> QemuDevices(MachineSpec spec)
    {
        var names = Names(spec);
        var lines = new List<QemuDeviceLine> { new("intel-iommu", [new("intremap", "on"), new("caching-mode", "on")], null) };
        // nvme SR-IOV needs an NVMe subsystem in QEMU
        foreach (var d in spec.AllDevices.Where(d => d.TotalVfs > 0))
            lines.Add(new("nvme-subsys", [new("id", "ss-" + names[d]), new("nqn", "ss-" + names[d])], null));
        int chassis = 0;
        void Emit(string bus, IReadOnlyList<DevSpec> devices)
        {
            foreach (var d in devices)
            {
                var o = new List<KeyValuePair<string, string>> { new("id", names[d]), new("bus", bus), new("addr", $"{d.Slot:x2}.{d.Function:x}") };
                if (d.Multifunction) o.Add(new("multifunction", "on"));
                switch (d.QemuModel)
                {
                    case "pcie-root-port" or "xio3130-downstream":
                        chassis++;
                        o.Add(new("chassis", chassis.ToString(CultureInfo.InvariantCulture)));
                        o.Add(new("slot", chassis.ToString(CultureInfo.InvariantCulture)));
                        if (d.QemuModel == "pcie-root-port" && d.AcsCap is null) o.Add(new("disable-acs", "on"));
                        break;
                    case "pci-bridge":
                        chassis++;
                        o.Add(new("chassis_nr", chassis.ToString(CultureInfo.InvariantCulture)));
                        break;
                    case "nvme":
                        o.Add(new("serial", "sn-" + names[d]));
                        if (d.TotalVfs > 0)
                        {
                            o.Add(new("subsys", "ss-" + names[d]));
                            o.Add(new("sriov_max_vfs", d.TotalVfs.ToString(CultureInfo.InvariantCulture)));
                            o.Add(new("sriov_vq_flexible", (2 * d.TotalVfs).ToString(CultureInfo.InvariantCulture)));
                            o.Add(new("sriov_vi_flexible", d.TotalVfs.ToString(CultureInfo.InvariantCulture)));
                        }
                        break;
                }
                lines.Add(new(d.QemuModel!, o, d));
                if (d.Children.Count > 0) Emit(names[d], d.Children);
            }
        }
        Emit("pcie.0", spec.Roots[0].Devices);
        for (int i = 1; i < spec.Roots.Count; i++)
        {
            var r = spec.Roots[i];
            string id = $"pxb{i}";
            lines.Add(new("pxb-pcie", [new("id", id), new("bus_nr", $"0x{r.Number:x2}"), new("bus", "pcie.0"), new("addr", $"{r.HostSlot:x2}.0")], null));
            Emit(id, r.Devices);
        }
        return lines;
    }

    private static BuiltMachine BuildQemu(MachineSpec spec)
    {
        var machine = new QemuMachine();
        var map = new Dictionary<DevSpec, PciFunction>(ReferenceEqualityComparer.Instance);
        foreach (var line in QemuDevices(spec))
        {
            var f = machine.AddDevice(line.Model, line.Options);
            if (line.Node is not null) map[line.Node] = f!;
        }
        return new BuiltMachine(machine.Boot(), map);
    }

    // ---------------- synthetic ----------------

    private static BuiltMachine BuildSynthetic(MachineSpec spec)
    {
        var names = Names(spec);
        var t = new PciTopology();
        var map = new Dictionary<DevSpec, PciFunction>(ReferenceEqualityComparer.Instance);
        void PlugAll(PciBus bus, IReadOnlyList<DevSpec> devices)
        {
            foreach (var d in devices)
            {
                var f = GenericDevice.Create(SyntheticSpec(d), names[d]);
                f.PchAcsQuirkEnabled = !d.PchQuirkFails;
                t.Plug(bus, d.DevFn, f);
                map[d] = f;
                if (d.Children.Count > 0) PlugAll(f.Secondary!, d.Children);
            }
        }
        foreach (var r in spec.Roots)
            PlugAll(t.AddRootBus(r.Domain, r.Number, $"root{r.Domain:x4}:{r.Number:x2}"), r.Devices);
        t.Boot();
        return new BuiltMachine(t, map);
    }

    public static GenericDeviceSpec SyntheticSpec(DevSpec d) => new()
    {
        Kind = d.Kind switch
        {
            DevKind.RootPort => FunctionKind.RootPort,
            DevKind.UpstreamPort => FunctionKind.UpstreamPort,
            DevKind.DownstreamPort => FunctionKind.DownstreamPort,
            DevKind.PcieToPciBridge => FunctionKind.PcieToPciBridge,
            DevKind.PciBridge or DevKind.DmiToPciBridge => FunctionKind.PciBridge,
            DevKind.Endpoint => FunctionKind.Endpoint,
            DevKind.RcEndpoint => FunctionKind.RcEndpoint,
            _ => FunctionKind.Conventional,
        },
        VendorId = d.VendorId,
        DeviceId = d.DeviceId,
        Multifunction = d.Multifunction,
        AcsCapability = d.AcsCap,
        Sriov = d.TotalVfs > 0 ? new SriovSpec((ushort)d.TotalVfs) : null,
    };
}
