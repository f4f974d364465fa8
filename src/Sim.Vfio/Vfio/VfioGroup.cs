using System.Runtime.InteropServices;
using System.Text;
using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Uapi;
using VfioSim.Vfio.Process;

namespace VfioSim.Vfio;

/// <summary>
/// struct vfio_group (drivers/vfio/group.c) for one IOMMU group with vfio-pci devices: /dev/vfio/N. One opener at
/// a time; the open file holds the group until it and every device fd obtained through it are closed.
/// </summary>
public sealed class VfioGroup
{
    private readonly Machine machine;
    private VfioGroupFile? file;

    internal VfioGroup(Machine machine, IommuGroup group)
    {
        this.machine = machine;
        IommuGroup = group;
        AttachInfo = IommuGroupAttachInfo.ForIntelIommu(group);
    }

    public IommuGroup IommuGroup { get; }
    internal IIommuGroupAttach AttachInfo { get; }
    public VfioContainer? Container { get; internal set; }

    /// <summary>Device fds open through this group (container users beyond the group itself).</summary>
    internal int OpenDevices { get; set; }

    public bool IsOpen => file is not null;

    internal SimFile? Open(SimProcess process, out int errno)
    {
        errno = 0;
        if (machine.Drivers.VfioPciDevices(IommuGroup).Count == 0) { errno = Errno.ENODEV; return null; }
        if (file is not null) { errno = Errno.EBUSY; return null; }
        _ = process;
        return file = new VfioGroupFile(this, machine);
    }

    /// <summary>A device fd let go of its reference on the group file.</summary>
    internal void ReleaseGroupFile() => file?.Put();

    internal void Closed()
    {
        file = null;
        if (Container is { } c)
        {
            c.DetachGroup(this);
            machine.DmaOwnership.ReleaseDmaOwner(IommuGroup, this);
            Container = null;
        }
    }

    public override string ToString() => $"vfio group {IommuGroup.Id}";
}

/// <summary>The open /dev/vfio/N: VFIO_GROUP_* ioctls (vfio_group_fops_unl_ioctl()).</summary>
internal sealed class VfioGroupFile(VfioGroup group, Machine machine) : SimFile
{
    private const int PageSize = 4096;

    public VfioGroup Group { get; } = group;

    public override bool Seekable => false;

    public override long Ioctl(SimProcess process, uint request, ulong arg)
    {
        if (request == VfioUapi.GROUP_GET_STATUS) return GetStatus(process, arg);
        if (request == VfioUapi.GROUP_SET_CONTAINER) return SetContainer(process, arg);
        if (request == VfioUapi.GROUP_UNSET_CONTAINER) return UnsetContainer();
        if (request == VfioUapi.GROUP_GET_DEVICE_FD) return GetDeviceFd(process, arg);
        return -Errno.ENOTTY;
    }

    // vfio_group_ioctl_get_status()
    private long GetStatus(SimProcess process, ulong arg)
    {
        Span<byte> b = stackalloc byte[8];
        if (!process.AddressSpace.TryRead(arg, b)) return -Errno.EFAULT;
        var status = MemoryMarshal.Read<VfioGroupStatus>(b);
        if (status.Argsz < 8) return -Errno.EINVAL;
        status.Flags = Group.Container is not null
            ? VfioUapi.GROUP_FLAGS_VIABLE | VfioUapi.GROUP_FLAGS_CONTAINER_SET
            : machine.DmaOwnership.IsClaimed(Group.IommuGroup) ? 0 : VfioUapi.GROUP_FLAGS_VIABLE;
        MemoryMarshal.Write(b, in status);
        return process.AddressSpace.TryWrite(arg, b) ? 0 : -Errno.EFAULT;
    }

    // vfio_group_ioctl_set_container()
    private long SetContainer(SimProcess process, ulong arg)
    {
        Span<byte> b = stackalloc byte[4];
        if (!process.AddressSpace.TryRead(arg, b)) return -Errno.EFAULT;
        int fd = BitConverter.ToInt32(b);
        var f = process.FileOf(fd);
        if (f is null) return -Errno.EBADF;
        if (Group.Container is not null) return -Errno.EINVAL;
        if (f is not VfioContainer container) return -Errno.EBADFD; // Linux 6.12 (6.1 said EINVAL)
        if (!machine.DmaOwnership.TryClaimDmaOwner(Group.IommuGroup, Group, out int errno)) return -errno;
        int r = container.AttachGroup(Group);
        if (r < 0)
        {
            machine.DmaOwnership.ReleaseDmaOwner(Group.IommuGroup, Group);
            return r;
        }
        Group.Container = container;
        return 0;
    }

    // vfio_group_ioctl_unset_container()
    private long UnsetContainer()
    {
        if (Group.Container is null) return -Errno.EINVAL;
        if (Group.OpenDevices > 0) return -Errno.EBUSY;
        Group.Container.DetachGroup(Group);
        machine.DmaOwnership.ReleaseDmaOwner(Group.IommuGroup, Group);
        Group.Container = null;
        return 0;
    }

    // vfio_group_ioctl_get_device_fd()
    private long GetDeviceFd(SimProcess process, ulong arg)
    {
        var bytes = new List<byte>();
        Span<byte> one = stackalloc byte[1];
        for (int i = 0; ; i++)
        {
            if (i >= PageSize) return -Errno.EINVAL; // strndup_user(): no NUL within a page
            if (!process.AddressSpace.TryRead(arg + (ulong)i, one)) return -Errno.EFAULT;
            if (one[0] == 0) break;
            bytes.Add(one[0]);
        }
        string name = Encoding.Latin1.GetString([.. bytes]);
        PciFunction? dev = null;
        foreach (var d in machine.Drivers.VfioPciDevices(Group.IommuGroup))
        {
            string bdf = d.Bdf.ToString();
            // vfio_pci_core_match(): the PCI name, optionally followed by " vf_token=..." options
            if (name == bdf || (name.StartsWith(bdf, StringComparison.Ordinal) && name.Length > bdf.Length && name[bdf.Length] == ' '))
            {
                dev = d;
                break;
            }
        }
        if (dev is null) return -Errno.ENODEV;
        if (Group.Container is null) return -Errno.EINVAL;
        if (Group.Container.Backend is null) return -Errno.EINVAL;
        var device = machine.Vfio.DeviceFor(dev);
        var file = new VfioDeviceFile(device, Group);
        int r = device.Open();
        if (r < 0) return r;
        Get(); // the device fd holds the group file
        Group.OpenDevices++;
        return process.Install(file, OpenFlags.ReadWrite | OpenFlags.CloseOnExec);
    }

    protected override void Release() => Group.Closed();
}
