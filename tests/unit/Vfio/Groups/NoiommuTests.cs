using VfioSim.Tests.Unit.Sysfs;
using VfioSim.Tests.Unit.VfioScenarios;
using VfioSim.Uapi;

namespace VfioSim.Tests.Unit.VfioGroups;

/// <summary>
/// vfio.enable_unsafe_noiommu_mode on a machine without an IOMMU (drivers/vfio/group.c vfio_noiommu_group_alloc(),
/// container.c vfio_noiommu_ops): fake groups at /dev/vfio/noiommu-N, CAP_SYS_RAWIO everywhere, no DMA API.
/// </summary>
public class NoiommuTests
{
    private const string Edu = "0000:01:00.0", Edu2 = "0000:02:00.0";

    private static VfioScenario NoIommuMachine(bool unsafeMode = true) => new(SysfsMachines.FromText($"""
        -device pcie-root-port,id=rp1,bus=pcie.0,addr=02.0,chassis=1,slot=1
        -device edu,id=edu0,bus=rp1,addr=00.0
        -device pcie-root-port,id=rp2,bus=pcie.0,addr=03.0,chassis=2,slot=2
        -device edu,id=edu1,bus=rp2,addr=00.0
        -append "intel_iommu=off{(unsafeMode ? " vfio.enable_unsafe_noiommu_mode=1" : "")}"
        """));

    private static int Open(VfioScenario s, string path) => s.Process.Open(path, OpenFlags.ReadWrite);

    private static long SetContainer(VfioScenario s, int group, int container)
    {
        s.Arg.Put(container);
        return s.Process.Ioctl(group, VfioUapi.GROUP_SET_CONTAINER, s.Arg.Address);
    }

    /// <summary>edu bound to vfio-pci, noiommu-0 opened and in a container; SET_IOMMU(8) done when asked.</summary>
    private static (VfioScenario S, int Container, int Group) NoiommuContainer(bool setIommu)
    {
        var s = NoIommuMachine();
        Assert.That(s.BindToVfio(Edu), Is.Zero);
        int container = Open(s, "/dev/vfio/vfio");
        int group = Open(s, "/dev/vfio/noiommu-0");
        Assert.That(SetContainer(s, group, container), Is.Zero);
        if (setIommu) Assert.That(s.Process.Ioctl(container, VfioUapi.SET_IOMMU, VfioUapi.NOIOMMU_IOMMU), Is.Zero);
        return (s, container, group);
    }

    [Test]
    public void Without_the_mode_vfio_pci_refuses_a_device_without_an_iommu_group_with_EINVAL() =>
        Assert.That(NoIommuMachine(unsafeMode: false).BindToVfio(Edu), Is.EqualTo(-Errno.EINVAL));

    [Test]
    public void Binding_in_noiommu_mode_creates_a_noiommu_group_node_per_device()
    {
        var s = NoIommuMachine();
        Assert.That(s.BindToVfio(Edu), Is.Zero);
        Assert.That(s.BindToVfio(Edu2), Is.Zero);
        Assert.That(s.Machine.Vfio.Nodes(), Is.EqualTo(new[] { "vfio", "noiommu-0", "noiommu-1" }));
    }

    [Test]
    public void The_noiommu_group_node_goes_when_its_device_is_unbound()
    {
        var s = NoIommuMachine();
        Assert.That(s.BindToVfio(Edu), Is.Zero);
        s.Machine.Drivers.Release(s.Dev(Edu));
        Assert.That(s.Machine.Vfio.Nodes(), Is.EqualTo(new[] { "vfio" }));
    }

    [Test]
    public void Opening_a_noiommu_group_without_cap_sys_rawio_is_EPERM()
    {
        var s = NoIommuMachine();
        Assert.That(s.BindToVfio(Edu), Is.Zero);
        s.Process.CapSysRawio = false;
        Assert.That(Open(s, "/dev/vfio/noiommu-0"), Is.EqualTo(-Errno.EPERM));
    }

    [Test]
    public void A_noiommu_group_is_not_reachable_by_its_number_alone()
    {
        var s = NoIommuMachine();
        Assert.That(s.BindToVfio(Edu), Is.Zero);
        Assert.That(Open(s, "/dev/vfio/0"), Is.EqualTo(-Errno.ENOENT));
    }

    [TestCase(true, 1)]
    [TestCase(false, 0)]
    public void Check_extension_noiommu_answers_1_only_in_noiommu_mode(bool unsafeMode, int expected)
    {
        var s = NoIommuMachine(unsafeMode);
        int container = Open(s, "/dev/vfio/vfio");
        Assert.That(s.Process.Ioctl(container, VfioUapi.CHECK_EXTENSION, VfioUapi.NOIOMMU_IOMMU), Is.EqualTo(expected));
    }

    [Test]
    public void A_noiommu_container_answers_only_the_noiommu_extension()
    {
        var (s, container, _) = NoiommuContainer(setIommu: false);
        Assert.Multiple(() =>
        {
            Assert.That(s.Process.Ioctl(container, VfioUapi.CHECK_EXTENSION, VfioUapi.TYPE1v2_IOMMU), Is.Zero);
            Assert.That(s.Process.Ioctl(container, VfioUapi.CHECK_EXTENSION, VfioUapi.NOIOMMU_IOMMU), Is.EqualTo(1));
        });
    }

    [Test]
    public void Set_iommu_noiommu_without_cap_sys_rawio_is_EPERM()
    {
        var (s, container, _) = NoiommuContainer(setIommu: false);
        s.Process.CapSysRawio = false;
        Assert.That(s.Process.Ioctl(container, VfioUapi.SET_IOMMU, VfioUapi.NOIOMMU_IOMMU), Is.EqualTo(-Errno.EPERM));
    }

    [Test]
    public void Set_iommu_type1_on_a_noiommu_container_is_ENODEV()
    {
        var (s, container, _) = NoiommuContainer(setIommu: false);
        Assert.That(s.Process.Ioctl(container, VfioUapi.SET_IOMMU, VfioUapi.TYPE1v2_IOMMU), Is.EqualTo(-Errno.ENODEV));
    }

    [Test]
    public void After_set_iommu_noiommu_every_other_container_ioctl_is_ENOTTY()
    {
        var (s, container, _) = NoiommuContainer(setIommu: true);
        s.Arg.Put(new VfioIommuType1DmaMap { Argsz = 32, Flags = 3, Vaddr = s.Arg.Address, Iova = 0, Size = 4096 });
        Assert.Multiple(() =>
        {
            Assert.That(s.Process.Ioctl(container, VfioUapi.IOMMU_MAP_DMA, s.Arg.Address), Is.EqualTo(-Errno.ENOTTY));
            Assert.That(s.Process.Ioctl(container, VfioUapi.IOMMU_GET_INFO, s.Arg.Address), Is.EqualTo(-Errno.ENOTTY));
            Assert.That(s.Process.Ioctl(container, VfioUapi.SET_IOMMU, VfioUapi.NOIOMMU_IOMMU), Is.EqualTo(-Errno.EINVAL), "backend set once");
        });
    }

    [Test]
    public void Set_container_of_a_noiommu_group_without_cap_sys_rawio_is_EPERM()
    {
        var s = NoIommuMachine();
        Assert.That(s.BindToVfio(Edu), Is.Zero);
        int container = Open(s, "/dev/vfio/vfio");
        int group = Open(s, "/dev/vfio/noiommu-0");
        s.Process.CapSysRawio = false;
        Assert.That(SetContainer(s, group, container), Is.EqualTo(-Errno.EPERM));
    }

    /// <summary>
    /// A machine with an IOMMU and the mode on: edu's real group in a type1v2 container, and a fake noiommu group
    /// for edu2 (built directly: every device of a simulated IOMMU machine has a group), opened as an fd.
    /// </summary>
    private static (VfioScenario S, int RealGroup, int NoiommuGroup) RealAndFakeGroups()
    {
        var s = new VfioScenario(SysfsMachines.FromText("""
            -device pcie-root-port,id=rp1,bus=pcie.0,addr=02.0,chassis=1,slot=1
            -device edu,id=edu0,bus=rp1,addr=00.0
            -device pcie-root-port,id=rp2,bus=pcie.0,addr=03.0,chassis=2,slot=2
            -device edu,id=edu1,bus=rp2,addr=00.0
            -append "intel_iommu=on vfio.enable_unsafe_noiommu_mode=1"
            """));
        Assert.That(s.BindToVfio(Edu), Is.Zero);
        Assert.That(s.BindToVfio(Edu2), Is.Zero);
        var fake = new VfioSim.Vfio.VfioGroup(s.Machine, 99, s.Dev(Edu2));
        var file = fake.Open(s.Process, out int errno);
        Assert.That(errno, Is.Zero);
        return (s, s.GroupFd(Edu), s.Process.Install(file!, OpenFlags.ReadWrite));
    }

    [Test]
    public void A_noiommu_group_cannot_join_a_container_of_real_groups_EPERM()
    {
        var (s, _, fake) = RealAndFakeGroups();
        Assert.That(SetContainer(s, fake, s.ContainerFd), Is.EqualTo(-Errno.EPERM));
    }

    [Test]
    public void A_real_group_cannot_join_a_container_of_noiommu_groups_EPERM()
    {
        var (s, real, fake) = RealAndFakeGroups();
        Assert.That(s.Process.Ioctl(real, VfioUapi.GROUP_UNSET_CONTAINER, 0), Is.Zero);
        int container = Open(s, "/dev/vfio/vfio");
        Assert.That(SetContainer(s, fake, container), Is.Zero);
        Assert.That(SetContainer(s, real, container), Is.EqualTo(-Errno.EPERM));
    }

    [Test]
    public void A_noiommu_device_fd_has_regions_config_and_bar_mmap()
    {
        var (s, _, group) = NoiommuContainer(setIommu: true);
        s.Arg.PutBytes(System.Text.Encoding.ASCII.GetBytes(Edu + "\0"));
        long fd = s.Process.Ioctl(group, VfioUapi.GROUP_GET_DEVICE_FD, s.Arg.Address);
        Assert.That(fd, Is.GreaterThanOrEqualTo(0));
        using var edu = new VfioSim.Driver.VfioDevice(s.Process, (int)fd, Edu);
        using var bar0 = edu.MapBar(0);
        Assert.That(bar0.Read32(0x00), Is.EqualTo(0x010000ed));
    }

    [Test]
    public void Get_device_fd_of_a_noiommu_group_before_set_iommu_is_EINVAL()
    {
        var (s, _, group) = NoiommuContainer(setIommu: false);
        s.Arg.PutBytes(System.Text.Encoding.ASCII.GetBytes(Edu + "\0"));
        Assert.That(s.Process.Ioctl(group, VfioUapi.GROUP_GET_DEVICE_FD, s.Arg.Address), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Get_device_fd_of_a_noiommu_device_without_cap_sys_rawio_is_EPERM()
    {
        var (s, _, group) = NoiommuContainer(setIommu: true);
        s.Process.CapSysRawio = false;
        s.Arg.PutBytes(System.Text.Encoding.ASCII.GetBytes(Edu + "\0"));
        Assert.That(s.Process.Ioctl(group, VfioUapi.GROUP_GET_DEVICE_FD, s.Arg.Address), Is.EqualTo(-Errno.EPERM));
    }

    [Test]
    public void Hot_reset_info_of_a_noiommu_device_is_EPERM_as_it_has_no_iommu_group()
    {
        var (s, _, group) = NoiommuContainer(setIommu: true);
        s.Arg.PutBytes(System.Text.Encoding.ASCII.GetBytes(Edu + "\0"));
        int fd = (int)s.Process.Ioctl(group, VfioUapi.GROUP_GET_DEVICE_FD, s.Arg.Address);
        s.Arg.Put(new VfioPciHotResetInfo { Argsz = 4096 });
        Assert.That(s.Process.Ioctl(fd, VfioUapi.DEVICE_GET_PCI_HOT_RESET_INFO, s.Arg.Address), Is.EqualTo(-Errno.EPERM));
    }

    [Test]
    public void A_noiommu_group_is_viable_before_it_joins_a_container()
    {
        var s = NoIommuMachine();
        Assert.That(s.BindToVfio(Edu), Is.Zero);
        int group = Open(s, "/dev/vfio/noiommu-0");
        s.Arg.Put(new VfioGroupStatus { Argsz = 8 });
        Assert.That(s.Process.Ioctl(group, VfioUapi.GROUP_GET_STATUS, s.Arg.Address), Is.Zero);
        Assert.That(s.Arg.Get<VfioGroupStatus>().Flags, Is.EqualTo(VfioUapi.GROUP_FLAGS_VIABLE));
    }
}
