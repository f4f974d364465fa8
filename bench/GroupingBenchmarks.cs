using BenchmarkDotNet.Attributes;
using VfioSim.Iommu;
using VfioSim.Pci;

namespace VfioSim.Bench;

/// <summary>
/// The whole path from hardware to IOMMU groups on generated machines (<see cref="MachineGenerator"/>): build the
/// devices, Boot() (firmware bus numbering + Linux enumeration), new IommuGroups (probe every device found at
/// boot), then enable 256 VFs on each SR-IOV PF, each VF probed as it appears. Functions counts the VFs too.
/// The phase benchmarks are prefixes of <see cref="All"/>: a phase costs the difference of two rows.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 8)]
public class GroupingBenchmarks
{
    [Params(1_000, 10_000, 50_000)]
    public int Functions { get; set; }

    /// <summary>Build, boot, group, enable VFs; no reason text is kept (explain: false).</summary>
    [Benchmark(Baseline = true)]
    public IommuGroups All() => Run(explain: false);

    /// <summary>As <see cref="All"/>, explaining every decision (what <c>groups --explain</c> needs).</summary>
    [Benchmark]
    public IommuGroups AllExplained() => Run(explain: true);

    [Benchmark]
    public GeneratedMachine Build() => MachineGenerator.Generate(Functions);

    [Benchmark]
    public PciTopology BuildBoot()
    {
        var m = MachineGenerator.Generate(Functions);
        m.Topology.Boot();
        return m.Topology;
    }

    /// <summary>Build, boot, group, without enabling VFs.</summary>
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
