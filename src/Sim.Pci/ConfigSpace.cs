using System.Buffers.Binary;
using System.Collections.Concurrent;

namespace VfioSim.Pci;

/// <summary>
/// A function's configuration space with per-bit write behaviour, as QEMU's pci_default_write_config does it:
/// <c>new = (old &amp; ~wmask) | (val &amp; wmask)</c>, then write-1-to-clear bits are cleared where a 1 is written.
/// Bits in neither mask are read-only or hard-wired. Reads past <see cref="Size"/> return all ones, like a
/// conventional function's extended space on real hardware and in QEMU.
/// </summary>
public sealed class ConfigSpace
{
    public const int ConventionalSize = 256, ExtendedSize = 4096;

    // Storage is backed on demand (in 16-byte steps up to the space's size) because most of a 4 KiB extended space
    // is zero and read-only: a large machine would otherwise spend most of its time and memory on zeroes.
    // Bytes past the backed length read as 0. Invariant: the data is backed at least as far as either mask.
    // Functions of one model have the same masks, so after set-up they share pooled copies (copied again on change).
    private const int Chunk = 16;
    private readonly int capacity;
    private byte[] buf = [];   // the data bytes are buf[off .. off + len), carved from a shared slab
    private int off, len;
    private byte[] wmask = [];
    private byte[] w1cmask = [];
    private bool masksShared;
    private List<(int Offset, int Length, Action<int, int, uint> OnWrite)>? hooks; // few functions have any

    public ConfigSpace(int size)
    {
        if (size is not (ConventionalSize or ExtendedSize)) throw new ArgumentOutOfRangeException(nameof(size));
        Size = capacity = size;
    }

    public int Size { get; private set; }

    /// <summary>Raw access for device models and image loading (no write semantics).</summary>
    public Span<byte> Raw
    {
        get
        {
            GrowData(Size);
            return buf.AsSpan(off, Size);
        }
    }

    /// <summary>Backs the first <paramref name="length"/> bytes now, for a model that knows how far its set-up will write.</summary>
    internal void Reserve(int length) => GrowData(Math.Min(length, capacity));

    /// <summary>Makes the extended space unreachable (a PCIe function on a conventional bus: QEMU answers 0xff there).</summary>
    public void TruncateToConventional() => Size = ConventionalSize;

    public byte Read8(int offset) => (uint)offset < (uint)Size ? (offset < len ? buf[off + offset] : (byte)0) : (byte)0xff;

    public ushort Read16(int offset) =>
        offset >= 0 && offset + 2 <= Size && offset + 2 <= len
            ? BinaryPrimitives.ReadUInt16LittleEndian(buf.AsSpan(off + offset))
            : (ushort)(Read8(offset) | (Read8(offset + 1) << 8));

    public uint Read32(int offset) =>
        offset >= 0 && offset + 4 <= Size && offset + 4 <= len
            ? BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(off + offset))
            : (uint)(Read16(offset) | (Read16(offset + 2) << 16));

    public uint Read(int offset, int width) => width switch
    {
        1 => Read8(offset),
        2 => Read16(offset),
        4 => Read32(offset),
        _ => throw new ArgumentOutOfRangeException(nameof(width)),
    };

    /// <summary>A guest write of 1, 2 or 4 bytes, honouring the masks and then the register hooks.</summary>
    public void Write(int offset, int width, uint value)
    {
        if (width is not (1 or 2 or 4)) throw new ArgumentOutOfRangeException(nameof(width));
        if (offset < 0 || offset + width > Size) return; // writes outside the space are dropped
        for (int i = 0; i < width; i++)
        {
            int o = offset + i;
            byte v = (byte)(value >> (8 * i));
            if (o >= wmask.Length && o >= w1cmask.Length) continue; // read-only, and maybe not even backed
            ref byte d = ref buf[off + o];
            if (o < wmask.Length) d = (byte)((d & ~wmask[o]) | (v & wmask[o]));
            if (o < w1cmask.Length) d &= (byte)~(v & w1cmask[o]);
        }
        if (hooks is null) return;
        foreach (var (hOffset, hLength, onWrite) in hooks)
            if (offset < hOffset + hLength && hOffset < offset + width)
                onWrite(offset, width, value);
    }

    public void Write8(int offset, byte value) => Write(offset, 1, value);
    public void Write16(int offset, ushort value) => Write(offset, 2, value);
    public void Write32(int offset, uint value) => Write(offset, 4, value);

    // ---- set-up (device model side): values and masks, no write semantics ----

    public void Set8(int offset, byte value) => DataBytes(offset, 1)[0] = value;
    public void Set16(int offset, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(DataBytes(offset, 2), value);
    public void Set32(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(DataBytes(offset, 4), value);

    public void SetWritable(int offset, int width, uint mask) => SetMask(ref wmask, offset, width, mask);
    public void SetW1c(int offset, int width, uint mask) => SetMask(ref w1cmask, offset, width, mask);
    public uint WritableMask(int offset, int width) => GetMask(wmask, offset, width);

    /// <summary>Runs <paramref name="onWrite"/> after any write that touches [offset, offset+length).</summary>
    public void OnWrite(int offset, int length, Action<int, int, uint> onWrite) => (hooks ??= []).Add((offset, length, onWrite));

    // A capability near the end of a 256-byte space may describe registers past it: they do not exist.
    private void SetMask(ref byte[] m, int offset, int width, uint mask)
    {
        if (offset >= capacity) return;
        width = Math.Min(width, capacity - offset);
        if (masksShared)
        {
            wmask = (byte[])wmask.Clone();
            w1cmask = (byte[])w1cmask.Clone();
            masksShared = false;
        }
        var span = MaskBytes(ref m, offset, width);
        GrowData(m.Length);
        for (int i = 0; i < width; i++) span[i] = (byte)(mask >> (8 * i));
    }

    /// <summary>
    /// Takes the masks built for this space (as <see cref="SetWritable"/> and <see cref="SetW1c"/> would have left
    /// them) as pooled arrays shared with every function that has the same masks; a later change copies them.
    /// </summary>
    internal void AdoptMasks(ReadOnlySpan<byte> writable, ReadOnlySpan<byte> w1c)
    {
        wmask = MaskPool.Get(writable[..(writable.LastIndexOfAnyExcept((byte)0) + 1)]); // trailing zeros read the same
        w1cmask = MaskPool.Get(w1c[..(w1c.LastIndexOfAnyExcept((byte)0) + 1)]);
        masksShared = true;
        GrowData(Math.Max(wmask.Length, w1cmask.Length));
    }

    /// <summary>The size the space was made with (<see cref="Size"/> may have been truncated since).</summary>
    internal int Capacity => capacity;

    /// <summary>The current masks, for building on them.</summary>
    internal ReadOnlySpan<byte> WritableMaskBytes => wmask;
    internal ReadOnlySpan<byte> W1cMaskBytes => w1cmask;

    private static class MaskPool
    {
        private const int MaxEntries = 4096; // enough for every model of a machine; beyond it masks stay private

        private static readonly ConcurrentDictionary<byte[], byte[]> Pool = new(new ContentComparer());
        private static readonly ConcurrentDictionary<byte[], byte[]>.AlternateLookup<ReadOnlySpan<byte>> BySpan =
            Pool.GetAlternateLookup<ReadOnlySpan<byte>>();

        public static byte[] Get(ReadOnlySpan<byte> mask)
        {
            if (mask.IsEmpty) return [];
            if (BySpan.TryGetValue(mask, out var pooled)) return pooled;
            var copy = mask.ToArray();
            return Pool.Count < MaxEntries ? Pool.GetOrAdd(copy, copy) : copy;
        }

        private sealed class ContentComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
        {
            public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);
            public int GetHashCode(byte[] obj) => GetHashCode((ReadOnlySpan<byte>)obj);
            public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);
            public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();

            public int GetHashCode(ReadOnlySpan<byte> alternate)
            {
                var h = new HashCode();
                h.AddBytes(alternate);
                return h.ToHashCode();
            }
        }
    }

    private static uint GetMask(byte[] m, int offset, int width)
    {
        uint v = 0;
        for (int i = 0; i < width; i++)
            if (offset + i < m.Length) v |= (uint)m[offset + i] << (8 * i);
        return v;
    }

    /// <summary>The bytes [offset, offset+width) of a mask, grown to hold them.</summary>
    private Span<byte> MaskBytes(ref byte[] mask, int offset, int width)
    {
        CheckInSpace(offset, width);
        Grow(ref mask, offset + width);
        return mask.AsSpan(offset, width);
    }

    /// <summary>The data bytes [offset, offset+width), backed.</summary>
    private Span<byte> DataBytes(int offset, int width)
    {
        CheckInSpace(offset, width);
        GrowData(offset + width);
        return buf.AsSpan(off + offset, width);
    }

    private void CheckInSpace(int offset, int width)
    {
        if (offset < 0 || offset + width > capacity)
            throw new ArgumentOutOfRangeException(nameof(offset), $"offset 0x{offset:x} is outside the {capacity}-byte config space");
    }

    private void GrowData(int length)
    {
        if (length <= len) return;
        int size = GrownLength(length);
        var (slab, start) = Slabs.Take(size);
        buf.AsSpan(off, len).CopyTo(slab.AsSpan(start));
        (buf, off, len) = (slab, start, size);
    }

    // Config bytes of many functions share 64 KiB arrays: a large machine then has a few hundred byte arrays for
    // the garbage collector to trace and move instead of one per function (measured: about a fifth of the GC
    // pause on a 50 000-function machine). A slab lives as long as any space carved from it; a region given up by
    // growing is not reused.
    private static class Slabs
    {
        private const int SlabSize = 64 * 1024; // below the large object heap threshold
        [ThreadStatic] private static byte[]? slab;
        [ThreadStatic] private static int used;

        public static (byte[] Slab, int Start) Take(int size)
        {
            if (slab is null || used + size > slab.Length)
            {
                slab = new byte[Math.Max(SlabSize, size)];
                used = 0;
            }
            int start = used;
            used += size;
            return (slab, start);
        }
    }

    private void Grow(ref byte[] array, int length)
    {
        if (length > array.Length) Array.Resize(ref array, GrownLength(length));
    }

    private int GrownLength(int length) => Math.Min(capacity, (length + Chunk - 1) / Chunk * Chunk);

    // ---- capability lists, walked as drivers/pci/pci.c does ----

    private const int CapTtl = 48; // PCI_FIND_CAP_TTL

    /// <summary>The standard capabilities in chain order (offset, id). Stops on loops like __pci_find_next_cap_ttl.</summary>
    public IEnumerable<(int Offset, byte Id)> Capabilities()
    {
        for (var w = new CapWalk(this); w.Next();) yield return (w.Offset, w.Id);
    }

    /// <summary>The extended capabilities in chain order (offset, id, version), as pci_find_next_ext_capability walks them.</summary>
    public IEnumerable<(int Offset, ushort Id, byte Version)> ExtendedCapabilities()
    {
        for (var w = new ExtCapWalk(this); w.Next();) yield return (w.Offset, w.Id, w.Version);
    }

    public int FindCapability(byte id)
    {
        for (var w = new CapWalk(this); w.Next();) if (w.Id == id) return w.Offset;
        return 0;
    }

    public int FindExtCapability(ushort id)
    {
        for (var w = new ExtCapWalk(this); w.Next();) if (w.Id == id) return w.Offset;
        return 0;
    }

    // The walks are structs so that the finders, run for every device at scan time, allocate nothing.
    // Offset 0 means not started; a walk that has ended has no steps (ttl) left.

    internal struct CapWalk(ConfigSpace cs)
    {
        private int ttl = CapTtl;

        public int Offset { get; private set; }
        public byte Id { get; private set; }

        public bool Next()
        {
            if (ttl <= 0) return false;
            int pos;
            if (Offset == 0)
            {
                if ((cs.Read16(PciRegs.Status) & PciRegs.StatusCapList) == 0) return Stop();
                pos = cs.Read8(PciRegs.CapabilityList);
            }
            else
            {
                pos = cs.Read8(Offset + 1);
                ttl--;
            }
            if (ttl <= 0 || pos < 0x40) return Stop();
            pos &= ~3;
            byte id = cs.Read8(pos);
            if (id == 0xff) return Stop();
            (Offset, Id) = (pos, id);
            return true;
        }

        private bool Stop()
        {
            ttl = 0;
            return false;
        }
    }

    internal struct ExtCapWalk(ConfigSpace cs)
    {
        private int ttl = (ExtendedSize - ConventionalSize) / 8;
        private uint header;

        public int Offset { get; private set; }
        public ushort Id { get; private set; }
        public byte Version { get; private set; }

        public bool Next()
        {
            if (ttl <= 0) return false;
            int pos;
            if (Offset == 0)
            {
                if (cs.Size <= ConventionalSize) return Stop();
                pos = 0x100;
            }
            else
            {
                pos = (int)((header >> 20) & 0xffc);
                if (pos < 0x100) return Stop();
            }
            ttl--;
            header = cs.Read32(pos);
            if (header == 0 || header == 0xffffffff) return Stop();
            (Offset, Id, Version) = (pos, (ushort)(header & 0xffff), (byte)((header >> 16) & 0xf));
            return true;
        }

        private bool Stop()
        {
            ttl = 0;
            return false;
        }
    }
}
