using System.Buffers.Binary;
using System.Runtime.InteropServices;
using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;
using VfioSim.Uapi;
using VfioSim.Vfio;
using VfioSim.Vfio.Pci;
using VfioSim.Vfio.Process;

namespace VfioSim.Tests.Unit.VfioPci;

/// <summary>GET_IRQ_INFO and the SET_IRQS validation matrix (vfio_pci_core.c, vfio_pci_intrs.c).</summary>
public class VfioPciIntrsTests
{
    private sealed class Rig
    {
        public Rig(string bdf = "0000:01:00.0", string devices = "-device edu,bus=rp")
        {
            Machine = new Machine(QemuMachineFile.Parse("-device pcie-root-port,id=rp,bus=pcie.0,addr=02.0\n" + devices, "t.qemu").Boot());
            Dev = Machine.Topology.Get(bdf);
            Config = new VfioPciConfig(Dev, new NullConfigHost());
            Intrs = new VfioPciIntrs(Dev, Config);
            Process = Machine.CreateProcess();
            Arg = (ulong)Process.Mmap(0, 4096, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous, -1, 0);
        }

        public Machine Machine { get; }
        public PciFunction Dev { get; }
        public VfioPciConfig Config { get; }
        public VfioPciIntrs Intrs { get; }
        public SimProcess Process { get; }
        public ulong Arg { get; }

        public long SetIrqs(uint flags, uint index, uint start, uint count, byte[]? data = null, uint? argsz = null)
        {
            data ??= [];
            var hdr = new VfioIrqSet { Argsz = argsz ?? (uint)(20 + data.Length), Flags = flags, Index = index, Start = start, Count = count };
            var bytes = new byte[20 + data.Length];
            MemoryMarshal.Write(bytes, in hdr);
            data.CopyTo(bytes, 20);
            Process.Memory.Write(Arg, bytes);
            return Intrs.SetIrqs(Process, Arg);
        }

        public long SetEventfds(uint index, uint start, params int[] fds)
        {
            var data = new byte[4 * fds.Length];
            for (int i = 0; i < fds.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(4 * i), fds[i]);
            return SetIrqs(VfioUapi.IRQ_SET_DATA_EVENTFD | VfioUapi.IRQ_SET_ACTION_TRIGGER, index, start, (uint)fds.Length, data);
        }

        public (long Ret, VfioIrqInfo Info) GetIrqInfo(uint index, uint argsz = 16)
        {
            var info = new VfioIrqInfo { Argsz = argsz, Index = index };
            var bytes = new byte[16];
            MemoryMarshal.Write(bytes, in info);
            Process.Memory.Write(Arg, bytes);
            long ret = Intrs.GetIrqInfo(Process, Arg);
            Process.Memory.Read(Arg, bytes);
            return (ret, MemoryMarshal.Read<VfioIrqInfo>(bytes));
        }

        public EventFdFile Eventfd(out int fd)
        {
            fd = Process.Eventfd(0, EventfdFlags.NonBlock);
            return (EventFdFile)Process.FileOf(fd)!;
        }
    }

    [Test]
    public void Irq_info_of_edu_matches_the_measured_values()
    {
        // REPORT.md §4: INTX count 1 flags 0x7, MSI count 1 flags 0x9, MSIX count 0 flags 0x9, REQ count 1 flags 0x9.
        var r = new Rig();
        Assert.Multiple(() =>
        {
            Assert.That(r.GetIrqInfo(0).Info is { Count: 1, Flags: 0x7 });
            Assert.That(r.GetIrqInfo(1).Info is { Count: 1, Flags: 0x9 });
            Assert.That(r.GetIrqInfo(2).Info is { Count: 0, Flags: 0x9 });
            Assert.That(r.GetIrqInfo(4).Info is { Count: 1, Flags: 0x9 });
        });
    }

    [Test]
    public void Irq_info_err_index_on_a_conventional_device_is_EINVAL()
    {
        Assert.That(new Rig().GetIrqInfo(3).Ret, Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Irq_info_with_short_argsz_or_bad_index_is_EINVAL()
    {
        var r = new Rig();
        Assert.Multiple(() =>
        {
            Assert.That(r.GetIrqInfo(0, argsz: 15).Ret, Is.EqualTo(-Errno.EINVAL));
            Assert.That(r.GetIrqInfo(5).Ret, Is.EqualTo(-Errno.EINVAL));
        });
    }

    [Test]
    public void Set_irqs_on_an_index_with_zero_count_is_EINVAL_even_to_disable()
    {
        var r = new Rig();
        Assert.That(r.SetIrqs(VfioUapi.IRQ_SET_DATA_NONE | VfioUapi.IRQ_SET_ACTION_TRIGGER, VfioUapi.PCI_MSIX_IRQ_INDEX, 0, 0),
            Is.EqualTo(-Errno.EINVAL));
    }

    [TestCase(19u, 0u, 0u, 1u, VfioUapi.IRQ_SET_DATA_NONE | VfioUapi.IRQ_SET_ACTION_TRIGGER, TestName = "Set_irqs_with_argsz_below_20_is_EINVAL")]
    [TestCase(20u, 5u, 0u, 1u, VfioUapi.IRQ_SET_DATA_NONE | VfioUapi.IRQ_SET_ACTION_TRIGGER, TestName = "Set_irqs_with_index_5_is_EINVAL")]
    [TestCase(20u, 0u, 0u, 1u, VfioUapi.IRQ_SET_DATA_NONE | VfioUapi.IRQ_SET_ACTION_TRIGGER | 0x40u, TestName = "Set_irqs_with_an_unknown_flag_is_EINVAL")]
    [TestCase(20u, 0u, 1u, 1u, VfioUapi.IRQ_SET_DATA_NONE | VfioUapi.IRQ_SET_ACTION_TRIGGER, TestName = "Set_irqs_with_start_beyond_count_is_EINVAL")]
    [TestCase(20u, 0u, 0u, 1u, VfioUapi.IRQ_SET_DATA_NONE | VfioUapi.IRQ_SET_DATA_BOOL | VfioUapi.IRQ_SET_ACTION_TRIGGER, TestName = "Set_irqs_with_two_data_types_is_EINVAL")]
    [TestCase(20u, 0u, 0u, 1u, VfioUapi.IRQ_SET_DATA_EVENTFD | VfioUapi.IRQ_SET_ACTION_TRIGGER, TestName = "Set_irqs_with_eventfd_data_shorter_than_count_is_EINVAL")]
    public void Set_irqs_header_validation(uint argsz, uint index, uint start, uint count, uint flags)
    {
        var r = new Rig();
        Assert.That(r.SetIrqs(flags, index, start, count, argsz: argsz), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Set_irqs_with_two_actions_is_ENOTTY_after_validation()
    {
        var r = new Rig();
        Assert.That(r.SetIrqs(VfioUapi.IRQ_SET_DATA_NONE | VfioUapi.IRQ_SET_ACTION_MASK | VfioUapi.IRQ_SET_ACTION_UNMASK, 0, 0, 1),
            Is.EqualTo(-Errno.ENOTTY));
    }

    [Test]
    public void Msi_mask_is_ENOTTY()
    {
        var r = new Rig();
        Assert.That(r.SetIrqs(VfioUapi.IRQ_SET_DATA_NONE | VfioUapi.IRQ_SET_ACTION_MASK, VfioUapi.PCI_MSI_IRQ_INDEX, 0, 1),
            Is.EqualTo(-Errno.ENOTTY));
    }

    [Test]
    public void Intx_mask_before_intx_is_enabled_is_EINVAL()
    {
        var r = new Rig();
        Assert.That(r.SetIrqs(VfioUapi.IRQ_SET_DATA_NONE | VfioUapi.IRQ_SET_ACTION_MASK, 0, 0, 1), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Intx_trigger_with_a_bad_fd_is_EBADF_and_with_a_non_eventfd_EINVAL()
    {
        var r = new Rig();
        int sysfd = r.Process.Open("/sys/bus/pci/devices/0000:01:00.0/vendor", OpenFlags.ReadOnly);
        Assert.Multiple(() =>
        {
            Assert.That(r.SetEventfds(0, 0, 42), Is.EqualTo(-Errno.EBADF));
            Assert.That(r.SetEventfds(0, 0, sysfd), Is.EqualTo(-Errno.EINVAL));
            Assert.That(r.Intrs.Type, Is.EqualTo(VfioPciIntrs.IrqType.None), "nothing enabled on failure");
        });
    }

    [Test]
    public void An_intx_interrupt_signals_the_eventfd_and_auto_masks_until_unmask()
    {
        var r = new Rig();
        var e = r.Eventfd(out int fd);
        Assert.That(r.SetEventfds(0, 0, fd), Is.Zero);
        r.Intrs.SetIntx(r.Dev, true);
        r.Intrs.SetIntx(r.Dev, true); // still masked: not delivered again
        Assert.Multiple(() =>
        {
            Assert.That(e.Count, Is.EqualTo(1));
            Assert.That(r.Intrs.IntxMasked, Is.True);
        });
        Assert.That(r.SetIrqs(VfioUapi.IRQ_SET_DATA_NONE | VfioUapi.IRQ_SET_ACTION_UNMASK, 0, 0, 1), Is.Zero);
        Assert.That(e.Count, Is.EqualTo(2), "the line is still asserted: unmask re-delivers and masks again");
    }

    [Test]
    public void An_unmask_eventfd_unmasks_when_the_user_signals_it()
    {
        var r = new Rig();
        var trigger = r.Eventfd(out int tfd);
        r.Eventfd(out int ufd);
        r.SetEventfds(0, 0, tfd);
        var data = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(data, ufd);
        Assert.That(r.SetIrqs(VfioUapi.IRQ_SET_DATA_EVENTFD | VfioUapi.IRQ_SET_ACTION_UNMASK, 0, 0, 1, data), Is.Zero);
        r.Intrs.SetIntx(r.Dev, true);
        r.Intrs.SetIntx(r.Dev, false);
        var one = new byte[8];
        one[0] = 1;
        r.Process.Write(ufd, one);
        Assert.That(r.Intrs.IntxMasked, Is.False);
    }

    [Test]
    public void Msi_vectors_signal_their_eventfds_and_msi_qmax_follows_the_vector_count()
    {
        var r = new Rig();
        var e = r.Eventfd(out int fd);
        Assert.That(r.SetEventfds(VfioUapi.PCI_MSI_IRQ_INDEX, 0, fd), Is.Zero);
        r.Intrs.Msi(r.Dev, 0);
        Assert.Multiple(() =>
        {
            Assert.That(e.Count, Is.EqualTo(1));
            Assert.That(r.Intrs.Type, Is.EqualTo(VfioPciIntrs.IrqType.Msi));
            Assert.That(r.Config.MsiQmax, Is.Zero, "one vector: log2(1) = 0");
        });
    }

    [Test]
    public void Switching_from_intx_to_msi_without_disabling_is_EINVAL()
    {
        var r = new Rig();
        r.Eventfd(out int fd);
        r.SetEventfds(0, 0, fd);
        Assert.That(r.SetEventfds(VfioUapi.PCI_MSI_IRQ_INDEX, 0, fd), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Intx_trigger_with_count_0_and_data_none_disables_intx()
    {
        var r = new Rig();
        r.Eventfd(out int fd);
        r.SetEventfds(0, 0, fd);
        Assert.Multiple(() =>
        {
            Assert.That(r.SetIrqs(VfioUapi.IRQ_SET_DATA_NONE | VfioUapi.IRQ_SET_ACTION_TRIGGER, 0, 0, 0), Is.Zero);
            Assert.That(r.Intrs.Type, Is.EqualTo(VfioPciIntrs.IrqType.None));
        });
    }

    [Test]
    public void Req_trigger_with_data_none_and_no_eventfd_is_EINVAL()
    {
        var r = new Rig();
        Assert.That(r.SetIrqs(VfioUapi.IRQ_SET_DATA_NONE | VfioUapi.IRQ_SET_ACTION_TRIGGER, VfioUapi.PCI_REQ_IRQ_INDEX, 0, 1), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Req_eventfd_is_signalled_when_the_host_asks_for_the_device()
    {
        var r = new Rig();
        var e = r.Eventfd(out int fd);
        Assert.That(r.SetEventfds(VfioUapi.PCI_REQ_IRQ_INDEX, 0, fd), Is.Zero);
        r.Intrs.SignalRequest();
        Assert.That(e.Count, Is.EqualTo(1));
    }

    [Test]
    public void Disable_all_drops_every_eventfd_reference()
    {
        var r = new Rig();
        r.Eventfd(out int fd);
        r.SetEventfds(VfioUapi.PCI_MSI_IRQ_INDEX, 0, fd);
        r.Intrs.DisableAll();
        r.Intrs.Msi(r.Dev, 0);
        Assert.Multiple(() =>
        {
            Assert.That(r.Intrs.Type, Is.EqualTo(VfioPciIntrs.IrqType.None));
            Assert.That(r.Intrs.Dropped, Is.EqualTo(1));
        });
    }
}
