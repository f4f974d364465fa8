using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using VfioSim.Iommu;
using VfioSim.Pci;

namespace VfioSim.Cli;

/// <summary><c>vfio-sim groups</c>: the IOMMU groups Linux would make, and why.</summary>
public static class GroupsCommand
{
    public static Command Create()
    {
        var explain = new Option<bool>("--explain") { Description = "Say why each device is in its group" };
        var format = new Option<string>("--format")
        {
            Description = "text, json, or kernel (the shared/conformance .groups format)",
            DefaultValueFactory = _ => "text",
        };
        format.AcceptOnlyFromAmong("text", "json", "kernel");
        var sriov = SriovOption.Create();
        var cmd = new Command("groups", "Show the IOMMU groups of the machine") { explain, format, sriov };
        cmd.SetAction(parse =>
        {
            var topology = CliApp.LoadMachine(parse, Console.Error);
            if (topology is null) return 2;
            var groups = new IommuGroups(topology);
            if (SriovOption.Apply(parse, sriov, topology, Console.Error) is { } failed) return failed;
            string fmt = parse.GetValue(format)!;
            bool why = parse.GetValue(explain);
            switch (fmt)
            {
                case "kernel":
                    Console.Out.Write(groups.ToKernelFormat());
                    break;
                case "json":
                    Console.Out.WriteLine(ToJson(groups, why));
                    break;
                default:
                    WriteText(groups, why);
                    break;
            }
            return 0;
        });
        return cmd;
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private static string ToJson(IommuGroups groups, bool explain)
    {
        var doc = new
        {
            groups = groups.All.Select(g => new
            {
                id = g.Id,
                devices = g.SortedDevices.Select(d => new
                {
                    bdf = d.Bdf.ToString(),
                    vendor = $"{d.VendorId:x4}",
                    device = $"{d.DeviceId:x4}",
                    model = d.Model,
                    step = explain ? groups.DecisionFor(d)?.Step.ToString() : null,
                    reasons = explain ? groups.DecisionFor(d)?.Reasons : null,
                }),
            }),
        };
        return JsonSerializer.Serialize(doc, JsonOptions);
    }

    private static void WriteText(IommuGroups groups, bool explain)
    {
        // Redirected output (a pipe, a file, a test) is not wrapped at 80 columns.
        var console = Console.IsOutputRedirected
            ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors })
            : AnsiConsole.Console;
        if (Console.IsOutputRedirected) console.Profile.Width = 4096;
        if (groups.Count == 0)
        {
            console.WriteLine("No IOMMU groups: the machine has no active IOMMU.");
            return;
        }
        foreach (var g in groups.All)
        {
            console.MarkupLine($"[bold]IOMMU group {g.Id}[/]");
            foreach (var d in g.SortedDevices)
            {
                console.MarkupLine($"  {d.Bdf}  [grey]{d.VendorId:x4}:{d.DeviceId:x4}[/]  {Markup.Escape(Describe(d))}");
                if (explain && groups.DecisionFor(d) is { } decision)
                    foreach (var r in decision.Reasons) console.MarkupLine($"      [grey]- {Markup.Escape(r)}[/]");
            }
        }
    }

    private static string Describe(PciFunction d) => d.Id is null ? d.Model : $"{d.Model} ({d.Id})";
}
