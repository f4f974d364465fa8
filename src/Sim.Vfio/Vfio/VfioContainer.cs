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
    private bool noiommuBackend;

    internal VfioContainer(Machine machine) => this.machine = machine;

    public IReadOnlyList<VfioGroup> Groups => groups;
    public Type1Iommu? Backend => backend;

    /// <summary>container-&gt;noiommu: its groups are noiommu groups (set by the first group to join).</summary>
    public bool NoIommu { get; private set; }

    /// <summary>VFIO_SET_IOMMU has succeeded (type1, or the noiommu backend, which has no state).</summary>
    public bool HasBackend => backend is not null || noiommuBackend;

    private bool UnsafeNoiommuMode => machine.Topology.CommandLine.EnableUnsafeNoiommu;

    public override bool Seekable => false;

    public override long Ioctl(SimProcess process, uint request, ulong arg)
    {
        if (request == VfioUapi.GET_API_VERSION) return VfioUapi.ApiVersion;
        if (request == VfioUapi.CHECK_EXTENSION) return CheckExtension(arg);
        if (request == VfioUapi.SET_IOMMU) return SetIommu(process, arg);
        // vfio_fops_unl_ioctl(): everything else goes to the backend, EINVAL without one; the noiommu backend has
        // no DMA API (vfio_noiommu_ioctl(): ENOTTY).
        if (noiommuBackend) return -Errno.ENOTTY;
        return backend is null ? -Errno.EINVAL : backend.Ioctl(process, request, arg);
    }

    /// <summary>vfio_noiommu_ioctl(VFIO_CHECK_EXTENSION): only VFIO_NOIOMMU_IOMMU, only in unsafe noiommu mode.</summary>
    private long NoiommuCheckExtension(ulong ext) => UnsafeNoiommuMode && ext == VfioUapi.NOIOMMU_IOMMU ? 1 : 0;

    // vfio_container_ioctl_check_extension(): the set backend, else every backend allowed for the container's groups
    // (vfio_iommu_driver_allowed(): a noiommu container only the noiommu backend, a real one every other).
    private long CheckExtension(ulong ext)
    {
        if (noiommuBackend) return NoiommuCheckExtension(ext);
        if (backend is not null) return Type1Iommu.CheckExtension(backend, ext);
        if (groups.Count > 0) return NoIommu ? NoiommuCheckExtension(ext) : Type1Iommu.CheckExtension(null, ext);
        return Math.Max(Type1Iommu.CheckExtension(null, ext), NoiommuCheckExtension(ext));
    }

    // vfio_ioctl_set_iommu()
    private long SetIommu(SimProcess process, ulong type)
    {
        if (groups.Count == 0 || HasBackend) return -Errno.EINVAL;
        if (NoIommu)
        {
            // vfio_noiommu_open(): type 8 and CAP_SYS_RAWIO; its attach_group always succeeds.
            if (NoiommuCheckExtension(type) <= 0) return -Errno.ENODEV;
            if (!process.CapSysRawio) return -Errno.EPERM;
            noiommuBackend = true;
            return 0;
        }
        if (!Type1Iommu.Accepts(type) || Type1Iommu.CheckExtension(null, type) <= 0) return -Errno.ENODEV;
        var b = new Type1Iommu(type);
        var attached = new List<VfioGroup>();
        foreach (var g in groups)
        {
            int r = b.AttachGroup(g.AttachInfo!);
            if (r < 0)
            {
                foreach (var a in attached) b.DetachGroup(a.AttachInfo!);
                b.Release();
                return r;
            }
            attached.Add(g);
        }
        backend = b;
        domain = machine.Iommu.AllocPagingDomain();
        b.DmaMapped += Mirror;
        b.DmaUnmapping += dma => domain?.Unmap(dma.Iova, dma.Size);
        foreach (var g in groups) machine.Iommu.AttachGroup(domain, g.IommuGroup!);
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
            int r = backend.AttachGroup(group.AttachInfo!);
            if (r < 0) return r;
            machine.Iommu.AttachGroup(domain!, group.IommuGroup!);
        }
        NoIommu = group.IsNoIommu;
        groups.Add(group);
        Get(); // the group holds the container
        return 0;
    }

    /// <summary>The group leaves (vfio_group_detach_container()); the last one releases the backend.</summary>
    internal void DetachGroup(VfioGroup group)
    {
        if (!groups.Remove(group)) return;
        if (groups.Count == 0) noiommuBackend = false;
        if (backend is not null)
        {
            backend.DetachGroup(group.AttachInfo!);
            machine.Iommu.DetachGroup(domain!, group.IommuGroup!);
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
