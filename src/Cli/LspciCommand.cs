using System.CommandLine;
using VfioSim.Cli.Lspci;
using VfioSim.Iommu;

namespace VfioSim.Cli;

/// <summary><c>vfio-sim lspci</c>: lspci-compatible listing of the simulated machine (formatting in Lspci/).</summary>
public static class LspciCommand
{
    public static Command Create()
    {
        var tree = new Option<bool>("-t") { Description = "Show the bus tree" };
        var verbose = new Option<bool>("-v") { Description = "Be verbose (-vv and -vvv are not implemented)" };
        var numeric = new Option<bool>("-n") { Description = "Show numeric IDs (-nn: both names and numbers)" };
        var both = new Option<bool>("-nn") { Description = "Show both textual and numeric IDs" };
        var domains = new Option<bool>("-D") { Description = "Always show PCI domain numbers" };
        var slot = new Option<string>("-s") { Description = "Show only devices in selected slots: [[[[<domain>]:]<bus>]:][<slot>][.[<func>]]" };
        var sriov = SriovOption.Create();
        var cmd = new Command("lspci", "List the PCI functions as lspci (pciutils 3.9) does") { tree, verbose, numeric, both, domains, slot, sriov };
        cmd.SetAction(parse =>
        {
            // lspci counts repeated switches: -nn = -n -n, so "-tvnn" arrives as -t -v -n -n.
            if ((parse.GetResult(verbose)?.IdentifierTokenCount ?? 0) > 1)
            {
                Console.Error.WriteLine("vfio-sim lspci: only -v is implemented, not -vv or -vvv");
                return 2;
            }
            int n = (parse.GetResult(numeric)?.IdentifierTokenCount ?? 0) + 2 * (parse.GetResult(both)?.IdentifierTokenCount ?? 0);
            SlotFilter? filter = null;
            if (parse.GetValue(slot) is { } selector && (filter = SlotFilter.Parse(selector, out var error)) is null)
            {
                Console.Error.WriteLine($"vfio-sim lspci: -s: {error}");
                return 2;
            }
            var topology = CliApp.LoadMachine(parse, Console.Error);
            if (topology is null) return 2;
            var groups = new IommuGroups(topology);
            if (SriovOption.Apply(parse, sriov, topology, Console.Error) is { } failed) return failed;
            var options = new LspciOptions
            {
                Tree = parse.GetValue(tree),
                Verbose = parse.GetValue(verbose),
                Ids = n switch { 0 => IdDisplay.Names, 1 => IdDisplay.Numeric, _ => IdDisplay.Both },
                Domains = parse.GetValue(domains),
                Filter = filter,
            };
            Console.Out.Write(LspciFormatter.Format(topology, groups, options));
            return 0;
        });
        return cmd;
    }
}
