using System.Runtime.InteropServices;
using VfioSim.Uapi;

namespace VfioSim.Driver;

/// <summary>
/// A scratch area in the process's own memory for ioctl arguments: structs are written there and its address is
/// passed, as C code passes &amp;struct. Works the same on the simulator and on the real kernel.
/// </summary>
public sealed class UserBuffer : IDisposable
{
    private readonly IKernel kernel;

    public UserBuffer(IKernel kernel, ulong size = 64 * 1024)
    {
        this.kernel = kernel;
        Size = size;
        long addr = kernel.Mmap(0, size, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous, -1, 0);
        Address = (ulong)VfioException.Check(addr, "mmap(scratch)");
    }

    public ulong Address { get; }
    public ulong Size { get; }

    public void Put<T>(in T value, ulong offset = 0) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value));
        kernel.Memory.Write(Address + offset, bytes);
    }

    public T Get<T>(ulong offset = 0) where T : unmanaged
    {
        T value = default;
        kernel.Memory.Read(Address + offset, MemoryMarshal.AsBytes(new Span<T>(ref value)));
        return value;
    }

    public void PutBytes(ReadOnlySpan<byte> bytes, ulong offset = 0) => kernel.Memory.Write(Address + offset, bytes);

    public byte[] GetBytes(int length, ulong offset = 0)
    {
        var b = new byte[length];
        kernel.Memory.Read(Address + offset, b);
        return b;
    }

    public void Dispose() => kernel.Munmap(Address, Size);
}
