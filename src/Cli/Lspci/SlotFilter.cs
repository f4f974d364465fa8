using VfioSim.Pci;

namespace VfioSim.Cli.Lspci;

/// <summary>
/// lspci's <c>-s [[[[domain]:]bus]:][slot][.[func]]</c> selector (pci_filter_parse_slot() in pciutils lib/filter.c):
/// hexadecimal fields, an empty field or <c>*</c> matches anything.
/// </summary>
public sealed record SlotFilter(int Domain, int Bus, int Slot, int Function)
{
    public static readonly SlotFilter Any = new(-1, -1, -1, -1);

    /// <summary>Parses a selector; returns lspci's complaint (e.g. "Invalid bus number") for a bad one.</summary>
    public static SlotFilter? Parse(string text, out string? error)
    {
        error = null;
        if (text.Length >= 64) { error = "Expression too long"; return null; }
        var fields = text.Split(':');
        if (fields.Length > 3) { error = "Too many fields"; return null; }
        int domain = -1, bus = -1, slot = -1, func = -1, i = 0;
        if (fields.Length == 3)
        {
            if (!HexField(fields[0], 0x7fffffff, ref domain)) { error = "Invalid domain number"; return null; }
            i++;
        }
        if (fields.Length > i + 1)
        {
            if (!HexField(fields[i], 0xff, ref bus)) { error = "Invalid bus number"; return null; }
            i++;
        }
        string dev = fields[i];
        if (Defined(dev))
        {
            var parts = dev.Split('.');
            if (parts.Length > 2) { error = "Invalid slot/function number"; return null; }
            if (!HexField(parts[0], 0x1f, ref slot)) { error = "Invalid slot number"; return null; }
            if (parts.Length == 2 && !HexField(parts[1], 7, ref func)) { error = "Invalid function number"; return null; }
        }
        return new SlotFilter(domain, bus, slot, func);
    }

    public bool Matches(Bdf bdf) =>
        (Domain < 0 || Domain == bdf.Domain) && (Bus < 0 || Bus == bdf.Bus) &&
        (Slot < 0 || Slot == bdf.Device) && (Function < 0 || Function == bdf.Function);

    private static bool Defined(string field) => field.Length > 0 && field != "*";

    // parse_hex_field() without a mask: hex digits only, the value bounded by max as it is read.
    private static bool HexField(string field, long max, ref int value)
    {
        if (!Defined(field)) return true;
        long v = 0;
        foreach (char c in field)
        {
            int digit = c is >= '0' and <= '9' ? c - '0' : c is >= 'a' and <= 'f' ? c - 'a' + 10 : c is >= 'A' and <= 'F' ? c - 'A' + 10 : -1;
            if (digit < 0) return false;
            v = (v << 4) | (uint)digit;
            if (v > max) return false;
        }
        value = (int)v;
        return true;
    }
}
