namespace VfioSim.Pci.Devices;

/// <summary>What a synthetic function is, as far as PCI enumeration and grouping care.</summary>
public enum FunctionKind
{
    Endpoint,
    LegacyEndpoint,
    RcEndpoint,
    RcEventCollector,
    RootPort,
    UpstreamPort,
    DownstreamPort,
    PcieToPciBridge,
    PciToPcieBridge,
    /// <summary>A conventional PCI-to-PCI bridge (no PCIe capability).</summary>
    PciBridge,
    /// <summary>A conventional PCI function (no PCIe capability).</summary>
    Conventional,
    /// <summary>A host bridge function (class 0600, conventional).</summary>
    HostBridge,
}

/// <summary>An SR-IOV capability: TotalVFs, First VF Offset, VF Stride, VF Device ID.</summary>
public sealed record SriovSpec(ushort TotalVfs, ushort FirstVfOffset = 1, ushort VfStride = 1, ushort? VfDeviceId = null);

/// <summary>A synthetic function for what QEMU cannot build: any IDs, type, ACS, ARI, SR-IOV.</summary>
public sealed record GenericDeviceSpec
{
    public FunctionKind Kind { get; init; } = FunctionKind.Endpoint;
    public ushort VendorId { get; init; } = 0x1b36;
    public ushort DeviceId { get; init; } = 0x0001;
    public ushort SubsystemVendorId { get; init; }
    public ushort SubsystemId { get; init; }
    /// <summary>24-bit class code; null picks one from the kind.</summary>
    public uint? ClassCode { get; init; }
    public byte Revision { get; init; }
    /// <summary>The header's multi-function bit.</summary>
    public bool Multifunction { get; init; }
    /// <summary>ACS Capability register; null for no ACS capability.</summary>
    public ushort? AcsCapability { get; init; }
    /// <summary>ACS Control as firmware left it (before Linux enables ACS).</summary>
    public ushort AcsControl { get; init; }
    /// <summary>ARI capability with this Next Function Number; null for none.</summary>
    public byte? AriNextFunction { get; init; }
    /// <summary>Ports: ARI Forwarding Supported in Device Capabilities 2.</summary>
    public bool AriForwarding { get; init; } = true;
    public SriovSpec? Sriov { get; init; }
    /// <summary>BARs (index 0-5); null gives endpoints a 16 KiB 64-bit BAR0 and bridges none.</summary>
    public IReadOnlyList<PciResource>? Bars { get; init; }
    /// <summary>Config space Linux can reach: 4096 for PCIe functions, 256 otherwise, unless set.</summary>
    public int? ConfigSize { get; init; }
}

/// <summary>
/// Builds a function's config space from a <see cref="GenericDeviceSpec"/> with a standard layout:
/// PM at 0x40, MSI at 0x50, PCI Express at 0x70 (Slot/Root registers as the type requires); ACS at 0x100 (a null
/// capability there when ACS is absent but others are present),
/// ARI at 0x110, SR-IOV at 0x120.
/// </summary>
public static class GenericDevice
{
    private const int PmCap = 0x40, MsiCap = 0x50, ExpCap = 0x70, AcsPos = 0x100, AriPos = 0x110, SriovPos = 0x120;

    public static PciFunction Create(GenericDeviceSpec spec, string? id = null, string? model = null)
    {
        var kind = spec.Kind;
        bool pcie = kind is not (FunctionKind.PciBridge or FunctionKind.Conventional or FunctionKind.HostBridge);
        bool bridge = kind is FunctionKind.RootPort or FunctionKind.UpstreamPort or FunctionKind.DownstreamPort
            or FunctionKind.PcieToPciBridge or FunctionKind.PciToPcieBridge or FunctionKind.PciBridge;
        int size = spec.ConfigSize ?? (pcie ? ConfigSpace.ExtendedSize : ConfigSpace.ConventionalSize);
        var cs = new ConfigSpace(size);
        IReadOnlyList<PciResource> bars = spec.Bars is { } given ? [.. given] : bridge || kind == FunctionKind.HostBridge ? [] : DefaultBars;

        cs.Reserve(spec.Sriov is not null ? SriovPos + 0x40 : spec.AriNextFunction is not null ? AriPos + 8 : spec.AcsCapability is not null ? AcsPos + 8 : ExpCap + 0x3c);
        cs.Set16(PciRegs.VendorId, spec.VendorId);
        cs.Set16(PciRegs.DeviceId, spec.DeviceId);
        cs.Set16(PciRegs.Status, PciRegs.StatusCapList);
        uint cls = spec.ClassCode ?? DefaultClass(kind);
        cs.Set32(PciRegs.ClassRevision, (cls << 8) | spec.Revision);
        cs.Set8(PciRegs.HeaderType, (byte)((bridge ? PciRegs.HeaderTypeBridge : PciRegs.HeaderTypeNormal) | (spec.Multifunction ? PciRegs.HeaderTypeMfd : 0)));
        if (!bridge)
        {
            cs.Set16(PciRegs.SubsystemVendorId, spec.SubsystemVendorId);
            cs.Set16(PciRegs.SubsystemId, spec.SubsystemId);
            cs.Set8(PciRegs.InterruptPin, 1);
        }
        foreach (var bar in bars)
            if (bar.Index < 6) cs.Set32(PciRegs.BaseAddress0 + 4 * bar.Index, bar.TypeBits);

        // Standard capabilities: PM -> MSI (64-bit) -> PCIe
        cs.Set8(PciRegs.CapabilityList, PmCap);
        cs.Set16(PmCap, (ushort)(PciRegs.CapIdPm | (MsiCap << 8)));
        cs.Set16(PmCap + 2, 0x0003);
        cs.Set16(MsiCap, (ushort)(PciRegs.CapIdMsi | ((pcie ? ExpCap : 0) << 8)));
        cs.Set16(MsiCap + PciRegs.MsiFlags, PciRegs.MsiFlags64Bit);
        if (pcie) WritePcieCap(cs, kind, spec);

        // Extended capabilities in offset order, each linked from the one before. The chain starts at 0x100
        // (pci_find_next_ext_capability() reads there first and stops on 0): without ACS, a null capability
        // (ID 0) there links to the first one present, keeping the fixed offsets.
        int last = 0; // the header written last, whose next pointer the following one fills in
        void Link(int pos, ushort id)
        {
            if (last != 0) cs.Set32(last, cs.Read32(last) | ((uint)pos << 20));
            else if (pos != AcsPos) cs.Set32(AcsPos, (uint)pos << 20);
            cs.Set32(pos, id | (1u << 16));
            last = pos;
        }
        bool hasSriov = false;
        if (pcie && size > ConfigSpace.ConventionalSize)
        {
            if (spec.AcsCapability is { } acs)
            {
                Link(AcsPos, PciRegs.ExtCapIdAcs);
                cs.Set16(AcsPos + PciRegs.AcsCap, acs);
                cs.Set16(AcsPos + PciRegs.AcsCtrl, spec.AcsControl);
            }
            if (spec.AriNextFunction is { } next)
            {
                Link(AriPos, PciRegs.ExtCapIdAri);
                cs.Set16(AriPos + PciRegs.AriCap, (ushort)(next << 8));
            }
            if (spec.Sriov is { } sr)
            {
                Link(SriovPos, PciRegs.ExtCapIdSriov);
                hasSriov = true;
                cs.Set16(SriovPos + PciRegs.SriovInitialVf, sr.TotalVfs);
                cs.Set16(SriovPos + PciRegs.SriovTotalVf, sr.TotalVfs);
                cs.Set16(SriovPos + PciRegs.SriovVfOffset, sr.FirstVfOffset);
                cs.Set16(SriovPos + PciRegs.SriovVfStride, sr.VfStride);
                cs.Set16(SriovPos + PciRegs.SriovVfDid, sr.VfDeviceId ?? spec.DeviceId);
                cs.Set32(SriovPos + PciRegs.SriovSupPgSize, 0x553);
                cs.Set32(SriovPos + PciRegs.SriovSysPgSize, 0x1);
                cs.Set32(SriovPos + PciRegs.SriovBar, PciRegs.BaseAddressMemType64);
            }
        }

        // Resources are immutable records, so functions without VF BARs share the spec's (or the default) list.
        IReadOnlyList<PciResource> resources = hasSriov
            ? [.. bars, new PciResource(PciResource.FirstVfIndex, ResourceKind.Mem64, 0x4000)]
            : bars;
        ConfigMasks.Apply(cs, resources);

        model ??= ModelNames[(int)kind];
        Func<int, PciFunction>? vfModel = null;
        if (spec.Sriov is not null)
        {
            var vfSpec = new GenericDeviceSpec
            {
                Kind = kind == FunctionKind.RcEndpoint ? FunctionKind.RcEndpoint : FunctionKind.Endpoint,
                VendorId = 0xffff, // VFs read 0xffff; Linux takes vendor and device from the PF
                DeviceId = 0xffff,
                SubsystemVendorId = spec.SubsystemVendorId,
                SubsystemId = spec.SubsystemId,
                ClassCode = cls,
                Revision = spec.Revision,
            };
            string vfModelName = model + "-vf";
            vfModel = _ => Create(vfSpec, null, vfModelName);
        }

        return new PciFunction(model, cs, resources, id) { VirtualFunctionModel = vfModel };
    }

    private static readonly PciResource[] DefaultBars = [new PciResource(0, ResourceKind.Mem64, 0x4000)];

    private static readonly string[] ModelNames =
        [.. Enum.GetValues<FunctionKind>().OrderBy(k => (int)k).Select(k => "json:" + KindName(k))];

    private static void WritePcieCap(ConfigSpace cs, FunctionKind kind, GenericDeviceSpec spec)
    {
        byte type = kind switch
        {
            FunctionKind.Endpoint => (byte)PcieType.Endpoint,
            FunctionKind.LegacyEndpoint => (byte)PcieType.LegacyEndpoint,
            FunctionKind.RcEndpoint => (byte)PcieType.RcEndpoint,
            FunctionKind.RcEventCollector => (byte)PcieType.RcEventCollector,
            FunctionKind.RootPort => (byte)PcieType.RootPort,
            FunctionKind.UpstreamPort => (byte)PcieType.Upstream,
            FunctionKind.DownstreamPort => (byte)PcieType.Downstream,
            FunctionKind.PcieToPciBridge => (byte)PcieType.PciBridge,
            _ => (byte)PcieType.PcieBridge,
        };
        bool slot = kind is FunctionKind.RootPort or FunctionKind.DownstreamPort;
        cs.Set16(ExpCap, PciRegs.CapIdExp);
        cs.Set16(ExpCap + PciRegs.ExpFlags, (ushort)(0x0002 | (type << 4) | (slot ? 0x0100 : 0)));
        cs.Set32(ExpCap + PciRegs.ExpDevCap, 0x00008000);               // role-based error reporting
        cs.Set32(ExpCap + PciRegs.ExpLnkCap, 0x00000411);               // 2.5GT/s x1
        cs.Set16(ExpCap + PciRegs.ExpLnkSta, 0x0011);
        bool port = kind is FunctionKind.RootPort or FunctionKind.DownstreamPort;
        if (port && spec.AriForwarding) cs.Set32(ExpCap + PciRegs.ExpDevCap2, PciRegs.ExpDevCap2Ari);
    }

    private static uint DefaultClass(FunctionKind kind) => kind switch
    {
        FunctionKind.RootPort or FunctionKind.UpstreamPort or FunctionKind.DownstreamPort or FunctionKind.PcieToPciBridge
            or FunctionKind.PciToPcieBridge or FunctionKind.PciBridge => 0x060400,
        FunctionKind.HostBridge => 0x060000,
        FunctionKind.RcEventCollector => 0x080700,
        _ => 0xff0000,
    };

    public static string KindName(FunctionKind kind) => kind switch
    {
        FunctionKind.Endpoint => "endpoint",
        FunctionKind.LegacyEndpoint => "legacy-endpoint",
        FunctionKind.RcEndpoint => "rciep",
        FunctionKind.RcEventCollector => "rcec",
        FunctionKind.RootPort => "root-port",
        FunctionKind.UpstreamPort => "upstream-port",
        FunctionKind.DownstreamPort => "downstream-port",
        FunctionKind.PcieToPciBridge => "pcie-pci-bridge",
        FunctionKind.PciToPcieBridge => "pci-pcie-bridge",
        FunctionKind.PciBridge => "pci-bridge",
        FunctionKind.Conventional => "conventional",
        _ => "host-bridge",
    };
}
