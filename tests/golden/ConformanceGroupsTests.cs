using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;

namespace VfioSim.Tests.Golden;

/// <summary>
/// Groups measured on real Linux kernels (tests/data/conformance, copied from shared/conformance): the simulator
/// must print exactly what /sys/kernel/iommu_groups held for the same QEMU machine.
/// </summary>
public class ConformanceGroupsTests
{
    private static string Data(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "conformance", name);

    /// <summary>The group lines of a .groups file between two comment markers (null = from the start / to the end).</summary>
    private static string Expected(string file, string? fromComment = null, string? toComment = null)
    {
        var lines = File.ReadAllLines(Data(file));
        int start = fromComment is null ? 0 : Array.FindIndex(lines, l => l.StartsWith(fromComment, StringComparison.Ordinal)) + 1;
        int end = toComment is null ? lines.Length : Array.FindIndex(lines, l => l.StartsWith(toComment, StringComparison.Ordinal));
        return string.Concat(lines[start..end].Where(l => !l.StartsWith('#') && l.Length > 0).Select(l => l + "\n"));
    }

    private static IommuGroups Groups(string qemuFile) => new(MachineLoader.Load(Data(qemuFile)));

    [Test]
    public void Q1_standard_topology_matches_linux_6_1_and_6_12()
    {
        Assert.That(Groups("q1.qemu").ToKernelFormat(), Is.EqualTo(Expected("q1.groups")));
    }

    [Test]
    public void Q2_boot_groups_match_linux_6_12()
    {
        Assert.That(Groups("q2.qemu").ToKernelFormat(), Is.EqualTo(Expected("q2.groups", "# at boot", "# after")));
    }

    [Test]
    public void Q2_after_enabling_two_vfs_on_each_nvme_pf_matches_linux_6_12()
    {
        var groups = Groups("q2.qemu");
        var topology = groups.Topology;
        Assert.Multiple(() =>
        {
            Assert.That(Sriov.SetNumVfs(topology, topology.Get("0000:08:00.0"), 2, out _), Is.EqualTo(SriovStatus.Ok));
            Assert.That(Sriov.SetNumVfs(topology, topology.Get("0000:09:00.0"), 2, out _), Is.EqualTo(SriovStatus.Ok));
        });
        // q2.groups lists only the changed and new groups after "# after"; the rest are the boot groups.
        var expected = Expected("q2.groups", "# at boot", "# after").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .ToDictionary(l => int.Parse(l[..l.IndexOf(':', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture));
        foreach (var l in Expected("q2.groups", "# after").Split('\n', StringSplitOptions.RemoveEmptyEntries))
            expected[int.Parse(l[..l.IndexOf(':', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture)] = l;
        var want = string.Concat(expected.OrderBy(kv => kv.Key).Select(kv => kv.Value + "\n"));
        Assert.That(groups.ToKernelFormat(), Is.EqualTo(want));
    }

    [Test]
    public void Q3_acs_kernel_parameters_match_linux_6_12()
    {
        Assert.That(Groups("q3.qemu").ToKernelFormat(), Is.EqualTo(Expected("q3.groups")));
    }

    [Test]
    public void Q3_acs_control_registers_match_the_measured_values()
    {
        var t = MachineLoader.Load(Data("q3.qemu"));
        ushort Ctrl(string bdf) { var f = t.Get(bdf); return f.Config.Read16(f.AcsCap + PciRegs.AcsCtrl); }
        Assert.Multiple(() =>
        {
            Assert.That(Ctrl("0000:00:02.0"), Is.EqualTo(0x0000), "disable_acs_redir works from the firmware value");
            Assert.That(Ctrl("0000:00:03.0"), Is.EqualTo(0x0000), "config_acs xxxxxx0 keeps firmware bits");
            Assert.That(Ctrl("0000:00:04.0"), Is.EqualTo(0x001d));
            Assert.That(Ctrl("0000:00:05.0"), Is.EqualTo(0x001d));
        });
    }
}
