using System.Collections.Concurrent;
using System.Globalization;

namespace VfioSim.Pci.Qemu;

/// <summary>
/// A QEMU 7.2 device model's config space at power-on, as catalogued from a Linux guest (see
/// tools/gen-qemu-images.py): size, bytes, BARs, and the names lspci printed for it.
/// </summary>
public sealed class QemuImage
{
    private static readonly ConcurrentDictionary<string, QemuImage> Cache = new();

    private QemuImage(string name, int size, byte[] bytes, List<PciResource> resources, string? lspci, string? lspciSub)
    {
        Name = name;
        Size = size;
        Bytes = bytes;
        Resources = resources;
        Lspci = lspci;
        LspciSubsystem = lspciSub;
    }

    public string Name { get; }
    public int Size { get; }
    public byte[] Bytes { get; }
    public IReadOnlyList<PciResource> Resources { get; }
    public string? Lspci { get; }
    public string? LspciSubsystem { get; }

    public static IEnumerable<string> Names =>
        typeof(QemuImage).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("qemu/", StringComparison.Ordinal))
            .Select(n => n["qemu/".Length..^".cfg".Length]);

    public static QemuImage Load(string name) => Cache.GetOrAdd(name, Parse);

    private static QemuImage Parse(string name)
    {
        using var stream = typeof(QemuImage).Assembly.GetManifestResourceStream($"qemu/{name}.cfg")
            ?? throw new KeyNotFoundException($"no QEMU image '{name}'");
        using var reader = new StreamReader(stream);
        int size = 256;
        var bytes = new byte[4096];
        var resources = new List<PciResource>();
        string? lspci = null, lspciSub = null;
        while (reader.ReadLine() is { } line)
        {
            if (line.StartsWith('#') || line.Length == 0) continue;
            if (line.StartsWith("cfgsize ", StringComparison.Ordinal)) size = int.Parse(line[8..], CultureInfo.InvariantCulture);
            else if (line.StartsWith("lspci-subsystem ", StringComparison.Ordinal)) lspciSub = line[16..];
            else if (line.StartsWith("lspci ", StringComparison.Ordinal)) lspci = line[6..];
            else if (line.StartsWith("resource ", StringComparison.Ordinal))
            {
                var f = line.Split(' ');
                int index = int.Parse(f[1], CultureInfo.InvariantCulture);
                bool pref = f.Length == 5 && f[3] == "pref";
                ulong sz = ulong.Parse(f[^1][2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                var kind = index == PciResource.RomIndex ? ResourceKind.Rom : f[2] switch
                {
                    "io" => ResourceKind.Io,
                    "mem64" => ResourceKind.Mem64,
                    _ => ResourceKind.Mem32,
                };
                resources.Add(new PciResource(index, kind, sz, pref));
            }
            else
            {
                int off = int.Parse(line[..3], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                var hex = line[5..].Split(' ');
                for (int i = 0; i < hex.Length; i++)
                    bytes[off + i] = byte.Parse(hex[i], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            }
        }
        return new QemuImage(name, size, bytes, resources, lspci, lspciSub);
    }

    /// <summary>A fresh function with this image, standard write masks applied.</summary>
    public PciFunction Instantiate(string model, string? id, Func<int, PciFunction>? vfModel = null, Action<ConfigSpace>? patch = null,
        Models.PciDeviceModel? device = null)
    {
        var cs = new ConfigSpace(Size == 256 ? ConfigSpace.ConventionalSize : ConfigSpace.ExtendedSize);
        Bytes.AsSpan(0, Size).CopyTo(cs.Raw);
        patch?.Invoke(cs);
        ConfigMasks.Apply(cs, Resources);
        return new PciFunction(model, cs, Resources, id)
        {
            LspciDescription = Lspci,
            LspciSubsystem = LspciSubsystem,
            VirtualFunctionModel = vfModel,
            Device = device,
        };
    }
}
