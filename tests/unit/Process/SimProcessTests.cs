using System.Buffers.Binary;
using System.Text;
using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;
using VfioSim.Uapi;
using VfioSim.Vfio;
using VfioSim.Vfio.Process;

namespace VfioSim.Tests.Unit.Process;

/// <summary>The syscall surface of a simulated process: fds, memory, eventfd, poll, sysfs files.</summary>
public class SimProcessTests
{
    private static SimProcess NewProcess(out Machine machine)
    {
        machine = new Machine(MachineLoader.Default());
        return machine.CreateProcess("test");
    }

    private static SimProcess NewProcess() => NewProcess(out _);

    [Test]
    public void Open_returns_the_lowest_free_fd_like_alloc_fd()
    {
        using var p = NewProcess();
        int a = p.Open("/sys/bus/pci/devices/0000:01:00.0/vendor", OpenFlags.ReadOnly);
        int b = p.Open("/sys/bus/pci/devices/0000:01:00.0/device", OpenFlags.ReadOnly);
        Assert.That(p.Close(a), Is.Zero);
        int c = p.Open("/sys/bus/pci/devices/0000:01:00.0/class", OpenFlags.ReadOnly);
        Assert.Multiple(() =>
        {
            Assert.That((a, b), Is.EqualTo((0, 1)));
            Assert.That(c, Is.EqualTo(0), "the freed fd 0 is reused first");
        });
    }

    [Test]
    public void Close_of_an_fd_that_is_not_open_is_EBADF()
    {
        using var p = NewProcess();
        Assert.Multiple(() =>
        {
            Assert.That(p.Close(3), Is.EqualTo(-Errno.EBADF));
            Assert.That(p.Close(-1), Is.EqualTo(-Errno.EBADF));
        });
    }

    [Test]
    public void Reading_a_sysfs_attribute_through_an_fd_gives_the_sysfs_text()
    {
        using var p = NewProcess();
        int fd = p.Open("/sys/bus/pci/devices/0000:01:00.0/vendor", OpenFlags.ReadOnly);
        var buf = new byte[64];
        long n = p.Read(fd, buf);
        Assert.Multiple(() =>
        {
            Assert.That(Encoding.ASCII.GetString(buf, 0, (int)n), Is.EqualTo("0x1234\n"));
            Assert.That(p.Read(fd, buf), Is.Zero, "the second read is at end of file");
        });
    }

    [Test]
    public void Opening_a_missing_path_is_ENOENT_and_a_device_node_that_does_not_exist_too()
    {
        using var p = NewProcess();
        Assert.Multiple(() =>
        {
            Assert.That(p.Open("/sys/bus/pci/devices/0000:7f:00.0/vendor", OpenFlags.ReadOnly), Is.EqualTo(-Errno.ENOENT));
            Assert.That(p.Open("/dev/nonexistent", OpenFlags.ReadWrite), Is.EqualTo(-Errno.ENOENT));
        });
    }

    [Test]
    public void Opening_a_read_only_sysfs_attribute_for_writing_is_EACCES()
    {
        using var p = NewProcess();
        Assert.That(p.Open("/sys/bus/pci/devices/0000:01:00.0/vendor", OpenFlags.WriteOnly), Is.EqualTo(-Errno.EACCES));
    }

    [Test]
    public void Pread_on_an_eventfd_is_ESPIPE()
    {
        using var p = NewProcess();
        int fd = p.Eventfd(0, EventfdFlags.None);
        Assert.That(p.Pread(fd, new byte[8], 0), Is.EqualTo(-Errno.ESPIPE));
    }

    [Test]
    public void Ioctl_on_a_sysfs_file_is_ENOTTY()
    {
        using var p = NewProcess();
        int fd = p.Open("/sys/bus/pci/devices/0000:01:00.0/vendor", OpenFlags.ReadOnly);
        Assert.That(p.Ioctl(fd, VfioUapi.GET_API_VERSION, 0), Is.EqualTo(-Errno.ENOTTY));
    }

    [Test]
    public void Anonymous_mmap_gives_zeroed_memory_that_loads_and_stores_reach()
    {
        using var p = NewProcess();
        long addr = p.Mmap(0, 8192, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous, -1, 0);
        Assert.That(addr, Is.GreaterThan(0));
        ulong a = (ulong)addr;
        Assert.That(p.Memory.Load64(a + 4096), Is.Zero);
        p.Memory.Store32(a + 4094, 0xdeadbeef); // across the page boundary inside one mapping
        Assert.Multiple(() =>
        {
            Assert.That(p.Memory.Load32(a + 4094), Is.EqualTo(0xdeadbeef));
            Assert.That(p.Memory.Load16(a + 4096), Is.EqualTo(0xdead));
        });
    }

    [Test]
    public void A_load_from_an_unmapped_address_is_a_segmentation_fault()
    {
        using var p = NewProcess();
        Assert.Throws<UserMemoryFaultException>(() => p.Memory.Load32(0x1000));
    }

    [Test]
    public void A_store_to_a_read_only_mapping_is_a_segmentation_fault_and_copy_to_user_fails()
    {
        using var p = NewProcess();
        ulong a = (ulong)p.Mmap(0, 4096, Prot.Read, MapFlags.Private | MapFlags.Anonymous, -1, 0);
        Assert.Multiple(() =>
        {
            Assert.Throws<UserMemoryFaultException>(() => p.Memory.Store8(a, 1));
            Assert.That(p.AddressSpace.TryWrite(a, new byte[4]), Is.False, "copy_to_user: EFAULT");
            Assert.That(p.AddressSpace.TryRead(a, new byte[4]), Is.True);
        });
    }

    [Test]
    public void Anonymous_memory_beyond_the_process_budget_is_ENOMEM()
    {
        using var p = NewProcess();
        p.AddressSpace.AnonymousLimit = 1 << 20;
        Assert.Multiple(() =>
        {
            Assert.That(p.Mmap(0, 1 << 20, Prot.Read, MapFlags.Private | MapFlags.Anonymous, -1, 0), Is.GreaterThan(0));
            Assert.That(p.Mmap(0, 4096, Prot.Read, MapFlags.Private | MapFlags.Anonymous, -1, 0), Is.EqualTo(-Errno.ENOMEM));
            Assert.That(p.Mmap(0, ulong.MaxValue - 10, Prot.Read, MapFlags.Private | MapFlags.Anonymous, -1, 0), Is.EqualTo(-Errno.ENOMEM));
        });
    }

    [Test]
    public void Munmap_removes_the_mapping()
    {
        using var p = NewProcess();
        ulong a = (ulong)p.Mmap(0, 4096, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous, -1, 0);
        Assert.That(p.Munmap(a, 4096), Is.Zero);
        Assert.That(p.AddressSpace.TryRead(a, new byte[1]), Is.False);
    }

    [Test]
    public void Mmap_needs_exactly_one_of_shared_and_private()
    {
        using var p = NewProcess();
        Assert.Multiple(() =>
        {
            Assert.That(p.Mmap(0, 4096, Prot.Read, MapFlags.Anonymous, -1, 0), Is.EqualTo(-Errno.EINVAL));
            Assert.That(p.Mmap(0, 4096, Prot.Read, MapFlags.Shared | MapFlags.Private | MapFlags.Anonymous, -1, 0), Is.EqualTo(-Errno.EINVAL));
        });
    }

    [Test]
    public void Mmap_of_an_fd_without_mmap_is_ENODEV()
    {
        using var p = NewProcess();
        int fd = p.Open("/sys/bus/pci/devices/0000:01:00.0/vendor", OpenFlags.ReadOnly);
        Assert.That(p.Mmap(0, 4096, Prot.Read, MapFlags.Shared, fd, 0), Is.EqualTo(-Errno.ENODEV));
    }

    [Test]
    public void Eventfd_read_takes_the_counter_and_nonblocking_read_at_zero_is_EAGAIN()
    {
        using var p = NewProcess();
        int fd = p.Eventfd(3, EventfdFlags.NonBlock);
        var buf = new byte[8];
        Assert.Multiple(() =>
        {
            Assert.That(p.Read(fd, buf), Is.EqualTo(8));
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(buf), Is.EqualTo(3));
            Assert.That(p.Read(fd, buf), Is.EqualTo(-Errno.EAGAIN));
        });
    }

    [Test]
    public void Eventfd_in_semaphore_mode_reads_one_at_a_time()
    {
        using var p = NewProcess();
        int fd = p.Eventfd(2, EventfdFlags.Semaphore | EventfdFlags.NonBlock);
        var buf = new byte[8];
        p.Read(fd, buf);
        Assert.Multiple(() =>
        {
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(buf), Is.EqualTo(1));
            Assert.That(((EventFdFile)p.FileOf(fd)!).Count, Is.EqualTo(1));
        });
    }

    [Test]
    public void Eventfd_rejects_short_buffers_and_the_all_ones_value()
    {
        using var p = NewProcess();
        int fd = p.Eventfd(0, EventfdFlags.NonBlock);
        var ones = new byte[8];
        ones.AsSpan().Fill(0xff);
        Assert.Multiple(() =>
        {
            Assert.That(p.Read(fd, new byte[4]), Is.EqualTo(-Errno.EINVAL));
            Assert.That(p.Write(fd, new byte[4]), Is.EqualTo(-Errno.EINVAL));
            Assert.That(p.Write(fd, ones), Is.EqualTo(-Errno.EINVAL));
        });
    }

    [Test]
    public void Eventfd_rejects_unknown_flags()
    {
        using var p = NewProcess();
        Assert.That(p.Eventfd(0, (EventfdFlags)0x4), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Poll_waits_in_virtual_time_until_a_scheduled_signal_arrives()
    {
        using var p = NewProcess(out var machine);
        int fd = p.Eventfd(0, EventfdFlags.None);
        var efd = (EventFdFile)p.FileOf(fd)!;
        machine.Clock.After(5_000_000, () => efd.Signal());
        var fds = new[] { new PollFd { Fd = fd, Events = PollEvents.In } };
        Assert.Multiple(() =>
        {
            Assert.That(p.Poll(fds, 1000), Is.EqualTo(1));
            Assert.That(fds[0].Revents, Is.EqualTo(PollEvents.In));
            Assert.That(machine.Clock.Now, Is.EqualTo(5_000_000), "time stops at the event that woke the poll");
        });
    }

    [Test]
    public void Poll_times_out_in_virtual_time_when_nothing_happens()
    {
        using var p = NewProcess(out var machine);
        int fd = p.Eventfd(0, EventfdFlags.None);
        var fds = new[] { new PollFd { Fd = fd, Events = PollEvents.In } };
        Assert.Multiple(() =>
        {
            Assert.That(p.Poll(fds, 20), Is.Zero);
            Assert.That(machine.Clock.Now, Is.EqualTo(20_000_000));
        });
    }

    [Test]
    public void Poll_reports_POLLNVAL_for_a_closed_fd()
    {
        using var p = NewProcess();
        var fds = new[] { new PollFd { Fd = 7, Events = PollEvents.In } };
        Assert.Multiple(() =>
        {
            Assert.That(p.Poll(fds, 0), Is.EqualTo(1));
            Assert.That(fds[0].Revents, Is.EqualTo(PollEvents.Nval));
        });
    }

    [Test]
    public void A_blocking_read_that_nothing_can_wake_is_reported_as_a_simulation_deadlock()
    {
        using var p = NewProcess();
        int fd = p.Eventfd(0, EventfdFlags.None);
        Assert.Throws<SimulationDeadlockException>(() => p.Read(fd, new byte[8]));
    }

    [Test]
    public void Readlink_of_the_iommu_group_link_gives_the_relative_target()
    {
        using var p = NewProcess();
        int n = p.Readlink("/sys/bus/pci/devices/0000:01:00.0/iommu_group", out var target);
        Assert.Multiple(() =>
        {
            Assert.That(n, Is.EqualTo(target.Length));
            Assert.That(target, Does.StartWith("../../../../kernel/iommu_groups/"));
        });
    }

    [Test]
    public void Exit_closes_every_fd_and_unmaps_memory()
    {
        var p = NewProcess();
        p.Eventfd(0, EventfdFlags.None);
        p.Mmap(0, 4096, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous, -1, 0);
        p.Dispose();
        Assert.Multiple(() =>
        {
            Assert.That(p.Fds.Count, Is.Zero);
            Assert.That(p.AddressSpace.Mappings, Is.Empty);
        });
    }

    [Test]
    public void The_fd_table_limit_gives_EMFILE()
    {
        using var p = NewProcess();
        p.Fds.Limit = 2;
        p.Eventfd(0, EventfdFlags.None);
        p.Eventfd(0, EventfdFlags.None);
        Assert.That(p.Eventfd(0, EventfdFlags.None), Is.EqualTo(-Errno.EMFILE));
    }
}

public class VirtualClockTests
{
    [Test]
    public void Events_run_in_time_order_and_same_time_events_in_scheduling_order()
    {
        var clock = new VirtualClock();
        var order = new List<string>();
        clock.After(20, () => order.Add("b"));
        clock.After(10, () => order.Add("a"));
        clock.After(20, () => order.Add("c"));
        clock.RunUntil(100);
        Assert.Multiple(() =>
        {
            Assert.That(order, Is.EqualTo(new[] { "a", "b", "c" }));
            Assert.That(clock.Now, Is.EqualTo(100));
        });
    }

    [Test]
    public void An_event_may_schedule_another_that_runs_in_the_same_advance()
    {
        var clock = new VirtualClock();
        int fired = 0;
        clock.After(10, () => clock.After(10, () => fired++));
        clock.Advance(25);
        Assert.That(fired, Is.EqualTo(1));
    }
}
