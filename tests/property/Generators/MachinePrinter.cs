using System.Text;

namespace VfioSim.Tests.Property.Generators;

/// <summary>
/// Prints a generated machine so a failure can be replayed: a QEMU machine as a <c>.qemu</c> file (one
/// <c>-device</c> per line, for <c>vfio-sim --machine</c> or a real QEMU), a synthetic one as a tree of
/// GenericDevice functions. Each function is annotated with the address Linux gave it.
/// </summary>
public static class MachinePrinter
{
    public static string Print(MachineSpec spec)
    {
        var sb = new StringBuilder();
        BuiltMachine? built = null;
        try
        {
            built = SpecBuilder.Build(spec);
        }
        catch (Exception e) // a machine the simulator chokes on must still be printed
        {
            sb.Append("# building this machine failed: ").AppendLine(e.Message);
        }
        string At(DevSpec d) => built is not null && built.Functions.TryGetValue(d, out var f) ? f.ToString() : "?";

        if (spec.Qemu)
        {
            sb.AppendLine("# QEMU 7.2 -M q35 (the machine adds 00:00.0 and 00:1f.0/.2/.3); save as x.qemu, then: vfio-sim --machine x.qemu groups");
            foreach (var line in SpecBuilder.QemuDevices(spec))
                sb.Append(line).AppendLine(line.Node is null ? "" : "   # " + At(line.Node));
            return sb.ToString();
        }

        var names = SpecBuilder.Names(spec);
        sb.AppendLine("# synthetic machine: GenericDevice.Create(spec) plugged with PciTopology.AddRootBus/Plug");
        foreach (var r in spec.Roots)
        {
            sb.AppendLine($"root bus {r.Domain:x4}:{r.Number:x2}");
            void Tree(IReadOnlyList<DevSpec> devices, int depth)
            {
                foreach (var d in devices)
                {
                    sb.Append(' ', 2 * depth).Append($"{d.Slot:x2}.{d.Function} {names[d]} {d.Kind} {d.VendorId:x4}:{d.DeviceId:x4}");
                    if (d.Multifunction) sb.Append(" multifunction");
                    sb.Append(d.AcsCap is { } acs ? $" acs-cap=0x{acs:x2}" : " no-acs");
                    if (d.TotalVfs > 0) sb.Append($" sriov-total-vfs={d.TotalVfs}");
                    if (d.PchQuirkFails) sb.Append(" pch-acs-quirk-fails");
                    if (d.Toggle) sb.Append(" (acs toggled)");
                    sb.Append("   # ").AppendLine(At(d));
                    Tree(d.Children, depth + 1);
                }
            }
            Tree(r.Devices, 1);
        }
        return sb.ToString();
    }
}
