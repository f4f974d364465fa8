using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;
using VfioSim.Uapi;
using VfioSim.Vfio.Process;
using Machine = VfioSim.Vfio.Machine;

namespace VfioSim.Tests.Property;

public enum IsoOpKind { Bind, Unbind, OpenContainer, OpenGroup, SetContainer, SetIommu, GetDeviceFd, MapDma, Close, Exit, DmaProbe, Flow, UnsetContainer, UnmapDma }

/// <summary>
/// One step of an isolation scenario, done by process <see cref="Proc"/> (0 or 1). A and B pick among devices,
/// groups, fds or IOVA slots modulo what exists when the step runs, so every sequence (and every shrunk one) runs.
/// </summary>
public sealed record IsoOp(IsoOpKind Kind, int Proc, int A, int B)
{
    public override string ToString() => $"p{Proc} {Kind}({A},{B})";
}

/// <summary>A small q35 machine (QEMU -device lines) and the operations two processes make on it.</summary>
public sealed record IsoScenario(string[] Devices, IsoOp[] Ops)
{
    public override string ToString() =>
        string.Join("\n", Devices) + "\n-- ops:\n  " + string.Join("\n  ", Ops.Select(o => o.ToString()));
}

public static class IsoScenarios
{
    // One slot of pcie.0 (addr 02.0 + i): a root port with or without ACS and what sits below it, or an
    // integrated endpoint. Multifunction endpoints without ACS share a group, ACS-less ports merge nothing on
    // the root bus (each root port is its own group), so groups of 1-3 devices appear.
    private static Gen<string[]> Slot(int i) =>
        from kind in Gen.Choose(0, 4)
        from noAcs in Gen.Elements(false, true)
        select SlotLines(i, kind, noAcs);

    private static string[] SlotLines(int i, int kind, bool noAcs)
    {
        string addr = string.Create(CultureInfo.InvariantCulture, $"{2 + i:x2}.0");
        string rp = $"-device pcie-root-port,id=rp{i},bus=pcie.0,addr={addr},chassis={i + 1},slot={i + 1}" + (noAcs ? ",disable-acs=on" : "");
        return kind switch
        {
            0 => [rp, $"-device edu,id=edu{i},bus=rp{i},addr=00.0"],
            1 => [rp, $"-device e1000e,id=nic{i},bus=rp{i},addr=00.0"],
            2 => [rp, $"-device edu,id=edu{i}a,bus=rp{i},addr=00.0,multifunction=on", $"-device edu,id=edu{i}b,bus=rp{i},addr=00.1"],
            3 => [rp, $"-device edu,id=edu{i}a,bus=rp{i},addr=00.0,multifunction=on", $"-device e1000e,id=nic{i}b,bus=rp{i},addr=00.1"],
            _ => [$"-device edu,id=edu{i},bus=pcie.0,addr={addr}"],
        };
    }

    private static readonly Gen<IsoOp> Op =
        from kind in Gen.Frequency(
            (3, Gen.Constant(IsoOpKind.Bind)), (1, Gen.Constant(IsoOpKind.Unbind)), (2, Gen.Constant(IsoOpKind.OpenContainer)),
            (3, Gen.Constant(IsoOpKind.OpenGroup)), (3, Gen.Constant(IsoOpKind.SetContainer)), (2, Gen.Constant(IsoOpKind.SetIommu)),
            (3, Gen.Constant(IsoOpKind.GetDeviceFd)), (3, Gen.Constant(IsoOpKind.MapDma)), (2, Gen.Constant(IsoOpKind.Close)),
            (1, Gen.Constant(IsoOpKind.Exit)), (4, Gen.Constant(IsoOpKind.DmaProbe)), (3, Gen.Constant(IsoOpKind.Flow)),
            (1, Gen.Constant(IsoOpKind.UnsetContainer)), (1, Gen.Constant(IsoOpKind.UnmapDma)))
        from proc in Gen.Choose(0, 1)
        from a in Gen.Choose(0, 15)
        from b in Gen.Choose(0, 15)
        select new IsoOp(kind, proc, a, b);

    public static readonly Gen<IsoScenario> Scenario =
        from slots in Gen.Choose(1, 4)
        from lines in Gen.CollectToArray(Enumerable.Range(0, slots).Select(Slot))
        from ops in Gen.Choose(5, 60).SelectMany(n => Gen.ArrayOf(Op, n))
        select new IsoScenario([.. lines.SelectMany(l => l)], ops);

    public static IEnumerable<IsoScenario> Shrink(IsoScenario s)
    {
        int n = s.Ops.Length;
        if (n > 1)
        {
            yield return s with { Ops = s.Ops[..(n / 2)] };
            yield return s with { Ops = s.Ops[(n / 2)..] };
        }
        for (int i = n - 1; i >= 0; i--)
            yield return s with { Ops = [.. s.Ops[..i], .. s.Ops[(i + 1)..]] };
    }

    public static Arbitrary<IsoScenario> Arbitrary() => Arb.From(Scenario, Shrink);
}

/// <summary>
/// Runs an <see cref="IsoScenario"/> through <see cref="IKernel"/> (sysfs writes, /dev/vfio, ioctls, mmap) and checks
/// the isolation rules after every step; returns the first violation, or null.
/// </summary>
internal sealed class IsoRunner
{
    private enum FdKind { Container, Group, Device }

    private readonly Machine machine;
    private readonly PciFunction[] endpoints;
    private readonly IommuGroup[] groups;
    private readonly SimProcess[] procs = new SimProcess[2];
    private readonly Dictionary<int, (FdKind Kind, int Group)>[] fds = [[], []];
    private readonly List<SimProcess> all = [];
    private readonly List<Vfio.VfioContainer> containers = [];
    private int generation;

    public IsoRunner(IsoScenario s)
    {
        machine = new Machine(QemuMachineFile.Parse(string.Join("\n", s.Devices), "iso.qemu").Boot());
        endpoints = [.. machine.Topology.Functions.Where(f => f.Model is "edu" or "e1000e")];
        groups = [.. endpoints.Select(machine.Groups.GroupOf).OfType<IommuGroup>().Distinct()];
        for (int p = 0; p < 2; p++) procs[p] = NewProcess();
    }

    private SimProcess NewProcess()
    {
        var p = machine.CreateProcess($"p{generation++}");
        p.MemlockLimit = 64UL << 20;
        all.Add(p);
        return p;
    }

    public string? Run(IsoOp[] ops)
    {
        for (int i = 0; i < ops.Length; i++)
        {
            string? error;
            try { error = Step(ops[i]); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                error = $"exception {e.GetType().Name}: {e.Message}";
            }
            if (error is not null) return $"step {i} ({ops[i]}): {error}";
        }
        for (int p = 0; p < 2; p++) { procs[p].Dispose(); fds[p].Clear(); }
        return Leftovers();
    }

    /// <summary>Once every process has exited: no mapping, no locked memory, no DMA owner, every group back in its default domain.</summary>
    private string? Leftovers()
    {
        foreach (var p in all)
            if (p.AddressSpace.LockedVm != 0) return $"after exit: {p.Name} still has {p.AddressSpace.LockedVm} locked pages";
        foreach (var c in containers)
            if (c.Backend is { MappingCount: > 0 } b) return $"after exit: a container still has {b.MappingCount} type1 mappings";
        foreach (var g in groups)
        {
            if (machine.DmaOwnership.OwnerOf(g) is { } owner) return $"after exit: group {g.Id} still owned by {owner}";
            if (machine.Vfio.GroupFor(g) is { } vg && (vg.IsOpen || vg.Container is not null))
                return $"after exit: group {g.Id} still open or in a container";
            if (machine.Iommu.DomainOf(g) != machine.Iommu.DefaultDomainOf(g)) return $"after exit: group {g.Id} not back in its default domain";
        }
        return null;
    }

    private static void Echo(SimProcess k, string path, string text)
    {
        int fd = k.Open(path, OpenFlags.WriteOnly);
        if (fd < 0) return;
        k.Write(fd, Encoding.ASCII.GetBytes(text));
        k.Close(fd);
    }

    private int? Pick(int p, FdKind kind, int n)
    {
        var list = fds[p].Where(kv => kv.Value.Kind == kind).Select(kv => kv.Key).Order().ToList();
        return list.Count == 0 ? null : list[n % list.Count];
    }

    private string? Step(IsoOp op)
    {
        var k = procs[op.Proc];
        var mine = fds[op.Proc];
        var dev = endpoints[op.A % endpoints.Length];
        string bdf = dev.Bdf.ToString();
        switch (op.Kind)
        {
            case IsoOpKind.Bind:
                if (machine.StateOf(dev).Driver is { } d) Echo(k, $"/sys/bus/pci/drivers/{d}/unbind", bdf);
                Echo(k, $"/sys/bus/pci/devices/{bdf}/driver_override", "vfio-pci");
                Echo(k, "/sys/bus/pci/drivers_probe", bdf);
                return null;
            case IsoOpKind.Unbind:
                if (machine.StateOf(dev).Driver is { } bound) Echo(k, $"/sys/bus/pci/drivers/{bound}/unbind", bdf);
                return null;
            case IsoOpKind.OpenContainer:
            {
                int fd = k.Open("/dev/vfio/vfio", OpenFlags.ReadWrite);
                if (fd < 0) return $"open(/dev/vfio/vfio) = {Errno.Name(-fd)}";
                mine[fd] = (FdKind.Container, -1);
                containers.Add((Vfio.VfioContainer)k.FileOf(fd)!);
                return null;
            }
            case IsoOpKind.OpenGroup:
            {
                var g = groups[op.B % groups.Length];
                int fd = k.Open($"/dev/vfio/{g.Id}", OpenFlags.ReadWrite);
                // device fds hold a reference on the group file too (vfio-abi.md §5.2)
                bool held = fds.Any(f => f.Values.Any(v => v.Group == g.Id));
                if (fd >= 0)
                {
                    if (held) return $"group {g.Id} opened although an fd of it is open";
                    mine[fd] = (FdKind.Group, g.Id);
                }
                // with no vfio-pci device left the node is gone (ENODEV comes first, vfio_group_fops_open())
                else if (held && machine.Drivers.VfioPciDevices(g).Count > 0 && fd != -Errno.EBUSY)
                    return $"open of held group {g.Id} = {Errno.Name(-fd)}, expected EBUSY";
                else if (!held && machine.Drivers.VfioPciDevices(g).Count > 0)
                    return $"open of free group {g.Id} = {Errno.Name(-fd)}";
                return null;
            }
            case IsoOpKind.SetContainer:
            {
                if (Pick(op.Proc, FdKind.Group, op.A) is not { } gfd || Pick(op.Proc, FdKind.Container, op.B) is not { } cfd) return null;
                Ioctl(k, gfd, VfioUapi.GROUP_SET_CONTAINER, cfd);
                return null;
            }
            case IsoOpKind.SetIommu:
                if (Pick(op.Proc, FdKind.Container, op.A) is { } c) k.Ioctl(c, VfioUapi.SET_IOMMU, VfioUapi.TYPE1v2_IOMMU);
                return null;
            case IsoOpKind.GetDeviceFd:
            {
                if (Pick(op.Proc, FdKind.Group, op.B) is not { } gfd) return null;
                long fd = PutString(k, bdf, a => k.Ioctl(gfd, VfioUapi.GROUP_GET_DEVICE_FD, a));
                if (fd < 0) return null;
                var vg = machine.Vfio.GroupFor(machine.Groups.GroupOf(dev)!);
                if (vg is null || mine[gfd].Group != vg.Id) return $"device fd for {bdf} from the fd of another group";
                if (vg.Container?.Backend is null) return $"device fd for {bdf} although its group has no container with an IOMMU";
                var users = vg.IommuGroup!.Devices.Where(x => machine.StateOf(x).Driver is not (null or "vfio-pci" or "pci-stub" or "pcieport")).ToList();
                if (users.Count > 0) return $"device fd for {bdf} from a non-viable group ({string.Join(", ", users.Select(u => $"{u.Bdf}={machine.StateOf(u).Driver}"))})";
                mine[(int)fd] = (FdKind.Device, vg.Id);
                return null;
            }
            case IsoOpKind.MapDma:
            {
                if (Pick(op.Proc, FdKind.Container, op.A) is not { } cfd) return null;
                long va = k.Mmap(0, 4096, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous, -1, 0);
                if (va < 0) return $"mmap = {Errno.Name((int)-va)}";
                k.Memory.Write((ulong)va, [(byte)(op.Proc + 1)]);
                var map = new VfioIommuType1DmaMap
                {
                    Argsz = (uint)Marshal.SizeOf<VfioIommuType1DmaMap>(),
                    Flags = VfioUapi.DMA_MAP_FLAG_READ | VfioUapi.DMA_MAP_FLAG_WRITE,
                    Vaddr = (ulong)va,
                    Iova = Iova(op.B),
                    Size = 4096,
                };
                Put(k, map, a => k.Ioctl(cfd, VfioUapi.IOMMU_MAP_DMA, a));
                return null;
            }
            case IsoOpKind.Close:
            {
                var list = mine.Keys.Order().ToList();
                if (list.Count == 0) return null;
                int fd = list[op.A % list.Count];
                mine.Remove(fd);
                return k.Close(fd) == 0 ? null : $"close({fd}) failed";
            }
            case IsoOpKind.Exit:
                k.Dispose();
                mine.Clear();
                procs[op.Proc] = NewProcess();
                return null;
            case IsoOpKind.DmaProbe:
                return Probe(dev, Iova(op.B));
            case IsoOpKind.Flow:
                return Flow(op);
            case IsoOpKind.UnsetContainer:
                if (Pick(op.Proc, FdKind.Group, op.A) is { } ufd) k.Ioctl(ufd, VfioUapi.GROUP_UNSET_CONTAINER, 0);
                return null;
            case IsoOpKind.UnmapDma:
            {
                if (Pick(op.Proc, FdKind.Container, op.A) is not { } cfd) return null;
                var unmap = new VfioIommuType1DmaUnmap { Argsz = (uint)Marshal.SizeOf<VfioIommuType1DmaUnmap>(), Iova = Iova(op.B), Size = 4096 };
                Put(k, unmap, a => k.Ioctl(cfd, VfioUapi.IOMMU_UNMAP_DMA, a));
                return null;
            }
            default:
                return null;
        }
    }

    /// <summary>
    /// The whole legacy flow for the group of device A: bind its endpoints to vfio-pci, open a container and the
    /// group, SET_CONTAINER, SET_IOMMU, a device fd and one mapping at IOVA slot B (each step checked as above).
    /// </summary>
    private string? Flow(IsoOp op)
    {
        var g = machine.Groups.GroupOf(endpoints[op.A % endpoints.Length]);
        if (g is null) return null;
        var members = endpoints.Where(e => g.Devices.Contains(e)).ToList();
        foreach (var e in members) Step(op with { Kind = IsoOpKind.Bind, A = Array.IndexOf(endpoints, e) });
        int before = fds[op.Proc].Count;
        if (Step(op with { Kind = IsoOpKind.OpenContainer }) is { } e1) return e1;
        int cfd = fds[op.Proc].Where(kv => kv.Value.Kind == FdKind.Container).Max(kv => kv.Key);
        if (Step(op with { Kind = IsoOpKind.OpenGroup, B = Array.IndexOf(groups, g) }) is { } e2) return e2;
        if (fds[op.Proc].Count == before + 1) return null; // the group is busy
        int gfd = fds[op.Proc].Where(kv => kv.Value == (FdKind.Group, g.Id)).Single().Key;
        Ioctl(procs[op.Proc], gfd, VfioUapi.GROUP_SET_CONTAINER, cfd);
        procs[op.Proc].Ioctl(cfd, VfioUapi.SET_IOMMU, VfioUapi.TYPE1v2_IOMMU);
        int ci = fds[op.Proc].Keys.Where(f => fds[op.Proc][f].Kind == FdKind.Container).Order().ToList().IndexOf(cfd);
        int gi = fds[op.Proc].Keys.Where(f => fds[op.Proc][f].Kind == FdKind.Group).Order().ToList().IndexOf(gfd);
        return Step(op with { Kind = IsoOpKind.GetDeviceFd, B = gi })
            ?? Step(op with { Kind = IsoOpKind.MapDma, A = ci });
    }

    private static ulong Iova(int slot) => 0x100000UL + (ulong)(slot % 4) * 4096;

    /// <summary>
    /// A DMA read straight at the root complex (bus mastering aside): while VFIO owns the device's group, it
    /// reaches memory exactly when the group's own container maps the IOVA; mappings of other containers never help.
    /// </summary>
    private string? Probe(PciFunction dev, ulong iova)
    {
        var g = machine.Groups.GroupOf(dev);
        if (g is null || dev.Dma.Upstream is not { } port) return null;
        if (machine.DmaOwnership.OwnerOf(g) is null) return null; // kernel-owned: the default domain applies
        var own = machine.Vfio.GroupFor(g)?.Container?.Backend;
        bool mapped = own is not null && own.Mappings.Any(m => m.Iova <= iova && iova < m.Iova + m.Size);
        bool reached = port.Read(iova, new byte[8]);
        if (reached == mapped) return null;
        bool elsewhere = containers.Any(c => c.Backend is { } b && b != own && b.Mappings.Any(m => m.Iova <= iova && iova < m.Iova + m.Size));
        return reached
            ? $"{dev.Bdf} reached IOVA 0x{iova:x} its container does not map" + (elsewhere ? " (mapped in another container)" : "")
            : $"{dev.Bdf} faulted on IOVA 0x{iova:x} its container maps";
    }

    private static long Ioctl(SimProcess k, int fd, uint request, int value) =>
        Put(k, value, a => k.Ioctl(fd, request, a));

    private static long PutString(SimProcess k, string s, Func<ulong, long> call)
    {
        var bytes = Encoding.ASCII.GetBytes(s + "\0");
        long a = k.Mmap(0, 4096, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous, -1, 0);
        k.Memory.Write((ulong)a, bytes);
        long r = call((ulong)a);
        k.Munmap((ulong)a, 4096);
        return r;
    }

    private static long Put<T>(SimProcess k, T value, Func<ulong, long> call) where T : unmanaged
    {
        long a = k.Mmap(0, 4096, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous, -1, 0);
        var bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)).ToArray();
        k.Memory.Write((ulong)a, bytes);
        long r = call((ulong)a);
        k.Munmap((ulong)a, 4096);
        return r;
    }
}

/// <summary>
/// VFIO isolation over random small machines and random interleavings of two processes: device fds only from
/// viable groups in a container with an IOMMU (vfio_group_ioctl_get_device_fd()), one opener per group
/// (vfio_group_fops_open(): EBUSY), no DMA through another container's mappings, nothing left after exit.
/// </summary>
[TestFixture]
public class VfioIsolationProperties
{
    [FsCheck.NUnit.Property(Arbitrary = [typeof(IsoScenarios)], MaxTest = 500, QuietOnSuccess = true)]
    public FsCheck.Property Two_processes_never_break_group_and_container_isolation(IsoScenario scenario)
    {
        string? error = new IsoRunner(scenario).Run(scenario.Ops);
        return (error is null).Label(error is null ? "" : error + "\n" + scenario);
    }
}
