using VfioSim.Uapi;
using VfioSim.Pci;
using VfioSim.Vfio;

namespace VfioSim.Tests.Unit.Sysfs;

/// <summary>SR-IOV in sysfs (drivers/pci/iov.c): PF attributes, VF links, and VFs joining and leaving groups.</summary>
public class SriovSysfsTests
{
    private const string Pf = "/sys/bus/pci/devices/0000:08:00.0/"; // q2: nvme with sriov_max_vfs=2 behind rpC

    private static Machine WithVfs()
    {
        var m = SysfsMachines.Q2();
        Assert.That(Sriov.SetNumVfs(m.Topology, m.Topology.Get("0000:08:00.0"), 2, out _), Is.EqualTo(SriovStatus.Ok));
        return m;
    }

    [TestCase("sriov_totalvfs", "2\n")]
    [TestCase("sriov_numvfs", "0\n")]
    [TestCase("sriov_offset", "1\n")]
    [TestCase("sriov_stride", "1\n")]
    [TestCase("sriov_vf_device", "10\n")]
    [TestCase("sriov_drivers_autoprobe", "1\n")]
    [TestCase("sriov_vf_total_msix", "0\n")]
    public void Pf_shows_the_sriov_attributes_in_decimal_and_vf_device_in_bare_hex(string name, string expected)
    {
        Assert.That(SysfsMachines.Q2().Sysfs.Cat(Pf + name), Is.EqualTo(expected));
    }

    [Test]
    public void Sriov_numvfs_reads_the_number_of_enabled_vfs()
    {
        Assert.That(WithVfs().Sysfs.Cat(Pf + "sriov_numvfs"), Is.EqualTo("2\n"));
    }

    [Test]
    public void A_function_without_sriov_has_no_sriov_files()
    {
        Assert.That(SysfsMachines.Q2().Sysfs.Ls("/sys/bus/pci/devices/0000:0a:00.0"), Has.None.StartsWith("sriov_"));
    }

    [Test]
    public void A_pf_behind_a_conventional_bridge_shows_no_sriov_files()
    {
        // Behind a PCIe-to-PCI bridge the function has 256 bytes of config space: the SR-IOV capability is unreachable.
        var m = SysfsMachines.FromText("""
            -device pcie-root-port,id=rp,bus=pcie.0,addr=02.0,chassis=1,slot=1
            -device pcie-pci-bridge,id=ppb,bus=rp,addr=00.0
            -device nvme-subsys,id=ss,nqn=ss
            -device nvme,bus=ppb,addr=01.0,serial=x,subsys=ss,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2
            """);
        Assert.That(m.Sysfs.Ls("/sys/bus/pci/devices/0000:02:01.0"), Has.None.StartsWith("sriov_"));
    }

    [Test]
    public void Vfs_appear_as_siblings_of_the_pf_with_physfn_and_virtfn_links()
    {
        var m = WithVfs();
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.RealPath("/sys/bus/pci/devices/0000:08:00.1").Path,
                Is.EqualTo("/sys/devices/pci0000:00/0000:00:04.0/0000:08:00.1"));
            Assert.That(m.Sysfs.Link(Pf + "virtfn0"), Is.EqualTo("../0000:08:00.1"));
            Assert.That(m.Sysfs.Link(Pf + "virtfn1"), Is.EqualTo("../0000:08:00.2"));
            Assert.That(m.Sysfs.Link("/sys/bus/pci/devices/0000:08:00.2/physfn"), Is.EqualTo("../0000:08:00.0"));
        });
    }

    [Test]
    public void Vf_vendor_and_device_come_from_the_pf_while_its_config_reads_ffff_ids()
    {
        var m = WithVfs();
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.Cat("/sys/bus/pci/devices/0000:08:00.1/vendor"), Is.EqualTo("0x1b36\n"));
            Assert.That(m.Sysfs.Cat("/sys/bus/pci/devices/0000:08:00.1/device"), Is.EqualTo("0x0010\n"));
            Assert.That(m.Sysfs.ReadAll("/sys/bus/pci/devices/0000:08:00.1/config").Data.Take(4), Is.EqualTo(new byte[] { 0xff, 0xff, 0xff, 0xff }));
        });
    }

    [Test]
    public void Vfs_appear_in_new_groups_after_enabling()
    {
        // q2.groups: after enabling 2 VFs on 08:00.0, groups 17 and 18 hold 08:00.1 and 08:00.2.
        var m = WithVfs();
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.Ls("/sys/kernel/iommu_groups/17/devices"), Is.EqualTo(new[] { "0000:08:00.1" }));
            Assert.That(m.Sysfs.Ls("/sys/kernel/iommu_groups/18/devices"), Is.EqualTo(new[] { "0000:08:00.2" }));
            Assert.That(m.Sysfs.Link("/sys/bus/pci/devices/0000:08:00.1/iommu_group"), Is.EqualTo("../../../../kernel/iommu_groups/17"));
        });
    }

    [Test]
    public void Vfs_behind_a_port_without_acs_join_the_port_group()
    {
        // q2.groups: 09:00.0 sits below rpD (disable-acs=on); its VFs join group 4.
        var m = SysfsMachines.Q2();
        Sriov.SetNumVfs(m.Topology, m.Topology.Get("0000:09:00.0"), 2, out _);
        Assert.That(m.Sysfs.Ls("/sys/kernel/iommu_groups/4/devices"),
            Is.EquivalentTo(new[] { "0000:00:05.0", "0000:09:00.0", "0000:09:00.1", "0000:09:00.2" }));
    }

    [Test]
    public void Disabling_vfs_removes_their_directories_links_and_emptied_groups()
    {
        var m = WithVfs();
        var vfDir = m.Sysfs.Lookup("/sys/bus/pci/devices/0000:08:00.1")!;
        Sriov.SetNumVfs(m.Topology, m.Topology.Get("0000:08:00.0"), 0, out _);
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.Ls("/sys/bus/pci/devices"), Has.None.StartsWith("0000:08:00.1").And.None.StartsWith("0000:08:00.2"));
            Assert.That(m.Sysfs.Ls(Pf), Has.None.StartsWith("virtfn"));
            Assert.That(m.Sysfs.Ls("/sys/kernel/iommu_groups"), Does.Not.Contain("17").And.Not.Contain("18"));
            Assert.That(vfDir.IsRemoved, Is.True);
            Assert.That(m.Sysfs.Cat(Pf + "sriov_numvfs"), Is.EqualTo("0\n"));
        });
    }

    [Test]
    public void A_removed_attribute_reads_ENODEV()
    {
        var m = WithVfs();
        var vendor = (Vfio.Sysfs.SysfsFile)m.Sysfs.Lookup("/sys/bus/pci/devices/0000:08:00.1/vendor")!;
        Sriov.SetNumVfs(m.Topology, m.Topology.Get("0000:08:00.0"), 0, out _);
        Assert.That(vendor.Read(0, new byte[16], capSysAdmin: true), Is.EqualTo(-Errno.ENODEV));
    }

    [Test]
    public void Vf_has_the_write_only_msix_count_file()
    {
        var (_, errno) = WithVfs().Sysfs.ReadAll("/sys/bus/pci/devices/0000:08:00.1/sriov_vf_msix_count");
        Assert.That(errno, Is.EqualTo(Errno.EACCES));
    }
}
