using System.Text;

namespace VfioSim.Vfio.Sysfs;

/// <summary>
/// How store() methods read what was written, as the kernel's string helpers do: the buffer is a C string
/// (kernfs NUL-terminates it; an embedded NUL ends it), scanned with vsscanf() and kstrtobool().
/// </summary>
internal static class KernelText
{
    /// <summary>The written bytes up to the first NUL, one char per byte.</summary>
    public static string CString(ReadOnlySpan<byte> buffer)
    {
        int nul = buffer.IndexOf((byte)0);
        return Encoding.Latin1.GetString(nul < 0 ? buffer : buffer[..nul]);
    }

    /// <summary>
    /// vsscanf() with a format of <c>%x</c> conversions separated by spaces (new_id's "%x %x %x %x %x %x %lx"): each
    /// conversion skips white space, takes an optional 0x and hex digits, and wraps on overflow; the first field
    /// without a hex digit ends the scan. Returns how many fields were converted (at most values.Length).
    /// </summary>
    public static int ScanHex(string s, Span<ulong> values)
    {
        int pos = 0, n = 0;
        while (n < values.Length)
        {
            while (pos < s.Length && IsSpace(s[pos])) pos++;
            if (pos >= s.Length || !Uri.IsHexDigit(s[pos])) break;
            if (s[pos] == '0' && pos + 1 < s.Length && (s[pos + 1] | 0x20) == 'x') pos += 2; // _parse_integer_fixup_radix()
            ulong value = 0;
            while (pos < s.Length && Uri.IsHexDigit(s[pos])) value = unchecked(value * 16 + (ulong)Uri.FromHex(s[pos++]));
            values[n++] = value;
        }
        return n;
    }

    /// <summary>kstrtobool(): y/Y/t/T/1 or "on" are true, n/N/f/F/0 or "off" false; by the first one or two characters.</summary>
    public static bool TryParseBool(string s, out bool value)
    {
        value = false;
        if (s.Length == 0) return false;
        switch (s[0])
        {
            case 'y' or 'Y' or 't' or 'T' or '1':
                value = true;
                return true;
            case 'n' or 'N' or 'f' or 'F' or '0':
                return true;
            case 'o' or 'O' when s.Length > 1 && s[1] is 'n' or 'N':
                value = true;
                return true;
            case 'o' or 'O' when s.Length > 1 && s[1] is 'f' or 'F':
                return true;
            default:
                return false;
        }
    }

    /// <summary>isspace() of the kernel's ctype: space, \t \n \v \f \r.</summary>
    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';
}
