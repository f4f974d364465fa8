using System.CommandLine;
using VfioSim.Pci;

namespace VfioSim.Cli;

/// <summary>The <c>--sriov BDF=N</c> option shared by the commands that look at a booted machine.</summary>
public static class SriovOption
{
    public static Option<string[]> Create() => new("--sriov")
    {
        Description = "After boot, enable VFs as writing sriov_numvfs does: BDF=N (repeatable, applied in order)",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>Applies each BDF=N in order; returns the exit code on the first failure (reported), null when all succeed.</summary>
    public static int? Apply(ParseResult parse, Option<string[]> option, PciTopology topology, TextWriter error)
    {
        foreach (var spec in parse.GetValue(option) ?? [])
        {
            var parts = spec.Split('=');
            if (parts.Length != 2 || !Bdf.TryParse(parts[0], out var bdf) || !int.TryParse(parts[1], out int n))
            {
                error.WriteLine($"vfio-sim: --sriov expects BDF=N, got '{spec}'");
                return 2;
            }
            var pf = topology.Find(bdf);
            if (pf is null) { error.WriteLine($"vfio-sim: --sriov: no device {bdf}"); return 2; }
            var status = Sriov.SetNumVfs(topology, pf, n, out _);
            if (status != SriovStatus.Ok) { error.WriteLine($"vfio-sim: --sriov {spec}: {status}"); return 1; }
        }
        return null;
    }
}
