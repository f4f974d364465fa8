using VfioSim.Iommu;
using VfioSim.Tests.Unit.Sysfs;
using VfioSim.Uapi;
using VfioSim.Vfio;
using VfioSim.Vfio.Sysfs;

namespace VfioSim.Tests.Unit.Drivers;

/// <summary>Helpers for the driver-core tests: the driver a device's sysfs link names, and writes that must succeed.</summary>
internal static class DriverMachines
{
    /// <summary>
    /// The driver named by /sys/bus/pci/devices/BDF/driver (readlink's last component), or null when the link is
    /// absent (ENOENT).
    /// </summary>
    public static string? DriverLink(this SysfsTree sysfs, string bdf)
    {
        var (target, errno) = sysfs.ReadLink($"/sys/bus/pci/devices/{bdf}/driver");
        if (errno == Errno.ENOENT) return null;
        Assert.That(errno, Is.Zero, $"readlink of {bdf}'s driver");
        Assert.That(target, Does.StartWith("../"), "driver links are relative");
        return target![(target.LastIndexOf('/') + 1)..];
    }

    /// <summary>echo -n TEXT &gt; PATH; fails the test on an errno.</summary>
    public static void Echo(this SysfsTree sysfs, string path, string text) =>
        Assert.That(Errno.Name(sysfs.Write(path, text)), Is.EqualTo(Errno.Name(0)), $"writing '{text.TrimEnd()}' to {path}");

    /// <summary>The errno of a write, by name ("errno 0" for success), so failures read well.</summary>
    public static string WriteErrno(this SysfsTree sysfs, string path, string text) => Errno.Name(sysfs.Write(path, text));

    /// <summary>The IOMMU group of the device at <paramref name="bdf"/>.</summary>
    public static IommuGroup GroupOf(this Machine m, string bdf) => m.Groups.GroupOf(m.Topology.Get(bdf))!;

    public static Machine Q1() => SysfsMachines.Q1();

    public static Machine Q2() => SysfsMachines.Q2();
}
