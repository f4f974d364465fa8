using VfioSim.Bench;
using VfioSim.Iommu;
using VfioSim.Pci;

namespace VfioSim.Tests.Unit;

public class MachineGeneratorTests
{
    private static (GeneratedMachine Machine, IommuGroups Groups) Grouped(int functions)
    {
        var m = MachineGenerator.Generate(functions);
        var groups = new IommuGroups(m.Topology, explain: false);
        m.EnableVfs();
        return (m, groups);
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(300)]
    [TestCase(1_000)]
    [TestCase(1_257)]
    [TestCase(10_000)]
    public void Generated_machine_has_the_requested_number_of_functions_with_vfs_enabled(int functions)
    {
        Assert.That(Grouped(functions).Machine.Topology.Functions, Has.Count.EqualTo(functions));
    }

    [Test]
    public void Generated_machine_has_one_pf_with_256_vfs_per_thousand_functions()
    {
        var (m, _) = Grouped(10_000);
        Assert.That(m.PhysicalFunctions.Select(pf => pf.VirtFns.Count), Is.EqualTo(Enumerable.Repeat(256, 10)));
    }

    [Test]
    public void Generated_machine_spreads_over_several_pci_domains_once_bus_numbers_run_out()
    {
        var (m, _) = Grouped(10_000);
        Assert.That(m.Topology.Functions.Select(f => f.Bdf.Domain).Distinct().Count(), Is.GreaterThan(1));
    }

    [Test]
    public void Every_function_of_a_generated_machine_is_in_exactly_one_group()
    {
        var (m, groups) = Grouped(3_000);
        Assert.Multiple(() =>
        {
            Assert.That(m.Topology.Functions.Where(f => groups.GroupOf(f) is null), Is.Empty);
            Assert.That(groups.All.Sum(g => g.Devices.Count), Is.EqualTo(m.Topology.Functions.Count));
        });
    }

    [Test]
    public void Vfs_below_isolating_ports_each_get_a_group_of_their_own()
    {
        var (m, groups) = Grouped(3_000);
        var pf = m.PhysicalFunctions.First(p => Acs.PathEnabled(p.UpstreamBridge!, Acs.Required, m.Topology, out _));
        Assert.That(pf.VirtFns.Select(vf => groups.GroupOf(vf)!.Devices.Count), Is.All.EqualTo(1));
    }

    [Test]
    public void Switch_below_a_root_port_without_acs_is_one_group_with_the_port()
    {
        var (m, groups) = Grouped(3_000);
        var port = m.Topology.Functions.First(f => f.PcieType == PcieType.RootPort && f.AcsCap == 0);
        var below = m.Topology.Functions.Where(f => IsBelow(f, port)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(below, Has.Count.GreaterThan(32));
            Assert.That(below.Select(f => groups.GroupOf(f)).Distinct(), Is.EqualTo(new[] { groups.GroupOf(port) }));
        });
    }

    private static bool IsBelow(PciFunction f, PciFunction bridge)
    {
        for (var up = f.UpstreamBridge; up is not null; up = up.UpstreamBridge)
            if (up == bridge) return true;
        return false;
    }
}
