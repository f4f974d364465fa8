using System.Runtime.InteropServices;
using System.Text;
using Snapshooter.NUnit;
using VfioSim.Pci.MachineFiles;
using VfioSim.Uapi;
using VfioSim.Vfio;

namespace VfioSim.Tests.Golden;

/// <summary>
/// A reviewed transcript (tests/golden/__snapshots__) of the standard legacy VFIO flow on the default machine's
/// edu, every syscall with its result and the fields the kernel wrote back: any change in what the simulated
/// kernel answers shows up in review.
/// </summary>
public class LegacyFlowTranscriptTests
{
    private sealed class Transcript(IKernel k)
    {
        public List<string> Lines { get; } = [];
        public ulong Arg { get; } = (ulong)k.Mmap(0, 8192, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous, -1, 0);

        public long Call(string text, long result)
        {
            Lines.Add($"{text} = {(result < 0 ? $"-{Errno.Name((int)-result)}" : result.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
            return result;
        }

        public void Note(string text) => Lines.Add("  " + text);

        public void Put<T>(T value, ulong offset = 0) where T : unmanaged =>
            k.Memory.Write(Arg + offset, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

        public T Get<T>(ulong offset = 0) where T : unmanaged
        {
            T v = default;
            k.Memory.Read(Arg + offset, MemoryMarshal.AsBytes(new Span<T>(ref v)));
            return v;
        }
    }

    private static void Echo(IKernel k, Transcript t, string path, string text)
    {
        int fd = (int)t.Call($"open(\"{path}\", O_WRONLY)", k.Open(path, OpenFlags.WriteOnly));
        t.Call($"write({fd}, \"{text}\")", k.Write(fd, Encoding.ASCII.GetBytes(text)));
        t.Call($"close({fd})", k.Close(fd));
    }

    [Test]
    public void Legacy_flow_on_edu()
    {
        var machine = new Machine(MachineLoader.Default());
        using var k = machine.CreateProcess("transcript");
        var t = new Transcript(k);
        const string edu = "0000:01:00.0";
        Echo(k, t, $"/sys/bus/pci/devices/{edu}/driver_override", "vfio-pci");
        Echo(k, t, "/sys/bus/pci/drivers_probe", edu);
        t.Call($"readlink(\"/sys/bus/pci/devices/{edu}/iommu_group\")", k.Readlink($"/sys/bus/pci/devices/{edu}/iommu_group", out var link));
        t.Note(link);
        string groupPath = "/dev/vfio/" + link[(link.LastIndexOf('/') + 1)..];

        int container = (int)t.Call("open(\"/dev/vfio/vfio\", O_RDWR)", k.Open("/dev/vfio/vfio", OpenFlags.ReadWrite));
        t.Call("ioctl(container, VFIO_GET_API_VERSION)", k.Ioctl(container, VfioUapi.GET_API_VERSION, 0));
        foreach (uint ext in new uint[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 99 })
            t.Call($"ioctl(container, VFIO_CHECK_EXTENSION, {ext})", k.Ioctl(container, VfioUapi.CHECK_EXTENSION, ext));
        int group = (int)t.Call($"open(\"{groupPath}\", O_RDWR)", k.Open(groupPath, OpenFlags.ReadWrite));
        t.Put(new VfioGroupStatus { Argsz = 8 });
        t.Call("ioctl(group, VFIO_GROUP_GET_STATUS)", k.Ioctl(group, VfioUapi.GROUP_GET_STATUS, t.Arg));
        t.Note($"flags=0x{t.Get<VfioGroupStatus>().Flags:x}");
        t.Put(container);
        t.Call("ioctl(group, VFIO_GROUP_SET_CONTAINER, &container)", k.Ioctl(group, VfioUapi.GROUP_SET_CONTAINER, t.Arg));
        t.Call("ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)", k.Ioctl(container, VfioUapi.SET_IOMMU, VfioUapi.TYPE1v2_IOMMU));

        t.Put(new VfioIommuType1Info { Argsz = 16 });
        t.Call("ioctl(container, VFIO_IOMMU_GET_INFO, argsz=16)", k.Ioctl(container, VfioUapi.IOMMU_GET_INFO, t.Arg));
        var small = t.Get<VfioIommuType1Info>();
        t.Note($"argsz={small.Argsz} flags=0x{small.Flags:x} iova_pgsizes=0x{small.IovaPgsizes:x} cap_offset={small.CapOffset}");
        t.Put(new VfioIommuType1Info { Argsz = small.Argsz });
        t.Call($"ioctl(container, VFIO_IOMMU_GET_INFO, argsz={small.Argsz})", k.Ioctl(container, VfioUapi.IOMMU_GET_INFO, t.Arg));
        var full = t.Get<VfioIommuType1Info>();
        t.Note($"cap_offset={full.CapOffset}; capability chain bytes: {Convert.ToHexString(BytesAt(k, t.Arg + full.CapOffset, (int)(full.Argsz - full.CapOffset)))}");

        ulong buffer = (ulong)t.Call("mmap(NULL, 0x1000, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)",
            k.Mmap(0, 0x1000, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous, -1, 0));
        t.Put(new VfioIommuType1DmaMap { Argsz = 32, Flags = 3, Vaddr = buffer, Iova = 0x100000, Size = 0x1000 });
        t.Call("ioctl(container, VFIO_IOMMU_MAP_DMA, iova=0x100000, size=0x1000)", k.Ioctl(container, VfioUapi.IOMMU_MAP_DMA, t.Arg));
        t.Call("ioctl(container, VFIO_IOMMU_MAP_DMA, same range)", k.Ioctl(container, VfioUapi.IOMMU_MAP_DMA, t.Arg));

        k.Memory.Write(t.Arg, Encoding.ASCII.GetBytes(edu + "\0"));
        int device = (int)t.Call($"ioctl(group, VFIO_GROUP_GET_DEVICE_FD, \"{edu}\")", k.Ioctl(group, VfioUapi.GROUP_GET_DEVICE_FD, t.Arg));
        t.Put(new VfioDeviceInfo { Argsz = 24 });
        t.Call("ioctl(device, VFIO_DEVICE_GET_INFO)", k.Ioctl(device, VfioUapi.DEVICE_GET_INFO, t.Arg));
        var di = t.Get<VfioDeviceInfo>();
        t.Note($"flags=0x{di.Flags:x} num_regions={di.NumRegions} num_irqs={di.NumIrqs}");
        for (uint i = 0; i <= 9; i++)
        {
            t.Put(new VfioRegionInfo { Argsz = 32, Index = i });
            if (t.Call($"ioctl(device, VFIO_DEVICE_GET_REGION_INFO, {i})", k.Ioctl(device, VfioUapi.DEVICE_GET_REGION_INFO, t.Arg)) == 0)
            {
                var r = t.Get<VfioRegionInfo>();
                t.Note($"size=0x{r.Size:x} offset=0x{r.Offset:x} flags=0x{r.Flags:x}");
            }
        }
        for (uint i = 0; i <= 5; i++)
        {
            t.Put(new VfioIrqInfo { Argsz = 16, Index = i });
            if (t.Call($"ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, {i})", k.Ioctl(device, VfioUapi.DEVICE_GET_IRQ_INFO, t.Arg)) == 0)
            {
                var q = t.Get<VfioIrqInfo>();
                t.Note($"flags=0x{q.Flags:x} count={q.Count}");
            }
        }
        var cfg = new byte[4];
        t.Call("pread(device, 4, CONFIG+0x0)", k.Pread(device, cfg, 0x700_0000_0000));
        t.Note($"vendor:device = {BitConverter.ToUInt16(cfg, 0):x4}:{BitConverter.ToUInt16(cfg, 2):x4}");
        t.Call("pread(device, 4, CONFIG+0x4)", k.Pread(device, cfg, 0x700_0000_0004));
        t.Note($"command=0x{BitConverter.ToUInt16(cfg, 0):x4}");
        ulong bar0 = (ulong)t.Call("mmap(NULL, 0x100000, PROT_READ|PROT_WRITE, MAP_SHARED, device, BAR0)",
            k.Mmap(0, 0x100000, Prot.Read | Prot.Write, MapFlags.Shared, device, 0));
        t.Note($"BAR0[0x0] = 0x{k.Memory.Load32(bar0):x8}");
        t.Call("ioctl(device, VFIO_DEVICE_RESET)", k.Ioctl(device, VfioUapi.DEVICE_RESET, 0));
        t.Call("ioctl(group, VFIO_GROUP_UNSET_CONTAINER) with the device open", k.Ioctl(group, VfioUapi.GROUP_UNSET_CONTAINER, 0));
        t.Call("close(device)", k.Close(device));
        t.Put(new VfioIommuType1DmaUnmap { Argsz = 24, Flags = 2 });
        t.Call("ioctl(container, VFIO_IOMMU_UNMAP_DMA, ALL)", k.Ioctl(container, VfioUapi.IOMMU_UNMAP_DMA, t.Arg));
        t.Note($"size=0x{t.Get<VfioIommuType1DmaUnmap>().Size:x}");
        t.Call("ioctl(group, VFIO_GROUP_UNSET_CONTAINER)", k.Ioctl(group, VfioUapi.GROUP_UNSET_CONTAINER, 0));
        t.Call("close(group)", k.Close(group));
        t.Call("close(container)", k.Close(container));
        Snapshot.Match(t.Lines);
    }

    private static byte[] BytesAt(IKernel k, ulong address, int length)
    {
        var b = new byte[length];
        k.Memory.Read(address, b);
        return b;
    }
}
