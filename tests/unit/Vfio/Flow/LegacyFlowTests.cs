using System.Text;
using VfioSim.Driver;
using VfioSim.Pci.MachineFiles;
using VfioSim.Uapi;
using Machine = VfioSim.Vfio.Machine;

namespace VfioSim.Tests.Unit.Flow;

/// <summary>
/// The legacy VFIO flow on the default machine's edu, driver-shaped: everything goes through <see cref="IKernel"/>
/// (sysfs writes, /dev/vfio, ioctls, mmap, loads and stores), the way a userspace driver does it on Linux.
/// </summary>
public class LegacyFlowTests
{
    private const string Edu = "0000:01:00.0";

    private static (Machine Machine, IKernel Kernel) Boot()
    {
        var machine = new Machine(MachineLoader.Default());
        return (machine, machine.CreateProcess("edu-driver"));
    }

    private static void Echo(IKernel k, string path, string text)
    {
        int fd = (int)VfioException.Check(k.Open(path, OpenFlags.WriteOnly), $"open({path})");
        VfioException.Check(k.Write(fd, Encoding.ASCII.GetBytes(text)), $"write({path})");
        k.Close(fd);
    }

    private static int BindToVfio(IKernel k, string bdf)
    {
        if (k.Readlink($"/sys/bus/pci/devices/{bdf}/driver", out var driver) > 0)
            Echo(k, $"/sys/bus/pci/drivers/{driver[(driver.LastIndexOf('/') + 1)..]}/unbind", bdf);
        Echo(k, $"/sys/bus/pci/devices/{bdf}/driver_override", "vfio-pci");
        Echo(k, "/sys/bus/pci/drivers_probe", bdf);
        VfioException.Check(k.Readlink($"/sys/bus/pci/devices/{bdf}/iommu_group", out var link), "readlink(iommu_group)");
        return int.Parse(link[(link.LastIndexOf('/') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The edu opened the standard way: bound to vfio-pci, its group in a type1v2 container, a device fd.</summary>
    private sealed class EduSession : IDisposable
    {
        public EduSession()
        {
            (Machine, Kernel) = Boot();
            GroupId = BindToVfio(Kernel, Edu);
            Container = new VfioContainer(Kernel);
            Group = new VfioGroup(Kernel, GroupId);
            Group.SetContainer(Container);
            Container.SetIommu(VfioUapi.TYPE1v2_IOMMU);
            Device = new VfioDevice(Kernel, Group.GetDeviceFd(Edu), Edu);
        }

        public Machine Machine { get; }
        public IKernel Kernel { get; }
        public int GroupId { get; }
        public VfioContainer Container { get; }
        public VfioGroup Group { get; }
        public VfioDevice Device { get; }

        public void Dispose()
        {
            Device.Dispose();
            Group.Dispose();
            Container.Dispose();
        }
    }

    [Test]
    public void Edu_dma_round_trip_through_the_iommu_via_ikernel_only()
    {
        var (machine, k) = Boot();
        int groupId = BindToVfio(k, Edu);

        using var container = new VfioContainer(k);
        using var group = new VfioGroup(k, groupId);
        Assert.That(container.ApiVersion(), Is.Zero);
        Assert.That(container.CheckExtension(VfioUapi.TYPE1v2_IOMMU), Is.True);
        Assert.That(group.Viable, Is.True);
        group.SetContainer(container);
        container.SetIommu(VfioUapi.TYPE1v2_IOMMU);

        var info = container.GetInfo();
        Assert.That(info.IovaRanges, Is.EqualTo(new[] { new IovaRange(0, 0xfedfffff), new IovaRange(0xfef00000, 0x7fffffffff) }));
        var iovas = new IovaAllocator(info.IovaRanges, dmaMask: (1UL << 28) - 1);
        using var src = new DmaBuffer(k, container, iovas, 4096);
        using var dst = new DmaBuffer(k, container, iovas, 4096);
        var pattern = Enumerable.Range(0, 2048).Select(i => (byte)(i * 7 + 3)).ToArray();
        src.Write(pattern);

        using var edu = new VfioDevice(k, group.GetDeviceFd(Edu), Edu);
        Assert.That(edu.Flags, Is.EqualTo(VfioUapi.DEVICE_FLAGS_PCI | VfioUapi.DEVICE_FLAGS_RESET));
        using var bar0 = edu.MapBar(0);
        Assert.That(bar0.Read32(0x00), Is.EqualTo(0x010000ed));
        bar0.Write32(0x04, 0x12345678);
        Assert.That(bar0.Read32(0x04), Is.EqualTo(0xedcba987));

        edu.EnableBusMaster();
        // RAM -> device buffer, then device buffer -> RAM (edu's DMA engine, 100 ms each on the virtual clock)
        Transfer(k, bar0, src.Iova, 0x40000, 2048, toRam: false);
        Transfer(k, bar0, 0x40000, dst.Iova, 2048, toRam: true);

        Assert.Multiple(() =>
        {
            Assert.That(dst.Read(2048), Is.EqualTo(pattern));
            Assert.That(machine.Iommu.Faults, Is.Empty);
        });
    }

    private static void Transfer(IKernel k, MmioRegion bar0, ulong src, ulong dst, uint count, bool toRam)
    {
        bar0.Write64(0x80, src);
        bar0.Write64(0x88, dst);
        bar0.Write64(0x90, count);
        bar0.Write64(0x98, 0x1 | (toRam ? 0x2UL : 0));
        Span<PollFd> none = [];
        k.Poll(none, 150); // let 150 ms of virtual time pass
        Assert.That(bar0.Read64(0x98) & 1, Is.Zero, "the DMA command completed");
    }

    [Test]
    public void Edu_dma_to_an_unmapped_iova_faults_in_the_iommu_and_moves_nothing()
    {
        using var session = new EduSession();
        var (machine, k, edu) = (session.Machine, session.Kernel, session.Device);
        using var bar0 = edu.MapBar(0);
        edu.EnableBusMaster();
        Transfer(k, bar0, 0x40000, 0x900000, 16, toRam: true);
        Assert.That(machine.Iommu.Faults.Select(f => f.ToDmarLine()), Is.EqualTo(new[]
        {
            "DMAR: [DMA Write NO_PASID] Request device [01:00.0] fault addr 0x900000 [fault reason 0x05] PTE Write access is not set",
        }), "the line Linux 6.12 logged for the same transfer (REPORT.md §4)");
    }

    [Test]
    public void A_second_open_of_the_group_is_EBUSY_and_unset_with_a_device_open_is_EBUSY()
    {
        var (_, k) = Boot();
        int groupId = BindToVfio(k, Edu);
        using var container = new VfioContainer(k);
        using var group = new VfioGroup(k, groupId);
        Assert.That(k.Open($"/dev/vfio/{groupId}", OpenFlags.ReadWrite), Is.EqualTo(-Errno.EBUSY));
        group.SetContainer(container);
        container.SetIommu(VfioUapi.TYPE1v2_IOMMU);
        using var edu = new VfioDevice(k, group.GetDeviceFd(Edu), Edu);
        Assert.That(Assert.Throws<VfioException>(() => group.UnsetContainer())!.Errno, Is.EqualTo(Errno.EBUSY));
    }

    [Test]
    public void Errnos_measured_on_linux_6_12_for_the_container_and_group()
    {
        var (_, k) = Boot();
        int groupId = BindToVfio(k, Edu);
        using var container = new VfioContainer(k);
        using var group = new VfioGroup(k, groupId);
        int devnull = k.Open("/sys/bus/pci/devices/0000:01:00.0/vendor", OpenFlags.ReadOnly);
        Assert.Multiple(() =>
        {
            Assert.That(k.Ioctl(container.Fd, VfioUapi.SET_IOMMU, VfioUapi.TYPE1v2_IOMMU), Is.EqualTo(-Errno.EINVAL), "no group attached");
            Assert.That(k.Ioctl(container.Fd, VfioUapi.IOMMU_GET_INFO, 0), Is.EqualTo(-Errno.EINVAL), "before SET_IOMMU");
            Assert.That(Assert.Throws<VfioException>(() => group.GetDeviceFd(Edu))!.Errno, Is.EqualTo(Errno.EINVAL), "before SET_CONTAINER");
            Assert.That(k.Ioctl(group.Fd, VfioUapi.GROUP_UNSET_CONTAINER, 0), Is.EqualTo(-Errno.EINVAL), "not set");
        });
        var scratch = new UserBuffer(k, 4096);
        scratch.Put(devnull);
        Assert.That(k.Ioctl(group.Fd, VfioUapi.GROUP_SET_CONTAINER, scratch.Address), Is.EqualTo(-Errno.EBADFD), "6.12: EBADFD (6.1: EINVAL)");
        group.SetContainer(container);
        scratch.Put(container.Fd);
        Assert.Multiple(() =>
        {
            Assert.That(k.Ioctl(group.Fd, VfioUapi.GROUP_SET_CONTAINER, scratch.Address), Is.EqualTo(-Errno.EINVAL), "already set");
            Assert.That(Assert.Throws<VfioException>(() => group.GetDeviceFd(Edu))!.Errno, Is.EqualTo(Errno.EINVAL), "before SET_IOMMU");
            Assert.That(k.Ioctl(container.Fd, VfioUapi.SET_IOMMU, 77), Is.EqualTo(-Errno.ENODEV));
        });
        container.SetIommu(VfioUapi.TYPE1v2_IOMMU);
        Assert.Multiple(() =>
        {
            Assert.That(k.Ioctl(container.Fd, VfioUapi.SET_IOMMU, VfioUapi.TYPE1v2_IOMMU), Is.EqualTo(-Errno.EINVAL), "a second time");
            Assert.That(Assert.Throws<VfioException>(() => group.GetDeviceFd("0000:99:1f.7"))!.Errno, Is.EqualTo(Errno.ENODEV));
        });
    }

    [Test]
    public void A_group_with_a_device_bound_to_a_kernel_driver_is_not_viable_and_set_container_is_EPERM()
    {
        var (machine, k) = Boot();
        // the default machine's multi-function e1000e at 08:00.0/.1: bind .0 to vfio-pci, .1 stays on e1000e
        int groupId = BindToVfio(k, "0000:08:00.0");
        using var container = new VfioContainer(k);
        using var group = new VfioGroup(k, groupId);
        Assert.That(group.Status(), Is.Zero);
        var e = Assert.Throws<VfioException>(() => group.SetContainer(container,
            () => string.Join(", ", machine.DmaOwnership.DmaApiUsers(machine.Groups[groupId]!)) + " must be unbound"));
        Assert.Multiple(() =>
        {
            Assert.That(e!.Errno, Is.EqualTo(Errno.EPERM));
            Assert.That(e.Message, Does.Contain("0000:08:00.1 (e1000e)"));
        });
    }

    [Test]
    public void Hot_reset_info_with_only_a_header_is_ENOSPC_with_the_count_filled_in()
    {
        using var session = new EduSession();
        var (k, groupId, edu) = (session.Kernel, session.GroupId, session.Device);
        var arg = new UserBuffer(k, 4096);
        arg.Put(new VfioPciHotResetInfo { Argsz = 12 });
        Assert.Multiple(() =>
        {
            Assert.That(k.Ioctl(edu.Fd, VfioUapi.DEVICE_GET_PCI_HOT_RESET_INFO, arg.Address), Is.EqualTo(-Errno.ENOSPC));
            Assert.That(arg.Get<VfioPciHotResetInfo>().Count, Is.EqualTo(1), "REPORT.md §4: count=1 filled in");
        });
        arg.Put(new VfioPciHotResetInfo { Argsz = 20 });
        Assert.That(k.Ioctl(edu.Fd, VfioUapi.DEVICE_GET_PCI_HOT_RESET_INFO, arg.Address), Is.Zero);
        var entry = arg.Get<VfioPciDependentDevice>(12);
        Assert.That((entry.GroupIdOrDevid, entry.Bus, entry.Devfn), Is.EqualTo(((uint)groupId, (byte)1, (byte)0)));
    }

    [Test]
    public void Device_reset_succeeds_for_edu_alone_behind_its_root_port()
    {
        using var session = new EduSession();
        var (k, groupId, edu) = (session.Kernel, session.GroupId, session.Device);
        Assert.DoesNotThrow(edu.Reset);
    }

    [Test]
    public void Get_device_fd_with_an_empty_name_is_ENODEV_and_a_second_get_gives_a_new_fd()
    {
        // REPORT.md §4: GROUP_GET_DEVICE_FD "" → ENODEV; GROUP_GET_DEVICE_FD(bdf) a second time succeeds (new fd)
        using var session = new EduSession();
        Assert.Multiple(() =>
        {
            Assert.That(Assert.Throws<VfioException>(() => session.Group.GetDeviceFd(""))!.Errno, Is.EqualTo(Errno.ENODEV));
            int second = session.Group.GetDeviceFd(Edu);
            Assert.That(second, Is.Not.EqualTo(session.Device.Fd));
            Assert.That(session.Kernel.Close(second), Is.Zero);
        });
    }
}
