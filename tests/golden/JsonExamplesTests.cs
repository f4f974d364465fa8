using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;

namespace VfioSim.Tests.Golden;

/// <summary>The example JSON machines of examples/ load and give the groups their comments promise.</summary>
public class JsonExamplesTests
{
    private static IommuGroups Groups(string name) =>
        new(MachineLoader.Load(Path.Combine(TestContext.CurrentContext.TestDirectory, "examples", name)));

    [Test]
    public void Switch_with_acs_isolates_each_gpu_with_its_audio_function()
    {
        Assert.That(Groups("switch-with-acs.json").ToKernelFormat(), Is.EqualTo("""
            0: 0000:00:00.0
            1: 0000:00:01.0
            2: 0000:01:00.0
            3: 0000:02:08.0
            4: 0000:02:10.0
            5: 0000:03:00.0 0000:03:00.1
            6: 0000:04:00.0 0000:04:00.1

            """));
    }

    [Test]
    public void Haswell_desktop_groups_the_gpu_with_the_peg_port_and_isolates_pch_ports_by_quirk()
    {
        Assert.That(Groups("haswell-desktop.json").ToKernelFormat(), Is.EqualTo("""
            0: 0000:00:00.0
            1: 0000:00:01.0 0000:01:00.0 0000:01:00.1
            2: 0000:00:02.0
            3: 0000:00:14.0
            4: 0000:00:16.0
            5: 0000:00:1b.0
            6: 0000:00:1c.0
            7: 0000:00:1c.2
            8: 0000:00:1c.3
            9: 0000:00:1f.0 0000:00:1f.2 0000:00:1f.3
            10: 0000:02:00.0
            11: 0000:03:00.0
            12: 0000:04:00.0 0000:05:00.0

            """));
    }

    [Test]
    public void Server_groups_vmd_domain_with_the_vmd_endpoint_and_gives_each_vf_its_own_group()
    {
        var groups = Groups("server-sriov-vmd.json");
        var t = groups.Topology;
        Assert.Multiple(() =>
        {
            Assert.That(Sriov.SetNumVfs(t, t.Get("0000:01:00.0"), 4, out _), Is.EqualTo(SriovStatus.Ok));
            Assert.That(Sriov.SetNumVfs(t, t.Get("0000:01:00.1"), 4, out _), Is.EqualTo(SriovStatus.Ok));
        });
        Assert.That(groups.ToKernelFormat(), Is.EqualTo("""
            0: 0000:00:02.0
            1: 0000:00:0e.0 0001:00:00.0 0001:00:01.0 0001:01:00.0 0001:02:00.0
            2: 0000:01:00.0
            3: 0000:01:00.1
            4: 0000:80:01.0
            5: 0000:81:00.0
            6: 0000:01:02.0
            7: 0000:01:02.1
            8: 0000:01:02.2
            9: 0000:01:02.3
            10: 0000:01:02.4
            11: 0000:01:02.5
            12: 0000:01:02.6
            13: 0000:01:02.7

            """));
    }
}
