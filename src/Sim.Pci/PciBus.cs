namespace VfioSim.Pci;

/// <summary>
/// A PCI bus (struct pci_bus). A root bus has no parent; a bridge's secondary bus has the bridge as
/// <see cref="Self"/>; an SR-IOV virtual bus (VFs whose routing ID falls on a higher bus number) has a parent
/// but no <see cref="Self"/>.
/// </summary>
public sealed class PciBus
{
    // Plugged functions sorted by devfn in one array: a bus holds at most 256 and most hold one, so a tree or a
    // SortedList (three objects per bus) would cost a large machine more than the lookups they speed up.
    private PciFunction[] slots = [];
    private int slotCount;
    private SlotView? slotView;

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
    public IReadOnlyDictionary<byte, PciFunction> Slots => slotView ??= new SlotView(this);

    /// <summary>The functions Linux enumerated on this bus, in scan order (bus-&gt;devices).</summary>
    public List<PciFunction> Devices { get; } = [];

    /// <summary>Child buses in scan order (bus-&gt;children).</summary>
    public List<PciBus> Children => children ??= []; // created on first use: most buses are leaves
    private List<PciBus>? children;

    /// <summary>True when this bus sits below a PCIe downstream-facing port, where a link carries one device.</summary>
    public bool IsBelowDownstreamFacingPort =>
        Self is { IsPcie: true } s && s.PcieType is PcieType.RootPort or PcieType.Downstream or PcieType.PcieBridge;

    // Slots by position in devfn order, for walks that must not allocate an enumerator per bus.
    internal int SlotCount => slotCount;
    internal byte DevFnAt(int index) => slots[index].DevFn;
    internal PciFunction FunctionAt(int index) => slots[index];

    /// <summary>The function plugged at <paramref name="devfn"/>, or null.</summary>
    internal PciFunction? SlotAt(byte devfn) => IndexOf(devfn) is var i and >= 0 ? slots[i] : null;

    // Binary search by devfn; ~insertion point when absent.
    private int IndexOf(byte devfn)
    {
        int lo = 0, hi = slotCount - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            int c = slots[mid].DevFn - devfn;
            if (c == 0) return mid;
            if (c < 0) lo = mid + 1; else hi = mid - 1;
        }
        return ~lo;
    }

    internal void Plug(byte devfn, PciFunction function)
    {
        int i = IndexOf(devfn);
        if (i >= 0) throw new InvalidOperationException($"devfn {devfn >> 3:x2}.{devfn & 7:x} on bus {Name} is already in use");
        i = ~i;
        if (slotCount == slots.Length) Array.Resize(ref slots, Math.Max(1, slotCount * 2));
        Array.Copy(slots, i, slots, i + 1, slotCount - i);
        slots[i] = function;
        slotCount++;
        function.Bus = this;
        function.DevFn = devfn;
    }

    internal void Unplug(byte devfn)
    {
        int i = IndexOf(devfn);
        if (i < 0) return;
        slotCount--;
        Array.Copy(slots, i + 1, slots, i, slotCount - i);
        slots[slotCount] = null!;
    }

    public bool IsFree(byte devfn) => IndexOf(devfn) < 0;

    /// <summary>The read-only dictionary face of the slot array (made on first use of <see cref="Slots"/>).</summary>
    private sealed class SlotView(PciBus bus) : IReadOnlyDictionary<byte, PciFunction>
    {
        public PciFunction this[byte key] => bus.SlotAt(key) ?? throw new KeyNotFoundException($"no function at devfn {key >> 3:x2}.{key & 7:x} on bus {bus.Name}");
        public IEnumerable<byte> Keys => this.Select(kv => kv.Key);
        public IEnumerable<PciFunction> Values => this.Select(kv => kv.Value);
        public int Count => bus.slotCount;
        public bool ContainsKey(byte key) => bus.IndexOf(key) >= 0;

        public bool TryGetValue(byte key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out PciFunction value)
        {
            value = bus.SlotAt(key);
            return value is not null;
        }

        public IEnumerator<KeyValuePair<byte, PciFunction>> GetEnumerator()
        {
            for (int i = 0; i < bus.slotCount; i++) yield return new(bus.slots[i].DevFn, bus.slots[i]);
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    public override string ToString() => $"{Domain:x4}:{Number:x2}";
}
