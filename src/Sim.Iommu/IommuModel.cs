using VfioSim.Pci;
using VfioSim.Uapi;

namespace VfioSim.Iommu;

/// <summary>
/// The machine's IOMMU (an Intel VT-d as QEMU's q35 emulates it) and the part of drivers/iommu/iommu.c that decides
/// which domain a group's DMA goes through: each group's current domain (group-&gt;domain), default domain and DMA
/// ownership, and the log of DMA remapping faults. Every enumerated function's <see cref="PciFunction.Dma"/> port
/// is connected here, SR-IOV VFs as they appear: a request is translated by the current domain of the function's
/// group (requester ID aliasing changes the ID in fault records, never the group), then moves bytes of the
/// mapping's target. Without an IOMMU (no groups), DMA reaches <see cref="SystemMemory"/> untranslated.
/// </summary>
/// <remarks>
/// Default domains: identity with <c>iommu=pt</c> (DMA reaches <see cref="SystemMemory"/> by physical address);
/// otherwise DMA / DMA-FQ, a page table only the kernel's DMA API fills, which stays empty here, so a device doing
/// DMA before VFIO takes its group faults "not mapped". Fault checks are all-or-nothing per transaction: every
/// page is translated before any byte moves. A target that refuses part of a translated transaction (which pinned
/// pages never do) aborts it without a fault, possibly after earlier runs moved.
/// </remarks>
public sealed class IommuModel
{
    /// <summary>QEMU intel-iommu's default aw-bits: IOVAs up to 2^39 − 1 (the 0x7fffffffff of VFIO's iova ranges).</summary>
    public const int QemuAddressWidth = 39;

    /// <summary>RAM of the measured VMs (run-vm.sh MEM=2048).</summary>
    public const ulong DefaultRamSize = 2UL << 30;

    private readonly Dictionary<IommuGroup, GroupDomains> states = [];
    private readonly List<IommuFault> faults = [];
    private readonly VirtualClock clock;
    private readonly IommuDomain identityDomain, blockingDomain;

    /// <param name="groups">The machine's groups; devices probed after this (VFs) are connected as they appear.</param>
    /// <param name="clock">Time stamps for fault records.</param>
    /// <param name="defaultDomainType">iommu_def_domain_type: Identity, Dma or DmaFq.</param>
    /// <param name="systemMemory">RAM by physical address; a sparse <see cref="SystemMemory"/> of 2 GiB if null.</param>
    /// <param name="addressWidth">Bits of IOVA a paging domain translates (12-48).</param>
    public IommuModel(IommuGroups groups, VirtualClock clock, IommuDomainType defaultDomainType, IDmaTarget? systemMemory = null,
        int addressWidth = QemuAddressWidth)
    {
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(clock);
        if (defaultDomainType is not (IommuDomainType.Identity or IommuDomainType.Dma or IommuDomainType.DmaFq))
            throw new ArgumentException($"a default domain is identity, DMA or DMA-FQ, not {defaultDomainType}", nameof(defaultDomainType));
        ArgumentOutOfRangeException.ThrowIfLessThan(addressWidth, IommuDomain.PageShift);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(addressWidth, 48);
        Groups = groups;
        this.clock = clock;
        DefaultDomainType = defaultDomainType;
        AddressWidth = addressWidth;
        SystemMemory = systemMemory ?? new SystemMemory(DefaultRamSize);
        // The VT-d driver has one static identity domain and one blocking domain for all groups.
        identityDomain = new IommuDomain(this, IommuDomainType.Identity, addressWidth, SystemMemory);
        blockingDomain = new IommuDomain(this, IommuDomainType.Blocked, addressWidth);

        foreach (var dev in groups.Topology.Functions) Connect(dev);
        // IommuGroups subscribed when it was made, before this: a new VF has its group by the time it is connected.
        groups.Topology.FunctionAdded += Connect;
        groups.Topology.FunctionRemoving += Disconnect;
    }

    public IommuGroups Groups { get; }
    public IommuDomainType DefaultDomainType { get; }
    public int AddressWidth { get; }

    /// <summary>What identity domains (and DMA without an IOMMU) reach: the machine's RAM by physical address.</summary>
    public IDmaTarget SystemMemory { get; }

    /// <summary>DMA remapping faults in the order they happened.</summary>
    public IReadOnlyList<IommuFault> Faults => faults;

    public void ClearFaults() => faults.Clear();

    // ---- domains and groups (drivers/iommu/iommu.c) ----

    /// <summary>iommu_paging_domain_alloc(): a new, empty unmanaged domain for a user such as VFIO.</summary>
    public IommuDomain AllocPagingDomain() => new(this, IommuDomainType.Unmanaged, AddressWidth);

    /// <summary>group-&gt;domain: the domain the group's DMA goes through now.</summary>
    public IommuDomain DomainOf(IommuGroup group) => StateOf(group).Domain;

    /// <summary>group-&gt;default_domain: what the group uses while no user owns it (sysfs <c>type</c> shows its type).</summary>
    public IommuDomain DefaultDomainOf(IommuGroup group) => StateOf(group).DefaultDomain;

    /// <summary>
    /// iommu_attach_group() (__iommu_attach_group()): -EBUSY when the group is attached to a domain other than its
    /// default or blocking domain; -EINVAL for a domain of another IOMMU; otherwise the group's DMA goes through
    /// <paramref name="domain"/> from now on.
    /// </summary>
    public int AttachGroup(IommuDomain domain, IommuGroup group)
    {
        ArgumentNullException.ThrowIfNull(domain);
        var s = StateOf(group);
        if (s.Domain != s.DefaultDomain && s.Domain != blockingDomain) return -Errno.EBUSY;
        if (domain.Owner != this) return -Errno.EINVAL;
        s.Domain = domain;
        return 0;
    }

    /// <summary>
    /// iommu_detach_group() (__iommu_group_set_core_domain()): the group goes back to its blocking domain while a
    /// user owns its DMA (VFIO between detaching and releasing the group), else to its default domain. Like Linux,
    /// the domain argument is not checked.
    /// </summary>
    public void DetachGroup(IommuDomain domain, IommuGroup group)
    {
        _ = domain;
        var s = StateOf(group);
        s.Domain = s.Owner is not null ? blockingDomain : s.DefaultDomain;
    }

    /// <summary>
    /// iommu_group_claim_dma_owner(): a user (a VFIO group) takes the group's DMA. -EPERM when anyone (a bound
    /// kernel driver, another user) already has it; -EBUSY when the group is not on its default domain
    /// (__iommu_take_dma_ownership()). On success the group's DMA is blocked until the user attaches a domain.
    /// </summary>
    public int ClaimDmaOwner(IommuGroup group, object owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        var s = StateOf(group);
        if (s.OwnerCount > 0) return -Errno.EPERM;
        if (s.Domain != s.DefaultDomain) return -Errno.EBUSY;
        s.Domain = blockingDomain;
        s.Owner = owner;
        s.OwnerCount++;
        return 0;
    }

    /// <summary>iommu_group_release_dma_owner(): the user lets go; the group returns to its default domain.</summary>
    public void ReleaseDmaOwner(IommuGroup group)
    {
        var s = StateOf(group);
        if (s.OwnerCount == 0 || s.Owner is null) return; // the kernel WARNs and does nothing
        s.OwnerCount = 0;
        s.Owner = null;
        s.Domain = s.DefaultDomain;
    }

    /// <summary>iommu_group_dma_owner_claimed(): a kernel driver or a user has the group's DMA (VFIO: group not viable).</summary>
    public bool DmaOwnerClaimed(IommuGroup group) => StateOf(group).OwnerCount > 0;

    /// <summary>group-&gt;owner_cnt: DMA-API drivers bound in the group, or the user owner's claims.</summary>
    public int OwnerCount(IommuGroup group) => StateOf(group).OwnerCount;

    /// <summary>group-&gt;owner: the user-space owner holding the group, or null.</summary>
    public object? OwnerOf(IommuGroup group) => StateOf(group).Owner;

    /// <summary>
    /// iommu_device_claim_dma_owner() (the iommufd device path): the first claim takes the group, later claims by
    /// the same owner add to owner_cnt. -EPERM when kernel drivers or another owner hold it.
    /// </summary>
    public int ClaimDeviceDmaOwner(IommuGroup group, object owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        var s = StateOf(group);
        if (s.OwnerCount > 0 && s.Owner != owner) return -Errno.EPERM;
        if (s.OwnerCount == 0)
        {
            if (s.Domain != s.DefaultDomain) return -Errno.EBUSY;
            s.Domain = blockingDomain;
            s.Owner = owner;
        }
        s.OwnerCount++;
        return 0;
    }

    /// <summary>iommu_device_release_dma_owner(): one claim fewer; the last returns the group to its default domain.</summary>
    public void ReleaseDeviceDmaOwner(IommuGroup group)
    {
        var s = StateOf(group);
        if (s.Owner is null || s.OwnerCount == 0) return; // the kernel WARNs
        if (--s.OwnerCount == 0)
        {
            s.Owner = null;
            s.Domain = s.DefaultDomain;
        }
    }

    /// <summary>
    /// iommu_device_use_default_domain(): a kernel driver without driver_managed_dma binds to
    /// <paramref name="dev"/> and uses the default domain. -EBUSY when a user owns the group or it is off its
    /// default domain. 0 for a device without a group.
    /// </summary>
    public int DeviceUseDefaultDomain(PciFunction dev)
    {
        if (Groups.GroupOf(dev) is not { } group) return 0;
        var s = StateOf(group);
        if (s.OwnerCount > 0 && (s.Domain != s.DefaultDomain || s.Owner is not null)) return -Errno.EBUSY;
        s.OwnerCount++;
        return 0;
    }

    /// <summary>iommu_device_unuse_default_domain(): that driver unbinds.</summary>
    public void DeviceUnuseDefaultDomain(PciFunction dev)
    {
        if (Groups.GroupOf(dev) is { } group && StateOf(group) is { OwnerCount: > 0 } s) s.OwnerCount--;
    }

    private GroupDomains StateOf(IommuGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (Groups[group.Id] != group) throw new ArgumentException($"{group} is not a group of this IOMMU", nameof(group));
        if (!states.TryGetValue(group, out var s))
        {
            // iommu_setup_default_domain(): identity is shared; each group gets its own DMA domain.
            var def = DefaultDomainType == IommuDomainType.Identity ? identityDomain : new IommuDomain(this, DefaultDomainType, AddressWidth);
            states[group] = s = new GroupDomains(group, def);
        }
        return s;
    }

    /// <summary>struct iommu_group's domain fields.</summary>
    private sealed class GroupDomains(IommuGroup group, IommuDomain defaultDomain)
    {
        public IommuGroup Group { get; } = group;
        public IommuDomain DefaultDomain { get; } = defaultDomain;
        public IommuDomain Domain { get; set; } = defaultDomain;
        public object? Owner { get; set; }
        public int OwnerCount { get; set; }
    }

    // ---- the DMA path ----

    /// <summary>
    /// The requester ID the IOMMU sees on <paramref name="dev"/>'s DMA: the last alias pci_for_each_dma_alias()
    /// reports. A PCIe-to-PCI bridge forwards with (secondary bus, 00.0), a conventional bridge with its own ID;
    /// PCIe ports keep the ID; a BRIDGE_XLATE_ROOT bridge ends the walk.
    /// </summary>
    public static Bdf RequesterIdOf(PciFunction dev)
    {
        ArgumentNullException.ThrowIfNull(dev);
        var r = dev.RealDmaDevice;
        var id = r.Bdf;
        for (var bus = r.Bus; bus is { IsRoot: false }; bus = bus.Parent)
        {
            if (bus.Self is not { } tmp) continue; // SR-IOV virtual bus
            if ((tmp.DevFlags & PciDevFlags.BridgeXlateRoot) != 0) break;
            var secondaryId = Bdf.FromDevFn(bus.Domain, bus.Number, 0);
            if (tmp.IsPcie)
            {
                if (tmp.PcieType == PcieType.PciBridge) id = secondaryId;
                else if (tmp.PcieType == PcieType.PcieBridge) id = tmp.Bdf;
            }
            else id = (tmp.DevFlags & PciDevFlags.PcieBridgeAlias) != 0 ? secondaryId : tmp.Bdf;
        }
        return id;
    }

    private void Connect(PciFunction dev)
    {
        dev.Dma.Upstream = new RequesterPort(this, dev, Groups.GroupOf(dev), RequesterIdOf(dev));
    }

    private void Disconnect(PciFunction dev)
    {
        if (dev.Dma.Upstream is RequesterPort { Group: { Count: 0 } g }) states.Remove(g);
        dev.Dma.Upstream = null;
    }

    private bool Finish(RequesterPort port, DmaOutcome outcome, ulong iova, int length, DmaDirection access, ulong faultAddress)
    {
        if (outcome == DmaOutcome.Done) return true;
        if (outcome == DmaOutcome.TargetAbort) return false;
        var reason = outcome switch
        {
            DmaOutcome.NotMapped => IommuFaultReason.NotMapped,
            DmaOutcome.Permission => IommuFaultReason.Permission,
            DmaOutcome.Blocked => IommuFaultReason.Blocked,
            _ => IommuFaultReason.BeyondAperture,
        };
        faults.Add(new IommuFault(port.Device.Bdf, port.RequesterId, iova, length, access, reason, faultAddress, clock.Now));
        return false;
    }

    /// <summary>The root complex's path for one function: its group's current domain, read at each request.</summary>
    private sealed class RequesterPort(IommuModel iommu, PciFunction device, IommuGroup? group, Bdf requesterId) : IDmaPort
    {
        private GroupDomains? state; // made on first use: most groups of a big machine never see DMA

        public PciFunction Device { get; } = device;
        public IommuGroup? Group { get; } = group;
        public Bdf RequesterId { get; } = requesterId;

        public bool Read(ulong busAddress, Span<byte> destination)
        {
            if (Group is null) return iommu.SystemMemory.Read(busAddress, destination);
            var outcome = (state ??= iommu.StateOf(Group)).Domain.Read(busAddress, destination, out ulong faultAddress);
            return iommu.Finish(this, outcome, busAddress, destination.Length, DmaDirection.Read, faultAddress);
        }

        public bool Write(ulong busAddress, ReadOnlySpan<byte> source)
        {
            if (Group is null) return iommu.SystemMemory.Write(busAddress, source);
            var outcome = (state ??= iommu.StateOf(Group)).Domain.Write(busAddress, source, out ulong faultAddress);
            return iommu.Finish(this, outcome, busAddress, source.Length, DmaDirection.Write, faultAddress);
        }
    }
}
