using System.Text;
using VfioSim.Uapi;

namespace VfioSim.Driver;

/// <summary>/dev/vfio/N: an IOMMU group handed to userspace.</summary>
public sealed class VfioGroup : IDisposable
{
    private readonly IKernel kernel;
    private readonly UserBuffer arg;

    public VfioGroup(IKernel kernel, int groupId, string? path = null)
    {
        this.kernel = kernel;
        GroupId = groupId;
        Path = path ?? $"/dev/vfio/{groupId}";
        Fd = (int)VfioException.Check(kernel.Open(Path, OpenFlags.ReadWrite | OpenFlags.CloseOnExec), $"open({Path})",
            e => e switch
            {
                Errno.ENOENT => $"no device of IOMMU group {groupId} is bound to vfio-pci",
                Errno.EBUSY => "the group is already open (by this or another process)",
                _ => null,
            });
        arg = new UserBuffer(kernel, 4096);
    }

    public int GroupId { get; }
    public string Path { get; }
    public int Fd { get; }

    /// <summary>VFIO_GROUP_GET_STATUS flags (VIABLE, CONTAINER_SET).</summary>
    public uint Status()
    {
        arg.Put(new VfioGroupStatus { Argsz = 8 });
        VfioException.Check(kernel.Ioctl(Fd, VfioUapi.GROUP_GET_STATUS, arg.Address), "VFIO_GROUP_GET_STATUS");
        return arg.Get<VfioGroupStatus>().Flags;
    }

    public bool Viable => (Status() & VfioUapi.GROUP_FLAGS_VIABLE) != 0;

    /// <summary>VFIO_GROUP_SET_CONTAINER; <paramref name="nonViableHint"/> can name the devices that block it.</summary>
    public void SetContainer(VfioContainer container, Func<string?>? nonViableHint = null)
    {
        arg.Put(container.Fd);
        VfioException.Check(kernel.Ioctl(Fd, VfioUapi.GROUP_SET_CONTAINER, arg.Address), $"VFIO_GROUP_SET_CONTAINER(group {GroupId})",
            e => e == Errno.EPERM
                ? nonViableHint?.Invoke() ?? $"group {GroupId} is not viable: every device in it must be bound to vfio-pci (or have no driver)"
                : null);
    }

    public void UnsetContainer() =>
        VfioException.Check(kernel.Ioctl(Fd, VfioUapi.GROUP_UNSET_CONTAINER, 0), $"VFIO_GROUP_UNSET_CONTAINER(group {GroupId})",
            e => e == Errno.EBUSY ? "close the device fds of this group first" : null);

    /// <summary>VFIO_GROUP_GET_DEVICE_FD for a PCI name such as 0000:01:00.0.</summary>
    public int GetDeviceFd(string name)
    {
        var bytes = Encoding.ASCII.GetBytes(name + "\0");
        arg.PutBytes(bytes);
        return (int)VfioException.Check(kernel.Ioctl(Fd, VfioUapi.GROUP_GET_DEVICE_FD, arg.Address), $"VFIO_GROUP_GET_DEVICE_FD({name})",
            e => e switch
            {
                Errno.EINVAL => "set the container and its IOMMU type (VFIO_SET_IOMMU) first",
                Errno.ENODEV => $"{name} is not a vfio-pci device of group {GroupId}",
                _ => null,
            });
    }

    public void Dispose()
    {
        arg.Dispose();
        kernel.Close(Fd);
    }
}
