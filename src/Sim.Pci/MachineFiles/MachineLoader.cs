namespace VfioSim.Pci.MachineFiles;

/// <summary>Loads a machine file by its extension: <c>.qemu</c> (QEMU -device lines) or <c>.json</c>.</summary>
public static class MachineLoader
{
    /// <summary>Loads and boots the machine; throws <see cref="MachineFileException"/> on a malformed file.</summary>
    public static PciTopology Load(string path)
    {
        if (!File.Exists(path)) throw new MachineFileException(path, 1, 1, "file not found");
        string ext = Path.GetExtension(path).ToLowerInvariant();
        return ext switch
        {
            ".qemu" => Boot(QemuMachineFile.Load(path), path),
            ".json" => JsonMachineFile.Load(path),
            _ => throw new MachineFileException(path, 1, 1, $"unknown machine file type '{ext}' (expected .qemu or .json)"),
        };
    }

    /// <summary>A machine file's bytes; an unreadable file is a <see cref="MachineFileException"/>, not a crash.</summary>
    internal static byte[] ReadFile(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MachineFileException(path, 1, 1, $"cannot read the file: {e.Message}");
        }
    }

    // A machine that parses but cannot be booted (firmware runs out of bus numbers) is a bad file too.
    private static PciTopology Boot(Qemu.QemuMachine machine, string path)
    {
        try
        {
            return machine.Boot();
        }
        catch (InvalidOperationException e)
        {
            throw new MachineFileException(path, 1, 1, e.Message);
        }
    }

    /// <summary>The built-in machine used when no file is given.</summary>
    public static PciTopology Default() => QemuMachineFile.Parse(DefaultMachine.Text, "<default machine>").Boot();
}
