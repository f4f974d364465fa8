namespace VfioSim.Pci;

/// <summary>
/// A PCI bus (struct pci_bus). A root bus has no parent; a bridge's secondary bus has the bridge as
/// <see cref="Self"/>; an SR-IOV virtual bus (VFs whose routing ID falls on a higher bus number) has a parent
/// but no <see cref="Self"/>.
/// </summary>
public sealed class PciBus
{
    private readonly SortedDictionary<byte, PciFunction> slots = [];

    internal PciBus(ushort domain, PciBus? parent, PciFunction? self, bool isExpress, string? name)
    {
        Domain = domain;
        Parent = parent;
        Self = self;
        IsExpress = isExpress;
        Name = name;
    }

    public ushort Domain { get; }
    public byte Number { get; internal set; }
    public PciBus? Parent { get; }
    public PciFunction? Self { get; }

    /// <summary>A PCI Express bus (QEMU's pci_bus_is_express): decides which personality a QEMU model takes.</summary>
    public bool IsExpress { get; }

    /// <summary>The QEMU bus name (pcie.0, or the id of the bridge that owns it), for machine files.</summary>
    public string? Name { get; }

    public bool IsRoot => Parent is null;
    public bool IsVirtual => Parent is not null && Self is null;

    /// <summary>
    /// The number firmware gives this secondary bus when the machine description fixes it (real firmware leaves
    /// gaps, e.g. bus reservations for hot-plug); null = the next free number.
    /// </summary>
    public byte? PresetNumber { get; internal set; }

    /// <summary>The last bus number below this one (the bridge's subordinate bus number).</summary>
    public byte Subordinate { get; internal set; }

    /// <summary>Every function plugged in, by devfn, whether or not Linux enumerates it.</summary>
    public IReadOnlyDictionary<byte, PciFunction> Slots => slots;

    /// <summary>The functions Linux enumerated on this bus, in scan order (bus-&gt;devices).</summary>
    public List<PciFunction> Devices { get; } = [];

    /// <summary>Child buses in scan order (bus-&gt;children).</summary>
    public List<PciBus> Children { get; } = [];

    /// <summary>True when this bus sits below a PCIe downstream-facing port, where a link carries one device.</summary>
    public bool IsBelowDownstreamFacingPort =>
        Self is { IsPcie: true } s && s.PcieType is PcieType.RootPort or PcieType.Downstream or PcieType.PcieBridge;

    internal void Plug(byte devfn, PciFunction function)
    {
        if (!slots.TryAdd(devfn, function))
            throw new InvalidOperationException($"devfn {devfn >> 3:x2}.{devfn & 7:x} on bus {Name} is already in use");
        function.Bus = this;
        function.DevFn = devfn;
    }

    internal void Unplug(byte devfn) => slots.Remove(devfn);

    public bool IsFree(byte devfn) => !slots.ContainsKey(devfn);

    public override string ToString() => $"{Domain:x4}:{Number:x2}";
}
