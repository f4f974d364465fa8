namespace VfioSim.Tests.Property.Generators;

/// <summary>What a generated function is; the QEMU flavour also names the model that realizes it.</summary>
public enum DevKind
{
    RootPort,
    UpstreamPort,
    DownstreamPort,
    PcieToPciBridge,
    PciBridge,
    /// <summary>Intel 82801 DMI-to-PCI bridge 8086:244e: a conventional bridge with a DMA-alias quirk.</summary>
    DmiToPciBridge,
    Endpoint,
    RcEndpoint,
    Conventional,
}

/// <summary>
/// One generated PCI function in its slot, with the devices on its secondary bus when it is a bridge.
/// Immutable, so shrinking can rebuild trees freely.
/// </summary>
public sealed record DevSpec
{
    public byte Slot { get; init; }
    public byte Function { get; init; }
    public DevKind Kind { get; init; }

    /// <summary>The QEMU model (<c>-device</c> driver) for the QEMU flavour; null for synthetic functions.</summary>
    public string? QemuModel { get; init; }

    /// <summary>ACS Capability register, null for none. For a QEMU root port: 0x5f, or null for <c>disable-acs=on</c>.</summary>
    public ushort? AcsCap { get; init; }

    /// <summary>The header's multi-function bit (function 0 of a slot with more functions has it).</summary>
    public bool Multifunction { get; init; }

    /// <summary>SR-IOV TotalVFs (0 = no SR-IOV); VF offset 1 and stride 1 keep every VF in the PF's slot.</summary>
    public int TotalVfs { get; init; }

    /// <summary>Synthetic IDs; quirk tables key on them (Intel RCiEP, PCH root ports, DMA-alias devices).</summary>
    public ushort VendorId { get; init; } = 0x1b36;
    public ushort DeviceId { get; init; } = 0x0001;

    /// <summary>Intel PCH root port whose ACS enable quirk fails (LPC root complex base unusable).</summary>
    public bool PchQuirkFails { get; init; }

    /// <summary>The port whose ACS the monotonicity property switches on and off.</summary>
    public bool Toggle { get; init; }

    public IReadOnlyList<DevSpec> Children { get; init; } = [];

    public byte DevFn => (byte)((Slot << 3) | Function);

    public bool IsBridge => Kind is DevKind.RootPort or DevKind.UpstreamPort or DevKind.DownstreamPort
        or DevKind.PcieToPciBridge or DevKind.PciBridge or DevKind.DmiToPciBridge;

    /// <summary>This function and everything below it, depth first.</summary>
    public IEnumerable<DevSpec> Subtree()
    {
        yield return this;
        foreach (var c in Children)
            foreach (var d in c.Subtree()) yield return d;
    }
}

/// <summary>
/// A root bus: pcie.0 (QEMU) or any synthetic host bridge. For QEMU, a root bus after the first is a
/// <c>pxb-pcie</c> expander plugged into pcie.0 at <see cref="HostSlot"/>, with <c>bus_nr</c> = <see cref="Number"/>.
/// </summary>
public sealed record RootSpec(ushort Domain, byte Number, byte HostSlot, IReadOnlyList<DevSpec> Devices)
{
    /// <summary>Bus numbers the firmware hands out below this root, itself included.</summary>
    public int BusCount => 1 + Devices.SelectMany(d => d.Subtree()).Count(d => d.IsBridge);
}

/// <summary>A generated machine: QEMU q35 (built with <c>-device</c> options) or synthetic (GenericDevice).</summary>
public sealed record MachineSpec(bool Qemu, IReadOnlyList<RootSpec> Roots)
{
    public IEnumerable<DevSpec> AllDevices => Roots.SelectMany(r => r.Devices).SelectMany(d => d.Subtree());

    /// <summary>
    /// Gives every root bus after the first of its domain a number above the previous root's subtree (rounded up
    /// to 0x10 as firmware tends to), so bus numbers never collide and stay within 0..255.
    /// </summary>
    public MachineSpec Renumbered()
    {
        var roots = new List<RootSpec>();
        foreach (var r in Roots)
        {
            var prev = roots.LastOrDefault(p => p.Domain == r.Domain);
            int number = prev is null ? 0 : (prev.Number + prev.BusCount + 0x0f) & ~0x0f;
            if (number + r.BusCount > 0x100)
                throw new InvalidOperationException($"generator bug: domain {r.Domain:x4} needs more than 256 buses");
            roots.Add(r with { Number = (byte)number });
        }
        return this with { Roots = roots };
    }

    /// <summary>Applies <paramref name="f"/> to every function, parents first (each call sees the original function).</summary>
    public MachineSpec Map(Func<DevSpec, DevSpec> f) =>
        this with { Roots = Roots.Select(r => r with { Devices = MapList(r.Devices, f) }).ToList() };

    private static List<DevSpec> MapList(IReadOnlyList<DevSpec> devices, Func<DevSpec, DevSpec> f) =>
        [.. devices.Select(d =>
        {
            var mapped = f(d);
            return mapped with { Children = MapList(mapped.Children, f) };
        })];

    /// <summary>The machine as text that replays it: QEMU <c>-device</c> lines, or a tree of synthetic functions.</summary>
    public override string ToString() => MachinePrinter.Print(this);
}
