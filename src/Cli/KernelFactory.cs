using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using VfioSim.Driver;
using VfioSim.Pci.MachineFiles;
using VfioSim.Uapi;
using VfioSim.Vfio;

namespace VfioSim.Cli;

/// <summary>
/// Picks the kernel a driver talks to from configuration: <c>Vfio:Backend</c> = <c>simulator</c> (default) or
/// <c>host</c>; <c>Vfio:Machine</c> = the simulator's machine file (default: the built-in machine). Sources, later
/// ones winning: appsettings.json, environment variables (<c>Vfio__Backend=host</c>), the command line
/// (<c>--Vfio:Backend=host</c>).
/// </summary>
public static class KernelFactory
{
    public static IConfiguration Configuration(string[] args) => new ConfigurationBuilder()
        .AddJsonFile("appsettings.json", optional: true)
        .AddEnvironmentVariables()
        .AddCommandLine(args)
        .Build();

    /// <summary>The kernel, and the simulated machine when the backend is the simulator (null for the host).</summary>
    public static (IKernel Kernel, Machine? Machine) Create(IConfiguration config, ILoggerFactory? logging = null)
    {
        string backend = config["Vfio:Backend"] ?? "simulator";
        IKernel kernel;
        Machine? machine = null;
        switch (backend.ToLowerInvariant())
        {
            case "simulator":
                machine = config["Vfio:Machine"] is { Length: > 0 } file ? Machine.Load(file) : new Machine(MachineLoader.Default());
                kernel = machine.CreateProcess("vfio-sim");
                break;
            case "host" when OperatingSystem.IsLinux():
                kernel = new HostKernel();
                break;
            case "host":
                throw new PlatformNotSupportedException("Vfio:Backend=host needs Linux");
            default:
                throw new ArgumentException($"Vfio:Backend must be 'simulator' or 'host', not '{backend}'");
        }
        return (logging is null ? kernel : new LoggingKernel(kernel, logging.CreateLogger("syscalls")), machine);
    }
}
