using System.Text;
using VfioSim.Pci.Qemu;

namespace VfioSim.Pci.MachineFiles;

/// <summary>
/// Reads a machine from QEMU command-line text: the <c>.qemu</c> files of shared/conformance (one <c>-device</c>
/// per line, <c>#</c> comments, an optional <c>-append "…"</c>), or a whole pasted <c>qemu-system-x86_64 …</c>
/// command with backslash continuations. Only <c>-device</c>, <c>-append</c> and <c>-M/-machine</c> matter;
/// other options are skipped with their argument.
/// </summary>
public static class QemuMachineFile
{
    private static readonly HashSet<string> NoArgOptions =
    [
        "-nodefaults", "-no-reboot", "-no-shutdown", "-nographic", "-enable-kvm", "-S", "-snapshot",
        "-no-user-config", "-no-hpet", "-no-acpi", "-daemonize", "-full-screen",
    ];

    /// <summary>A token with the source position of each of its characters (quotes and escapes removed).</summary>
    private sealed record Token(string Text, (int Line, int Col)[] Pos)
    {
        public (int Line, int Col) At(int index) => Pos.Length == 0 ? (1, 1) : Pos[Math.Clamp(index, 0, Pos.Length - 1)];
    }

    public static QemuMachine Load(string path)
    {
        byte[] bytes = MachineLoader.ReadFile(path);
        return Parse(Encoding.UTF8.GetString(bytes is [0xef, 0xbb, 0xbf, ..] ? bytes.AsSpan(3) : bytes), path); // without a byte order mark
    }

    public static QemuMachine Parse(string text, string fileName = "<machine>")
    {
        var tokens = Tokenize(text, fileName);
        string? append = null;
        Token? appendToken = null;
        var devices = new List<Token>();
        for (int i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i];
            if (i == 0 && !t.Text.StartsWith('-') && t.Text.Contains("qemu", StringComparison.Ordinal)) continue; // the binary
            if (!t.Text.StartsWith('-'))
                Fail(fileName, t, 0, $"expected a QEMU option such as -device, found '{t.Text}'");
            string opt = t.Text.StartsWith("--", StringComparison.Ordinal) ? t.Text[1..] : t.Text;
            if (NoArgOptions.Contains(opt)) continue;
            if (i + 1 >= tokens.Count) Fail(fileName, t, 0, $"option {opt} requires an argument");
            var arg = tokens[++i];
            switch (opt)
            {
                case "-device":
                    devices.Add(arg);
                    break;
                case "-append":
                    append = arg.Text;
                    appendToken = arg;
                    break;
                case "-M" or "-machine":
                    string type = arg.Text.Split(',')[0];
                    if (type.StartsWith("type=", StringComparison.Ordinal)) type = type[5..];
                    if (type != "q35" && !type.StartsWith("pc-q35", StringComparison.Ordinal))
                        Fail(fileName, arg, 0, $"machine type '{type}' is not modelled (only q35)");
                    break;
            }
        }

        KernelCommandLine cmdline;
        try
        {
            cmdline = new KernelCommandLine(append ?? "intel_iommu=on iommu=pt");
        }
        catch (FormatException e) when (appendToken is not null)
        {
            throw Error(fileName, appendToken, 0, e.Message);
        }

        var machine = new QemuMachine(cmdline);
        foreach (var d in devices)
        {
            var (model, options, optionStarts) = SplitDeviceOptions(d, fileName);
            try
            {
                machine.AddDevice(model, options);
            }
            catch (QemuDeviceException e)
            {
                int col = 0;
                if (e.Property is not null)
                    for (int k = 0; k < options.Count; k++)
                        if (options[k].Key == e.Property) col = optionStarts[k];
                throw Error(fileName, d, col, $"-device {model}: {e.Message}");
            }
        }
        return machine;
    }

    // QemuOpts syntax: "model,key=value,...", ",," is a literal comma, "driver=model" also names the model,
    // a bare "key" means key=on.
    private static (string Model, List<KeyValuePair<string, string>> Options, List<int> Starts) SplitDeviceOptions(Token t, string file)
    {
        var parts = new List<(string Text, int Start)>();
        var cur = new StringBuilder();
        int start = 0;
        string s = t.Text;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == ',' && i + 1 < s.Length && s[i + 1] == ',') { cur.Append(','); i++; continue; }
            if (s[i] == ',') { parts.Add((cur.ToString(), start)); cur.Clear(); start = i + 1; continue; }
            cur.Append(s[i]);
        }
        parts.Add((cur.ToString(), start));

        string? model = null;
        var options = new List<KeyValuePair<string, string>>();
        var starts = new List<int>();
        for (int k = 0; k < parts.Count; k++)
        {
            var (p, st) = parts[k];
            if (p.Length == 0) Fail(file, t, st, "empty option in -device (a stray ',')");
            int eq = p.IndexOf('=', StringComparison.Ordinal);
            if (k == 0 && eq < 0) { model = p; continue; }
            string key = eq < 0 ? p : p[..eq], value = eq < 0 ? "on" : p[(eq + 1)..];
            if (key.Length == 0) Fail(file, t, st, "option name expected before '='");
            if (key == "driver") { model = value; continue; }
            options.Add(new(key, value));
            starts.Add(st);
        }
        if (model is null) Fail(file, t, 0, "-device needs a device model name first (e.g. -device edu,bus=pcie.0)");
        return (model!, options, starts);
    }

    private static List<Token> Tokenize(string text, string file)
    {
        var tokens = new List<Token>();
        var cur = new StringBuilder();
        var pos = new List<(int, int)>();
        int line = 1, col = 1;
        char quote = '\0';
        (int, int) quoteStart = (0, 0);
        bool quotedEmpty = false;

        void Flush()
        {
            if (cur.Length > 0 || quotedEmpty) tokens.Add(new Token(cur.ToString(), [.. pos]));
            cur.Clear();
            pos.Clear();
            quotedEmpty = false;
        }

        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quote == '\0' && c == '#' && cur.Length == 0)
            {
                while (i < text.Length && text[i] != '\n') i++;
                line++; col = 1;
                continue;
            }
            if (c == '\r') continue;
            if (quote == '\0' && c == '\\' && i + 1 < text.Length && (text[i + 1] == '\n' || text[i + 1] == '\r'))
            {
                while (i + 1 < text.Length && text[i + 1] != '\n') i++;
                i++; line++; col = 1;
                continue;
            }
            if (c == '\n')
            {
                if (quote != '\0') throw new MachineFileException(file, quoteStart.Item1, quoteStart.Item2, $"unterminated {quote} quote");
                Flush();
                line++; col = 1;
                continue;
            }
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
                else if (c == '\\' && quote == '"' && i + 1 < text.Length && text[i + 1] is '"' or '\\') { cur.Append(text[++i]); pos.Add((line, col)); col++; }
                else { cur.Append(c); pos.Add((line, col)); }
            }
            else if (c is '"' or '\'')
            {
                quote = c; quoteStart = (line, col);
                quotedEmpty = true;
            }
            else if (char.IsWhiteSpace(c)) Flush();
            else { cur.Append(c); pos.Add((line, col)); }
            col++;
        }
        if (quote != '\0') throw new MachineFileException(file, quoteStart.Item1, quoteStart.Item2, $"unterminated {quote} quote");
        Flush();
        return tokens;
    }

    private static MachineFileException Error(string file, Token t, int index, string reason)
    {
        var (l, c) = t.At(index);
        return new MachineFileException(file, l, c, reason);
    }

    private static void Fail(string file, Token t, int index, string reason) => throw Error(file, t, index, reason);
}
