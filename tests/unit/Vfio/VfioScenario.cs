using System.Text;
using VfioSim.Driver;
using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;
using VfioSim.Uapi;
using VfioSim.Vfio.Drivers;
using VfioSim.Vfio.Process;
using Machine = VfioSim.Vfio.Machine;

namespace VfioSim.Tests.Unit.VfioScenarios;

/// <summary>
/// A machine (the default one unless given) and a process on it, with raw helpers for the group-path VFIO flow:
/// bind to vfio-pci, open groups into one type1v2 container, get device fds, and a scratch page for ioctl args.
/// Calls return the kernel's result (fd or -errno) so tests can check errnos.
/// </summary>
internal sealed class VfioScenario
{
    private readonly Dictionary<int, int> groupFds = [];

    public VfioScenario(PciTopology? topology = null) : this(new Machine(topology ?? MachineLoader.Default()))
    {
    }

    public VfioScenario(Machine machine)
    {
        Machine = machine;
        Process = Machine.CreateProcess("vfio-test");
        Arg = new UserBuffer(Process, 4096);
    }

    public Machine Machine { get; }
    public SimProcess Process { get; }
    public UserBuffer Arg { get; }
    public int ContainerFd { get; private set; } = -1;

    public PciFunction Dev(string bdf) => Machine.Topology.Get(bdf);

    /// <summary>driver_override = vfio-pci, then a fresh probe; returns the probe's result (0 when bound).</summary>
    public int BindToVfio(string bdf)
    {
        var dev = Dev(bdf);
        Machine.Drivers.Release(dev);
        Machine.StateOf(dev).DriverOverride = InTreeDrivers.VfioPci;
        return Machine.Drivers.Bind(dev, Machine.Drivers.Find(InTreeDrivers.VfioPci)!);
    }

    public int GroupIdOf(string bdf) => Machine.Groups.GroupOf(Dev(bdf))!.Id;

    /// <summary>The group fd of the device's group: opened, added to the container (type1v2 once) the first time.</summary>
    public int GroupFd(string bdf)
    {
        int id = GroupIdOf(bdf);
        if (groupFds.TryGetValue(id, out int fd)) return fd;
        if (ContainerFd < 0) ContainerFd = Check(Process.Open("/dev/vfio/vfio", OpenFlags.ReadWrite));
        fd = Check(Process.Open($"/dev/vfio/{id}", OpenFlags.ReadWrite));
        Arg.Put(ContainerFd);
        Check((int)Process.Ioctl(fd, VfioUapi.GROUP_SET_CONTAINER, Arg.Address));
        if (groupFds.Count == 0) Check((int)Process.Ioctl(ContainerFd, VfioUapi.SET_IOMMU, VfioUapi.TYPE1v2_IOMMU));
        groupFds[id] = fd;
        return fd;
    }

    /// <summary>VFIO_GROUP_GET_DEVICE_FD with <paramref name="name"/> on the group of <paramref name="bdf"/>: fd or -errno.</summary>
    public long GetDeviceFd(string bdf, string name)
    {
        int group = GroupFd(bdf);
        Arg.PutBytes(Encoding.ASCII.GetBytes(name + "\0"));
        return Process.Ioctl(group, VfioUapi.GROUP_GET_DEVICE_FD, Arg.Address);
    }

    public int DeviceFd(string bdf) => Check((int)GetDeviceFd(bdf, bdf));

    private static int Check(int r) => r >= 0 ? r : throw new InvalidOperationException($"set-up failed: {Errno.Name(-r)}");
}
