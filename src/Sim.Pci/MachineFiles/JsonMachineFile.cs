using System.Globalization;
using System.Text;
using System.Text.Json;
using VfioSim.Pci.Devices;

namespace VfioSim.Pci.MachineFiles;

/// <summary>
/// JSON machine descriptions (docs/machine-json.md): root buses holding a tree of devices of any kind and IDs,
/// with ACS, ARI, SR-IOV and platform facts, for what QEMU cannot build. Read with <see cref="Utf8JsonReader"/>
/// into a tree that remembers positions, so every complaint names file:line:column and what was expected.
/// </summary>
public static class JsonMachineFile
{
    public static PciTopology Load(string path) => Parse(MachineLoader.ReadFile(path), path);

    public static PciTopology Parse(string text, string fileName = "<machine>") => Parse(Encoding.UTF8.GetBytes(text), fileName);

    public static PciTopology Parse(byte[] utf8, string fileName)
    {
        var source = new Source(utf8, fileName);
        return new Loader(source).Machine(source.ReadTree());
    }

    private static readonly string[] TopProperties = ["comment", "cmdline", "iommu", "amd_ivrs", "root_buses"];
    private static readonly string[] RootBusProperties = ["comment", "domain", "bus", "q35", "real_dma_device", "devices"];
    private static readonly string[] QemuDeviceProperties = ["comment", "addr", "qemu", "id", "secondary", "children"];
    private static readonly string[] DeviceProperties =
    [
        "comment", "addr", "kind", "qemu", "id", "vendor", "device", "subsystem_vendor", "subsystem_device", "class", "revision",
        "multifunction", "acs", "ari", "ari_forwarding", "sriov", "pch_acs_quirk", "secondary", "children",
    ];
    private static readonly string[] AcsProperties = ["comment", "cap", "ctrl"];
    private static readonly string[] SriovProperties = ["comment", "total_vfs", "offset", "stride", "vf_device"];

    private static readonly Dictionary<string, FunctionKind> Kinds =
        Enum.GetValues<FunctionKind>().ToDictionary(GenericDevice.KindName, k => k, StringComparer.Ordinal);

    /// <summary>A JSON value with the byte offset where it starts.</summary>
    private sealed class Node(JsonTokenType type, long offset)
    {
        public JsonTokenType Type { get; } = type;
        public long Offset { get; } = offset;
        public string? Text { get; set; }
        public List<Member> Members { get; } = [];
        public List<Node> Items { get; } = [];

        public Member? this[string name] => Members.Find(m => m.Name == name);

        public string Describe() => Type switch
        {
            JsonTokenType.StartObject => "an object",
            JsonTokenType.StartArray => "an array",
            JsonTokenType.String => $"the string \"{Text}\"",
            JsonTokenType.Number => $"the number {Text}",
            JsonTokenType.True => "true",
            JsonTokenType.False => "false",
            _ => "null",
        };
    }

    private sealed record Member(string Name, long Offset, Node Value);

    /// <summary>The file's bytes, their positions, and the reader that builds the tree.</summary>
    private sealed class Source
    {
        private readonly byte[] bytes;
        private readonly List<int> lineStarts = [0];

        public Source(byte[] utf8, string file)
        {
            File = file;
            bytes = utf8 is [0xef, 0xbb, 0xbf, ..] ? utf8[3..] : utf8; // a UTF-8 byte order mark
            for (int i = 0; i < bytes.Length; i++)
                if (bytes[i] == '\n') lineStarts.Add(i + 1);
        }

        public string File { get; }

        public MachineFileException Error(long offset, string reason)
        {
            int line = lineStarts.BinarySearch((int)offset);
            if (line < 0) line = ~line - 1;
            return ErrorInLine(line, offset - lineStarts[line], reason);
        }

        // Columns count characters: UTF-8 continuation bytes do not start one.
        private MachineFileException ErrorInLine(int line, long byteInLine, string reason)
        {
            int start = lineStarts[line], col = 1;
            for (int i = start; i < start + byteInLine && i < bytes.Length; i++)
                if ((bytes[i] & 0xc0) != 0x80) col++;
            return new MachineFileException(File, line + 1, col, reason);
        }

        public Node ReadTree()
        {
            if (bytes.All(b => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
                throw new MachineFileException(File, 1, 1, "the file is empty (expected a JSON object with \"root_buses\")");
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            try
            {
                reader.Read();
                var root = ReadValue(ref reader);
                reader.Read(); // anything after the value is an error the reader reports
                return root;
            }
            catch (JsonException e)
            {
                string message = e.Message;
                int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
                if (cut >= 0) message = message[..cut];
                throw ErrorInLine((int)(e.LineNumber ?? 0), e.BytePositionInLine ?? 0, $"malformed JSON: {message}");
            }
            catch (InvalidOperationException e) // a string that is not valid UTF-8 (or has a lone surrogate escape)
            {
                throw Error(reader.TokenStartIndex, $"malformed JSON: {e.Message}");
            }
        }

        private Node ReadValue(ref Utf8JsonReader reader)
        {
            var node = new Node(reader.TokenType, reader.TokenStartIndex);
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        string name = reader.GetString()!;
                        long at = reader.TokenStartIndex;
                        if (node[name] is not null) throw Error(at, $"property \"{name}\" is given twice");
                        reader.Read();
                        node.Members.Add(new Member(name, at, ReadValue(ref reader)));
                    }
                    break;
                case JsonTokenType.StartArray:
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                        node.Items.Add(ReadValue(ref reader));
                    break;
                case JsonTokenType.String:
                    node.Text = reader.GetString();
                    break;
                case JsonTokenType.Number:
                    node.Text = Encoding.UTF8.GetString(reader.ValueSpan);
                    break;
            }
            return node;
        }
    }

    /// <summary>Walks the tree against the schema and drives a <see cref="MachineBuilder"/>.</summary>
    private sealed class Loader(Source source)
    {
        private readonly Dictionary<object, Node> nodes = [];

        public PciTopology Machine(Node root)
        {
            Object(root, "the machine", TopProperties);
            var builder = MachineBuilder.Create(String(root, "cmdline") ?? "");
            if (Bool(root, "iommu") is { } iommu) builder.IommuPresent(iommu);
            if (Bool(root, "amd_ivrs") is { } ivrs) builder.AmdIvrs(ivrs);
            var buses = Array(root, "root_buses") ?? throw source.Error(root.Offset, "the machine needs \"root_buses\": a list of root buses with their devices");
            if (buses.Items.Count == 0) throw source.Error(buses.Offset, "\"root_buses\" is empty: a machine needs at least one root bus");
            foreach (var rb in buses.Items) RootBus(builder, rb);
            try
            {
                return builder.Boot();
            }
            catch (MachineBuildException e)
            {
                throw source.Error(e.Subject is not null && nodes.TryGetValue(e.Subject, out var n) ? ValueOffset(n, e.Property) : root.Offset, e.Message);
            }
        }

        private void RootBus(MachineBuilder builder, Node rb)
        {
            Object(rb, "a root bus", RootBusProperties);
            ushort domain = (ushort)(Hex(rb, "domain", 0xffff, "0x0000") ?? 0);
            byte number = (byte)(Hex(rb, "bus", 0xff, "0x80") ?? 0);
            bool q35 = Bool(rb, "q35") ?? false;
            string? dma = String(rb, "real_dma_device");
            var devices = Array(rb, "devices");
            try
            {
                builder.RootBus(domain, number, bus =>
                {
                    nodes[bus.Bus] = rb;
                    if (q35) bus.Q35Functions();
                    if (devices is not null) Devices(bus, devices);
                }, dma);
            }
            catch (MachineBuildException e)
            {
                throw source.Error(ValueOffset(rb, e.Property), e.Message);
            }
        }

        private void Devices(BusBuilder bus, Node list)
        {
            foreach (var d in list.Items) Device(bus, d);
        }

        private void Device(BusBuilder bus, Node d)
        {
            bool qemu = d["qemu"] is not null;
            Object(d, "a device", DeviceProperties);
            if (qemu)
            {
                var extra = d.Members.Find(m => !QemuDeviceProperties.Contains(m.Name));
                if (extra is not null)
                    throw source.Error(extra.Offset, $"\"{extra.Name}\" does not apply to a QEMU model (QEMU properties go into \"qemu\", e.g. \"pcie-root-port,disable-acs=on\")");
            }
            string addr = String(d, "addr") ?? throw source.Error(d.Offset, "a device needs \"addr\" (slot.function in hex, e.g. \"00.0\")");
            string? id = String(d, "id");
            byte? secondary = (byte?)Hex(d, "secondary", 0xff, "0x05");
            var children = Array(d, "children");
            Action<BusBuilder>? below = children is null ? null : b => Devices(b, children);
            try
            {
                if (qemu)
                {
                    bus.Qemu(addr, String(d, "qemu")!, below, id, secondary);
                }
                else
                {
                    var spec = Spec(d);
                    bus.Add(addr, spec, below, id, secondary, Bool(d, "ari") ?? false, Bool(d, "pch_acs_quirk") ?? true);
                }
            }
            catch (MachineBuildException e)
            {
                throw source.Error(ValueOffset(d, e.Property), e.Message);
            }
            nodes[bus[addr]] = d;
        }

        private GenericDeviceSpec Spec(Node d)
        {
            var kindMember = d["kind"] ?? throw source.Error(d.Offset, $"a device needs \"kind\" ({string.Join(", ", Kinds.Keys)}) or \"qemu\" (a QEMU model)");
            string kindText = String(d, "kind")!;
            if (!Kinds.TryGetValue(kindText, out var kind))
                throw source.Error(kindMember.Value.Offset, $"unknown kind \"{kindText}\" (expected one of: {string.Join(", ", Kinds.Keys)})");
            var spec = new GenericDeviceSpec { Kind = kind };
            if (Hex(d, "vendor", 0xffff, "0x8086") is { } v) spec = spec with { VendorId = (ushort)v };
            if (Hex(d, "device", 0xffff, "0x10d3") is { } dev) spec = spec with { DeviceId = (ushort)dev };
            if (Hex(d, "subsystem_vendor", 0xffff, "0x8086") is { } sv) spec = spec with { SubsystemVendorId = (ushort)sv };
            if (Hex(d, "subsystem_device", 0xffff, "0x0001") is { } sd) spec = spec with { SubsystemId = (ushort)sd };
            if (Hex(d, "class", 0xffffff, "0x020000") is { } cls) spec = spec with { ClassCode = cls };
            if (Hex(d, "revision", 0xff, "0x01") is { } rev) spec = spec with { Revision = (byte)rev };
            if (Bool(d, "multifunction") is { } mf) spec = spec with { Multifunction = mf };
            if (Bool(d, "ari_forwarding") is { } fwd) spec = spec with { AriForwarding = fwd };
            if (d["acs"] is { } acs) spec = Acs(spec, acs.Value);
            if (d["sriov"] is { } sriov)
            {
                var s = sriov.Value;
                Object(s, "\"sriov\"", SriovProperties);
                int total = Int(s, "total_vfs", 1, 0xffff) ?? throw source.Error(s.Offset, "\"sriov\" needs \"total_vfs\" (how many VFs the PF offers)");
                spec = spec with
                {
                    Sriov = new SriovSpec((ushort)total, (ushort)(Int(s, "offset", 1, 0xffff) ?? 1), (ushort)(Int(s, "stride", 0, 0xffff) ?? 1),
                        (ushort?)Hex(s, "vf_device", 0xffff, "0x10ca")),
                };
            }
            return spec;
        }

        private GenericDeviceSpec Acs(GenericDeviceSpec spec, Node acs)
        {
            switch (acs.Type)
            {
                case JsonTokenType.True:
                    return spec with { AcsCapability = MachineBuilder.StandardAcs };
                case JsonTokenType.False:
                    return spec with { AcsCapability = null };
                case JsonTokenType.StartObject:
                    Object(acs, "\"acs\"", AcsProperties);
                    uint cap = Hex(acs, "cap", 0xffff, "0x5f") ?? throw source.Error(acs.Offset, "\"acs\" needs \"cap\" (the ACS Capability register, e.g. \"0x5f\")");
                    return spec with { AcsCapability = (ushort)cap, AcsControl = (ushort)(Hex(acs, "ctrl", 0xffff, "0x0") ?? 0) };
                default:
                    throw source.Error(acs.Offset, $"\"acs\" must be an object such as {{\"cap\": \"0x5f\", \"ctrl\": \"0x0\"}}, or true or false; found {acs.Describe()}");
            }
        }

        // ---- typed access; each complaint points at the offending value ----

        private void Object(Node n, string what, string[] allowed)
        {
            if (n.Type != JsonTokenType.StartObject)
                throw source.Error(n.Offset, $"{what} must be a JSON object {{...}}, found {n.Describe()}");
            foreach (var m in n.Members)
                if (!allowed.Contains(m.Name))
                    throw source.Error(m.Offset, $"unknown property \"{m.Name}\" in {what} (expected one of: {string.Join(", ", allowed)})");
        }

        private Node? Value(Node obj, string name, JsonTokenType type, string expected)
        {
            if (obj[name] is not { } m) return null;
            bool ok = m.Value.Type == type || (type == JsonTokenType.True && m.Value.Type == JsonTokenType.False);
            if (!ok) throw source.Error(m.Value.Offset, $"\"{name}\" must be {expected}, found {m.Value.Describe()}");
            return m.Value;
        }

        private string? String(Node obj, string name) => Value(obj, name, JsonTokenType.String, "a string")?.Text;

        private bool? Bool(Node obj, string name) => Value(obj, name, JsonTokenType.True, "true or false") is { } v ? v.Type == JsonTokenType.True : null;

        private Node? Array(Node obj, string name) => Value(obj, name, JsonTokenType.StartArray, "an array [...]");

        private int? Int(Node obj, string name, int min, int max)
        {
            string expected = $"a whole number from {min} to {max}";
            if (Value(obj, name, JsonTokenType.Number, expected) is not { } v) return null;
            if (!int.TryParse(v.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n) || n < min || n > max)
                throw source.Error(v.Offset, $"\"{name}\" must be {expected}, found {v.Text}");
            return n;
        }

        /// <summary>A hex string, "0x" optional: IDs and registers are written as datasheets and lspci show them.</summary>
        private uint? Hex(Node obj, string name, uint max, string example)
        {
            if (Value(obj, name, JsonTokenType.String, $"a hex string such as \"{example}\"") is not { } v) return null;
            string text = v.Text!;
            string digits = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
            if (digits.Length is 0 or > 8 || !uint.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint n))
                throw source.Error(v.Offset, $"\"{name}\": \"{text}\" is not a hex number (expected e.g. \"{example}\")");
            if (n > max) throw source.Error(v.Offset, $"\"{name}\": 0x{n:x} is too large (at most 0x{max:x})");
            return n;
        }

        /// <summary>Where a builder complaint about <paramref name="property"/> points: its value, else the address, else the object.</summary>
        private static long ValueOffset(Node obj, string? property) =>
            (property is null ? null : obj[property])?.Value.Offset ?? obj["addr"]?.Value.Offset ?? obj.Offset;
    }
}
