namespace VfioSim.Pci.MachineFiles;

/// <summary>A malformed machine file: one message naming the file, line and column and what was expected.</summary>
public sealed class MachineFileException(string file, int line, int column, string reason) : Exception($"{file}:{line}:{column}: {reason}")
{
    public string File { get; } = file;
    public int Line { get; } = line;
    public int Column { get; } = column;
    public string Reason { get; } = reason;
}
