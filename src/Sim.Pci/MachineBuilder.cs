using System.Globalization;
using VfioSim.Pci.Devices;
using VfioSim.Pci.Qemu;

namespace VfioSim.Pci;

/// <summary>A machine description that cannot be built: the reason, and what it is about (for a file position).</summary>
public sealed class MachineBuildException(string message, string? property = null, object? subject = null) : Exception(message)
{
    /// <summary>The property the problem is about, named as in JSON machine files (<c>addr</c>, <c>secondary</c>, …).</summary>
    public string? Property { get; } = property;

    /// <summary>The <see cref="PciFunction"/> or root <see cref="PciBus"/> concerned, for problems found at boot.</summary>
    public object? Subject { get; } = subject;
}

/// <summary>
/// Builds a machine in C#: root buses holding synthetic functions (<see cref="GenericDevice"/>) and QEMU models
/// by address, platform facts, then <see cref="Boot"/>. Placement is checked as Linux would see it (a slot in
/// use, functions of a single-function slot, slots other than 0 on a PCIe link), with a
/// <see cref="MachineBuildException"/> naming the problem. The JSON machine format is read through it.
/// </summary>
/// <example><code>
/// using static VfioSim.Pci.MachineBuilder;
/// var t = MachineBuilder.Create(cmdline: "intel_iommu=on")
///     .RootBus(0, 0, bus => bus
///         .Add("1c.0", RootPort(acs: false), rp => rp.Add("00.0", Endpoint()))
///         .Add("1d.0", RootPort(acs: true), rp => rp.Switch("00.0", downstreamAcs: false,
///             port => port.Add("00.0", Endpoint()),
///             port => port.Add("00.0", Endpoint()))))
///     .Boot();
/// </code></example>
public sealed class MachineBuilder
{
    /// <summary>QEMU's root-port ACS Capability (SV TB RR CR UF DT); Linux enables it to control 0x001d.</summary>
    public const ushort StandardAcs = 0x005f;

    private readonly Dictionary<string, PciFunction> ids = new(StringComparer.Ordinal);
    private readonly List<(PciBus Root, string Id)> realDmaDevices = [];
    private readonly List<PciFunction> ariChain = [];
    private int nicIndex;

    private MachineBuilder(KernelCommandLine cmdline) =>
        Topology = new PciTopology(cmdline) { IommuPresent = !cmdline.IommuDisabled };

    /// <summary>An empty machine; <paramref name="cmdline"/> is the kernel command line (pci=, intel_iommu=off …).</summary>
    public static MachineBuilder Create(string cmdline = "") => new(new KernelCommandLine(cmdline));

    /// <summary>The machine being built; booted by <see cref="Boot"/>.</summary>
    public PciTopology Topology { get; }

    /// <summary>Platform fact: an IOMMU is active (default: unless the command line turns it off).</summary>
    public MachineBuilder IommuPresent(bool present = true)
    {
        Topology.IommuPresent = present;
        return this;
    }

    /// <summary>Platform fact: an ACPI IVRS table exists (AMD IOMMU), which the AMD southbridge ACS quirk needs.</summary>
    public MachineBuilder AmdIvrs(bool present = true)
    {
        Topology.AmdIvrs = present;
        return this;
    }

    /// <summary>
    /// Adds a root bus (a host bridge's bus) and its devices. Root buses are scanned in (domain, number) order.
    /// <paramref name="realDmaDevice"/> names (by id) the device every function in this hierarchy uses for DMA,
    /// as for an Intel VMD domain (pci_real_dma_dev()).
    /// </summary>
    public MachineBuilder RootBus(ushort domain, byte number, Action<BusBuilder> devices, string? realDmaDevice = null)
    {
        if (Topology.RootBuses.Any(r => r.Domain == domain && r.Number == number))
            throw new MachineBuildException($"root bus {domain:x4}:{number:x2} is already defined", "bus");
        var root = Topology.AddRootBus(domain, number, $"{domain:x4}:{number:x2}");
        if (realDmaDevice is not null) realDmaDevices.Add((root, realDmaDevice));
        devices(new BusBuilder(this, root));
        return this;
    }

    /// <summary>Checks what can only be checked on the whole machine, numbers buses and lets Linux enumerate.</summary>
    public PciTopology Boot()
    {
        foreach (var f in Topology.AllPlugged())
        {
            var fn0 = f.Bus!.Slots.GetValueOrDefault((byte)(HasAri(f) ? 0 : f.DevFn & ~7));
            if (fn0 is null)
                throw new MachineBuildException($"{Path(f)} has no function 0 {(HasAri(f) ? "on its bus" : "in its slot")}, so Linux never scans it", "addr", f);
        }
        foreach (var bus in ariChain.GroupBy(f => f.Bus!))
        {
            var chain = bus.OrderBy(f => f.DevFn).ToList();
            for (int i = 0; i < chain.Count; i++)
            {
                // ARI Capability bits 15:8: Next Function Number (0 ends the list), what next_ari_fn() follows.
                int pos = chain[i].Config.FindExtCapability(PciRegs.ExtCapIdAri);
                chain[i].Config.Set16(pos + PciRegs.AriCap, (ushort)((i + 1 < chain.Count ? chain[i + 1].DevFn : 0) << 8));
            }
        }
        foreach (var (root, id) in realDmaDevices)
        {
            if (!ids.TryGetValue(id, out var dma)) throw new MachineBuildException($"no device has id '{id}'", "real_dma_device", root);
            foreach (var f in Below(root)) f.RealDmaDevice = dma;
        }
        QemuMachine.ApplyPowerOnDetails(Topology);
        Topology.Boot();
        foreach (var f in Topology.AllPlugged())
        {
            if (f.Secondary is { IsRoot: false, PresetNumber: { } want } s && s.Number != want)
                throw new MachineBuildException(
                    $"secondary bus {want:x2} of {Path(f)} is not free: firmware numbers buses depth first and had given out up to {s.Number - 1:x2} before it", "secondary", f);
        }
        return Topology;
    }

    private static IEnumerable<PciFunction> Below(PciBus bus)
    {
        foreach (var f in bus.Slots.Values)
        {
            yield return f;
            if (f.Secondary is { IsRoot: false } s)
                foreach (var g in Below(s)) yield return g;
        }
    }

    internal static bool HasAri(PciFunction f) => f.Config.FindExtCapability(PciRegs.ExtCapIdAri) != 0;

    /// <summary>A function's place before bus numbers exist, in pci= path form: <c>0000:00:1c.0/00.0</c>.</summary>
    internal static string Path(PciFunction f) => Path(f.Bus!, f.DevFn);

    internal static string Path(PciBus bus, byte devfn) =>
        bus.IsRoot ? Bdf.FromDevFn(bus.Domain, bus.Number, devfn).ToString() : $"{Path(bus.Self!)}/{devfn >> 3:x2}.{devfn & 7:x}";

    internal void RegisterId(string? id, PciFunction f)
    {
        if (id is null) return;
        if (ids.TryGetValue(id, out var other)) throw new MachineBuildException($"duplicate id '{id}' (already used by {Path(other)})", "id");
        ids[id] = f;
    }

    internal void ChainAri(PciFunction f) => ariChain.Add(f);

    internal int NextNicIndex() => nicIndex++;

    // ---- device helpers: a spec per kind, for `using static VfioSim.Pci.MachineBuilder;` ----

    /// <summary>A root port; <paramref name="acs"/> gives it QEMU's ACS capability (0x005f, firmware control 0).</summary>
    public static GenericDeviceSpec RootPort(bool acs, string? ids = null, bool multifunction = false) =>
        Spec(FunctionKind.RootPort, ids, multifunction, acs);

    /// <summary>A switch downstream port, with or without ACS (capability 0x005f, firmware control 0).</summary>
    public static GenericDeviceSpec DownstreamPort(bool acs, string? ids = null, bool multifunction = false) =>
        Spec(FunctionKind.DownstreamPort, ids, multifunction, acs);

    public static GenericDeviceSpec UpstreamPort(string? ids = null, bool multifunction = false) => Spec(FunctionKind.UpstreamPort, ids, multifunction);

    /// <summary>A PCIe endpoint without ACS; add one with <c>Endpoint() with { AcsCapability = 0x000c }</c>.</summary>
    public static GenericDeviceSpec Endpoint(string? ids = null, bool multifunction = false) => Spec(FunctionKind.Endpoint, ids, multifunction);

    /// <summary>A root-complex integrated endpoint (RCiEP).</summary>
    public static GenericDeviceSpec RcEndpoint(string? ids = null, bool multifunction = false) => Spec(FunctionKind.RcEndpoint, ids, multifunction);

    /// <summary>A conventional PCI function (no PCIe capability).</summary>
    public static GenericDeviceSpec Conventional(string? ids = null, bool multifunction = false) => Spec(FunctionKind.Conventional, ids, multifunction);

    /// <summary>A conventional PCI-to-PCI bridge (no PCIe capability).</summary>
    public static GenericDeviceSpec PciBridge(string? ids = null, bool multifunction = false) => Spec(FunctionKind.PciBridge, ids, multifunction);

    /// <summary>A PCIe-to-PCI bridge (PCIe type 0x7).</summary>
    public static GenericDeviceSpec PcieToPciBridge(string? ids = null) => Spec(FunctionKind.PcieToPciBridge, ids, false);

    /// <summary>A host bridge function (class 0600, conventional).</summary>
    public static GenericDeviceSpec HostBridge(string? ids = null, bool multifunction = false) => Spec(FunctionKind.HostBridge, ids, multifunction);

    private static GenericDeviceSpec Spec(FunctionKind kind, string? ids, bool multifunction, bool acs = false)
    {
        var spec = new GenericDeviceSpec { Kind = kind, Multifunction = multifunction, AcsCapability = acs ? StandardAcs : null };
        if (ids is null) return spec;
        var parts = ids.Split(':');
        if (parts.Length != 2 || !Hex16(parts[0], out var vendor) || !Hex16(parts[1], out var device))
            throw new ArgumentException($"'{ids}' is not vendor:device in hex (e.g. 8086:8c10)", nameof(ids));
        return spec with { VendorId = vendor, DeviceId = device };
    }

    private static bool Hex16(string s, out ushort v) =>
        ushort.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v) && s.Length <= 4;
}

/// <summary>Adds devices to one bus of a <see cref="MachineBuilder"/>; <c>below</c> callbacks fill a bridge's secondary bus.</summary>
public sealed class BusBuilder
{
    private readonly MachineBuilder machine;

    internal BusBuilder(MachineBuilder machine, PciBus bus)
    {
        this.machine = machine;
        Bus = bus;
    }

    public PciBus Bus { get; }

    /// <summary>The function plugged at <paramref name="addr"/> (<c>SS.F</c>) on this bus.</summary>
    public PciFunction this[string addr] =>
        Bus.Slots.GetValueOrDefault(ParseAddr(addr)) ?? throw new KeyNotFoundException($"nothing at {addr} on bus {Bus.Name}");

    /// <summary>Adds a function of the given kind with default IDs.</summary>
    public BusBuilder Add(string addr, FunctionKind kind, Action<BusBuilder>? below = null) =>
        Add(addr, new GenericDeviceSpec { Kind = kind }, below);

    /// <summary>
    /// Adds a synthetic function at <paramref name="addr"/> (<c>SS.F</c>, hex).
    /// </summary>
    /// <param name="below">Fills a bridge's secondary bus.</param>
    /// <param name="id">A name for references (<c>realDmaDevice</c>) and messages.</param>
    /// <param name="secondary">The secondary bus number firmware gives a bridge (default: the next free one).</param>
    /// <param name="ari">Gives it an ARI capability whose Next Function Number points at the next ARI function on the bus.</param>
    /// <param name="pchAcsQuirkEnabled">Platform fact for Intel PCH root ports: the chipset ACS quirk could enable isolation.</param>
    public BusBuilder Add(string addr, GenericDeviceSpec spec, Action<BusBuilder>? below = null, string? id = null,
        byte? secondary = null, bool ari = false, bool pchAcsQuirkEnabled = true)
    {
        bool conventional = spec.Kind is FunctionKind.Conventional or FunctionKind.PciBridge or FunctionKind.HostBridge;
        if (conventional)
        {
            string? extended = spec.AcsCapability is not null ? "acs" : spec.Sriov is not null ? "sriov" : ari ? "ari" : null;
            if (extended is not null)
                throw new MachineBuildException($"a {GenericDevice.KindName(spec.Kind)} function has no PCIe extended capabilities, so no {extended.ToUpperInvariant()}", extended);
        }
        var f = GenericDevice.Create(ari && spec.AriNextFunction is null ? spec with { AriNextFunction = 0 } : spec, id);
        f.PchAcsQuirkEnabled = pchAcsQuirkEnabled;
        Place(addr, f, below, id, secondary);
        if (ari) machine.ChainAri(f);
        return this;
    }

    /// <summary>
    /// Adds a QEMU 7.2 model: <paramref name="device"/> is the <c>-device</c> text without bus, addr and id,
    /// e.g. <c>"pcie-root-port,disable-acs=on"</c> or <c>"edu"</c>.
    /// </summary>
    public BusBuilder Qemu(string addr, string device, Action<BusBuilder>? below = null, string? id = null, byte? secondary = null)
    {
        var options = new List<KeyValuePair<string, string>>();
        var parts = device.Split(',');
        string model = parts[0];
        foreach (var p in parts.Skip(1))
        {
            int eq = p.IndexOf('=', StringComparison.Ordinal);
            string key = eq < 0 ? p : p[..eq];
            if (key is "bus" or "addr" or "id")
                throw new MachineBuildException($"QEMU option '{key}' is given by the machine description, not in the device text", "qemu");
            options.Add(new(key, eq < 0 ? "on" : p[(eq + 1)..]));
        }
        if (id is not null) options.Add(new("id", id));
        if (model == "pxb-pcie")
            throw new MachineBuildException("pxb-pcie opens a root bus: describe that root bus instead", "qemu");

        PciFunction f;
        try
        {
            var props = QemuDeviceModels.Properties(model, options);
            var m = QemuDeviceModels.Find(model, props);
            var position = Bus.IsRoot ? QemuPosition.RootBus : Bus.IsExpress ? QemuPosition.PcieLink : QemuPosition.ConventionalBus;
            bool onPxb = RootOf(Bus) is { Domain: not 0 } or { Number: not 0 };
            bool nic = model == "e1000e" && !props.ContainsKey("mac");
            f = m.Realize(new QemuDeviceModels.Context(model, props, position, onPxb) { NicIndex = nic ? machine.NextNicIndex() : 0 });
        }
        catch (QemuDeviceException e)
        {
            throw new MachineBuildException($"QEMU model {model}: {e.Message}", "qemu");
        }
        return Place(addr, f, below, id, secondary);
    }

    /// <summary>A switch: an upstream port at <paramref name="addr"/>, downstream port i at slot i, each filled by its callback.</summary>
    public BusBuilder Switch(string addr, bool downstreamAcs, params Action<BusBuilder>[] downstreamPorts) =>
        Add(addr, MachineBuilder.UpstreamPort(), usp =>
        {
            for (int i = 0; i < downstreamPorts.Length; i++)
                usp.Add($"{i:x2}.0", MachineBuilder.DownstreamPort(downstreamAcs), downstreamPorts[i]);
        });

    /// <summary>An ARI device: functions 0 … <paramref name="functions"/>−1 (devfn 0x00 upward), linked by their ARI capabilities.</summary>
    public BusBuilder Ari(int functions, GenericDeviceSpec spec)
    {
        for (int fn = 0; fn < functions; fn++) Add($"{fn >> 3:x2}.{fn & 7:x}", spec, ari: true);
        return this;
    }

    /// <summary>The q35 machine's own functions (QEMU 7.2): 00.0 MCH, 1f.0 ICH9 LPC, 1f.2 AHCI, 1f.3 SMBus.</summary>
    public BusBuilder Q35Functions()
    {
        if (!Bus.IsRoot) throw new MachineBuildException("q35's own functions sit on a root bus", "q35");
        foreach (var (devfn, model) in QemuMachine.Q35Functions)
            Place($"{devfn >> 3:x2}.{devfn & 7:x}", QemuMachine.Q35Function(model), null, null, null);
        return this;
    }

    private static PciBus RootOf(PciBus bus) => bus.IsRoot ? bus : RootOf(bus.Parent!);

    private BusBuilder Place(string addr, PciFunction f, Action<BusBuilder>? below, string? id, byte? secondary)
    {
        byte devfn = ParseAddr(addr);
        CheckPlacement(devfn, f);
        if (below is not null && !f.IsBridge)
            throw new MachineBuildException($"{Kind(f)} {MachineBuilder.Path(Bus, devfn)} is not a bridge, so nothing can sit below it", "children");
        if (secondary is not null && !f.IsBridge)
            throw new MachineBuildException($"{Kind(f)} {MachineBuilder.Path(Bus, devfn)} is not a bridge, so it has no secondary bus", "secondary");
        machine.RegisterId(id, f);
        machine.Topology.Plug(Bus, devfn, f);
        if (f.Secondary is { } s)
        {
            s.PresetNumber = secondary;
            below?.Invoke(new BusBuilder(machine, s));
        }
        return this;
    }

    // The rules Linux's scan imposes (pci_scan_slot(), only_one_child()) and that QEMU enforces at plug time.
    private void CheckPlacement(byte devfn, PciFunction f)
    {
        string at = MachineBuilder.Path(Bus, devfn);
        if (Bus.Slots.TryGetValue(devfn, out var other))
            throw new MachineBuildException($"{at} is already in use by {Kind(other)}{(other.Id is null ? "" : $" '{other.Id}'")}", "addr");
        if (MachineBuilder.HasAri(f)) return; // ARI: functions 0-255 follow Next Function Number, not slots
        if ((devfn >> 3) != 0 && Bus.Self is { } port && !machine.Topology.CommandLine.PcieScanAll &&
            PciTopology.RawPcieType(port) is PcieType.RootPort or PcieType.Downstream or PcieType.PcieBridge)
            throw new MachineBuildException($"slot {devfn >> 3:x2} is not valid below {MachineBuilder.Path(port)}: a PCIe link carries device 00 only, Linux never scans other slots there", "addr");
        int slot = devfn & ~7;
        if ((devfn & 7) != 0)
        {
            if (Bus.Slots.TryGetValue((byte)slot, out var f0) && !f0.HeaderMultifunctionBit)
                throw new MachineBuildException($"{at} cannot be added: function 0 of its slot is single-function, so Linux never scans further functions", "addr");
        }
        else if (!f.HeaderMultifunctionBit && Enumerable.Range(slot + 1, 7).Any(d => !Bus.IsFree((byte)d)))
        {
            throw new MachineBuildException($"{at} is single-function, but other functions of its slot are present (make it multifunction)", "multifunction");
        }
    }

    /// <summary>The kind (synthetic functions, model "json:kind") or QEMU model name.</summary>
    private static string Kind(PciFunction f) => f.Model.StartsWith("json:", StringComparison.Ordinal) ? f.Model[5..] : f.Model;

    internal static byte ParseAddr(string text)
    {
        var parts = text.Split('.');
        if (parts.Length == 2 && parts[0].Length is 1 or 2 && parts[1].Length == 1 &&
            byte.TryParse(parts[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var slot) && slot <= 0x1f &&
            byte.TryParse(parts[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var fn) && fn <= 7)
            return (byte)((slot << 3) | fn);
        throw new MachineBuildException($"'{text}' is not a device address (expected slot.function in hex, slot 00-1f, function 0-7, e.g. 1c.0)", "addr");
    }
}
