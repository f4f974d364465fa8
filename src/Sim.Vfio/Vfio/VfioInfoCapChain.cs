using System.Buffers.Binary;

namespace VfioSim.Vfio;

/// <summary>
/// struct vfio_info_cap (drivers/vfio/vfio_main.c): a capability chain built in a private buffer. Each capability
/// is appended with no alignment padding, zero-filled, and the previous tail's <c>next</c> points at it
/// (buffer-relative until <see cref="Shift"/>).
/// </summary>
internal sealed class VfioInfoCapChain
{
    private byte[] buf = [];
    private int last = -1;

    public int Size => buf.Length;

    /// <summary>vfio_info_cap_add(): a zeroed capability of <paramref name="size"/> bytes; returns its offset.</summary>
    public int Add(int size, ushort id, ushort version)
    {
        int at = buf.Length;
        Array.Resize(ref buf, at + size);
        BinaryPrimitives.WriteUInt16LittleEndian(buf.AsSpan(at), id);
        BinaryPrimitives.WriteUInt16LittleEndian(buf.AsSpan(at + 2), version);
        if (last >= 0) BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(last + 4), (uint)at);
        last = at;
        return at;
    }

    /// <summary>The bytes of the capability at <paramref name="offset"/> (header included).</summary>
    public Span<byte> At(int offset) => buf.AsSpan(offset);

    /// <summary>vfio_info_cap_shift(): every non-zero next becomes relative to the INFO buffer's start.</summary>
    public void Shift(uint offset)
    {
        if (buf.Length == 0) return;
        int at = 0;
        while (true)
        {
            uint next = BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(at + 4));
            if (next == 0) break;
            BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(at + 4), next + offset);
            at = (int)next;
        }
    }

    public ReadOnlySpan<byte> Bytes => buf;
}
