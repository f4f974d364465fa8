using System.Runtime.InteropServices;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using VfioSim.Pci.MachineFiles;
using VfioSim.Uapi;
using VfioSim.Vfio.Process;
using Machine = VfioSim.Vfio.Machine;

namespace VfioSim.Tests.Property;

/// <summary>Which fd an ioctl goes to: a container without group, the set-up container, its group, the edu device fd, a sysfs file, a closed fd.</summary>
public enum BadFd { BareContainer, Container, Group, Device, Sysfs, Closed }

/// <summary>Where the ioctl's pointer points.</summary>
public enum BadPtr { Null, Wild, Kernel, Buffer, TruncatedBuffer, Integer }

/// <summary>
/// One ioctl with hostile input: the struct starts with argsz and flags (as every VFIO struct does) followed by
/// random bytes; a truncated buffer has only <see cref="Bytes"/>.Length bytes mapped before an unmapped page.
/// </summary>
public sealed record BadCall(BadFd Fd, uint Request, BadPtr Ptr, uint Argsz, uint Flags, byte[] Bytes, ulong Integer)
{
    public override string ToString() =>
        $"{Fd} ioctl(0x{Request:x}) {Ptr} argsz={Argsz} flags=0x{Flags:x} bytes={Convert.ToHexString(Bytes)} int=0x{Integer:x}";
}

public static class BadCalls
{
    /// <summary>Every request number VfioUapi names (several share a number).</summary>
    public static readonly uint[] Known = [.. typeof(VfioUapi).GetFields()
        .Where(f => f.IsStatic && f.IsInitOnly && f.FieldType == typeof(uint)).Select(f => (uint)f.GetValue(null)!).Distinct().Order()];

    private static readonly Gen<uint> Request = Gen.Frequency(
        (6, Gen.Elements(Known)),
        (2, Gen.Choose(VfioUapi.Base - 4, VfioUapi.Base + 40).Select(VfioUapi.Io)),
        (1, Gen.Choose(0, 3).SelectMany(dir => Gen.Choose(1, 64).Select(size => ((uint)dir << 30) | ((uint)size << 16) | VfioUapi.Io(VfioUapi.Base + 13)))), // _IOWR-shaped MAP_DMA
        (1, ArbMap.Default.GeneratorFor<uint>()));

    private static readonly Gen<uint> Argsz = Gen.Frequency(
        (3, Gen.Elements(0u, 1u, 7u, 8u, 16u, 20u, 24u, 32u, 40u, 48u, 0xffffu, 0x80000000u, uint.MaxValue)),
        (2, Gen.Choose(0, 256).Select(i => (uint)i)),
        (1, ArbMap.Default.GeneratorFor<uint>()));

    private static readonly Gen<uint> Flags = Gen.Frequency(
        (3, Gen.Elements(0u, 1u, 2u, 3u, 4u, 7u, 0x24u, 0x100u, uint.MaxValue)),
        (1, ArbMap.Default.GeneratorFor<uint>()));

    private static readonly Gen<ulong> Integer = Gen.Frequency(
        (3, Gen.Elements(0UL, 1UL, 2UL, 3UL, 4UL, 5UL, 6UL, 8UL, 9UL, 10UL, 42UL, ulong.MaxValue, 1UL << 32)),
        (1, ArbMap.Default.GeneratorFor<ulong>()));

    // Words that pass some checks of a struct's fields: small indices and counts, page-aligned IOVAs and sizes,
    // the rig's buffers (their addresses are fixed by the simulated mmap order) and boundary values.
    private static readonly Gen<byte[]> Words =
        from n in Gen.Choose(1, 7)
        from words in Gen.ArrayOf(Gen.Elements(0UL, 1UL, 2UL, 3UL, 7UL, 9UL, 0x1000UL, 0x10000UL, 0x100000UL, 0x101000UL,
            0x7f00_0000_0000UL, 0x7f00_0000_2000UL, 0x7f00_0000_3000UL, 0xffff_f000UL, 1UL << 40, ulong.MaxValue), n)
        select new byte[8].Concat(words.SelectMany(BitConverter.GetBytes)).ToArray(); // argsz and flags go first

    public static readonly Gen<BadCall> Call =
        from fd in Gen.Elements(Enum.GetValues<BadFd>())
        from request in Request
        from ptr in Gen.Elements(Enum.GetValues<BadPtr>())
        from argsz in Argsz
        from flags in Flags
        from bytes in Gen.Frequency((1, Gen.Choose(0, 64).SelectMany(n => Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), n))), (2, Words))
        from integer in Integer
        select new BadCall(fd, request, ptr, argsz, flags, bytes, integer);

    public static Arbitrary<BadCall[]> Arbitrary() =>
        Arb.From(Gen.Choose(1, 8).SelectMany(n => Gen.ArrayOf(Call, n)), s => s.Length > 1 ? s.Select((_, i) => s.Where((_, j) => j != i).ToArray()) : []);
}

/// <summary>The default machine's edu through the legacy flow, with one mapping; then hostile ioctls.</summary>
internal sealed class BadInputRig
{
    private const string Edu = "0000:01:00.0";

    private readonly Machine machine = new(MachineLoader.Default());
    private readonly SimProcess k;
    private readonly int bare, container, group, device, sysfs;
    private readonly ulong scratch, edge;

    public BadInputRig()
    {
        k = machine.CreateProcess("fuzzer");
        Echo($"/sys/bus/pci/devices/{Edu}/driver_override", "vfio-pci");
        Echo("/sys/bus/pci/drivers_probe", Edu);
        k.Readlink($"/sys/bus/pci/devices/{Edu}/iommu_group", out var link);
        sysfs = k.Open($"/sys/bus/pci/devices/{Edu}/vendor", OpenFlags.ReadOnly);
        bare = k.Open("/dev/vfio/vfio", OpenFlags.ReadWrite);
        container = k.Open("/dev/vfio/vfio", OpenFlags.ReadWrite);
        group = k.Open($"/dev/vfio/{link[(link.LastIndexOf('/') + 1)..]}", OpenFlags.ReadWrite);
        scratch = (ulong)k.Mmap(0, 8192, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous, -1, 0);
        Check(Call(group, VfioUapi.GROUP_SET_CONTAINER, BitConverter.GetBytes(container)), "SET_CONTAINER");
        Check(k.Ioctl(container, VfioUapi.SET_IOMMU, VfioUapi.TYPE1v2_IOMMU), "SET_IOMMU");
        device = (int)Check(Call(group, VfioUapi.GROUP_GET_DEVICE_FD, Encoding.ASCII.GetBytes(Edu + "\0")), "GET_DEVICE_FD");
        ulong buffer = (ulong)k.Mmap(0, 0x10000, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous, -1, 0);
        var map = new VfioIommuType1DmaMap
        {
            Argsz = (uint)Marshal.SizeOf<VfioIommuType1DmaMap>(),
            Flags = VfioUapi.DMA_MAP_FLAG_READ | VfioUapi.DMA_MAP_FLAG_WRITE,
            Vaddr = buffer,
            Iova = 0x100000,
            Size = 0x10000,
        };
        Check(Call(container, VfioUapi.IOMMU_MAP_DMA, MemoryMarshal.AsBytes(new ReadOnlySpan<VfioIommuType1DmaMap>(in map)).ToArray()), "MAP_DMA");
        edge = (ulong)k.Mmap(0, 0x2000, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous, -1, 0) + 0x1000;
        k.Munmap(edge, 0x1000); // a page whose successor is unmapped, for structs cut short
    }

    private static long Check(long r, string what) => r >= 0 ? r : throw new InvalidOperationException($"{what}: {Errno.Name((int)-r)}");

    private void Echo(string path, string text)
    {
        int fd = k.Open(path, OpenFlags.WriteOnly);
        k.Write(fd, Encoding.ASCII.GetBytes(text));
        k.Close(fd);
    }

    private long Call(int fd, uint request, byte[] arg)
    {
        k.Memory.Write(scratch, arg);
        return k.Ioctl(fd, request, scratch);
    }

    private int FdOf(BadFd f) => f switch
    {
        BadFd.BareContainer => bare,
        BadFd.Container => container,
        BadFd.Group => group,
        BadFd.Device => device,
        BadFd.Sysfs => sysfs,
        _ => 99,
    };

    /// <summary>What a failed ioctl must leave alone, read through the ABI and from the model.</summary>
    public string Snapshot()
    {
        var sb = new StringBuilder();
        var backend = ((Vfio.VfioContainer)k.FileOf(container)!).Backend;
        sb.Append("maps:").AppendJoin(',', backend?.Mappings.Select(m => $"{m.Iova:x}+{m.Size:x}@{m.Vaddr:x}/{m.Prot}") ?? []);
        sb.Append(" locked:").Append(k.AddressSpace.LockedVm);
        sb.Append(" fds:").AppendJoin(',', k.Fds.Open().Select(f => f.Fd));
        sb.Append(" vmas:").AppendJoin(',', k.AddressSpace.Mappings.Select(v => $"{v.Start:x}+{v.Length:x}"));
        sb.Append(" info:").Append(Raw(container, VfioUapi.IOMMU_GET_INFO, 256));
        sb.Append(" status:").Append(Raw(group, VfioUapi.GROUP_GET_STATUS, 8));
        sb.Append(" dev:").Append(Raw(device, VfioUapi.DEVICE_GET_INFO, 24));
        sb.Append(" bare:").Append(k.Ioctl(bare, VfioUapi.CHECK_EXTENSION, VfioUapi.TYPE1v2_IOMMU));
        sb.Append(" owner:").Append(machine.Groups.All.Count(g => machine.DmaOwnership.OwnerOf(g) is not null));
        return sb.ToString();
    }

    private string Raw(int fd, uint request, uint argsz)
    {
        var arg = new byte[argsz];
        BitConverter.TryWriteBytes(arg, argsz);
        long r = Call(fd, request, arg);
        var back = new byte[argsz];
        k.Memory.Read(scratch, back);
        return $"{r}:{Convert.ToHexString(back)}";
    }

    public long Run(BadCall c)
    {
        int fd = FdOf(c.Fd);
        ulong arg;
        switch (c.Ptr)
        {
            case BadPtr.Null: arg = 0; break;
            case BadPtr.Wild: arg = 0xdead_0000 + (c.Integer & 0xfff); break;
            case BadPtr.Kernel: arg = 0xffff_8880_0000_0000 + (c.Integer & 0xfff); break;
            case BadPtr.Integer: arg = c.Integer; break;
            default:
                var bytes = new byte[Math.Max(8, c.Bytes.Length)];
                c.Bytes.CopyTo(bytes, 0);
                BitConverter.TryWriteBytes(bytes, c.Argsz);
                BitConverter.TryWriteBytes(bytes.AsSpan(4), c.Flags);
                // the struct ends where the mapping does when truncated, else it sits inside the first page
                arg = c.Ptr == BadPtr.TruncatedBuffer ? edge - (ulong)bytes.Length : scratch;
                k.Memory.Write(arg, bytes);
                break;
        }
        long r = k.Ioctl(fd, c.Request, arg);
        if (r > 2 && c.Fd == BadFd.Group && c.Request == VfioUapi.GROUP_GET_DEVICE_FD) k.Close((int)r); // keep the fd table comparable
        return r;
    }
}

/// <summary>
/// Hostile ioctls on every VFIO fd kind (vfio_fops_unl_ioctl(), vfio_group_fops_unl_ioctl(),
/// vfio_device_fops_unl_ioctl()): nothing escapes as an exception, errors are plausible errnos, numbers a file
/// does not handle get the errno vfio-abi.md gives, and a failed call changes nothing.
/// </summary>
[TestFixture]
public class VfioBadInputProperties
{
    private static readonly int[] Plausible =
    [
        Errno.EPERM, Errno.ENOENT, Errno.ENXIO, Errno.E2BIG, Errno.EBADF, Errno.EAGAIN, Errno.ENOMEM, Errno.EFAULT,
        Errno.EBUSY, Errno.EEXIST, Errno.ENODEV, Errno.EINVAL, Errno.ENOTTY, Errno.ENOSPC, Errno.ERANGE, Errno.EOVERFLOW,
        Errno.EBADFD, Errno.EOPNOTSUPP,
    ];

    private static int Nr(uint request) => (int)(request & 0xff);

    private static bool Plain(uint request) => (request & 0xffff0000) == 0 && (request >> 8 & 0xff) == VfioUapi.Type;

    /// <summary>The errno a request the file does not handle must get (vfio-abi.md §4.2, §5.7, §6.1; vfs_ioctl(): ENOTTY, fdget(): EBADF), or null if it may be handled.</summary>
    public static int? Unhandled(BadFd fd, uint request)
    {
        int nr = Nr(request) - VfioUapi.Base;
        bool plain = Plain(request);
        return fd switch
        {
            BadFd.BareContainer => plain && nr is 0 or 1 or 2 ? null : Errno.EINVAL, // no backend: everything else EINVAL
            BadFd.Container => plain && nr is 0 or 1 or 2 or 12 or 13 or 14 or 17 ? null : Errno.ENOTTY,
            BadFd.Group => plain && nr is >= 3 and <= 6 ? null : Errno.ENOTTY,
            BadFd.Sysfs => Errno.ENOTTY,
            BadFd.Closed => Errno.EBADF,
            _ => plain && nr is >= 7 and <= 21 ? null : Errno.ENOTTY,
        };
    }

    [FsCheck.NUnit.Property(Arbitrary = [typeof(BadCalls)], MaxTest = 500, QuietOnSuccess = true)]
    public FsCheck.Property Hostile_ioctls_fail_cleanly_and_change_nothing(BadCall[] calls)
    {
        var rig = new BadInputRig();
        foreach (var c in calls)
        {
            string before = rig.Snapshot();
            long r;
            try { r = rig.Run(c); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return false.Label($"{c}: {e.GetType().Name}: {e.Message}");
            }
            if (r < 0 && !Plausible.Contains((int)-r)) return false.Label($"{c}: implausible {r}");
            if (Unhandled(c.Fd, c.Request) is { } expected && r != -expected)
                return false.Label($"{c}: {(r < 0 ? Errno.Name((int)-r) : r.ToString(System.Globalization.CultureInfo.InvariantCulture))}, expected {Errno.Name(expected)}");
            if (r < 0 && rig.Snapshot() is var after && after != before)
                return false.Label($"{c}: failed with {Errno.Name((int)-r)} but changed state\nbefore {before}\nafter  {after}");
        }
        return true.ToProperty();
    }
}
