using System.CommandLine;

namespace VfioSim.Cli;

/// <summary><c>vfio-sim lspci</c>: lspci-compatible listing of the simulated machine.</summary>
public static class LspciCommand
{
    public static Command Create()
    {
        var cmd = new Command("lspci", "List the PCI functions as lspci does");
        cmd.SetAction(parse =>
        {
            var topology = CliApp.LoadMachine(parse, Console.Error);
            if (topology is null) return 2;
            foreach (var f in topology.Functions)
                Console.Out.WriteLine($"{f.Bdf.ToShortString()} {f.LspciDescription ?? f.Model}");
            return 0;
        });
        return cmd;
    }
}
