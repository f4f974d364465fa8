using System.Buffers.Binary;
using System.Runtime.InteropServices;
using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;
using VfioSim.Uapi;
using VfioSim.Vfio;
using VfioSim.Vfio.Pci;
using VfioSim.Vfio.Process;

namespace VfioSim.Tests.Unit.VfioPci;

/// <summary>GET_REGION_INFO and region read/write/mmap of a vfio-pci device (vfio_pci_core.c, vfio_pci_rdwr.c).</summary>
public class VfioPciRdwrTests
{
    private sealed class Rig
    {
        public Rig(string devices = "-device edu,bus=rp")
        {
            var machine = new Machine(QemuMachineFile.Parse("-device pcie-root-port,id=rp,bus=pcie.0,addr=02.0\n" + devices, "t.qemu").Boot());
            Dev = machine.Topology.Get("0000:01:00.0");
            Config = new VfioPciConfig(Dev, new NullConfigHost());
            Rdwr = new VfioPciRdwr(Dev, Config);
            Process = machine.CreateProcess();
            Arg = (ulong)Process.Mmap(0, 4096, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous, -1, 0);
        }

        public PciFunction Dev { get; }
        public VfioPciConfig Config { get; }
        public VfioPciRdwr Rdwr { get; }
        public SimProcess Process { get; }
        public ulong Arg { get; }

        public (long Ret, VfioRegionInfo Info) RegionInfo(uint index, uint argsz = 32, uint capOffset = 0)
        {
            var info = new VfioRegionInfo { Argsz = argsz, Index = index, CapOffset = capOffset };
            var bytes = new byte[32];
            MemoryMarshal.Write(bytes, in info);
            Process.Memory.Write(Arg, bytes);
            long ret = Rdwr.GetRegionInfo(Process, Arg);
            Process.Memory.Read(Arg, bytes);
            return (ret, MemoryMarshal.Read<VfioRegionInfo>(bytes));
        }

        public void EnableMemory()
        {
            var b = new byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(b, PciRegs.CommandMemory);
            Config.Write(PciRegs.Command, b);
        }
    }

    [Test]
    public void Edu_regions_match_the_measured_region_info()
    {
        // REPORT.md §4: BAR0 0x100000 flags 0x7; BAR1-5 and ROM size 0 at index<<40; CONFIG 0x100 at 7<<40 flags 0x3.
        var r = new Rig();
        Assert.Multiple(() =>
        {
            Assert.That(r.RegionInfo(0).Info is { Size: 0x100000, Offset: 0, Flags: 0x7 });
            for (uint i = 1; i <= 6; i++)
                Assert.That(r.RegionInfo(i).Info is { Size: 0, Flags: 0 } info && info.Offset == (ulong)i << 40, $"region {i}");
            Assert.That(r.RegionInfo(7).Info is { Size: 0x100, Offset: 0x700_0000_0000, Flags: 0x3 });
        });
    }

    [Test]
    public void Vga_region_of_a_non_vga_device_and_index_99_are_EINVAL()
    {
        var r = new Rig();
        Assert.Multiple(() =>
        {
            Assert.That(r.RegionInfo(8).Ret, Is.EqualTo(-Errno.EINVAL));
            Assert.That(r.RegionInfo(99).Ret, Is.EqualTo(-Errno.EINVAL));
            Assert.That(r.RegionInfo(0, argsz: 31).Ret, Is.EqualTo(-Errno.EINVAL));
        });
    }

    [Test]
    public void Region_info_echoes_cap_offset_when_the_region_has_no_capabilities()
    {
        Assert.That(new Rig().RegionInfo(0, capOffset: 0x1234).Info.CapOffset, Is.EqualTo(0x1234));
    }

    [Test]
    public void The_msix_bar_advertises_msix_mappable_with_argsz_negotiation()
    {
        var r = new Rig("-device nvme,bus=rp,serial=x");
        var (ret, small) = r.RegionInfo(0);
        var (_, big) = r.RegionInfo(0, argsz: 40);
        Assert.Multiple(() =>
        {
            Assert.That(ret, Is.Zero);
            Assert.That(small.Argsz, Is.EqualTo(40), "too small: argsz says what is needed");
            Assert.That(small.CapOffset, Is.Zero);
            Assert.That(small.Flags & VfioUapi.REGION_INFO_FLAG_CAPS, Is.Not.Zero);
            Assert.That(big.CapOffset, Is.EqualTo(32));
            Assert.That(r.Process.Memory.Load16(r.Arg + 32), Is.EqualTo(VfioUapi.REGION_INFO_CAP_MSIX_MAPPABLE));
        });
    }

    [Test]
    public void Reading_bar0_gives_the_edu_identification_register()
    {
        var r = new Rig();
        r.EnableMemory();
        var b = new byte[4];
        Assert.Multiple(() =>
        {
            Assert.That(r.Rdwr.Rw(0, b, isWrite: false), Is.EqualTo(4));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(b), Is.EqualTo(0x010000ed));
        });
    }

    [Test]
    public void A_memory_bar_access_with_memory_decode_disabled_is_EIO()
    {
        Assert.That(new Rig().Rdwr.Rw(0, new byte[4], isWrite: false), Is.EqualTo(-Errno.EIO));
    }

    [Test]
    public void An_access_past_the_bar_is_EINVAL_and_one_crossing_its_end_is_short()
    {
        var r = new Rig();
        r.EnableMemory();
        Assert.Multiple(() =>
        {
            Assert.That(r.Rdwr.Rw(0x100000, new byte[4], isWrite: false), Is.EqualTo(-Errno.EINVAL));
            Assert.That(r.Rdwr.Rw(0xffffe, new byte[4], isWrite: false), Is.EqualTo(2));
        });
    }

    [Test]
    public void An_unimplemented_bar_is_EINVAL_and_writing_the_rom_is_EINVAL()
    {
        var r = new Rig();
        Assert.Multiple(() =>
        {
            Assert.That(r.Rdwr.Rw(1L << 40, new byte[4], isWrite: false), Is.EqualTo(-Errno.EINVAL));
            Assert.That(r.Rdwr.Rw(6L << 40, new byte[4], isWrite: true), Is.EqualTo(-Errno.EINVAL));
            Assert.That(r.Rdwr.Rw(9L << 40, new byte[4], isWrite: false), Is.EqualTo(-Errno.EINVAL));
        });
    }

    [Test]
    public void Config_region_accesses_go_through_the_virtualisation()
    {
        var r = new Rig();
        var b = new byte[4];
        Assert.Multiple(() =>
        {
            Assert.That(r.Rdwr.Rw(7L << 40, b, isWrite: false), Is.EqualTo(4));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(b), Is.EqualTo(0x11e81234));
            Assert.That(r.Rdwr.Rw((7L << 40) + 0x100, b, isWrite: false), Is.EqualTo(-Errno.EFAULT));
        });
    }

    [Test]
    public void The_msix_table_reads_all_ones_through_the_fd()
    {
        var r = new Rig("-device nvme,bus=rp,serial=x");
        r.EnableMemory();
        var b = new byte[4];
        r.Rdwr.Rw(0x2000, b, isWrite: false); // nvme's table is at BAR0 + 0x2000
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(b), Is.EqualTo(0xffffffff));
    }

    [Test]
    public void Mmap_checks_shared_index_and_length_in_the_kernel_order()
    {
        var r = new Rig();
        Assert.Multiple(() =>
        {
            Assert.That(r.Rdwr.Mmap(4096, 0, shared: false, out _), Is.EqualTo(-Errno.EINVAL));
            Assert.That(r.Rdwr.Mmap(4096, 7L << 40, shared: true, out _), Is.EqualTo(-Errno.EINVAL), "config space cannot be mapped");
            Assert.That(r.Rdwr.Mmap(4096, 1L << 40, shared: true, out _), Is.EqualTo(-Errno.EINVAL), "BAR1 is not implemented");
            Assert.That(r.Rdwr.Mmap(0x100000 + 4096, 0, shared: true, out _), Is.EqualTo(-Errno.EINVAL), "longer than the BAR");
            Assert.That(r.Rdwr.Mmap(0x100000, 0, shared: true, out var region), Is.Zero);
            Assert.That(region, Is.Not.Null);
        });
    }

    private sealed class RecordingBar : VfioSim.Pci.Models.PciDeviceModel, VfioSim.Pci.Models.IMmio
    {
        public List<(int Bar, ulong Offset)> Reads { get; } = [];
        private int index;

        public override VfioSim.Pci.Models.IMmio? Bar(int i)
        {
            index = i;
            return this;
        }

        public ulong Read(ulong offset, int size)
        {
            Reads.Add((index, offset));
            return 0;
        }

        public void Write(ulong offset, int size, ulong value) { }
    }

    [Test]
    public void A_mapping_of_bar2_reaches_the_bar_at_its_own_offsets_not_the_file_offset()
    {
        var g = VfioSim.Pci.Devices.GenericDevice.Create(new VfioSim.Pci.Devices.GenericDeviceSpec
        {
            Bars = [new PciResource(2, ResourceKind.Mem32, 0x1000)],
        });
        var model = new RecordingBar();
        var dev = new PciFunction("test", g.Config, g.Resources) { Device = model };
        var config = new VfioPciConfig(dev, new NullConfigHost());
        var b = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, PciRegs.CommandMemory);
        config.Write(PciRegs.Command, b);
        var rdwr = new VfioPciRdwr(dev, config);
        Assert.That(rdwr.Mmap(0x1000, 2L << 40, shared: true, out var region), Is.Zero);
        region!.Read((2UL << 40) + 0x10, 4); // the process maps at file offset 2 << 40; its loads arrive with it
        Assert.That(model.Reads, Is.EqualTo(new[] { (2, 0x10UL) }));
    }
}
