using System.Text;
using VfioSim.Pci;

namespace VfioSim.Cli.Lspci;

/// <summary>
/// <c>lspci -t</c>: pciutils 3.9's ls-tree.c. Bridges are found from their class and header type and placed by
/// the bus numbers in their config space (primary/secondary/subordinate) and by their sysfs parent; each
/// device is put on its parent bridge's bus; then the forest is drawn with lspci's line buffer, whose
/// <c>+</c>/<c>|</c> become <c>|</c> and everything else a space on the following lines.
/// </summary>
public static class LspciTree
{
    private sealed class Bridge(LspciDevice? device, uint domain, uint primary, uint secondary, uint subordinate)
    {
        public LspciDevice? Device { get; } = device;
        public uint Domain { get; } = domain;
        public uint Primary { get; } = primary;
        public uint Secondary { get; } = secondary;
        public uint Subordinate { get; } = subordinate;
        public List<Bridge> Children { get; } = []; // newest first, as lspci links them
        public List<Bus> Buses { get; } = [];

        public Bus? FindBus(uint domain, uint number) => Buses.FirstOrDefault(b => b.Domain == domain && b.Number == number);

        public Bus NewBus(uint domain, uint number)
        {
            var bus = new Bus(domain, number);
            Buses.Add(bus);
            return bus;
        }
    }

    private sealed class Bus(uint domain, uint number)
    {
        public uint Domain { get; } = domain;
        public uint Number { get; } = number;
        public List<LspciDevice> Devices { get; } = [];
    }

    /// <summary>The tree for <paramref name="devices"/> (sorted as lspci sorts them); -v adds names, -s prunes.</summary>
    public static string Format(IReadOnlyList<LspciDevice> devices, PciNames names, LspciOptions options)
    {
        var (host, bridgeOf) = Grow(devices);
        var printer = new Printer(names, options, bridgeOf);
        printer.ShowBridge(host, 0);
        return printer.Output.ToString();
    }

    /// <summary>grow_tree().</summary>
    private static (Bridge Host, Dictionary<LspciDevice, Bridge> BridgeOf) Grow(IReadOnlyList<LspciDevice> devices)
    {
        var host = new Bridge(null, 0, ~0u, 0, ~0u);
        var chain = new List<Bridge> { host };
        var bridgeOf = new Dictionary<LspciDevice, Bridge>();

        foreach (var d in devices)
        {
            if (d.Class >> 8 != 0x06 || d.HeaderType is not (PciRegs.HeaderTypeBridge or PciRegs.HeaderTypeCardbus)) continue;
            var b = new Bridge(d, d.Bdf.Domain, d.Config.Read8(PciRegs.PrimaryBus), d.Config.Read8(PciRegs.SecondaryBus), d.Config.Read8(PciRegs.SubordinateBus));
            chain.Add(b);
            bridgeOf[d] = b;
        }
        // A sysfs parent that is not a bridge by class still gets a bridge, for the bus its child is on.
        foreach (var d in devices)
        {
            if (d.Parent is not { } parent || bridgeOf.ContainsKey(parent)) continue;
            var b = new Bridge(parent, parent.Bdf.Domain, parent.Bdf.Bus, d.Bdf.Bus, d.Bdf.Bus);
            chain.Add(b);
            bridgeOf[parent] = b;
        }
        foreach (var b in chain)
        {
            Bridge? best = b.Device?.Parent is { } p ? bridgeOf.GetValueOrDefault(p) : null;
            if (best is null)
            {
                foreach (var c in chain)
                {
                    // Unsigned like lspci's: the host bridge's span (~0 - ~0) is 0, so it wins every tie.
                    if (c != b && (c == host || b.Domain == c.Domain) && b.Primary >= c.Secondary && b.Primary <= c.Subordinate &&
                        (best is null || best.Subordinate - best.Primary > c.Subordinate - c.Primary))
                        best = c;
                }
            }
            best?.Children.Insert(0, b);
        }
        foreach (var b in chain)
            if (b.FindBus(b.Domain, b.Secondary) is null) b.NewBus(b.Domain, b.Secondary);
        foreach (var d in devices) Insert(d, host, bridgeOf);
        return (host, bridgeOf);
    }

    /// <summary>insert_dev(): on the parent bridge's first bus, else the bus with its number, else below the bridge spanning it.</summary>
    private static void Insert(LspciDevice d, Bridge b, Dictionary<LspciDevice, Bridge> bridgeOf)
    {
        uint domain = d.Bdf.Domain, number = d.Bdf.Bus;
        Bus? bus = null;
        if (d.Parent is { } parent && bridgeOf.TryGetValue(parent, out var pb))
            bus = pb.Buses.FirstOrDefault() ?? pb.NewBus(domain, number);
        if (bus is null && (bus = b.FindBus(domain, number)) is null)
        {
            var c = b.Children.FirstOrDefault(c => c.Domain == domain && c.Secondary <= number && number <= c.Subordinate);
            if (c is not null)
            {
                Insert(d, c, bridgeOf);
                return;
            }
            bus = b.NewBus(domain, number);
        }
        bus.Devices.Add(d);
    }

    /// <summary>show_forest() and its helpers, drawing into lspci's reusable line buffer.</summary>
    private sealed class Printer(PciNames names, LspciOptions options, Dictionary<LspciDevice, Bridge> bridgeOf)
    {
        private const int LineBufSize = 1024;
        private readonly char[] line = new char[LineBufSize];

        public StringBuilder Output { get; } = new();

        private int Put(int p, string text)
        {
            int n = Math.Min(text.Length, LineBufSize - 1 - p);
            if (n <= 0) return p;
            text.CopyTo(0, line, p, n);
            return p + n;
        }

        // print_it(): the line so far, then turn it into the prefix of the next one.
        private void PrintIt(int p)
        {
            Output.Append(line, 0, p);
            if (p >= LineBufSize - 1) Output.Append("...");
            Output.Append('\n');
            for (int i = 0; i < p; i++) line[i] = line[i] is '+' or '|' ? '|' : ' ';
        }

        private bool Filtered => options.Filter is not null;

        private bool CheckDev(LspciDevice d)
        {
            if (!Filtered || options.Filter!.Matches(d.Bdf)) return true;
            return bridgeOf.TryGetValue(d, out var br) && br.Buses.Any(CheckBus); // a bridge shows when something below it matches
        }

        private bool CheckBus(Bus b) => !Filtered || b.Devices.Any(CheckDev);

        private void ShowDev(LspciDevice d, int p)
        {
            p = Put(p, $"{d.Bdf.Device:x2}.{d.Bdf.Function:x}");
            if (bridgeOf.TryGetValue(d, out var b))
            {
                p = Put(p, b.Secondary == 0 ? "-" : b.Secondary == b.Subordinate ? $"-[{b.Secondary:x2}]-" : $"-[{b.Secondary:x2}-{b.Subordinate:x2}]-");
                ShowBridge(b, p);
                return;
            }
            if (options.Verbose) p = Put(p, "  " + names.Device(d.VendorId, d.DeviceId, options.Ids));
            PrintIt(p);
        }

        private void ShowBus(Bus b, int p)
        {
            if (b.Devices.Count == 0)
                PrintIt(p);
            else if (b.Devices.Count == 1)
            {
                if (CheckDev(b.Devices[0])) ShowDev(b.Devices[0], Put(p, "--"));
                else PrintIt(p);
            }
            else
            {
                bool empty = true;
                for (int i = 0; i < b.Devices.Count; i++)
                {
                    if (!CheckDev(b.Devices[i])) continue;
                    ShowDev(b.Devices[i], Put(p, i < b.Devices.Count - 1 ? "+-" : "\\-"));
                    empty = false;
                }
                if (empty) PrintIt(p);
            }
        }

        public void ShowBridge(Bridge b, int p)
        {
            line[p++] = '-';
            if (b.Buses.Count == 1)
            {
                var bus = b.Buses[0];
                if (!CheckBus(bus))
                {
                    PrintIt(p);
                    return;
                }
                if (b.Device is null) p = Put(p, $"[{bus.Domain:x4}:{bus.Number:x2}]-");
                ShowBus(bus, p);
                return;
            }
            bool empty = true;
            for (int i = 0; i < b.Buses.Count; i++)
            {
                var u = b.Buses[i];
                if (!CheckBus(u)) continue;
                ShowBus(u, Put(p, $"{(i < b.Buses.Count - 1 ? "+-" : "\\-")}[{u.Domain:x4}:{u.Number:x2}]-"));
                empty = false;
            }
            if (empty) PrintIt(p);
        }
    }
}
