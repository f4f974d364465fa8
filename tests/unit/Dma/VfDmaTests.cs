using VfioSim.Iommu;
using VfioSim.Pci;

namespace VfioSim.Tests.Unit.Dma;

/// <summary>DMA of functions that appear after boot (SR-IOV VFs), and of devices whose requests carry an alias ID.</summary>
public class VfDmaTests
{
    private const ulong Iova = 0x100000;

    private static Vfio.Machine Q2WithVfs()
    {
        var m = DmaMachines.Q2();
        Assert.That(Sriov.SetNumVfs(m.Topology, m.Dev("0000:08:00.0"), 2, out _), Is.EqualTo(SriovStatus.Ok));
        return m;
    }

    [Test]
    public void A_vfs_dma_goes_through_the_domain_of_its_own_group()
    {
        var m = Q2WithVfs();
        var vf = m.Dev("0000:08:00.1").BusMaster();
        var buffer = DmaMachines.Pattern(0x1000);
        m.AttachUnmanaged(vf).Map(Iova, new MemoryTarget(buffer), 0, 0x1000, IommuPerm.Read);
        var got = new byte[0x1000];
        Assert.That(vf.Dma.Read(Iova, got), Is.True);
        Assert.That(got, Is.EqualTo(buffer));
    }

    [Test]
    public void Another_vf_of_the_same_pf_does_not_reach_that_domain()
    {
        var m = Q2WithVfs();
        m.AttachUnmanaged(m.Dev("0000:08:00.1")).Map(Iova, new MemoryTarget(DmaMachines.Pattern(0x1000)), 0, 0x1000, IommuPerm.Read);
        var other = m.Dev("0000:08:00.2").BusMaster(); // group 18, identity (iommu=pt): reads RAM at 0x100000
        var got = new byte[0x1000];
        Assert.That(other.Dma.Read(Iova, got), Is.True);
        Assert.That(got, Is.All.Zero);
    }

    [Test]
    public void A_vf_in_its_pfs_group_uses_the_domain_attached_to_that_group()
    {
        // q2: 09:00.0 sits below a root port without ACS; its VFs join group 4 with it.
        var m = DmaMachines.Q2();
        var pf = m.Dev("0000:09:00.0");
        Assert.That(Sriov.SetNumVfs(m.Topology, pf, 2, out _), Is.EqualTo(SriovStatus.Ok));
        var vf = m.Dev("0000:09:00.2").BusMaster();
        var buffer = DmaMachines.Pattern(0x1000);
        m.AttachUnmanaged(pf).Map(Iova, new MemoryTarget(buffer), 0, 0x1000, IommuPerm.Read);
        var got = new byte[16];
        Assert.That(vf.Dma.Read(Iova, got), Is.True);
        Assert.That(got, Is.EqualTo(buffer[..16]));
    }

    [Test]
    public void A_removed_vf_issues_no_more_dma()
    {
        var m = Q2WithVfs();
        var vf = m.Dev("0000:08:00.1").BusMaster();
        Assert.That(Sriov.SetNumVfs(m.Topology, m.Dev("0000:08:00.0"), 0, out _), Is.EqualTo(SriovStatus.Ok));
        Assert.That(vf.Dma.Read(Iova, new byte[4]), Is.False);
        Assert.That(vf.Dma.MasterAborts, Is.EqualTo(1));
    }

    [Test]
    public void Requester_id_aliasing_does_not_change_which_domain_translates()
    {
        // q2: edu 03:02.0 reaches the IOMMU as 02:00.0 (a bridge's alias); its group 12 (with the bridges) decides.
        var m = DmaMachines.Q2();
        var edu = m.Dev("0000:03:02.0").BusMaster();
        var buffer = DmaMachines.Pattern(0x1000);
        m.AttachUnmanaged(m.Dev("0000:01:00.0")).Map(Iova, new MemoryTarget(buffer), 0, 0x1000, IommuPerm.Read);
        var got = new byte[0x1000];
        Assert.That(edu.Dma.Read(Iova, got), Is.True);
        Assert.That(got, Is.EqualTo(buffer));
    }
}
