using System.Buffers.Binary;
using VfioSim.Uapi;

namespace VfioSim.Driver.Devices;

/// <summary>
/// A userspace driver for QEMU's edu device over VFIO (register map in shared/spec/edu-device.md): identify,
/// liveness check, factorial by polling or by interrupt, and DMA through its 4 KiB buffer. Works on any
/// <see cref="IKernel"/>: the simulator or a real edu bound to vfio-pci.
/// </summary>
public sealed class EduDriver : IDisposable
{
    public const ushort VendorId = 0x1234, DeviceId = 0x11e8;
    public const ulong DmaBufferAddress = 0x40000, DmaBufferSize = 4096;

    /// <summary>The edu DMA engine addresses 28 bits (its default dma_mask).</summary>
    public const ulong DmaMask = (1UL << 28) - 1;

    private const ulong RegId = 0x00, RegLiveness = 0x04, RegFactorial = 0x08, RegStatus = 0x20, RegIrqStatus = 0x24,
        RegIrqAck = 0x64, RegDmaSrc = 0x80, RegDmaDst = 0x88, RegDmaCount = 0x90, RegDmaCmd = 0x98;
    private const uint StatusComputing = 0x01, StatusIrqOnFactorial = 0x80, IrqFactorial = 0x1, IrqDma = 0x100;
    private const ulong CmdRun = 0x1, CmdToRam = 0x2, CmdIrq = 0x4;

    private readonly IKernel kernel;
    private readonly VfioDevice device;
    private readonly MmioRegion bar0;
    private int irqEventfd = -1;
    private int irqIndex = -1;

    public EduDriver(IKernel kernel, VfioDevice device)
    {
        this.kernel = kernel;
        this.device = device;
        ushort vendor = device.ReadConfig16(0x00), dev = device.ReadConfig16(0x02);
        if (vendor != VendorId || dev != DeviceId)
            throw new VfioException(Errno.ENODEV, $"edu probe({device.Name})", $"{vendor:x4}:{dev:x4} is not an edu (1234:11e8)");
        bar0 = device.MapBar(0);
        device.EnableBusMaster();
    }

    /// <summary>The identification register: 0xRRrr00ED (major, minor).</summary>
    public uint Identification => bar0.Read32(RegId);

    public (int Major, int Minor) Version => ((int)(Identification >> 24), (int)((Identification >> 16) & 0xff));

    /// <summary>Writes a value to the liveness register and checks that its inverse comes back.</summary>
    public bool CheckLiveness(uint value = 0x12345678)
    {
        bar0.Write32(RegLiveness, value);
        return bar0.Read32(RegLiveness) == ~value;
    }

    /// <summary>n! (32-bit) by polling the status register, giving up after <paramref name="timeoutMs"/>.</summary>
    public uint FactorialByPolling(uint n, int timeoutMs = 1000)
    {
        bar0.Write32(RegStatus, 0);
        bar0.Write32(RegFactorial, n);
        for (int waited = 0; (bar0.Read32(RegStatus) & StatusComputing) != 0; waited++)
        {
            if (waited >= timeoutMs) throw new VfioException(Errno.ETIMEDOUT, $"edu factorial({n})", "the device never finished computing");
            Sleep(1);
        }
        return bar0.Read32(RegFactorial);
    }

    /// <summary>n! waiting for the completion interrupt on an eventfd (MSI when available, else INTx).</summary>
    public uint FactorialByInterrupt(uint n, int timeoutMs = 1000)
    {
        EnsureInterrupts();
        bar0.Write32(RegStatus, StatusIrqOnFactorial);
        bar0.Write32(RegFactorial, n);
        WaitInterrupt(IrqFactorial, timeoutMs, $"edu factorial({n})");
        return bar0.Read32(RegFactorial);
    }

    /// <summary>Copies <paramref name="count"/> bytes from a bus address into the device buffer, or back.</summary>
    public void Dma(ulong busAddress, int bufferOffset, int count, bool toRam, bool interrupt = false, int timeoutMs = 1000)
    {
        if (count <= 0 || (ulong)(bufferOffset + count) >= DmaBufferSize)
            throw new ArgumentOutOfRangeException(nameof(count), "edu refuses transfers that reach the end of its 4 KiB buffer (QEMU 7.2 aborts)");
        if ((busAddress & ~DmaMask) != 0)
            throw new ArgumentOutOfRangeException(nameof(busAddress), "edu DMA addresses are 28-bit");
        ulong buffer = DmaBufferAddress + (ulong)bufferOffset;
        bar0.Write64(RegDmaSrc, toRam ? buffer : busAddress);
        bar0.Write64(RegDmaDst, toRam ? busAddress : buffer);
        bar0.Write64(RegDmaCount, (ulong)count);
        if (interrupt) EnsureInterrupts();
        bar0.Write64(RegDmaCmd, CmdRun | (toRam ? CmdToRam : 0) | (interrupt ? CmdIrq : 0));
        if (interrupt)
        {
            WaitInterrupt(IrqDma, timeoutMs, "edu DMA");
            return;
        }
        for (int waited = 0; (bar0.Read64(RegDmaCmd) & CmdRun) != 0; waited++)
        {
            if (waited >= timeoutMs) throw new VfioException(Errno.ETIMEDOUT, "edu DMA", "the transfer never completed (is bus mastering on? is the IOVA mapped?)");
            Sleep(1);
        }
    }

    private void EnsureInterrupts()
    {
        if (irqEventfd >= 0) return;
        irqEventfd = (int)VfioException.Check(kernel.Eventfd(0, EventfdFlags.None), "eventfd");
        irqIndex = device.IrqInfo(VfioUapi.PCI_MSI_IRQ_INDEX).Count > 0 ? VfioUapi.PCI_MSI_IRQ_INDEX : VfioUapi.PCI_INTX_IRQ_INDEX;
        device.SetIrqEventfds(irqIndex, 0, irqEventfd);
    }

    private void WaitInterrupt(uint cause, int timeoutMs, string call)
    {
        var fds = new[] { new PollFd { Fd = irqEventfd, Events = PollEvents.In } };
        if (VfioException.Check(kernel.Poll(fds, timeoutMs), "poll(edu irq)") == 0)
            throw new VfioException(Errno.ETIMEDOUT, call, "no interrupt arrived");
        Span<byte> count = stackalloc byte[8];
        VfioException.Check(kernel.Read(irqEventfd, count), "read(edu irq eventfd)");
        uint status = bar0.Read32(RegIrqStatus);
        bar0.Write32(RegIrqAck, status);
        if (irqIndex == VfioUapi.PCI_INTX_IRQ_INDEX) device.UnmaskIntx();
        if ((status & cause) == 0) throw new VfioException(Errno.EIO, call, $"unexpected interrupt status 0x{status:x}");
        _ = BinaryPrimitives.ReadUInt64LittleEndian(count);
    }

    // The driver waits with poll(2) on nothing: on the simulator this advances virtual time, on Linux it sleeps.
    private void Sleep(int ms)
    {
        Span<PollFd> none = [];
        kernel.Poll(none, ms);
    }

    public void Dispose()
    {
        if (irqEventfd >= 0)
        {
            device.DisableIrqs(irqIndex);
            kernel.Close(irqEventfd);
        }
        bar0.Dispose();
    }
}
