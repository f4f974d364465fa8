#:project ../../src/Cli/Cli.csproj
// Writes the sysfs tree lspci reads (bus/pci/devices/*, with config, resource, IDs, irq and iommu_group) for a
// simulated machine, from the same LspciDevice view vfio-sim's lspci formatter uses, so that the real pciutils
// can format it: run-oracle.sh compares the two. Usage: dotnet run export-sysfs.cs MACHINE OUTDIR [BDF=NUMVFS ...]
using System.Globalization;
using VfioSim.Cli.Lspci;
using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: export-sysfs.cs MACHINE OUTDIR [BDF=NUMVFS ...]");
    return 2;
}
var topology = MachineLoader.Load(args[0]);
var groups = new IommuGroups(topology);
foreach (var spec in args.Skip(2))
{
    var parts = spec.Split('=');
    var status = Sriov.SetNumVfs(topology, topology.Get(parts[0]), int.Parse(parts[1], CultureInfo.InvariantCulture), out _);
    if (status != SriovStatus.Ok) throw new InvalidOperationException($"{spec}: {status}");
}
string root = Path.GetFullPath(args[1]);
string devicesDir = Path.Combine(root, "bus", "pci", "devices");
Directory.CreateDirectory(devicesDir);
var devices = LspciDevice.FromTopology(topology, groups);

// sysfs nests a device under its parent bridge: devices/pci0000:00/0000:00:02.0/0000:01:00.0
string TreePath(LspciDevice d) => d.Parent is { } p
    ? Path.Combine(TreePath(p), d.Bdf.ToString())
    : Path.Combine(root, "devices", $"pci{d.Bdf.Domain:x4}:{RootBus(d.Function):x2}", d.Bdf.ToString());
static byte RootBus(PciFunction f) { var b = (f.PhysFn ?? f).Bus!; while (!b.IsRoot) b = b.Parent!; return b.Number; }
static string Line(SysfsResource r) =>
    $"0x{(r.Size == 0 ? 0 : r.Start):x16} 0x{(r.Size == 0 ? 0 : r.Start + r.Size - 1):x16} 0x{r.Flags:x16}";

foreach (var d in devices)
{
    string dir = TreePath(d);
    Directory.CreateDirectory(dir);
    File.WriteAllBytes(Path.Combine(dir, "config"), d.Config.Raw.ToArray());
    File.WriteAllText(Path.Combine(dir, "vendor"), $"0x{d.VendorId:x4}\n");
    File.WriteAllText(Path.Combine(dir, "device"), $"0x{d.DeviceId:x4}\n");
    File.WriteAllText(Path.Combine(dir, "class"), $"0x{d.Class:x4}{d.ProgIf:x2}\n");
    File.WriteAllText(Path.Combine(dir, "revision"), $"0x{d.Revision:x2}\n");
    File.WriteAllText(Path.Combine(dir, "subsystem_vendor"), $"0x{d.SubsystemVendorId:x4}\n");
    File.WriteAllText(Path.Combine(dir, "subsystem_device"), $"0x{d.SubsystemId:x4}\n");
    File.WriteAllText(Path.Combine(dir, "irq"), $"{d.Irq}\n");
    var lines = d.Bars.Select(Line).Append(Line(d.Rom)).Concat(Enumerable.Repeat(Line(default), 6));
    if (d.BridgeWindows is { } w) lines = lines.Concat(w.Select(Line));
    File.WriteAllText(Path.Combine(dir, "resource"), string.Concat(lines.Select(l => l + "\n")));
    if (d.IommuGroup is { } g)
    {
        string groupDir = Path.Combine(root, "kernel", "iommu_groups", g.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(groupDir);
        File.CreateSymbolicLink(Path.Combine(dir, "iommu_group"), Path.GetRelativePath(dir, groupDir)); // lspci resolves it relative to the device
    }
    File.CreateSymbolicLink(Path.Combine(devicesDir, d.Bdf.ToString()), dir);
}
return 0;
