using VfioSim.Pci;
using VfioSim.Tests.Unit.Sysfs;
using VfioSim.Vfio;

namespace VfioSim.Tests.Unit.Drivers;

/// <summary>
/// Drivers of SR-IOV VFs (q2's nvme PFs 08:00.0 and 09:00.0): a VF is probed as it appears, goes to nvme like its
/// PF, or to vfio-pci when the PF is on vfio-pci (vfio_pci_bus_notifier() sets its driver_override).
/// </summary>
public class SriovDriverTests
{
    private const string Pf = "0000:08:00.0";

    private static void EnableVfs(Machine m, string pf, int n) =>
        Assert.That(Sriov.SetNumVfs(m.Topology, m.Topology.Get(pf), n, out _), Is.EqualTo(SriovStatus.Ok));

    private static Machine PfOnVfioPci()
    {
        var m = DriverMachines.Q2();
        m.Sysfs.Echo("/sys/bus/pci/drivers/nvme/unbind", Pf);
        m.Sysfs.Echo($"/sys/bus/pci/devices/{Pf}/driver_override", "vfio-pci");
        m.Sysfs.Echo("/sys/bus/pci/drivers_probe", Pf);
        return m;
    }

    [Test]
    public void Vfs_of_a_pf_on_nvme_bind_to_nvme()
    {
        var m = DriverMachines.Q2();
        EnableVfs(m, Pf, 2);
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.DriverLink("0000:08:00.1"), Is.EqualTo("nvme"));
            Assert.That(m.Sysfs.DriverLink("0000:08:00.2"), Is.EqualTo("nvme"));
            Assert.That(m.Sysfs.Cat("/sys/bus/pci/devices/0000:08:00.1/driver_override"), Is.EqualTo("(null)\n"));
        });
    }

    [Test]
    public void Vfs_of_a_pf_on_vfio_pci_get_a_vfio_pci_override_and_bind_to_it()
    {
        var m = PfOnVfioPci();
        EnableVfs(m, Pf, 2);
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.DriverLink("0000:08:00.1"), Is.EqualTo("vfio-pci"));
            Assert.That(m.Sysfs.DriverLink("0000:08:00.2"), Is.EqualTo("vfio-pci"));
            Assert.That(m.Sysfs.Cat("/sys/bus/pci/devices/0000:08:00.2/driver_override"), Is.EqualTo("vfio-pci\n"));
        });
    }

    [Test]
    public void Vfio_pci_refuses_a_pf_whose_vfs_are_enabled_with_EBUSY()
    {
        var m = DriverMachines.Q2();
        EnableVfs(m, Pf, 2);
        m.Sysfs.Echo("/sys/bus/pci/drivers/nvme/unbind", Pf);
        m.Sysfs.Echo($"/sys/bus/pci/devices/{Pf}/driver_override", "vfio-pci");
        Assert.That(m.Sysfs.WriteErrno("/sys/bus/pci/drivers/vfio-pci/bind", Pf), Is.EqualTo("EBUSY"));
    }

    [Test]
    public void Unbinding_vfio_pci_from_a_pf_disables_its_vfs()
    {
        var m = PfOnVfioPci();
        EnableVfs(m, Pf, 2);
        m.Sysfs.Echo("/sys/bus/pci/drivers/vfio-pci/unbind", Pf);
        Assert.Multiple(() =>
        {
            Assert.That(m.Topology.Find(Bdf.Parse("0000:08:00.1")), Is.Null);
            Assert.That(m.Sysfs.Ls("/sys/bus/pci/drivers/vfio-pci"), Has.None.StartsWith("0000:"));
        });
    }

    [Test]
    public void Removing_vfs_releases_their_drivers_and_dma_references()
    {
        // q2 group 4 holds root port 00:05.0, PF 09:00.0 and, once enabled, its VFs: nvme on three of them.
        var m = DriverMachines.Q2();
        var group = m.Groups.GroupOf(m.Topology.Get("0000:09:00.0"))!;
        EnableVfs(m, "0000:09:00.0", 2);
        Assert.That(m.DmaOwnership.OwnerCount(group), Is.EqualTo(3));
        EnableVfs(m, "0000:09:00.0", 0);
        Assert.Multiple(() =>
        {
            Assert.That(m.DmaOwnership.OwnerCount(group), Is.EqualTo(1));
            Assert.That(m.Sysfs.Ls("/sys/bus/pci/drivers/nvme"), Has.None.StartsWith("0000:09:00.1"));
        });
    }

    [Test]
    public void With_sriov_drivers_autoprobe_off_new_vfs_stay_unbound()
    {
        var m = DriverMachines.Q2();
        m.Sysfs.Echo($"/sys/bus/pci/devices/{Pf}/sriov_drivers_autoprobe", "0\n");
        EnableVfs(m, Pf, 2);
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.Cat($"/sys/bus/pci/devices/{Pf}/sriov_drivers_autoprobe"), Is.EqualTo("0\n"));
            Assert.That(m.Sysfs.DriverLink("0000:08:00.1"), Is.Null);
            Assert.That(m.Sysfs.WriteErrno("/sys/bus/pci/drivers/nvme/bind", "0000:08:00.1"), Is.EqualTo("ENODEV"));
        });
    }

    [Test]
    public void With_sriov_drivers_autoprobe_off_a_vf_binds_through_driver_override()
    {
        var m = DriverMachines.Q2();
        m.Sysfs.Echo($"/sys/bus/pci/devices/{Pf}/sriov_drivers_autoprobe", "n");
        EnableVfs(m, Pf, 1);
        m.Sysfs.Echo("/sys/bus/pci/devices/0000:08:00.1/driver_override", "vfio-pci");
        m.Sysfs.Echo("/sys/bus/pci/drivers_probe", "0000:08:00.1");
        Assert.That(m.Sysfs.DriverLink("0000:08:00.1"), Is.EqualTo("vfio-pci"));
    }

    [TestCase("on", "1\n")]
    [TestCase("off", "0\n")]
    [TestCase("Y", "1\n")]
    [TestCase("false", "0\n")]
    public void Sriov_drivers_autoprobe_takes_kstrtobool_words(string text, string shown)
    {
        var m = DriverMachines.Q2();
        m.Sysfs.Echo($"/sys/bus/pci/devices/{Pf}/sriov_drivers_autoprobe", "0");
        m.Sysfs.Echo($"/sys/bus/pci/devices/{Pf}/sriov_drivers_autoprobe", text);
        Assert.That(m.Sysfs.Cat($"/sys/bus/pci/devices/{Pf}/sriov_drivers_autoprobe"), Is.EqualTo(shown));
    }

    [TestCase("2")]
    [TestCase("o")]
    [TestCase("")]
    public void Sriov_drivers_autoprobe_refuses_other_text_with_EINVAL(string text)
    {
        Assert.That(DriverMachines.Q2().Sysfs.WriteErrno($"/sys/bus/pci/devices/{Pf}/sriov_drivers_autoprobe", text + "\0"),
            Is.EqualTo("EINVAL"));
    }
}
