using BenchmarkDotNet.Attributes;
using VfioSim.Iommu;
using VfioSim.Pci;

namespace VfioSim.Bench;

/// <summary>
/// The whole path from hardware to IOMMU groups on generated machines: build the devices, Boot() (firmware bus
/// numbering + Linux enumeration), new IommuGroups (probe every device), then enable 256 VFs on each SR-IOV PF,
/// each VF probed as it appears. The function count includes the VFs.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class GroupingBenchmarks
{
    [Params(1_000, 10_000, 50_000)]
    public int Functions { get; set; }

    /// <summary>Build, boot, group, enable VFs; the reasons for each decision are not kept.</summary>
    [Benchmark(Baseline = true)]
    public IommuGroups All() => Run(explain: false);

    /// <summary>As <see cref="All"/>, with every group decision explained (the CLI's <c>groups --explain</c>).</summary>
    [Benchmark]
    public IommuGroups AllExplained() => Run(explain: true);

    // The phases below are cumulative prefixes of All, so that each phase's cost is the difference of two rows.

    [Benchmark]
    public GeneratedMachine Build() => MachineGenerator.Generate(Functions);

    [Benchmark]
    public PciTopology BuildBoot()
    {
        var m = MachineGenerator.Generate(Functions);
        m.Topology.Boot();
        return m.Topology;
    }

    [Benchmark]
    public IommuGroups BuildBootGroup()
    {
        var m = MachineGenerator.Generate(Functions);
        m.Topology.Boot();
        return new IommuGroups(m.Topology, explain: false);
    }

    private IommuGroups Run(bool explain)
    {
        var m = MachineGenerator.Generate(Functions);
        m.Topology.Boot();
        var groups = new IommuGroups(m.Topology, explain);
        m.EnableVfs();
        return groups;
    }
}
