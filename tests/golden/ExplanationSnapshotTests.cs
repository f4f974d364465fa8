using Snapshooter.NUnit;
using VfioSim.Iommu;
using VfioSim.Pci.MachineFiles;

namespace VfioSim.Tests.Golden;

/// <summary>
/// The explanation of every group of the built-in default machine, as a reviewed snapshot
/// (tests/golden/__snapshots__): wording changes show up in review instead of slipping through.
/// </summary>
public class ExplanationSnapshotTests
{
    [Test]
    public void Default_machine_groups_and_their_explanations()
    {
        var groups = new IommuGroups(MachineLoader.Default());
        var doc = groups.All.Select(g => new
        {
            Group = g.Id,
            Devices = g.SortedDevices.Select(d => new
            {
                Bdf = d.Bdf.ToString(),
                d.Model,
                Step = groups.DecisionFor(d)!.Step.ToString(),
                groups.DecisionFor(d)!.Reasons,
            }),
        });
        Snapshot.Match(doc);
    }
}
