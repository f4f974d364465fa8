namespace VfioSim.Pci.MachineFiles;

/// <summary>JSON machine descriptions (placeholder until the format lands).</summary>
public static class JsonMachineFile
{
    public static PciTopology Load(string path) => throw new MachineFileException(path, 1, 1, "JSON machine files are not implemented yet");
}
