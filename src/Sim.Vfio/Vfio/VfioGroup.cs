using System.Runtime.InteropServices;
using System.Text;
using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Uapi;
using VfioSim.Vfio.Process;

namespace VfioSim.Vfio;

/// <summary>
/// struct vfio_group (drivers/vfio/group.c): /dev/vfio/N for an IOMMU group with vfio-pci devices (VFIO_IOMMU), or
/// /dev/vfio/noiommu-N, the fake single-device group vfio_noiommu_group_alloc() makes for a device without an IOMMU
/// group when enable_unsafe_noiommu_mode is on (VFIO_NO_IOMMU: no DMA ownership, no DMA API, CAP_SYS_RAWIO to use).
/// One opener at a time; the open file holds the group until it and every device fd obtained through it are closed.
/// </summary>
public sealed class VfioGroup
{
    private readonly Machine machine;
    private readonly PciFunction? noIommuDevice;
    private VfioGroupFile? file;

    internal VfioGroup(Machine machine, IommuGroup group)
    {
        this.machine = machine;
        IommuGroup = group;
        Id = group.Id;
        AttachInfo = IommuGroupAttachInfo.ForIntelIommu(group);
    }

    internal VfioGroup(Machine machine, int id, PciFunction device)
    {
        this.machine = machine;
        Id = id;
        noIommuDevice = device;
    }

    /// <summary>The group number: the IOMMU group's id, or the fake group's (from the same ID space).</summary>
    public int Id { get; }

    /// <summary>The IOMMU group, null for a noiommu group.</summary>
    public IommuGroup? IommuGroup { get; }

    public bool IsNoIommu => noIommuDevice is not null;

    /// <summary>The node name under /dev/vfio.</summary>
    public string NodeName => IsNoIommu ? $"noiommu-{Id}" : Id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The type1 view of the IOMMU group; null for a noiommu group.</summary>
    internal IIommuGroupAttach? AttachInfo { get; }

    public VfioContainer? Container { get; internal set; }

    /// <summary>Device fds open through this group (container users beyond the group itself).</summary>
    internal int OpenDevices { get; set; }

    public bool IsOpen => file is not null;

    /// <summary>The group's devices registered with VFIO (bound to vfio-pci), in the group's order.</summary>
    internal IReadOnlyList<PciFunction> VfioDevices =>
        IommuGroup is not null ? machine.Drivers.VfioPciDevices(IommuGroup)
        : machine.Drivers.DriverOf(noIommuDevice!)?.Name == Drivers.InTreeDrivers.VfioPci ? [noIommuDevice!] : [];

    /// <summary>vfio_dev_in_groups(): the device is one of this group's.</summary>
    internal bool Contains(PciFunction dev) => IommuGroup?.Devices.Contains(dev) ?? dev == noIommuDevice;

    /// <summary>iommu_group_dma_owner_claimed(); a fake noiommu group has no owners.</summary>
    internal bool DmaOwnerClaimed => IommuGroup is not null && machine.DmaOwnership.IsClaimed(IommuGroup);

    internal SimFile? Open(SimProcess process, out int errno)
    {
        errno = 0;
        if (VfioDevices.Count == 0) { errno = Errno.ENODEV; return null; }
        if (IsNoIommu && !process.CapSysRawio) { errno = Errno.EPERM; return null; }
        if (file is not null) { errno = Errno.EBUSY; return null; }
        return file = new VfioGroupFile(this, machine);
    }

    /// <summary>
    /// vfio_container_attach_group()'s group side: a real group claims DMA ownership of its IOMMU group (EPERM when
    /// anyone holds it); a noiommu group has nothing to claim.
    /// </summary>
    internal bool TryClaim(out int errno)
    {
        errno = 0;
        return IommuGroup is null || machine.DmaOwnership.TryClaimDmaOwner(IommuGroup, this, out errno);
    }

    internal void ReleaseClaim()
    {
        if (IommuGroup is not null) machine.DmaOwnership.ReleaseDmaOwner(IommuGroup, this);
    }

    /// <summary>A device fd let go of its reference on the group file.</summary>
    internal void ReleaseGroupFile() => file?.Put();

    internal void Closed()
    {
        file = null;
        if (Container is { } c)
        {
            c.DetachGroup(this);
            ReleaseClaim();
            Container = null;
        }
    }

    public override string ToString() => $"vfio group {NodeName}";
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
            : Group.DmaOwnerClaimed ? 0 : VfioUapi.GROUP_FLAGS_VIABLE;
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
        if (Group.IsNoIommu && !process.CapSysRawio) return -Errno.EPERM;
        if (container.Groups.Count > 0 && container.NoIommu != Group.IsNoIommu) return -Errno.EPERM; // never mixed
        if (!Group.TryClaim(out int errno)) return -errno;
        int r = container.AttachGroup(Group);
        if (r < 0)
        {
            Group.ReleaseClaim();
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
        Group.ReleaseClaim();
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
        VfioPciDevice? device = null;
        foreach (var d in Group.VfioDevices)
        {
            var candidate = machine.Vfio.DeviceFor(d);
            int m = Match(candidate, name);
            if (m < 0) return m; // the walk stops at the first error (vfio_device_get_from_name())
            if (m > 0) { device = candidate; break; }
        }
        if (device is null) return -Errno.ENODEV;
        if (Group.Container is null) return -Errno.EINVAL;
        if (!Group.Container.HasBackend) return -Errno.EINVAL;
        if (Group.IsNoIommu && !process.CapSysRawio) return -Errno.EPERM;
        var file = new VfioDeviceFile(device, Group);
        int r = device.Open();
        if (r < 0) return r;
        Get(); // the device fd holds the group file
        Group.OpenDevices++;
        return process.Install(file, OpenFlags.ReadWrite | OpenFlags.CloseOnExec);
    }

    /// <summary>
    /// vfio_pci_core_match(): 1 when <paramref name="name"/> is the device's PCI name, optionally followed by
    /// space-separated options (only <c>vf_token=UUID</c>, once) and the VF token checks pass; 0 when it names
    /// another device; -EINVAL for a bad option or UUID, or the token check's -errno.
    /// </summary>
    internal static int Match(VfioPciDevice device, string name)
    {
        const string option = "vf_token=";
        const int uuidLength = 36; // UUID_STRING_LEN
        string bdf = device.Function.Bdf.ToString();
        if (!name.StartsWith(bdf, StringComparison.Ordinal)) return 0;
        Guid? token = null;
        if (name.Length > bdf.Length)
        {
            if (name[bdf.Length] != ' ') return 0; // non-whitespace after the name: another device's
            int i = bdf.Length;
            while (i < name.Length)
            {
                if (name[i] == ' ') { i++; continue; }
                if (token is not null || string.CompareOrdinal(name, i, option, 0, option.Length) != 0) return -Errno.EINVAL; // unknown or duplicate
                i += option.Length;
                if (name.Length - i < uuidLength) return -Errno.EINVAL;
                if (!TryParseUuid(name.AsSpan(i, uuidLength), out var uuid)) return -Errno.EINVAL;
                token = uuid;
                i += uuidLength;
            }
        }
        int r = device.ValidateVfToken(token);
        return r < 0 ? r : 1;
    }

    /// <summary>uuid_parse(): 8-4-4-4-12 hex digits (either case) with dashes at 8, 13, 18 and 23.</summary>
    private static bool TryParseUuid(ReadOnlySpan<char> s, out Guid uuid)
    {
        uuid = default;
        for (int i = 0; i < s.Length; i++)
        {
            bool dash = i is 8 or 13 or 18 or 23;
            if (dash ? s[i] != '-' : !char.IsAsciiHexDigit(s[i])) return false;
        }
        return Guid.TryParseExact(s, "D", out uuid);
    }

    protected override void Release() => Group.Closed();
}
