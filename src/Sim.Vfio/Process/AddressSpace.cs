using System.Buffers.Binary;
using VfioSim.Pci.Models;
using VfioSim.Uapi;

namespace VfioSim.Vfio.Process;

/// <summary>One mapping of a process (a vm_area_struct): [Start, Start+Length) with its protection and backing.</summary>
public sealed class Vma
{
    internal Vma(ulong start, ulong length, Prot prot, byte[]? memory, IMmio? mmio, ulong mmioOffset)
    {
        Start = start;
        Length = length;
        Prot = prot;
        Memory = memory;
        Mmio = mmio;
        MmioOffset = mmioOffset;
    }

    public ulong Start { get; }
    public ulong Length { get; }
    public ulong End => Start + Length;
    public Prot Prot { get; }

    /// <summary>Anonymous memory (zero-filled at mmap); null for a device mapping.</summary>
    public byte[]? Memory { get; }

    /// <summary>The device region behind a device mapping (VM_PFNMAP/VM_IO); null for memory.</summary>
    public IMmio? Mmio { get; }
    public ulong MmioOffset { get; }
}

/// <summary>
/// A simulated process's address space (its mm): anonymous memory that DMA buffers and ioctl arguments live in,
/// and device regions mapped from device fds. The kernel side reads and writes it as copy_from_user/copy_to_user
/// do (false = EFAULT); the process side loads and stores through <see cref="IUserMemory"/>, where an unmapped
/// address is a segmentation fault.
/// </summary>
public sealed class AddressSpace : IUserMemory
{
    public const ulong PageSize = 4096;

    /// <summary>Where mmap without a hint starts placing mappings (x86_64 user space ends at 2^47).</summary>
    public const ulong MmapBase = 0x7f00_0000_0000;
    public const ulong TaskSize = 0x7fff_ffff_f000;

    private readonly SortedList<ulong, Vma> vmas = [];
    private ulong nextHint = MmapBase;

    /// <summary>The most anonymous memory one process may map (a simulator limit standing in for RLIMIT_AS).</summary>
    public ulong AnonymousLimit { get; set; } = 1UL << 30;

    public IReadOnlyList<Vma> Mappings => [.. vmas.Values];

    /// <summary>Bytes of anonymous memory mapped (for tests and accounting).</summary>
    public ulong AnonymousBytes { get; private set; }

    public static ulong PageAlign(ulong n) => (n + PageSize - 1) & ~(PageSize - 1);

    /// <summary>mm-&gt;locked_vm: pages charged against RLIMIT_MEMLOCK by long-term pins (VFIO type1 DMA mappings).</summary>
    public ulong LockedVm { get; private set; }

    /// <summary>
    /// __account_locked_vm() (mm/util.c): charges <paramref name="pages"/> (or with <paramref name="inc"/> false
    /// uncharges them). A charge that would take locked_vm above <paramref name="rlimitBytes"/> (the task's
    /// RLIMIT_MEMLOCK) fails with -ENOMEM unless <paramref name="bypassRlimit"/> (CAP_IPC_LOCK); the charge
    /// is still counted then.
    /// </summary>
    public int AccountLockedVm(ulong pages, bool inc, ulong rlimitBytes, bool bypassRlimit)
    {
        if (!inc)
        {
            LockedVm -= Math.Min(pages, LockedVm); // the kernel WARNs on underflow
            return 0;
        }
        if (!bypassRlimit && LockedVm + pages > rlimitBytes / PageSize) return -Errno.ENOMEM;
        LockedVm += pages;
        return 0;
    }

    /// <summary>mmap of anonymous memory or a device region; returns the address or -errno.</summary>
    public long Map(ulong hint, ulong length, Prot prot, bool fixedAddress, IMmio? mmio = null, ulong mmioOffset = 0)
    {
        if (length == 0) return -Errno.EINVAL;
        ulong len = PageAlign(length);
        if (len < length) return -Errno.ENOMEM;
        if (fixedAddress)
        {
            if ((hint & (PageSize - 1)) != 0) return -Errno.EINVAL;
            if (hint + len < hint || hint + len > TaskSize) return -Errno.ENOMEM;
            Unmap(hint, len); // MAP_FIXED replaces what was there
        }
        else
        {
            hint = FindFree(len);
            if (hint == 0) return -Errno.ENOMEM;
        }
        // Anonymous memory is allocated eagerly here (Linux faults it in lazily), so a process is held to a
        // budget, like RLIMIT_AS: beyond it mmap is ENOMEM.
        if (mmio is null && (len > int.MaxValue || AnonymousBytes + len > AnonymousLimit)) return -Errno.ENOMEM;
        var vma = new Vma(hint, len, prot, mmio is null ? new byte[len] : null, mmio, mmioOffset);
        vmas.Add(hint, vma);
        if (vma.Memory is not null) AnonymousBytes += len;
        return (long)hint;
    }

    private ulong FindFree(ulong len)
    {
        ulong addr = nextHint;
        foreach (var v in vmas.Values)
        {
            if (v.End <= addr) continue;
            if (v.Start >= addr + len) break;
            addr = v.End;
        }
        if (addr + len > TaskSize) return 0;
        nextHint = addr + len;
        return addr;
    }

    /// <summary>munmap: removes whole mappings inside the range (partial unmapping splits nothing: -EINVAL).</summary>
    public int Unmap(ulong address, ulong length)
    {
        if ((address & (PageSize - 1)) != 0 || length == 0) return -Errno.EINVAL;
        ulong end = address + PageAlign(length);
        foreach (var v in vmas.Values.Where(v => v.Start < end && v.End > address).ToList())
        {
            if (v.Start < address || v.End > end) return -Errno.EINVAL; // splitting a mapping is not modelled
            vmas.Remove(v.Start);
            if (v.Memory is not null) AnonymousBytes -= v.Length;
        }
        return 0;
    }

    /// <summary>The mapping containing <paramref name="address"/>, or null.</summary>
    public Vma? Find(ulong address)
    {
        int lo = 0, hi = vmas.Count - 1;
        var keys = vmas.Keys;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            var v = vmas.Values[mid];
            if (address < keys[mid]) hi = mid - 1;
            else if (address >= v.End) lo = mid + 1;
            else return v;
        }
        return null;
    }

    // ---- kernel side: copy_from_user / copy_to_user ----

    /// <summary>copy_from_user: false (EFAULT) if any byte is not readable memory.</summary>
    public bool TryRead(ulong address, Span<byte> destination) => Copy(address, destination, default, write: false);

    /// <summary>copy_to_user: false (EFAULT) if any byte is not writable memory.</summary>
    public bool TryWrite(ulong address, ReadOnlySpan<byte> source) => Copy(address, default, source, write: true);

    private bool Copy(ulong address, Span<byte> dst, ReadOnlySpan<byte> src, bool write)
    {
        int total = write ? src.Length : dst.Length;
        int done = 0;
        while (done < total)
        {
            ulong a = address + (ulong)done;
            if (a < address) return false; // wrapped
            var v = Find(a);
            if (v?.Memory is null || (v.Prot & (write ? Prot.Write : Prot.Read)) == 0) return false;
            int off = (int)(a - v.Start);
            int n = Math.Min(total - done, v.Memory.Length - off);
            if (write) src.Slice(done, n).CopyTo(v.Memory.AsSpan(off, n));
            else v.Memory.AsSpan(off, n).CopyTo(dst.Slice(done, n));
            done += n;
        }
        return true;
    }

    // ---- process side: loads and stores ----

    public byte Load8(ulong address) => (byte)Load(address, 1);
    public ushort Load16(ulong address) => (ushort)Load(address, 2);
    public uint Load32(ulong address) => (uint)Load(address, 4);
    public ulong Load64(ulong address) => Load(address, 8);
    public void Store8(ulong address, byte value) => Store(address, 1, value);
    public void Store16(ulong address, ushort value) => Store(address, 2, value);
    public void Store32(ulong address, uint value) => Store(address, 4, value);
    public void Store64(ulong address, ulong value) => Store(address, 8, value);

    public void Read(ulong address, Span<byte> destination)
    {
        if (!TryRead(address, destination)) throw new UserMemoryFaultException(address, "read");
    }

    public void Write(ulong address, ReadOnlySpan<byte> source)
    {
        if (!TryWrite(address, source)) throw new UserMemoryFaultException(address, "write");
    }

    private ulong Load(ulong address, int size)
    {
        var v = Find(address);
        if (v is null || (v.Prot & Prot.Read) == 0 || address + (ulong)size > v.End)
            throw new UserMemoryFaultException(address, $"{size * 8}-bit load");
        ulong off = address - v.Start;
        if (v.Mmio is not null) return v.Mmio.Read(v.MmioOffset + off, size);
        var span = v.Memory.AsSpan((int)off, size);
        return size switch
        {
            1 => span[0],
            2 => BinaryPrimitives.ReadUInt16LittleEndian(span),
            4 => BinaryPrimitives.ReadUInt32LittleEndian(span),
            _ => BinaryPrimitives.ReadUInt64LittleEndian(span),
        };
    }

    private void Store(ulong address, int size, ulong value)
    {
        var v = Find(address);
        if (v is null || (v.Prot & Prot.Write) == 0 || address + (ulong)size > v.End)
            throw new UserMemoryFaultException(address, $"{size * 8}-bit store");
        ulong off = address - v.Start;
        if (v.Mmio is not null) { v.Mmio.Write(v.MmioOffset + off, size, value); return; }
        var span = v.Memory.AsSpan((int)off, size);
        switch (size)
        {
            case 1: span[0] = (byte)value; break;
            case 2: BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)value); break;
            case 4: BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)value); break;
            default: BinaryPrimitives.WriteUInt64LittleEndian(span, value); break;
        }
    }
}
