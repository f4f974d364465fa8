using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Pci.Devices;

namespace VfioSim.Tests.Unit;

public class SriovDisableTests
{
    /// <summary>A root port without ACS at 00:02.0 holding a PF with 4 VFs, and an endpoint below 00:03.0.</summary>
    private static (PciTopology T, PciFunction Port, PciFunction Pf, IommuGroups Groups) Enabled()
    {
        var t = new PciTopology();
        var root = t.AddRootBus(0, 0, "pcie.0");
        var port = t.Plug(root, 2 << 3, GenericDevice.Create(new GenericDeviceSpec { Kind = FunctionKind.RootPort }));
        var pf = t.Plug(port.Secondary!, 0, GenericDevice.Create(new GenericDeviceSpec { Sriov = new SriovSpec(4) }));
        var other = t.Plug(root, 3 << 3, GenericDevice.Create(new GenericDeviceSpec { Kind = FunctionKind.RootPort, AcsCapability = 0x5f }));
        t.Plug(other.Secondary!, 0, GenericDevice.Create(new GenericDeviceSpec()));
        var groups = new IommuGroups(t, explain: false);
        Sriov.SetNumVfs(t, pf, 4, out _);
        return (t, port, pf, groups);
    }

    [Test]
    public void Disabling_vfs_keeps_each_probe_index_equal_to_the_position_in_the_device_list()
    {
        var (t, _, pf, _) = Enabled();
        Sriov.SetNumVfs(t, pf, 0, out _);
        Assert.That(t.Functions.Select(f => f.ProbeIndex), Is.EqualTo(Enumerable.Range(0, t.Functions.Count)));
    }

    [Test]
    public void Disabling_vfs_leaves_their_shared_group_with_the_remaining_members_in_join_order()
    {
        var (t, port, pf, groups) = Enabled();
        Sriov.SetNumVfs(t, pf, 0, out _);
        Assert.That(groups.GroupOf(port)!.Devices, Is.EqualTo(new[] { port, pf }));
    }
}
