using System.Buffers.Binary;
using System.Runtime.InteropServices;
using VfioSim.Uapi;

namespace VfioSim.Driver;

/// <summary>A region of a VFIO device: where it lives in the fd and what it allows.</summary>
public sealed record RegionInfo(int Index, ulong Offset, ulong Size, uint Flags)
{
    public bool Readable => (Flags & VfioUapi.REGION_INFO_FLAG_READ) != 0;
    public bool Writable => (Flags & VfioUapi.REGION_INFO_FLAG_WRITE) != 0;
    public bool Mappable => (Flags & VfioUapi.REGION_INFO_FLAG_MMAP) != 0;
}

/// <summary>A BAR mapped into the process: 8/16/32/64-bit loads and stores at offsets into it.</summary>
public sealed class MmioRegion(IKernel kernel, ulong address, ulong size) : IDisposable
{
    public ulong Address { get; } = address;
    public ulong Size { get; } = size;

    public uint Read32(ulong offset) => kernel.Memory.Load32(Address + Check(offset, 4));
    public ulong Read64(ulong offset) => kernel.Memory.Load64(Address + Check(offset, 8));
    public ushort Read16(ulong offset) => kernel.Memory.Load16(Address + Check(offset, 2));
    public byte Read8(ulong offset) => kernel.Memory.Load8(Address + Check(offset, 1));
    public void Write32(ulong offset, uint value) => kernel.Memory.Store32(Address + Check(offset, 4), value);
    public void Write64(ulong offset, ulong value) => kernel.Memory.Store64(Address + Check(offset, 8), value);
    public void Write16(ulong offset, ushort value) => kernel.Memory.Store16(Address + Check(offset, 2), value);
    public void Write8(ulong offset, byte value) => kernel.Memory.Store8(Address + Check(offset, 1), value);

    private ulong Check(ulong offset, int width) =>
        offset + (ulong)width <= Size ? offset : throw new ArgumentOutOfRangeException(nameof(offset), $"0x{offset:x} is outside the {Size}-byte region");

    public void Dispose() => kernel.Munmap(Address, Size);
}

/// <summary>A VFIO device fd (vfio-pci): info, regions, config space, BAR mappings, interrupts, reset.</summary>
public sealed class VfioDevice : IDisposable
{
    private readonly IKernel kernel;
    private readonly UserBuffer arg;

    public VfioDevice(IKernel kernel, int fd, string name)
    {
        this.kernel = kernel;
        Fd = fd;
        Name = name;
        arg = new UserBuffer(kernel, 4096);
        arg.Put(new VfioDeviceInfo { Argsz = (uint)Marshal.SizeOf<VfioDeviceInfo>() });
        VfioException.Check(kernel.Ioctl(fd, VfioUapi.DEVICE_GET_INFO, arg.Address), $"VFIO_DEVICE_GET_INFO({name})");
        var info = arg.Get<VfioDeviceInfo>();
        Flags = info.Flags;
        NumRegions = (int)info.NumRegions;
        NumIrqs = (int)info.NumIrqs;
    }

    public int Fd { get; }
    public string Name { get; }
    public uint Flags { get; }
    public int NumRegions { get; }
    public int NumIrqs { get; }
    public bool IsPci => (Flags & VfioUapi.DEVICE_FLAGS_PCI) != 0;
    public bool CanReset => (Flags & VfioUapi.DEVICE_FLAGS_RESET) != 0;

    public RegionInfo Region(int index)
    {
        arg.Put(new VfioRegionInfo { Argsz = 32, Index = (uint)index });
        VfioException.Check(kernel.Ioctl(Fd, VfioUapi.DEVICE_GET_REGION_INFO, arg.Address), $"VFIO_DEVICE_GET_REGION_INFO({Name}, {index})");
        var r = arg.Get<VfioRegionInfo>();
        return new RegionInfo(index, r.Offset, r.Size, r.Flags);
    }

    public (uint Flags, uint Count) IrqInfo(int index)
    {
        arg.Put(new VfioIrqInfo { Argsz = 16, Index = (uint)index });
        VfioException.Check(kernel.Ioctl(Fd, VfioUapi.DEVICE_GET_IRQ_INFO, arg.Address), $"VFIO_DEVICE_GET_IRQ_INFO({Name}, {index})");
        var i = arg.Get<VfioIrqInfo>();
        return (i.Flags, i.Count);
    }

    // ---- config space (region 7) ----

    private ulong ConfigOffset => VfioUapi.PciIndexToOffset(VfioUapi.PCI_CONFIG_REGION_INDEX);

    public byte[] ReadConfig(int offset, int length)
    {
        var b = new byte[length];
        long n = VfioException.Check(kernel.Pread(Fd, b, (long)ConfigOffset + offset), $"pread(config+0x{offset:x})");
        return n == length ? b : throw new VfioException(Errno.EIO, $"pread(config+0x{offset:x})", $"short read: {n} of {length} bytes");
    }

    public void WriteConfig(int offset, ReadOnlySpan<byte> bytes) =>
        VfioException.Check(kernel.Pwrite(Fd, bytes, (long)ConfigOffset + offset), $"pwrite(config+0x{offset:x})");

    public ushort ReadConfig16(int offset) => BinaryPrimitives.ReadUInt16LittleEndian(ReadConfig(offset, 2));
    public uint ReadConfig32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(ReadConfig(offset, 4));

    public void WriteConfig16(int offset, ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        WriteConfig(offset, b);
    }

    /// <summary>Sets Bus Master Enable (and Memory Space): vfio-pci leaves DMA off until the driver turns it on.</summary>
    public void EnableBusMaster()
    {
        const ushort memory = 0x2, master = 0x4;
        WriteConfig16(0x04, (ushort)(ReadConfig16(0x04) | memory | master));
    }

    // ---- BARs ----

    public MmioRegion MapBar(int index)
    {
        var r = Region(index);
        if (!r.Mappable) throw new VfioException(Errno.EINVAL, $"mmap(BAR{index})", $"region {index} of {Name} is not mappable (size 0x{r.Size:x}, flags 0x{r.Flags:x})");
        long addr = kernel.Mmap(0, r.Size, Prot.Read | Prot.Write, MapFlags.Shared, Fd, (long)r.Offset);
        return new MmioRegion(kernel, (ulong)VfioException.Check(addr, $"mmap(BAR{index})"), r.Size);
    }

    public uint ReadBar32(int index, ulong offset)
    {
        Span<byte> b = stackalloc byte[4];
        VfioException.Check(kernel.Pread(Fd, b, (long)(VfioUapi.PciIndexToOffset(index) + offset)), $"pread(BAR{index}+0x{offset:x})");
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    public void WriteBar32(int index, ulong offset, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        VfioException.Check(kernel.Pwrite(Fd, b, (long)(VfioUapi.PciIndexToOffset(index) + offset)), $"pwrite(BAR{index}+0x{offset:x})");
    }

    // ---- interrupts ----

    /// <summary>Routes vectors start.. of an IRQ index to eventfds (-1 detaches a vector).</summary>
    public void SetIrqEventfds(int index, int start, params int[] eventfds)
    {
        var hdr = new VfioIrqSet
        {
            Argsz = (uint)(20 + 4 * eventfds.Length),
            Flags = VfioUapi.IRQ_SET_DATA_EVENTFD | VfioUapi.IRQ_SET_ACTION_TRIGGER,
            Index = (uint)index,
            Start = (uint)start,
            Count = (uint)eventfds.Length,
        };
        arg.Put(hdr);
        for (int i = 0; i < eventfds.Length; i++) arg.Put(eventfds[i], (ulong)(20 + 4 * i));
        VfioException.Check(kernel.Ioctl(Fd, VfioUapi.DEVICE_SET_IRQS, arg.Address), $"VFIO_DEVICE_SET_IRQS({Name}, index {index})");
    }

    /// <summary>Turns an IRQ index off (count 0, DATA_NONE, TRIGGER).</summary>
    public void DisableIrqs(int index)
    {
        arg.Put(new VfioIrqSet { Argsz = 20, Flags = VfioUapi.IRQ_SET_DATA_NONE | VfioUapi.IRQ_SET_ACTION_TRIGGER, Index = (uint)index });
        VfioException.Check(kernel.Ioctl(Fd, VfioUapi.DEVICE_SET_IRQS, arg.Address), $"VFIO_DEVICE_SET_IRQS({Name}, index {index}, off)");
    }

    /// <summary>Unmasks INTx after an interrupt (INTx is auto-masked on delivery).</summary>
    public void UnmaskIntx()
    {
        arg.Put(new VfioIrqSet { Argsz = 20, Flags = VfioUapi.IRQ_SET_DATA_NONE | VfioUapi.IRQ_SET_ACTION_UNMASK, Index = 0, Count = 1 });
        VfioException.Check(kernel.Ioctl(Fd, VfioUapi.DEVICE_SET_IRQS, arg.Address), $"VFIO_DEVICE_SET_IRQS({Name}, INTx unmask)");
    }

    public void Reset() =>
        VfioException.Check(kernel.Ioctl(Fd, VfioUapi.DEVICE_RESET, 0), $"VFIO_DEVICE_RESET({Name})",
            e => e == Errno.EINVAL ? "the device has no reset method that works alone (no FLR, PM reset or exclusive bus)" : null);

    public void Dispose()
    {
        arg.Dispose();
        kernel.Close(Fd);
    }
}
