using System.CommandLine;
using System.Text;
using Spectre.Console;
using VfioSim.Driver;
using VfioSim.Driver.Devices;
using VfioSim.Uapi;

namespace VfioSim.Cli;

/// <summary>
/// <c>vfio-sim demo</c>: bind the default machine's edu to vfio-pci and drive it through VFIO as a userspace
/// driver does — on the simulator by default, or on the real kernel with <c>--Vfio:Backend=host</c>.
/// </summary>
public static class DemoCommand
{
    private const string Edu = "0000:01:00.0";

    public static Command Create()
    {
        var cmd = new Command("demo", "Drive the edu device through VFIO: identify, factorial, DMA round trip through the IOMMU");
        cmd.SetAction(parse =>
        {
            IKernel kernel;
            Vfio.Machine? machine;
            try
            {
                (kernel, machine) = KernelFactory.Create(KernelFactory.Configuration(parse.UnmatchedTokens.ToArray()));
            }
            catch (Exception e) when (e is ArgumentException or PlatformNotSupportedException or VfioSim.Pci.MachineFiles.MachineFileException)
            {
                Console.Error.WriteLine($"vfio-sim demo: {e.Message}");
                return 2;
            }
            using (kernel)
            {
                try
                {
                    Run(kernel, machine);
                    return 0;
                }
                catch (VfioException e)
                {
                    Console.Error.WriteLine($"vfio-sim demo: {e.Message}");
                    return 1;
                }
            }
        });
        cmd.TreatUnmatchedTokensAsErrors = false;
        return cmd;
    }

    private static void Echo(IKernel k, string path, string text)
    {
        int fd = (int)VfioException.Check(k.Open(path, OpenFlags.WriteOnly), $"open({path})");
        try { VfioException.Check(k.Write(fd, Encoding.ASCII.GetBytes(text)), $"write({path})"); }
        finally { k.Close(fd); }
    }

    // Plain text cells: values such as "[0x0, 0xfedfffff]" are not Spectre markup.
    private static void Row(Table table, string step, string result) => table.AddRow(new Text(step), new Text(result));

    private static void Run(IKernel k, Vfio.Machine? machine)
    {
        // A console over the current Console.Out (redirected output is plain and not wrapped).
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Out),
            Ansi = Console.IsOutputRedirected ? AnsiSupport.No : AnsiSupport.Detect,
        });
        if (Console.IsOutputRedirected) console.Profile.Width = 200;
        console.MarkupLine($"[bold]vfio-sim demo[/] on {(machine is null ? "the host kernel" : "the simulator (default machine)")}");
        if (k.Readlink($"/sys/bus/pci/devices/{Edu}/driver", out var driver) > 0 && !driver.EndsWith("/vfio-pci", StringComparison.Ordinal))
            Echo(k, $"/sys/bus/pci/drivers/{driver[(driver.LastIndexOf('/') + 1)..]}/unbind", Edu);
        if (!driver.EndsWith("/vfio-pci", StringComparison.Ordinal))
        {
            Echo(k, $"/sys/bus/pci/devices/{Edu}/driver_override", "vfio-pci");
            Echo(k, "/sys/bus/pci/drivers_probe", Edu);
        }
        VfioException.Check(k.Readlink($"/sys/bus/pci/devices/{Edu}/iommu_group", out var link), "readlink(iommu_group)");
        int groupId = int.Parse(link[(link.LastIndexOf('/') + 1)..], System.Globalization.CultureInfo.InvariantCulture);

        using var container = new VfioContainer(k);
        using var group = new VfioGroup(k, groupId);
        group.SetContainer(container);
        container.SetIommu(VfioUapi.TYPE1v2_IOMMU);
        var info = container.GetInfo();
        using var device = new VfioDevice(k, group.GetDeviceFd(Edu), Edu);
        using var edu = new EduDriver(k, device);
        var iovas = new IovaAllocator(info.IovaRanges, dmaMask: EduDriver.DmaMask);
        using var src = new DmaBuffer(k, container, iovas, 4096);
        using var dst = new DmaBuffer(k, container, iovas, 4096);

        var table = new Table().AddColumn("step").AddColumn("result");
        Row(table, "IOMMU group", $"{groupId} ({group.Path})");
        Row(table, "IOVA ranges", string.Join(", ", info.IovaRanges.Select(r => $"[0x{r.Start:x}, 0x{r.End:x}]")));
        Row(table, "BAR0", $"0x{device.Region(0).Size:x} bytes, flags 0x{device.Region(0).Flags:x}");
        Row(table, "identification", $"0x{edu.Identification:x8} (version {edu.Version.Major}.{edu.Version.Minor})");
        Row(table, "liveness", edu.CheckLiveness() ? "ok" : "FAILED");
        Row(table, "10! by polling", edu.FactorialByPolling(10).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Row(table, "12! by interrupt", edu.FactorialByInterrupt(12).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var bytes = Enumerable.Range(0, 2048).Select(i => (byte)(i * 31 + 7)).ToArray();
        src.Write(bytes);
        edu.Dma(src.Iova, 0, bytes.Length, toRam: false, interrupt: true);
        edu.Dma(dst.Iova, 0, bytes.Length, toRam: true, interrupt: true);
        bool same = dst.Read(bytes.Length).AsSpan().SequenceEqual(bytes);
        Row(table, "DMA round trip", $"{bytes.Length} bytes RAM → edu → RAM via IOVA 0x{src.Iova:x}/0x{dst.Iova:x}: {(same ? "verified" : "MISMATCH")}");
        if (machine is not null) Row(table, "IOMMU faults", machine.Iommu.Faults.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        console.Write(table);
        if (!same) throw new VfioException(Errno.EIO, "edu DMA", "the bytes that came back differ from those sent");
    }
}
