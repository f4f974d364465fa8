using System.Buffers.Binary;
using VfioSim.Uapi;

namespace VfioSim.Vfio.Process;

/// <summary>
/// eventfd (fs/eventfd.c): a 64-bit counter. read takes the counter (or 1 in semaphore mode) and blocks or fails
/// EAGAIN at 0; write adds, up to 0xfffffffffffffffe. The simulated kernel signals it for device interrupts.
/// </summary>
public sealed class EventFdFile(ulong initial, bool semaphore) : SimFile
{
    private const ulong Max = ulong.MaxValue - 1;

    public ulong Count { get; private set; } = initial;
    public bool Semaphore { get; } = semaphore;

    /// <summary>Total eventfd_signal() calls, for tests.</summary>
    public long Signals { get; private set; }

    public override bool Seekable => false;

    /// <summary>Kernel-side waiters (irqfd, virqfd) woken whenever the count goes up.</summary>
    public event Action<EventFdFile>? Signalled;

    /// <summary>eventfd_ctx_do_read() by a kernel waiter: takes the whole count.</summary>
    public ulong Consume()
    {
        ulong v = Count;
        Count = 0;
        return v;
    }

    /// <summary>eventfd_signal(): adds one (saturating, as the kernel's does).</summary>
    public void Signal(ulong n = 1)
    {
        Signals++;
        Count = Max - Count < n ? Max : Count + n;
        Signalled?.Invoke(this);
    }

    public override long Read(SimProcess process, Span<byte> buffer, long position)
    {
        if (buffer.Length < 8) return -Errno.EINVAL;
        if (Count == 0)
        {
            if (process.IsNonBlocking(this)) return -Errno.EAGAIN;
            process.WaitUntil(() => Count > 0, long.MaxValue);
        }
        ulong value = Semaphore ? 1 : Count;
        Count -= value;
        BinaryPrimitives.WriteUInt64LittleEndian(buffer, value);
        return 8;
    }

    public override long Write(SimProcess process, ReadOnlySpan<byte> buffer, long position)
    {
        if (buffer.Length < 8) return -Errno.EINVAL;
        ulong value = BinaryPrimitives.ReadUInt64LittleEndian(buffer);
        if (value == ulong.MaxValue) return -Errno.EINVAL;
        if (Max - Count < value)
        {
            if (process.IsNonBlocking(this)) return -Errno.EAGAIN;
            process.WaitUntil(() => Max - Count >= value, long.MaxValue);
        }
        Count += value;
        if (value != 0) Signalled?.Invoke(this);
        return 8;
    }

    public override PollEvents Poll(SimProcess process) =>
        (Count > 0 ? PollEvents.In : PollEvents.None) | (Count < Max ? PollEvents.Out : PollEvents.None);
}
