using System.CommandLine;
using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;

namespace VfioSim.Cli;

/// <summary>The <c>vfio-sim</c> command line: one sub-command per file, wired here.</summary>
public static class CliApp
{
    public static readonly Option<FileInfo?> MachineOption = new("--machine", "-m")
    {
        Description = "Machine file (.qemu with QEMU -device lines, or .json); default: the built-in q35 machine",
        Recursive = true,
    };

    public static RootCommand Build()
    {
        var root = new RootCommand("vfio-sim: a simulated PCI machine and IOMMU with the Linux VFIO interface");
        root.Options.Add(MachineOption);
        root.Subcommands.Add(GroupsCommand.Create());
        root.Subcommands.Add(LspciCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        return root;
    }

    /// <summary>Loads the machine named by --machine (or the default); a bad file is reported, not thrown.</summary>
    public static PciTopology? LoadMachine(ParseResult parse, TextWriter error)
    {
        var file = parse.GetValue(MachineOption);
        try
        {
            return file is null ? MachineLoader.Default() : MachineLoader.Load(file.FullName == file.ToString() ? file.FullName : file.ToString());
        }
        catch (MachineFileException e)
        {
            error.WriteLine($"vfio-sim: {e.Message}");
            return null;
        }
    }
}
