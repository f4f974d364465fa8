namespace VfioSim.Pci;

/// <summary>Per-device flags the PCI core sets from quirks (pci_dev->dev_flags).</summary>
[Flags]
public enum PciDevFlags
{
    None = 0,
    /// <summary>A bridge without a PCIe capability that is really PCIe-to-PCI (PCI_DEV_FLAGS_PCIE_BRIDGE_ALIAS).</summary>
    PcieBridgeAlias = 1,
    /// <summary>Requester IDs are translated at this bridge as at a root (PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT).</summary>
    BridgeXlateRoot = 2,
}

/// <summary>
/// One PCI function: the hardware (config space, BARs) and the state Linux's PCI core derives from it
/// during enumeration (struct pci_dev: multifunction, pcie type, cfg size, DMA aliases, SR-IOV links).
/// </summary>
public sealed class PciFunction
{
    public PciFunction(string model, ConfigSpace config, IReadOnlyList<PciResource> resources, string? id = null)
    {
        Model = model;
        Config = config;
        Resources = resources;
        Id = id;
        RealDmaDevice = this;
    }

    /// <summary>The device model that made this function (a QEMU model name, or <c>json:kind</c>).</summary>
    public string Model { get; }

    /// <summary>The machine file's id for it (QEMU <c>id=</c>), if any.</summary>
    public string? Id { get; }

    public ConfigSpace Config { get; }

    /// <summary>The behaviour behind the config space (BARs, interrupts, DMA), if the model has any.</summary>
    public Models.PciDeviceModel? Device
    {
        get => device;
        init
        {
            device = value;
            value?.Attach(this);
        }
    }

    private readonly Models.PciDeviceModel? device;
    public IReadOnlyList<PciResource> Resources { get; }

    /// <summary>lspci's description line (after the BDF) as measured for QEMU models; null for synthetic devices.</summary>
    public string? LspciDescription { get; init; }
    public string? LspciSubsystem { get; init; }

    // ---- placement ----
    public PciBus? Bus { get; internal set; }
    public byte DevFn { get; internal set; }
    public byte Slot => (byte)(DevFn >> 3);
    public byte FunctionNumber => (byte)(DevFn & 7);

    /// <summary>The secondary bus of a bridge (or the new root bus of a host bridge such as pxb-pcie).</summary>
    public PciBus? Secondary { get; internal set; }

    /// <summary>pci_upstream_bridge(): the bridge above (the PF's, for a VF); null on a root bus.</summary>
    public PciFunction? UpstreamBridge
    {
        get
        {
            var dev = PhysFn ?? this;
            return dev.Bus is null || dev.Bus.IsRoot ? null : dev.Bus.Self;
        }
    }

    public Bdf Bdf => Bus is null ? default : Bdf.FromDevFn(Bus.Domain, Bus.Number, DevFn);

    // ---- identity (what sysfs shows) ----
    public ushort VendorId => PhysFn?.VendorId ?? Config.Read16(PciRegs.VendorId);
    public ushort DeviceId => PhysFn is { } pf ? pf.Config.Read16(pf.SriovCap + PciRegs.SriovVfDid) : Config.Read16(PciRegs.DeviceId);
    public uint ClassCode => Config.Read32(PciRegs.ClassRevision) >> 8;
    public byte Revision => Config.Read8(PciRegs.RevisionId);
    public ushort SubsystemVendorId => HeaderLayout == PciRegs.HeaderTypeNormal ? Config.Read16(PciRegs.SubsystemVendorId) : SsvidCapValue(0);
    public ushort SubsystemId => HeaderLayout == PciRegs.HeaderTypeNormal ? Config.Read16(PciRegs.SubsystemId) : SsvidCapValue(2);
    public byte HeaderLayout => (byte)(Config.Read8(PciRegs.HeaderType) & PciRegs.HeaderTypeMask);
    public bool HeaderMultifunctionBit => (Config.Read8(PciRegs.HeaderType) & PciRegs.HeaderTypeMfd) != 0;
    public bool IsBridge => HeaderLayout is PciRegs.HeaderTypeBridge or PciRegs.HeaderTypeCardbus;

    private ushort SsvidCapValue(int offset)
    {
        int cap = Config.FindCapability(PciRegs.CapIdSsvid);
        return cap == 0 ? (ushort)0 : Config.Read16(cap + 4 + offset);
    }

    // ---- state derived by the PCI core during enumeration (struct pci_dev) ----

    /// <summary>pci_dev->multifunction: header bit on function 0, forced on for any function &gt; 0, off for VFs.</summary>
    public bool IsMultifunction { get; internal set; }

    /// <summary>Offset of the PCI Express capability (pci_dev->pcie_cap), 0 for conventional functions.</summary>
    public int PcieCap { get; internal set; }
    public bool IsPcie => PcieCap != 0;

    /// <summary>The PCIe device/port type after set_pcie_port_type()'s correction.</summary>
    public PcieType PcieType { get; internal set; }

    /// <summary>Config space size Linux can reach (pci_dev->cfg_size).</summary>
    public int CfgSize => Config.Size;

    /// <summary>Offset of the ACS extended capability (pci_dev->acs_cap).</summary>
    public int AcsCap { get; internal set; }

    public int SriovCap => Config.FindExtCapability(PciRegs.ExtCapIdSriov);

    /// <summary>pci_dev->dma_alias_mask: devfns on this function's bus it also uses as requester ID.</summary>
    public DevFnSet DmaAliases => dmaAliases ??= new(); // created on first use: few devices have aliases
    private DevFnSet? dmaAliases;

    /// <summary>Whether <paramref name="devfn"/> is among <see cref="DmaAliases"/> (without creating the set).</summary>
    public bool HasDmaAlias(byte devfn) => dmaAliases is { } set && set.Contains(devfn);

    public PciDevFlags DevFlags { get; internal set; }

    /// <summary>pci_dev->ari_enabled: ARI Forwarding turned on in this bridge by pci_configure_ari().</summary>
    public bool AriEnabled { get; internal set; }

    /// <summary>The device whose requester ID the IOMMU sees (pci_real_dma_dev; a VMD endpoint for its children).</summary>
    public PciFunction RealDmaDevice { get; set; }

    /// <summary>The hardware's VF model: builds VF number i (0-based) when VF Enable is set. Null when the PF has none.</summary>
    public Func<int, PciFunction>? VirtualFunctionModel { get; init; }

    public bool IsVirtFn => PhysFn is not null;
    public PciFunction? PhysFn { get; internal set; }
    public List<PciFunction> VirtFns => virtFns ??= []; // created on first use: only PFs have VFs
    private List<PciFunction>? virtFns;

    /// <summary>Platform fact for the Intel PCH ACS quirk: whether its chipset enabling succeeded (RCBA usable).</summary>
    public bool PchAcsQuirkEnabled { get; set; } = true;

    /// <summary>Set by the Intel PCH ACS enable quirk (PCI_DEV_FLAGS_ACS_ENABLED_QUIRK).</summary>
    public bool AcsEnabledByQuirk { get; internal set; }

    /// <summary>Position in the PCI core's device list (enumeration order), -1 if Linux never enumerated it.</summary>
    public int ProbeIndex { get; internal set; } = -1;

    public bool IsEnumerated => ProbeIndex >= 0;

    /// <summary>The function's bus-master interface: the only way its device model reaches memory.</summary>
    public DmaPort Dma => dma ??= new DmaPort(this); // created on first use: most functions of a big machine never do DMA
    private DmaPort? dma;

    public override string ToString() => IsEnumerated ? Bdf.ToString() : $"{Model}@{Bus?.Name}:{Slot:x2}.{FunctionNumber}";
}

/// <summary>A 256-bit devfn set (the kernel's dma_alias_mask bitmap).</summary>
public sealed class DevFnSet
{
    private Words bits; // inline, not a separate array: every function has a set and almost all stay empty

    [System.Runtime.CompilerServices.InlineArray(4)]
    private struct Words
    {
        private ulong element;
    }

    public void Add(byte devfn) => bits[devfn >> 6] |= 1UL << (devfn & 63);
    public bool Contains(byte devfn) => (bits[devfn >> 6] & (1UL << (devfn & 63))) != 0;
    public bool IsEmpty => (bits[0] | bits[1] | bits[2] | bits[3]) == 0;
    public void Clear() => bits = default;

    public IEnumerable<byte> Members()
    {
        for (int i = 0; i < 256; i++) if (Contains((byte)i)) yield return (byte)i;
    }
}
