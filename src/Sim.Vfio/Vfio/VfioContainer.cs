using VfioSim.Iommu;
using VfioSim.Uapi;
using VfioSim.Vfio.Process;

namespace VfioSim.Vfio;

/// <summary>
/// struct vfio_container (drivers/vfio/container.c): opened from /dev/vfio/vfio, holds groups and, once
/// VFIO_SET_IOMMU succeeds, a type1 backend whose mappings are mirrored into one IOMMU domain that every group of
/// the container is attached to. It lives while its fd or any group holds it; the backend is released when the
/// last group leaves.
/// </summary>
public sealed class VfioContainer : SimFile
{
    private readonly Machine machine;
    private readonly List<VfioGroup> groups = [];
    private Type1Iommu? backend;
    private IommuDomain? domain;

    internal VfioContainer(Machine machine) => this.machine = machine;

    public IReadOnlyList<VfioGroup> Groups => groups;
    public Type1Iommu? Backend => backend;

    public override bool Seekable => false;

    public override long Ioctl(SimProcess process, uint request, ulong arg)
    {
        if (request == VfioUapi.GET_API_VERSION) return VfioUapi.ApiVersion;
        if (request == VfioUapi.CHECK_EXTENSION) return Type1Iommu.CheckExtension(backend, arg);
        if (request == VfioUapi.SET_IOMMU) return SetIommu(arg);
        // vfio_fops_unl_ioctl(): everything else goes to the backend, EINVAL without one.
        return backend is null ? -Errno.EINVAL : backend.Ioctl(process, request, arg);
    }

    // vfio_ioctl_set_iommu()
    private long SetIommu(ulong type)
    {
        if (groups.Count == 0 || backend is not null) return -Errno.EINVAL;
        if (!Type1Iommu.Accepts(type) || Type1Iommu.CheckExtension(null, type) <= 0) return -Errno.ENODEV;
        var b = new Type1Iommu(type);
        var attached = new List<VfioGroup>();
        foreach (var g in groups)
        {
            int r = b.AttachGroup(g.AttachInfo);
            if (r < 0)
            {
                foreach (var a in attached) b.DetachGroup(a.AttachInfo);
                b.Release();
                return r;
            }
            attached.Add(g);
        }
        backend = b;
        domain = machine.Iommu.AllocPagingDomain();
        b.DmaMapped += Mirror;
        b.DmaUnmapping += dma => domain?.Unmap(dma.Iova, dma.Size);
        foreach (var g in groups) machine.Iommu.AttachGroup(domain, g.IommuGroup);
        return 0;
    }

    // The pinned pages of a new mapping go into the IOMMU page table the container's groups use.
    private void Mirror(DmaMapping dma)
    {
        if (domain is null) return;
        var perm = (dma.Prot.HasFlag(DmaProt.Read) ? IommuPerm.Read : 0) | (dma.Prot.HasFlag(DmaProt.Write) ? IommuPerm.Write : 0);
        foreach (var (offset, memory, memoryOffset, length) in Type1Iommu.PinnedPieces(dma))
            domain.Map(dma.Iova + offset, new MemoryTarget(memory), (ulong)memoryOffset, (ulong)length, perm);
    }

    /// <summary>VFIO_GROUP_SET_CONTAINER's container side (__vfio_container_attach_groups()).</summary>
    internal int AttachGroup(VfioGroup group)
    {
        if (backend is not null)
        {
            int r = backend.AttachGroup(group.AttachInfo);
            if (r < 0) return r;
            machine.Iommu.AttachGroup(domain!, group.IommuGroup);
        }
        groups.Add(group);
        Get(); // the group holds the container
        return 0;
    }

    /// <summary>The group leaves (vfio_group_detach_container()); the last one releases the backend.</summary>
    internal void DetachGroup(VfioGroup group)
    {
        if (!groups.Remove(group)) return;
        if (backend is not null)
        {
            backend.DetachGroup(group.AttachInfo);
            machine.Iommu.DetachGroup(domain!, group.IommuGroup);
            if (groups.Count == 0)
            {
                backend.Release();
                backend = null;
                domain = null;
            }
        }
        Put();
    }
}
