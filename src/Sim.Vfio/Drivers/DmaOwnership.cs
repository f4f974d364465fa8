using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Uapi;

namespace VfioSim.Vfio.Drivers;

/// <summary>A device that keeps its IOMMU group from being viable, and the DMA-API driver it is bound to.</summary>
public sealed record DmaApiUser(PciFunction Device, PciDriver Driver)
{
    public override string ToString() => $"{Device.Bdf} ({Driver.Name})";
}

/// <summary>
/// DMA ownership of IOMMU groups as drivers/iommu/iommu.c keeps it in struct iommu_group: <c>owner_cnt</c> and
/// <c>owner</c>. Binding a driver that uses the DMA API takes a kernel reference
/// (iommu_device_use_default_domain(), from pci_dma_configure()); user space (a VFIO group or iommufd) takes the
/// group as a whole (iommu_group_claim_dma_owner()) or device by device (iommu_device_claim_dma_owner()).
/// The two exclude each other: a claimed group refuses DMA-API drivers (-EBUSY, so their probe fails), and a
/// group with such a driver bound refuses claims (-EPERM).
/// </summary>
public sealed class DmaOwnership
{
    private readonly Machine machine;

    internal DmaOwnership(Machine machine) => this.machine = machine;

    // The counters live where the kernel keeps them, in the IOMMU's group state (IommuModel).
    private Iommu.IommuModel Iommu => machine.Iommu;

    /// <summary>owner_cnt: DMA-API drivers bound in the group, or the user owner's claims.</summary>
    public int OwnerCount(IommuGroup group) => Iommu.OwnerCount(Check(group));

    /// <summary>The user-space owner holding the group (group-&gt;owner), or null.</summary>
    public object? OwnerOf(IommuGroup group) => Iommu.OwnerOf(Check(group));

    /// <summary>
    /// iommu_group_dma_owner_claimed(): owner_cnt is not zero, by kernel drivers or by user space. This is the test
    /// behind VFIO_GROUP_FLAGS_VIABLE for a group that is not attached to a container.
    /// </summary>
    public bool IsClaimed(IommuGroup group) => OwnerCount(group) != 0;

    /// <summary>
    /// Viable for VFIO: no device of the group is bound to a driver that uses the kernel DMA API (one that is not
    /// driver_managed_dma). Unbound devices and devices bound to vfio-pci, pci-stub or pcieport do not count.
    /// </summary>
    public bool IsViable(IommuGroup group) => OwnerOf(group) is not null || OwnerCount(group) == 0;

    /// <summary>
    /// The devices that make the group non-viable, with their drivers, by address (empty when it is viable): what
    /// a user must unbind before the group can be used.
    /// </summary>
    public IReadOnlyList<DmaApiUser> DmaApiUsers(IommuGroup group)
    {
        Check(group);
        var list = new List<DmaApiUser>();
        foreach (var dev in group.SortedDevices)
            if (machine.Drivers.DriverOf(dev) is { DriverManagedDma: false } driver) list.Add(new DmaApiUser(dev, driver));
        return list;
    }

    /// <summary>
    /// iommu_group_claim_dma_owner(): user space takes the whole group. Fails with EPERM when owner_cnt is not
    /// zero: a DMA-API driver is bound in the group, or an owner (even this one) holds it.
    /// </summary>
    public bool TryClaimDmaOwner(IommuGroup group, object owner, out int errno)
    {
        errno = -Iommu.ClaimDmaOwner(Check(group), owner);
        return errno == 0;
    }

    /// <summary>iommu_group_release_dma_owner(): the group goes back to its default domain, owner_cnt 0.</summary>
    /// <exception cref="InvalidOperationException"><paramref name="owner"/> does not hold the group (the kernel WARNs).</exception>
    public void ReleaseDmaOwner(IommuGroup group, object owner)
    {
        HeldBy(Check(group), owner);
        Iommu.ReleaseDmaOwner(group);
    }

    /// <summary>
    /// iommu_device_claim_dma_owner() (the iommufd device path): the first claim takes the group, later claims by
    /// the same owner for other devices add to owner_cnt. ENODEV without a group; EPERM when kernel drivers or
    /// another owner hold it.
    /// </summary>
    public bool TryClaimDeviceDmaOwner(PciFunction dev, object owner, out int errno)
    {
        ArgumentNullException.ThrowIfNull(owner);
        if (machine.Groups.GroupOf(dev) is not { } group)
        {
            errno = Errno.ENODEV;
            return false;
        }
        errno = -Iommu.ClaimDeviceDmaOwner(group, owner);
        return errno == 0;
    }

    /// <summary>iommu_device_release_dma_owner(): one claim fewer; the last releases the group.</summary>
    /// <exception cref="InvalidOperationException"><paramref name="owner"/> does not hold the device's group.</exception>
    public void ReleaseDeviceDmaOwner(PciFunction dev, object owner)
    {
        var group = machine.Groups.GroupOf(dev) ?? throw new InvalidOperationException($"{dev} has no IOMMU group");
        HeldBy(group, owner);
        Iommu.ReleaseDeviceDmaOwner(group);
    }

    /// <summary>
    /// Whether iommu_device_use_default_domain() would succeed for the device: it has no group, or its group is
    /// not held by user space (there the kernel answers -EBUSY).
    /// </summary>
    internal bool CanUseDefaultDomain(PciFunction dev) =>
        machine.Groups.GroupOf(dev) is not { } group || Iommu.OwnerOf(group) is null;

    /// <summary>iommu_device_use_default_domain(): a DMA-API driver is being bound; owner_cnt + 1.</summary>
    internal void UseDefaultDomain(PciFunction dev)
    {
        if (Iommu.DeviceUseDefaultDomain(dev) < 0)
            throw new InvalidOperationException(
                $"{dev}: a DMA-API driver cannot be bound while user space owns its group (iommu_device_use_default_domain() is -EBUSY)");
    }

    /// <summary>iommu_device_unuse_default_domain(): that driver unbinds; owner_cnt - 1.</summary>
    internal void UnuseDefaultDomain(PciFunction dev) => Iommu.DeviceUnuseDefaultDomain(dev);

    private void HeldBy(IommuGroup group, object owner)
    {
        if (Iommu.OwnerOf(group) is not { } held || !ReferenceEquals(held, owner))
            throw new InvalidOperationException($"{group} is not owned by {owner}");
    }

    private IommuGroup Check(IommuGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (machine.Groups[group.Id] != group) throw new ArgumentException($"{group} is not a group of this machine", nameof(group));
        return group;
    }
}
