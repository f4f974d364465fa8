using System.Text;
using BenchmarkDotNet.Attributes;
using VfioSim.Pci.MachineFiles;
using VfioSim.Uapi;
using VfioSim.Vfio;
using VfioSim.Vfio.Process;

namespace VfioSim.Bench;

/// <summary>
/// The syscall surface a driver pays per call on the simulator: an ioctl through the byte ABI
/// (VFIO_GET_API_VERSION on the container, VFIO_GROUP_GET_STATUS with its struct in process memory) and a
/// 32-bit MMIO load from the edu's BAR0 mapped into the process. Set up as a driver would: edu bound to
/// vfio-pci, container with type1v2, device fd, BAR0 mmapped.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 8)]
public class SyscallBenchmarks
{
    private SimProcess process = null!;
    private int container, group;
    private ulong statusArg, bar0;

    [GlobalSetup]
    public void Setup()
    {
        var machine = new Machine(MachineLoader.Default());
        process = machine.CreateProcess("bench");
        machine.Sysfs.Write("/sys/bus/pci/devices/0000:01:00.0/driver_override", "vfio-pci");
        machine.Sysfs.Write("/sys/bus/pci/drivers_probe", "0000:01:00.0");
        int groupId = machine.Groups.GroupOf(machine.Topology.Get("0000:01:00.0"))!.Id;
        container = process.Open("/dev/vfio/vfio", OpenFlags.ReadWrite);
        group = process.Open($"/dev/vfio/{groupId}", OpenFlags.ReadWrite);
        ulong arg = (ulong)process.Mmap(0, 4096, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous, -1, 0);
        process.Memory.Store32(arg, (uint)container);
        Check(process.Ioctl(group, VfioUapi.GROUP_SET_CONTAINER, arg));
        Check(process.Ioctl(container, VfioUapi.SET_IOMMU, VfioUapi.TYPE1v2_IOMMU));
        process.Memory.Write(arg, Encoding.ASCII.GetBytes("0000:01:00.0\0"));
        int device = (int)Check(process.Ioctl(group, VfioUapi.GROUP_GET_DEVICE_FD, arg));
        // vfio-pci enables memory decode at open; map BAR0 (1 MiB at region offset 0)
        bar0 = (ulong)Check(process.Mmap(0, 0x100000, Prot.Read | Prot.Write, MapFlags.Shared, device, 0));
        statusArg = arg + 64;
        process.Memory.Store32(statusArg, 8);
        if (process.Memory.Load32(bar0) != 0x010000ed) throw new InvalidOperationException("edu identification not read");
    }

    private static long Check(long r) => r >= 0 ? r : throw new InvalidOperationException($"setup failed: {Errno.Name((int)r)}");

    [Benchmark]
    public long GetApiVersion() => process.Ioctl(container, VfioUapi.GET_API_VERSION, 0);

    [Benchmark]
    public long GroupGetStatus() => process.Ioctl(group, VfioUapi.GROUP_GET_STATUS, statusArg);

    [Benchmark]
    public uint MmioLoad32() => process.Memory.Load32(bar0);
}
