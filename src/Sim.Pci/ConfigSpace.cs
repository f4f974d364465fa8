using System.Buffers.Binary;

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

    private readonly byte[] data;
    private readonly byte[] wmask;
    private readonly byte[] w1cmask;
    private readonly List<(int Offset, int Length, Action<int, int, uint> OnWrite)> hooks = [];

    public ConfigSpace(int size)
    {
        if (size is not (ConventionalSize or ExtendedSize)) throw new ArgumentOutOfRangeException(nameof(size));
        Size = size;
        data = new byte[size];
        wmask = new byte[size];
        w1cmask = new byte[size];
    }

    public int Size { get; private set; }

    /// <summary>Raw access for device models and image loading (no write semantics).</summary>
    public Span<byte> Raw => data.AsSpan(0, Size);

    /// <summary>Makes the extended space unreachable (a PCIe function on a conventional bus: QEMU answers 0xff there).</summary>
    public void TruncateToConventional() => Size = ConventionalSize;

    public byte Read8(int offset) => offset >= 0 && offset < Size ? data[offset] : (byte)0xff;

    public ushort Read16(int offset) => (ushort)(Read8(offset) | (Read8(offset + 1) << 8));

    public uint Read32(int offset) => (uint)(Read16(offset) | (Read16(offset + 2) << 16));

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
            data[o] = (byte)((data[o] & ~wmask[o]) | (v & wmask[o]));
            data[o] &= (byte)~(v & w1cmask[o]);
        }
        foreach (var (hOffset, hLength, onWrite) in hooks)
            if (offset < hOffset + hLength && hOffset < offset + width)
                onWrite(offset, width, value);
    }

    public void Write8(int offset, byte value) => Write(offset, 1, value);
    public void Write16(int offset, ushort value) => Write(offset, 2, value);
    public void Write32(int offset, uint value) => Write(offset, 4, value);

    // ---- set-up (device model side): values and masks, no write semantics ----

    public void Set8(int offset, byte value) => data[offset] = value;
    public void Set16(int offset, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(offset), value);
    public void Set32(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(offset), value);

    public void SetWritable(int offset, int width, uint mask) => SetMask(wmask, offset, width, mask);
    public void SetW1c(int offset, int width, uint mask) => SetMask(w1cmask, offset, width, mask);
    public uint WritableMask(int offset, int width) => GetMask(wmask, offset, width);

    /// <summary>Runs <paramref name="onWrite"/> after any write that touches [offset, offset+length).</summary>
    public void OnWrite(int offset, int length, Action<int, int, uint> onWrite) => hooks.Add((offset, length, onWrite));

    // A capability near the end of a 256-byte space may describe registers past it: they do not exist.
    private static void SetMask(byte[] m, int offset, int width, uint mask)
    {
        for (int i = 0; i < width && offset + i < m.Length; i++) m[offset + i] = (byte)(mask >> (8 * i));
    }

    private static uint GetMask(byte[] m, int offset, int width)
    {
        uint v = 0;
        for (int i = 0; i < width; i++) v |= (uint)m[offset + i] << (8 * i);
        return v;
    }

    // ---- capability lists, walked as drivers/pci/pci.c does ----

    private const int CapTtl = 48; // PCI_FIND_CAP_TTL

    /// <summary>The standard capabilities in chain order (offset, id). Stops on loops like __pci_find_next_cap_ttl.</summary>
    public IEnumerable<(int Offset, byte Id)> Capabilities()
    {
        if ((Read16(PciRegs.Status) & PciRegs.StatusCapList) == 0) yield break;
        int pos = Read8(PciRegs.CapabilityList);
        for (int ttl = CapTtl; ttl > 0 && pos >= 0x40; ttl--)
        {
            pos &= ~3;
            byte id = Read8(pos);
            if (id == 0xff) yield break;
            yield return (pos, id);
            pos = Read8(pos + 1);
        }
    }

    /// <summary>The extended capabilities in chain order (offset, id, version), as pci_find_next_ext_capability walks them.</summary>
    public IEnumerable<(int Offset, ushort Id, byte Version)> ExtendedCapabilities()
    {
        if (Size <= ConventionalSize) yield break;
        int pos = 0x100;
        int ttl = (ExtendedSize - ConventionalSize) / 8;
        while (ttl-- > 0)
        {
            uint header = Read32(pos);
            if (header == 0 || header == 0xffffffff) yield break;
            yield return (pos, (ushort)(header & 0xffff), (byte)((header >> 16) & 0xf));
            pos = (int)((header >> 20) & 0xffc);
            if (pos < 0x100) yield break;
        }
    }

    public int FindCapability(byte id)
    {
        foreach (var (offset, capId) in Capabilities()) if (capId == id) return offset;
        return 0;
    }

    public int FindExtCapability(ushort id)
    {
        foreach (var (offset, capId, _) in ExtendedCapabilities()) if (capId == id) return offset;
        return 0;
    }
}
