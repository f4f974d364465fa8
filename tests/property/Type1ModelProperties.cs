using System.Runtime.InteropServices;
using FsCheck;
using FsCheck.Fluent;
using VfioSim.Pci.MachineFiles;
using VfioSim.Uapi;
using VfioSim.Vfio;
using VfioSim.Vfio.Process;

namespace VfioSim.Tests.Property;

public enum Type1OpKind { Map, Unmap, DirtyStart, DirtyStop }

/// <summary>One ioctl of a scenario: MAP_DMA, UNMAP_DMA (the bitmap, when asked for, is set up by the runner) or DIRTY_PAGES.</summary>
public sealed record Type1Op(Type1OpKind Kind, uint Flags, ulong Iova, ulong Size, ulong Vaddr, uint Argsz)
{
    public override string ToString() => Kind switch
    {
        Type1OpKind.Map => $"MAP flags={Flags:x} iova=0x{Iova:x} size=0x{Size:x} vaddr=V+0x{Vaddr - Type1Scenarios.V:x} argsz={Argsz}",
        Type1OpKind.Unmap => $"UNMAP flags={Flags:x} iova=0x{Iova:x} size=0x{Size:x} argsz={Argsz}",
        _ => Kind.ToString(),
    };
}

/// <summary>A type1 backend (v1 or v2, small entry limit, small RLIMIT_MEMLOCK) and the ioctls made on it.</summary>
public sealed record Type1Scenario(bool V2, uint Limit, ulong MemlockPages, Type1Op[] Ops)
{
    public override string ToString() =>
        $"{(V2 ? "v2" : "v1")} limit={Limit} memlock={MemlockPages} pages\n  " + string.Join("\n  ", Ops.Select(o => o.ToString()));
}

/// <summary>
/// Generators. The process memory at <see cref="V"/>: pages 0-15 read-write (most vaddrs), 16-19 read-only, 20-23 unmapped,
/// 24-27 write-only, 28-31 read-write. IOVAs are mostly small page numbers (so ranges collide), on a grid of
/// two-page slots (so VADDR updates find their exact mapping), or the edges of the VT-d valid ranges.
/// </summary>
public static class Type1Scenarios
{
    public const ulong V = 0x5000_0000_0000, P = 0x1000;

    private static readonly Gen<ulong> Pages = Gen.Choose(0, 15).Select(k => (ulong)k * P);

    private static readonly Gen<ulong> Grid = Gen.Choose(0, 7).Select(k => (ulong)k * 2 * P);

    /// <summary>Four two-page slots: MAPs land on them often enough for VADDR updates to find them.</summary>
    private static readonly Gen<(ulong Iova, ulong Size)> Slot = Gen.Choose(0, 3).Select(k => ((ulong)k * 2 * P, 2 * P));

    private static readonly Gen<ulong> Iova = Gen.Frequency(
        (8, Pages),
        (5, Grid),
        (3, Gen.Elements(0xfedfe000UL, 0xfee00000UL, 0xfeeff000UL, 0xfef00000UL, 0x7f_ffff_e000UL, 1UL << 39,
            0xFFFF_FFFF_FFFF_F000UL)),
        (1, Pages.Select(a => a + 0x800)));

    private static readonly Gen<ulong> Size = Gen.Frequency(
        (8, Gen.Choose(1, 8).Select(n => (ulong)n * P)),
        (4, Gen.Constant(2 * P)),
        (2, Gen.Elements(0UL, 0x1800UL, 32 * P, 64 * P, 1UL << 63, ulong.MaxValue - 0xfff, 0x10_0000_0000UL)));

    private static readonly Gen<ulong> Vaddr = Gen.Frequency(
        (8, Gen.Choose(0, 15).Select(k => V + (ulong)k * P)),
        (6, Gen.Choose(0, 31).Select(k => V + (ulong)k * P)),
        (1, Gen.Elements(V + 0x800, 0x1000UL, 0xFFFF_FFFF_FFFF_F000UL)));

    private const uint R = VfioUapi.DMA_MAP_FLAG_READ, W = VfioUapi.DMA_MAP_FLAG_WRITE, VA = VfioUapi.DMA_MAP_FLAG_VADDR;
    private const uint Dirty = VfioUapi.DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, All = VfioUapi.DMA_UNMAP_FLAG_ALL,
        UVA = VfioUapi.DMA_UNMAP_FLAG_VADDR;

    private static readonly Gen<Type1Op> Map =
        from flags in Gen.Frequency((8, Gen.Constant(R | W)), (2, Gen.Constant(R)), (2, Gen.Constant(W)), (3, Gen.Constant(VA)),
            (1, Gen.Elements(0u, R | VA, R | W | 0x80)))
        from range in Gen.Frequency(((flags & VA) != 0 ? 10 : 2, Slot), (3, Gen.Zip(Iova, Size)))
        from vaddr in Vaddr
        from argsz in Gen.Frequency((20, Gen.Constant(32u)), (1, Gen.Elements(31u, 40u)))
        select new Type1Op(Type1OpKind.Map, flags, range.Item1, range.Item2, vaddr, argsz);

    private static readonly Gen<Type1Op> Unmap =
        from flags in Gen.Frequency((10, Gen.Constant(0u)), (2, Gen.Constant(All)), (5, Gen.Constant(UVA)), (1, Gen.Constant(UVA | All)),
            (4, Gen.Constant(Dirty)), (1, Gen.Elements(Dirty | All, Dirty | UVA, 8u)))
        from iova in (flags & UVA) != 0 ? Gen.Frequency((3, Slot.Select(r => r.Iova)), (1, Iova)) : Iova
        from size in Gen.Frequency(((flags & UVA) != 0 ? 1 : 4, Size), (2, Gen.Choose(1, 4).Select(n => (ulong)n * 2 * P)))
        from zeroForAll in Gen.Frequency((4, Gen.Constant(true)), (1, Gen.Constant(false)))
        from argsz in Gen.Frequency((20, Gen.Constant((flags & Dirty) != 0 ? 48u : 24u)), (1, Gen.Elements(23u, 24u, 47u)))
        select (flags & All) != 0 && zeroForAll
            ? new Type1Op(Type1OpKind.Unmap, flags, 0, 0, 0, argsz)
            : new Type1Op(Type1OpKind.Unmap, flags, iova, size, 0, argsz);

    public static readonly Gen<Type1Scenario> Scenario =
        from v2 in Gen.Frequency((3, Gen.Constant(true)), (1, Gen.Constant(false)))
        from limit in Gen.Choose(2, 6)
        from memlock in Gen.Frequency((1, Gen.Choose(2, 12)), (2, Gen.Choose(12, 40)))
        from n in Gen.Choose(1, 50)
        from ops in Gen.Frequency(
            (14, Map), (7, Unmap),
            (2, Gen.Constant(new Type1Op(Type1OpKind.DirtyStart, 0, 0, 0, 0, 8))),
            (1, Gen.Constant(new Type1Op(Type1OpKind.DirtyStop, 0, 0, 0, 0, 8)))).ArrayOf(n)
        select new Type1Scenario(v2, (uint)limit, (ulong)memlock, ops);

    /// <summary>Shrinks by dropping ops (halves first, then one at a time).</summary>
    public static IEnumerable<Type1Scenario> Shrink(Type1Scenario s)
    {
        int n = s.Ops.Length;
        if (n > 1)
        {
            yield return s with { Ops = s.Ops[..(n / 2)] };
            yield return s with { Ops = s.Ops[(n / 2)..] };
        }
        for (int i = 0; i < n; i++)
            if (n > 1) yield return s with { Ops = [.. s.Ops[..i], .. s.Ops[(i + 1)..]] };
    }

    public static Arbitrary<Type1Scenario> Arbitrary() => Arb.From(Scenario, Shrink);
}

/// <summary>
/// Type1Iommu against a reference model written from vfio-abi.md §4.7-§4.8 as a plain list of ranges: after every
/// ioctl of a random scenario the return value, the struct written back, the mappings, dma_avail (read through
/// GET_INFO), the locked memory, the dirty bitmap and which IOVAs translate must agree.
/// </summary>
[TestFixture]
public class Type1ModelProperties
{
    private static readonly Machine Machine = new(MachineLoader.Default());
    private const ulong P = Type1Scenarios.P, V = Type1Scenarios.V;
    private const ulong ArgAt = V + 64 * P, BitmapAt = V + 80 * P;
    private const ulong BitmapDeclared = 4096;

    [FsCheck.NUnit.Property(Arbitrary = [typeof(Type1Scenarios)], MaxTest = 500, QuietOnSuccess = true)]
    public FsCheck.Property Type1_agrees_with_the_reference_model(Type1Scenario scenario)
    {
        string? mismatch = Run(scenario);
        return (mismatch is null).Label(mismatch ?? "");
    }

    private static SimProcess NewProcess(ulong memlockPages)
    {
        var p = Machine.CreateProcess("model");
        p.CapIpcLock = false;
        p.MemlockLimit = memlockPages * P;
        var mm = p.AddressSpace;
        void Map(ulong page, ulong pages, Prot prot)
        {
            if (mm.Map(V + page * P, pages * P, prot, fixedAddress: true) < 0) throw new InvalidOperationException("mmap");
        }
        Map(0, 16, Prot.Read | Prot.Write);
        Map(16, 4, Prot.Read);
        Map(24, 4, Prot.Write);
        Map(28, 4, Prot.Read | Prot.Write);
        Map(64, 1, Prot.Read | Prot.Write);
        Map(80, 2, Prot.Read | Prot.Write);
        return p;
    }

    private static string? Run(Type1Scenario s)
    {
        var p = NewProcess(s.MemlockPages);
        var iommu = new Type1Iommu(s.V2 ? VfioUapi.TYPE1v2_IOMMU : VfioUapi.TYPE1_IOMMU, new Type1ModuleParameters { DmaEntryLimit = s.Limit });
        var group = IommuGroupAttachInfo.ForIntelIommu(Machine.Groups.All.First());
        if (iommu.AttachGroup(group) != 0) return "attach failed";
        var model = new Model(s.V2, s.Limit, s.MemlockPages);
        var mm = p.AddressSpace;

        for (int i = 0; i < s.Ops.Length; i++)
        {
            var op = s.Ops[i];
            long got;
            Model.Result want;
            mm.Write(BitmapAt, new byte[2 * P]);
            switch (op.Kind)
            {
                case Type1OpKind.Map:
                    Put(mm, ArgAt, new VfioIommuType1DmaMap { Argsz = op.Argsz, Flags = op.Flags, Vaddr = op.Vaddr, Iova = op.Iova, Size = op.Size });
                    got = iommu.Ioctl(p, VfioUapi.IOMMU_MAP_DMA, ArgAt);
                    want = model.Map(op);
                    break;
                case Type1OpKind.Unmap:
                    Put(mm, ArgAt, new VfioIommuType1DmaUnmap { Argsz = op.Argsz, Flags = op.Flags, Iova = op.Iova, Size = op.Size });
                    Put(mm, ArgAt + 24, new VfioBitmap { Pgsize = P, Size = BitmapDeclared, Data = BitmapAt });
                    got = iommu.Ioctl(p, VfioUapi.IOMMU_UNMAP_DMA, ArgAt);
                    want = model.Unmap(op, BitmapDeclared);
                    break;
                default:
                    uint flags = op.Kind == Type1OpKind.DirtyStart ? VfioUapi.IOMMU_DIRTY_PAGES_FLAG_START : VfioUapi.IOMMU_DIRTY_PAGES_FLAG_STOP;
                    Put(mm, ArgAt, new VfioIommuType1DirtyBitmap { Argsz = 8, Flags = flags });
                    got = iommu.Ioctl(p, VfioUapi.IOMMU_DIRTY_PAGES, ArgAt);
                    want = model.Dirty(op.Kind == Type1OpKind.DirtyStart);
                    break;
            }
            string at = $"op {i} ({op})";
            if (got != want.Ret) return $"{at}: returned {Name(got)}, model {Name(want.Ret)}";

            if (op.Kind == Type1OpKind.Unmap)
            {
                var back = Get<VfioIommuType1DmaUnmap>(mm, ArgAt);
                ulong expectSize = want.Ret == 0 ? want.Unmapped : op.Size;
                if (back.Size != expectSize || back.Iova != op.Iova || back.Flags != op.Flags || back.Argsz != op.Argsz)
                    return $"{at}: struct written back has size 0x{back.Size:x}, model 0x{expectSize:x}";
                var bits = new byte[2 * P];
                mm.Read(BitmapAt, bits);
                if (!bits.AsSpan().SequenceEqual(want.Bitmap ?? new byte[2 * P]))
                    return $"{at}: dirty bitmap {Hex(bits)}, model {Hex(want.Bitmap ?? new byte[2 * P])}";
            }

            string mine = string.Join(" ", iommu.Mappings.Select(m => $"[{m.Iova:x}+{m.Size:x} v{m.Vaddr - V:x}{(m.VaddrInvalid ? "!" : "")}]"));
            string theirs = string.Join(" ", model.Entries.Select(m => $"[{m.Iova:x}+{m.Size:x} v{m.Vaddr - V:x}{(m.Invalid ? "!" : "")}]"));
            if (mine != theirs) return $"{at}: mappings {mine}, model {theirs}";
            uint avail = DmaAvailFromInfo(iommu, p);
            if (avail != s.Limit - (uint)model.Entries.Count) return $"{at}: dma_avail {avail}, model {s.Limit - model.Entries.Count}";
            if (mm.LockedVm != model.LockedPages) return $"{at}: locked {mm.LockedVm} pages, model {model.LockedPages}";
            if (iommu.DirtyPageTracking != model.Tracking) return $"{at}: tracking {iommu.DirtyPageTracking}, model {model.Tracking}";
            foreach (ulong probe in Probes)
                foreach (bool write in new[] { false, true })
                {
                    bool ok = iommu.Translate(probe, 1, write, out _) == DmaFault.None;
                    if (ok != model.Translates(probe, write)) return $"{at}: Translate(0x{probe:x}, write: {write}) ok={ok}, model {!ok}";
                }
        }
        return null;
    }

    private static readonly ulong[] Probes =
        [.. Enumerable.Range(0, 40).Select(k => (ulong)k * P + 0x10), 0xfedff000, 0xfef00000, 0x7f_ffff_f000];

    private static uint DmaAvailFromInfo(Type1Iommu iommu, SimProcess p)
    {
        Put(p.AddressSpace, ArgAt, new VfioIommuType1Info { Argsz = 256 });
        if (iommu.Ioctl(p, VfioUapi.IOMMU_GET_INFO, ArgAt) != 0) return uint.MaxValue;
        return Get<VfioIommuType1InfoDmaAvail>(p.AddressSpace, ArgAt + 56).Avail;
    }

    private static void Put<T>(AddressSpace mm, ulong at, T value) where T : unmanaged =>
        mm.Write(at, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    private static T Get<T>(AddressSpace mm, ulong at) where T : unmanaged
    {
        T v = default;
        mm.Read(at, MemoryMarshal.AsBytes(new Span<T>(ref v)));
        return v;
    }

    private static string Name(long r) => r < 0 ? Errno.Name((int)r) : r.ToString();

    private static string Hex(byte[] b) => Convert.ToHexString(b.AsSpan(0, Math.Max(1, Array.FindLastIndex(b, x => x != 0) + 1)));

    /// <summary>
    /// The reference: mappings as a list sorted by IOVA, checked one rule at a time in the order the spec lists
    /// them, with 128-bit arithmetic instead of the kernel's wrap-around tests.
    /// </summary>
    private sealed class Model(bool v2, uint limit, ulong memlockPages)
    {
        public sealed class Entry
        {
            public ulong Iova, Size, Vaddr;
            public bool Read, Write, Invalid;
            public UInt128 End => (UInt128)Iova + Size; // exclusive
        }

        public readonly record struct Result(long Ret, ulong Unmapped = 0, byte[]? Bitmap = null);

        public List<Entry> Entries { get; } = [];
        public bool Tracking { get; private set; }

        private static readonly UInt128 EndOfSpace = (UInt128)1 << 64;
        public ulong LockedPages => Entries.Aggregate(0UL, (s, e) => s + e.Size / P);

        private static readonly (ulong Lo, ulong Hi)[] Valid = [(0, 0xfedfffff), (0xfef00000, (1UL << 39) - 1)];

        public bool Translates(ulong iova, bool write) =>
            Entries.Any(e => e.Iova <= iova && iova < e.End && (write ? e.Write : e.Read));

        private static Result Err(int errno) => new(-errno);

        public Result Dirty(bool start)
        {
            if (!v2) return Err(Errno.EACCES);
            Tracking = start;
            return new Result(0);
        }

        /// <summary>Which protection a page of the process allows (see <see cref="Type1Scenarios"/>).</summary>
        private static Prot PageProt(UInt128 addr)
        {
            if (addr < V) return 0;
            ulong k = (ulong)UInt128.Min((addr - V) / P, 64);
            return k switch
            {
                < 16 => Prot.Read | Prot.Write,
                < 20 => Prot.Read,
                < 24 => 0,
                < 28 => Prot.Write,
                < 32 => Prot.Read | Prot.Write,
                _ => 0,
            };
        }

        public Result Map(Type1Op op)
        {
            if (op.Argsz < 32 || (op.Flags & ~7u) != 0) return Err(Errno.EINVAL);
            bool read = (op.Flags & 1) != 0, write = (op.Flags & 2) != 0, vaddrFlag = (op.Flags & 4) != 0;
            if ((read || write) == vaddrFlag) return Err(Errno.EINVAL);
            if (op.Size == 0 || op.Size % P != 0 || op.Iova % P != 0 || op.Vaddr % P != 0) return Err(Errno.EINVAL);
            UInt128 end = (UInt128)op.Iova + op.Size, vend = (UInt128)op.Vaddr + op.Size;
            if (end - 1 > ulong.MaxValue || vend - 1 > ulong.MaxValue) return Err(Errno.EINVAL);
            // Quirk kept from vfio_find_dma(): a range ending exactly at 2^64 compares against iova + size = 0
            // and finds no mapping.
            var overlapping = end == EndOfSpace ? [] : Entries.Where(e => e.Iova < end && op.Iova < e.End).ToList();
            if (vaddrFlag)
            {
                if (overlapping.Count == 0) return Err(Errno.ENOENT);
                var exact = overlapping.FirstOrDefault(e => e.Iova == op.Iova && e.Size == op.Size && e.Invalid);
                if (exact is null) return Err(Errno.EINVAL);
                exact.Vaddr = op.Vaddr;
                exact.Invalid = false;
                return new Result(0);
            }
            if (overlapping.Count != 0) return Err(Errno.EEXIST);
            if (Entries.Count >= limit) return Err(Errno.ENOSPC);
            if (!Valid.Any(r => op.Iova >= r.Lo && end - 1 <= r.Hi)) return Err(Errno.EINVAL);
            ulong locked = LockedPages;
            for (UInt128 a = op.Vaddr; a < vend; a += P)
            {
                if ((PageProt(a) & (write ? Prot.Write : Prot.Read)) == 0) return Err(Errno.EFAULT);
                if (++locked > memlockPages) return Err(Errno.ENOMEM);
            }
            var entry = new Entry { Iova = op.Iova, Size = op.Size, Vaddr = op.Vaddr, Read = read, Write = write };
            Entries.Insert(Entries.Count(e => e.Iova < op.Iova), entry);
            return new Result(0);
        }

        public Result Unmap(Type1Op op, ulong bitmapBytes)
        {
            if (op.Argsz < 24 || (op.Flags & ~7u) != 0) return Err(Errno.EINVAL);
            bool dirty = (op.Flags & 1) != 0, all = (op.Flags & 2) != 0, vaddr = (op.Flags & 4) != 0;
            if (dirty && (all || vaddr)) return Err(Errno.EINVAL);
            if (dirty)
            {
                if (op.Argsz < 48) return Err(Errno.EINVAL);
                UInt128 npages = op.Size / P;
                if (npages == 0 || bitmapBytes < (npages + 63) / 64 * 8) return Err(Errno.EINVAL);
            }
            if (op.Iova % P != 0) return Err(Errno.EINVAL);
            UInt128 start = op.Iova, end;
            if (all)
            {
                if (op.Iova != 0 || op.Size != 0) return Err(Errno.EINVAL);
                end = UInt128.MaxValue;
            }
            else
            {
                if (op.Size == 0 || op.Size % P != 0) return Err(Errno.EINVAL);
                end = start + op.Size;
                if (end - 1 > ulong.MaxValue) return Err(Errno.EINVAL);
            }
            if (dirty && !Tracking) return Err(Errno.EINVAL);
            if (v2 && !all)
            {
                // No bisection: a mapping holding the first byte starts there, one holding the last ends there.
                if (Entries.Any(e => e.Iova < start && start < e.End)) return Err(Errno.EINVAL);
                if (Entries.Any(e => e.Iova < end && end < e.End)) return Err(Errno.EINVAL);
            }
            // Same quirk in vfio_dma_do_unmap(): a range ending exactly at 2^64 unmaps nothing.
            var hit = end == EndOfSpace ? [] : Entries.Where(e => e.End > start && e.Iova < end).ToList();
            // v1 stops at a mapping that starts below the range (only the first one can).
            if (!v2 && hit.Count > 0 && hit[0].Iova < start) hit.Clear();
            ulong total = hit.Aggregate(0UL, (s, e) => s + e.Size);
            if (vaddr)
            {
                if (hit.Any(e => e.Invalid)) return Err(Errno.EINVAL);
                foreach (var e in hit) e.Invalid = true;
                return new Result(0, total);
            }
            byte[]? bitmap = null;
            if (dirty)
            {
                bitmap = new byte[2 * P];
                foreach (var e in hit)
                    for (ulong k = (e.Iova - op.Iova) / P, n = 0; n < e.Size / P; k++, n++)
                        bitmap[k / 8] |= (byte)(1 << (int)(k % 8));
            }
            foreach (var e in hit) Entries.Remove(e);
            return new Result(0, total, bitmap);
        }
    }
}
