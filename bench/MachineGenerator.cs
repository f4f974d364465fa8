using VfioSim.Pci;
using VfioSim.Pci.Devices;

namespace VfioSim.Bench;

/// <summary>A generated machine: its hardware (not yet booted) and the SR-IOV PFs whose VFs make up the rest.</summary>
public sealed record GeneratedMachine(PciTopology Topology, IReadOnlyList<PciFunction> PhysicalFunctions, int VfsPerPf, int Functions)
{
    /// <summary>Enables <see cref="VfsPerPf"/> VFs on every PF (a write to sriov_numvfs each); the topology must be booted.</summary>
    public void EnableVfs()
    {
        foreach (var pf in PhysicalFunctions)
        {
            var status = Sriov.SetNumVfs(Topology, pf, VfsPerPf, out _);
            if (status != SriovStatus.Ok) throw new InvalidOperationException($"enabling {VfsPerPf} VFs on {pf} failed: {status}");
        }
    }
}

/// <summary>
/// Builds large synthetic machines for benchmarks and tests: on each PCI domain, root ports on bus 0, each with a
/// switch (upstream port, up to 32 downstream ports), below each downstream port an endpoint (some multi-function)
/// or an SR-IOV PF. Some root ports, downstream ports and multi-function endpoints lack ACS so that groups of many
/// sizes arise. A new domain starts when a domain's 256 bus numbers run out. Firmware reserves VF bus numbers.
/// </summary>
public static class MachineGenerator
{
    private const ushort Vendor = 0x1b36; // no ACS or DMA-alias quirk matches it
    private const ushort AllAcs = 0x5f;   // SV TB RR CR UF DT
    private const int MaxBus = 0xff;

    // Functions per endpoint below successive downstream ports: mostly single-function, some wide.
    private static readonly int[] EndpointWidths = [1, 1, 2, 1, 4, 1, 1, 8];

    /// <summary>
    /// A machine with exactly <paramref name="functions"/> functions once its VFs are enabled: one PF with
    /// <paramref name="vfsPerPf"/> VFs per <paramref name="functionsPerPf"/> functions, the rest switch trees.
    /// </summary>
    public static GeneratedMachine Generate(int functions, int functionsPerPf = 1000, int vfsPerPf = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(functions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(vfsPerPf, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(vfsPerPf, 256); // one extra bus number per PF at most
        // Each PF's share must hold the PF, its VFs and the widest endpoint placed before the PF is due.
        ArgumentOutOfRangeException.ThrowIfLessThan(functionsPerPf, vfsPerPf + 16);

        var t = new PciTopology { ReserveSriovBusNumbers = true };
        var pfs = new List<PciFunction>();
        int pfCount = functions / functionsPerPf, pfCost = 1 + vfsPerPf;
        int remaining = functions, leaf = 0, rootPorts = 0;

        for (int domain = 0; remaining > 0; domain++)
        {
            if (domain > ushort.MaxValue) throw new ArgumentOutOfRangeException(nameof(functions), "more functions than 65536 PCI domains hold");
            var root = t.AddRootBus((ushort)domain, 0, domain == 0 ? "pcie.0" : $"pcie.{domain}");
            int lastBus = 0; // the highest bus number firmware will have handed out on this domain
            for (int rp = 0; rp < 32 && remaining > 0 && lastBus + 2 <= MaxBus; rp++)
            {
                // Every fourth root port lacks ACS: its whole switch joins the root port's group.
                var port = t.Plug(root, (byte)(rp << 3), Create(FunctionKind.RootPort, rootPorts++ % 4 == 3 ? null : AllAcs));
                remaining--; lastBus++;
                if (remaining == 0) break;
                var upstream = t.Plug(port.Secondary!, 0, Create(FunctionKind.UpstreamPort, null));
                remaining--; lastBus++;
                for (int dp = 0; dp < 32 && remaining > 0 && lastBus < MaxBus; dp++)
                {
                    // Every eighth downstream port lacks ACS: its endpoint joins the port's group.
                    var down = t.Plug(upstream.Secondary!, (byte)(dp << 3), Create(FunctionKind.DownstreamPort, dp % 8 == 7 ? null : AllAcs));
                    remaining--; lastBus++;
                    if (remaining == 0) break;
                    bool pfDue = pfs.Count < pfCount && functions - remaining >= pfs.Count * functionsPerPf;
                    if (pfDue && remaining >= pfCost && lastBus < MaxBus)
                    {
                        pfs.Add(t.Plug(down.Secondary!, 0, CreatePf(vfsPerPf)));
                        remaining -= pfCost; lastBus++; // the VFs' bus
                    }
                    else
                    {
                        int width = Math.Min(EndpointWidths[leaf % EndpointWidths.Length], remaining);
                        bool acs = leaf++ % 2 == 0; // half the multi-function endpoints isolate their functions
                        for (int fn = 0; fn < width; fn++)
                            t.Plug(down.Secondary!, (byte)fn, Create(FunctionKind.Endpoint, acs && width > 1 ? AllAcs : null, multifunction: width > 1));
                        remaining -= width;
                    }
                }
            }
        }
        return new GeneratedMachine(t, pfs, vfsPerPf, functions);
    }

    // Specs are immutable, so one per kind of function serves the whole machine.
    private static readonly Dictionary<(FunctionKind, ushort?, bool), GenericDeviceSpec> Specs = [];

    private static PciFunction Create(FunctionKind kind, ushort? acs, bool multifunction = false)
    {
        GenericDeviceSpec? spec;
        lock (Specs)
        {
            if (!Specs.TryGetValue((kind, acs, multifunction), out spec))
                Specs[(kind, acs, multifunction)] = spec = new GenericDeviceSpec
                {
                    Kind = kind,
                    VendorId = Vendor,
                    DeviceId = (ushort)(0x1000 + (int)kind),
                    AcsCapability = acs,
                    AcsControl = 0,
                    Multifunction = multifunction,
                };
        }
        return GenericDevice.Create(spec);
    }

    private static PciFunction CreatePf(int vfs) =>
        GenericDevice.Create(new GenericDeviceSpec
        {
            Kind = FunctionKind.Endpoint,
            VendorId = Vendor,
            DeviceId = 0x2000,
            Sriov = new SriovSpec((ushort)vfs, FirstVfOffset: 1, VfStride: 1, VfDeviceId: 0x2001),
        });
}
