using System.Text;
using VfioSim.Pci.MachineFiles;
using VfioSim.Vfio;
using VfioSim.Vfio.Sysfs;

namespace VfioSim.Tests.Unit.Sysfs;

/// <summary>Machines and read helpers shared by the sysfs tests.</summary>
internal static class SysfsMachines
{
    public static string Data(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "conformance", name);

    /// <summary>shared/conformance q1: root ports, a switch, a PCIe-to-PCI bridge, multi-function cards (iommu=pt).</summary>
    public static Machine Q1() => Machine.Load(Data("q1.qemu"));

    /// <summary>shared/conformance q2: two SR-IOV nvme PFs (08:00.0, 09:00.0) and a pxb-pcie root bus 0x80.</summary>
    public static Machine Q2() => Machine.Load(Data("q2.qemu"));

    /// <summary>A machine from .qemu text (with its own -append when given).</summary>
    public static Machine FromText(string text, bool dmaStrict = true) => new(QemuMachineFile.Parse(text).Boot(), dmaStrict);

    /// <summary>cat: the file's text; fails the test on an errno.</summary>
    public static string Cat(this SysfsTree sysfs, string path)
    {
        var (data, errno) = sysfs.ReadAll(path);
        Assert.That(errno, Is.Zero, $"reading {path}");
        return Encoding.ASCII.GetString(data);
    }

    /// <summary>readlink; fails the test on an errno.</summary>
    public static string Link(this SysfsTree sysfs, string path)
    {
        var (target, errno) = sysfs.ReadLink(path);
        Assert.That(errno, Is.Zero, $"readlink {path}");
        return target!;
    }

    /// <summary>ls: the entry names; fails the test on an errno.</summary>
    public static IReadOnlyList<string> Ls(this SysfsTree sysfs, string path)
    {
        var (names, errno) = sysfs.List(path);
        Assert.That(errno, Is.Zero, $"listing {path}");
        return names;
    }
}
