using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace VfioSim.Pci;

/// <summary>A PCI address as Linux names devices: <c>DDDD:BB:DD.F</c> (pci_name()).</summary>
public readonly record struct Bdf(ushort Domain, byte Bus, byte Device, byte Function) : IComparable<Bdf>
{
    public byte DevFn => (byte)((Device << 3) | Function);

    /// <summary>Bus/devfn as a 16-bit routing ID (PCI_DEVID).</summary>
    public ushort RoutingId => (ushort)((Bus << 8) | DevFn);

    public static Bdf FromDevFn(ushort domain, byte bus, byte devfn) => new(domain, bus, (byte)(devfn >> 3), (byte)(devfn & 7));

    public override string ToString() => $"{Domain:x4}:{Bus:x2}:{Device:x2}.{Function:x1}";

    /// <summary>Short form used by lspci without -D: <c>BB:DD.F</c>.</summary>
    public string ToShortString() => $"{Bus:x2}:{Device:x2}.{Function:x1}";

    public int CompareTo(Bdf other)
    {
        int c = Domain.CompareTo(other.Domain);
        if (c != 0) return c;
        c = Bus.CompareTo(other.Bus);
        return c != 0 ? c : DevFn.CompareTo(other.DevFn);
    }

    public static bool operator <(Bdf a, Bdf b) => a.CompareTo(b) < 0;
    public static bool operator >(Bdf a, Bdf b) => a.CompareTo(b) > 0;
    public static bool operator <=(Bdf a, Bdf b) => a.CompareTo(b) <= 0;
    public static bool operator >=(Bdf a, Bdf b) => a.CompareTo(b) >= 0;

    public static Bdf Parse(string s) =>
        TryParse(s, out var bdf) ? bdf : throw new FormatException($"'{s}' is not a PCI address (expected [DDDD:]BB:DD.F)");

    /// <summary>Accepts <c>DDDD:BB:DD.F</c> and <c>BB:DD.F</c> (domain 0), hex fields, device ≤ 0x1f, function ≤ 7.</summary>
    public static bool TryParse([NotNullWhen(true)] string? s, out Bdf bdf)
    {
        bdf = default;
        if (string.IsNullOrWhiteSpace(s)) return false;
        var parts = s.Trim().Split(':');
        string domain = "0", bus, devfn;
        if (parts.Length == 3) (domain, bus, devfn) = (parts[0], parts[1], parts[2]);
        else if (parts.Length == 2) (bus, devfn) = (parts[0], parts[1]);
        else return false;
        var df = devfn.Split('.');
        if (df.Length != 2) return false;
        if (!Hex(domain, 4, out uint d) || !Hex(bus, 2, out uint b) || !Hex(df[0], 2, out uint dev) || !Hex(df[1], 1, out uint fn))
            return false;
        if (dev > 0x1f || fn > 7) return false;
        bdf = new Bdf((ushort)d, (byte)b, (byte)dev, (byte)fn);
        return true;
    }

    private static bool Hex(string s, int maxDigits, out uint value)
    {
        value = 0;
        return s.Length >= 1 && s.Length <= maxDigits &&
               uint.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }
}
