using System.Globalization;

namespace VfioSim.Pci.Qemu;

/// <summary>
/// A QEMU 7.2 <c>q35</c> machine with an emulated Intel VT-d, built from <c>-device</c> options the way QEMU
/// places them: the machine's own functions (00:00.0 MCH, 00:1f.0/.2/.3 ICH9), then each device on its bus,
/// with QEMU's own checks (unknown bus, slot in use, multifunction rules, slot 0 only below a PCIe port).
/// </summary>
public sealed class QemuMachine
{
    private readonly Dictionary<string, PciBus> buses = new(StringComparer.Ordinal);
    private readonly HashSet<string> ids = new(StringComparer.Ordinal);
    private readonly HashSet<PciBus> pxbBuses = [];
    private int nicIndex;

    public QemuMachine(KernelCommandLine? cmdline = null)
    {
        Topology = new PciTopology(cmdline ?? new KernelCommandLine("intel_iommu=on iommu=pt"));
        Topology.IommuPresent = !Topology.CommandLine.IommuDisabled;
        RootBus = Topology.AddRootBus(0, 0, "pcie.0");
        buses["pcie.0"] = RootBus;
        foreach (var (devfn, model) in Q35Functions)
            Topology.Plug(RootBus, devfn, Q35Function(model));
    }

    /// <summary>The q35 machine's own functions on pcie.0: 00.0 MCH host bridge, 1f.0 ICH9 LPC, 1f.2 AHCI, 1f.3 SMBus.</summary>
    public static readonly IReadOnlyList<(byte DevFn, string Model)> Q35Functions =
        [(0x00, "mch"), (0xf8, "ICH9-LPC"), (0xfa, "ich9-ahci"), (0xfb, "ICH9-SMB")];

    public static PciFunction Q35Function(string model) => QemuImage.Load($"{model}@pcie.0").Instantiate(model, null);

    public PciTopology Topology { get; }
    public PciBus RootBus { get; }

    /// <summary>Adds one <c>-device</c>; throws <see cref="QemuDeviceException"/> with QEMU's complaint.</summary>
    public PciFunction? AddDevice(string model, IReadOnlyList<KeyValuePair<string, string>> options)
    {
        var props = QemuDeviceModels.Properties(model, options);

        if (QemuDeviceModels.NonPci.Contains(model))
        {
            RegisterId(props);
            return null;
        }
        var m = QemuDeviceModels.Find(model, props);

        string busName = props.GetValueOrDefault("bus", "pcie.0");
        if (!buses.TryGetValue(busName, out var bus))
            throw new QemuDeviceException($"Bus '{busName}' not found", "bus");

        byte devfn = props.TryGetValue("addr", out var addr) ? ParseAddr(addr) : FirstFreeSlot(bus, busName);
        var position = bus.IsRoot ? QemuPosition.RootBus : bus.IsExpress ? QemuPosition.PcieLink : QemuPosition.ConventionalBus;
        var ctx = new QemuDeviceModels.Context(model, props, position, pxbBuses.Contains(bus)) { NicIndex = model == "e1000e" && !props.ContainsKey("mac") ? nicIndex : 0 };
        var f = m.Realize(ctx);
        if (model == "e1000e" && !props.ContainsKey("mac")) nicIndex++;

        CheckPlacement(bus, devfn, f, model, props);
        RegisterId(props);
        if (model == "pxb-pcie")
        {
            if (!props.TryGetValue("bus_nr", out _)) throw new QemuDeviceException("'bus_nr' property is required", "bus_nr");
            byte nr = (byte)ctx.UInt("bus_nr", 0, 0xff);
            if (Topology.RootBuses.Any(r => r.Number == nr)) throw new QemuDeviceException($"PCI bus number {nr} is already in use", "bus_nr");
            var root = Topology.PlugHostBridge(bus, devfn, f, nr, props.GetValueOrDefault("id"));
            pxbBuses.Add(root);
            if (props.TryGetValue("id", out var pxbId)) buses[pxbId] = root;
        }
        else
        {
            Topology.Plug(bus, devfn, f);
            if (f.Secondary is { } sec && props.TryGetValue("id", out var bid)) buses[bid] = sec;
        }
        return f;
    }

    private void RegisterId(Dictionary<string, string> props)
    {
        if (props.TryGetValue("id", out var id) && !ids.Add(id))
            throw new QemuDeviceException($"Duplicate ID '{id}' for device", "id");
    }

    // pci_init_multifunction() and the PCIe slot-0 rule of do_pci_register_device().
    private static void CheckPlacement(PciBus bus, byte devfn, PciFunction f, string model, Dictionary<string, string> props)
    {
        if (!bus.IsFree(devfn))
        {
            var other = bus.Slots[devfn];
            throw new QemuDeviceException($"PCI: slot {devfn >> 3} function {devfn & 7} not available for {model}, in use by {other.Model}" +
                (other.Id is null ? "" : $",id={other.Id}"), "addr");
        }
        if (bus.Self is { } parent && PciTopology.RawPcieType(parent) is PcieType.RootPort or PcieType.Downstream && (devfn >> 3) != 0)
            throw new QemuDeviceException($"PCI: slot {devfn >> 3} is not valid for {model}, parent device only allows plugging into slot 0.", "addr");
        int slot = devfn & ~7;
        if ((devfn & 7) != 0)
        {
            if (bus.Slots.TryGetValue((byte)slot, out var f0) && !f0.HeaderMultifunctionBit)
                throw new QemuDeviceException($"PCI: single function device can't be populated in function {devfn >> 3:x}.{devfn & 7:x}", "addr");
        }
        else if (!f.HeaderMultifunctionBit)
        {
            for (int fn = 1; fn < 8; fn++)
                if (!bus.IsFree((byte)(slot + fn)))
                    throw new QemuDeviceException($"PCI: {devfn >> 3:x}.0 indicates single function, but {devfn >> 3:x}.{fn:x} is already populated.", props.ContainsKey("multifunction") ? "multifunction" : "addr");
        }
    }

    private static byte FirstFreeSlot(PciBus bus, string busName)
    {
        for (int devfn = 0; devfn < 256; devfn += 8)
            if (bus.IsFree((byte)devfn)) return (byte)devfn;
        throw new QemuDeviceException($"PCI: no slot/function available for device, all in use or reserved on bus '{busName}'", "bus");
    }

    /// <summary>QEMU's PCI address property: <c>SS</c> or <c>SS.F</c> in hex (slot ≤ 1f, function ≤ 7).</summary>
    public static byte ParseAddr(string text)
    {
        var parts = text.Split('.');
        string s = parts[0].StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? parts[0][2..] : parts[0];
        if (parts.Length > 2 || s.Length is 0 or > 2 || !byte.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var slot) || slot > 0x1f)
            throw new QemuDeviceException($"Property 'addr' doesn't take value '{text}' (expected slot[.function], e.g. 06.0)", "addr");
        byte fn = 0;
        if (parts.Length == 2 && (!byte.TryParse(parts[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out fn) || fn > 7 || parts[1].Length != 1))
            throw new QemuDeviceException($"Property 'addr' doesn't take value '{text}' (function must be 0-7)", "addr");
        return (byte)((slot << 3) | fn);
    }

    /// <summary>Power-on details that depend on the whole machine, then firmware and Linux enumeration.</summary>
    public PciTopology Boot()
    {
        ApplyPowerOnDetails(Topology);
        Topology.Boot();
        return Topology;
    }

    /// <summary>What QEMU models look like at power-on in a given machine (empty hot-plug slots).</summary>
    public static void ApplyPowerOnDetails(PciTopology topology)
    {
        foreach (var f in topology.AllPlugged())
        {
            // An empty hot-plug slot has its power controller and power indicator off (Slot Control 0x07c0).
            if (f.Model is "pcie-root-port" && f.Secondary is { } sec && sec.Slots.Count == 0)
            {
                int cap = f.Config.FindCapability(PciRegs.CapIdExp);
                f.Config.Set16(cap + PciRegs.ExpSltCtl, 0x07c0);
                f.Config.Set16(cap + PciRegs.ExpSltSta, (ushort)(f.Config.Read16(cap + PciRegs.ExpSltSta) & ~0x0040));
                f.Config.Set16(cap + PciRegs.ExpLnkSta, (ushort)(f.Config.Read16(cap + PciRegs.ExpLnkSta) & ~0x2000));
            }
        }
    }
}
