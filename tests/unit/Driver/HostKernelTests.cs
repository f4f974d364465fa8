using System.Buffers.Binary;
using VfioSim.Driver;
using VfioSim.Uapi;
using Machine = VfioSim.Vfio.Machine;

namespace VfioSim.Tests.Unit.Driver;

/// <summary>
/// The same syscall-level facts checked on the real kernel (HostKernel) and on the simulator (SimProcess):
/// what a driver relies on must hold on both. VFIO itself needs /dev/vfio, which this machine lacks; these cases
/// need only a Linux kernel.
/// </summary>
[TestFixture("host")]
[TestFixture("simulator")]
public class KernelParityTests(string backend)
{
    private IKernel kernel = null!;

    [SetUp]
    public void Start()
    {
        if (backend == "host" && !OperatingSystem.IsLinux()) Assert.Ignore("the host backend needs Linux");
        kernel = backend == "host" && OperatingSystem.IsLinux()
            ? new HostKernel()
            : new Machine(VfioSim.Pci.MachineFiles.MachineLoader.Default()).CreateProcess("parity");
    }

    [TearDown]
    public void Stop() => kernel.Dispose();

    [Test]
    public void Opening_a_missing_path_is_ENOENT()
    {
        Assert.That(kernel.Open("/sys/bus/pci/devices/ffff:ff:1f.7/vendor", OpenFlags.ReadOnly), Is.EqualTo(-Errno.ENOENT));
    }

    [Test]
    public void Closing_an_fd_that_is_not_open_is_EBADF()
    {
        Assert.That(kernel.Close(987), Is.EqualTo(-Errno.EBADF));
    }

    [Test]
    public void An_eventfd_counts_writes_and_a_nonblocking_read_at_zero_is_EAGAIN()
    {
        int fd = kernel.Eventfd(0, EventfdFlags.NonBlock);
        Assert.That(fd, Is.GreaterThanOrEqualTo(0));
        var one = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(one, 2);
        Assert.That(kernel.Write(fd, one), Is.EqualTo(8));
        var fds = new[] { new PollFd { Fd = fd, Events = PollEvents.In } };
        Assert.That(kernel.Poll(fds, 0), Is.EqualTo(1));
        var buf = new byte[8];
        Assert.Multiple(() =>
        {
            Assert.That(kernel.Read(fd, buf), Is.EqualTo(8));
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(buf), Is.EqualTo(2));
            Assert.That(kernel.Read(fd, buf), Is.EqualTo(-Errno.EAGAIN));
        });
        kernel.Close(fd);
    }

    [Test]
    public void A_vfio_ioctl_on_an_eventfd_is_ENOTTY()
    {
        int fd = kernel.Eventfd(0, EventfdFlags.None);
        Assert.That(kernel.Ioctl(fd, VfioUapi.GET_API_VERSION, 0), Is.EqualTo(-Errno.ENOTTY));
        kernel.Close(fd);
    }

    [Test]
    public void Anonymous_memory_is_zeroed_and_loads_see_stores()
    {
        long addr = kernel.Mmap(0, 8192, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous, -1, 0);
        Assert.That(addr, Is.GreaterThan(0));
        ulong a = (ulong)addr;
        Assert.That(kernel.Memory.Load64(a + 8), Is.Zero);
        kernel.Memory.Store32(a + 4, 0xfeedface);
        Assert.That(kernel.Memory.Load32(a + 4), Is.EqualTo(0xfeedface));
        Assert.That(kernel.Munmap(a, 8192), Is.Zero);
    }

    [Test]
    public void Mmap_without_shared_or_private_is_EINVAL()
    {
        Assert.That(kernel.Mmap(0, 4096, Prot.Read, MapFlags.Anonymous, -1, 0), Is.EqualTo(-Errno.EINVAL));
    }
}

public class HostVfioTests
{
    [Test]
    public void The_host_vfio_container_answers_api_version_0_when_dev_vfio_exists()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/dev/vfio/vfio"))
        {
            Assert.Ignore("no /dev/vfio/vfio on this machine: the host VFIO tests need the vfio module (see tests/conformance)");
            return;
        }
        using var kernel = new HostKernel();
        using var container = new VfioContainer(kernel);
        Assert.That(container.ApiVersion(), Is.Zero);
    }
}
