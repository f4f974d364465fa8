namespace VfioSim.Pci.Models;

/// <summary>What the edu DMA engine does with a transfer outside its 4 KiB buffer.</summary>
public enum EduDmaMode
{
    /// <summary>Skip the copy, report it in <see cref="Edu.Errors"/>, complete the command (default).</summary>
    Safe,
    /// <summary>
    /// QEMU 7.2: edu_check_range() calls hw_error() and the VM aborts; here the device stops answering
    /// (reads all-ones, writes ignored) and the error is reported.
    /// </summary>
    Qemu,
}

/// <summary>
/// QEMU's educational device (hw/misc/edu.c, QEMU 7.2) behind BAR0: identification, liveness check, a factorial
/// worker, interrupt raise/acknowledge (INTx or one MSI vector) and a DMA engine with a 4 KiB buffer at
/// device address 0x40000, started 100 ms (virtual) after the command is written. Register by register as in
/// shared/spec/edu-device.md. Like QEMU's, the device registers no reset handler: a reset leaves its state.
/// </summary>
public sealed class Edu : PciDeviceModel
{
    public const uint Identification = 0x010000ed;
    public const ulong DmaStart = 0x40000, DmaSize = 4096;
    public const uint IrqFactorial = 0x1, IrqDma = 0x100;
    public const ulong CmdRun = 0x1, CmdToPci = 0x2, CmdIrq = 0x4;
    public const uint StatusComputing = 0x01, StatusIrqFactorial = 0x80;

    /// <summary>Virtual time the factorial worker takes (QEMU's thread takes "a while"; unspecified).</summary>
    public const long FactorialNs = 10_000;

    /// <summary>edu_dma_timer() fires 100 ms of virtual time after the command.</summary>
    public const long DmaDelayNs = 100_000_000;

    private readonly RegisterMap bar0 = new("edu.bar0");
    private readonly byte[] buffer = new byte[DmaSize];
    private uint liveness, factorial, status, irqStatus;
    private ulong dmaSrc, dmaDst, dmaCount, dmaCmd;
    private bool dead;

    public Edu(ulong dmaMask = (1UL << 28) - 1, EduDmaMode mode = EduDmaMode.Safe)
    {
        DmaMask = dmaMask;
        Mode = mode;
        // Offsets below 0x80 act on 4-byte accesses only; the DMA registers on 4 or 8 (edu_mmio_read/write).
        bar0.Reg32(0x00, "identification").ReadOnly(Identification);
        bar0.Reg32(0x04, "liveness").Read(() => liveness).Write(v => liveness = ~(uint)v);
        bar0.Reg32(0x08, "factorial").Read(() => factorial).Write(v => StartFactorial((uint)v));
        bar0.Reg32(0x20, "status").Read(() => status)
            .Write(v => status = (status & ~StatusIrqFactorial) | ((uint)v & StatusIrqFactorial));
        bar0.Reg32(0x24, "irq_status").Read(() => irqStatus).Write(_ => { }); // writes are ignored
        bar0.Reg32(0x60, "irq_raise").WriteOnly(v => RaiseIrq((uint)v));
        bar0.Reg32(0x64, "irq_ack").WriteOnly(v => LowerIrq((uint)v));
        bar0.Reg64(0x80, "dma_src").Widths(4, 8).Read(() => dmaSrc).Write(v => DmaRegister(ref dmaSrc, v));
        bar0.Reg64(0x88, "dma_dst").Widths(4, 8).Read(() => dmaDst).Write(v => DmaRegister(ref dmaDst, v));
        bar0.Reg64(0x90, "dma_count").Widths(4, 8).Read(() => dmaCount).Write(v => DmaRegister(ref dmaCount, v));
        bar0.Reg64(0x98, "dma_cmd").Widths(4, 8).Read(() => dmaCmd).Write(StartDma);
    }

    public ulong DmaMask { get; }
    public EduDmaMode Mode { get; }

    /// <summary>Reports a driver can read: DMA ranges refused, addresses clamped by the DMA mask.</summary>
    public List<string> Errors { get; } = [];

    public RegisterMap Registers => bar0;

    /// <summary>The 4 KiB DMA buffer (device memory at 0x40000).</summary>
    public Span<byte> Buffer => buffer;

    public bool Dead => dead;

    public override IMmio? Bar(int index) => index == 0 ? new Bar0(this) : null;

    private sealed class Bar0(Edu edu) : IMmio
    {
        public ulong Read(ulong offset, int size) => edu.dead ? AllOnes(size) : edu.bar0.Read(offset, size);

        public void Write(ulong offset, int size, ulong value)
        {
            if (!edu.dead) edu.bar0.Write(offset, size, value);
        }

        private static ulong AllOnes(int size) => size == 8 ? ulong.MaxValue : (1UL << (8 * size)) - 1;
    }

    private void StartFactorial(uint n)
    {
        if ((status & StatusComputing) != 0) return;
        factorial = n;
        status |= StatusComputing;
        Clock.After(FactorialNs, () =>
        {
            uint result = 1;
            for (uint i = n; i > 1; i--) result *= i; // 32-bit, wraps like QEMU's worker
            factorial = result;
            status &= ~StatusComputing;
            if ((status & StatusIrqFactorial) != 0) RaiseIrq(IrqFactorial);
        });
    }

    // edu_raise_irq(): MSI vector 0 on every raise while status is non-zero, else INTx asserted.
    private void RaiseIrq(uint value)
    {
        irqStatus |= value;
        if (irqStatus == 0) return;
        if (MsiEnabled) SendMsi(0);
        else SetIntx(true);
    }

    // edu_lower_irq()
    private void LowerIrq(uint value)
    {
        irqStatus &= ~value;
        if (irqStatus == 0 && !MsiEnabled) SetIntx(false);
    }

    // dma_rw(): the address and count registers are frozen while a transfer runs.
    private void DmaRegister(ref ulong register, ulong value)
    {
        if ((dmaCmd & CmdRun) == 0) register = value;
    }

    private void StartDma(ulong value)
    {
        if ((value & CmdRun) == 0 || (dmaCmd & CmdRun) != 0) return;
        dmaCmd = value;
        Clock.After(DmaDelayNs, DmaTimer);
    }

    // edu_dma_timer()
    private void DmaTimer()
    {
        if ((dmaCmd & CmdRun) == 0) return;
        bool toPci = (dmaCmd & CmdToPci) != 0;
        ulong bufferAddress = toPci ? dmaSrc : dmaDst;
        if (!WithinBuffer(bufferAddress, dmaCount))
        {
            Errors.Add($"EDU: DMA range 0x{bufferAddress:x16}-0x{bufferAddress + dmaCount - 1:x16} out of bounds (0x{DmaStart:x16}-0x{DmaStart + DmaSize - 1:x16})!");
            if (Mode == EduDmaMode.Qemu)
            {
                dead = true; // hw_error(): the VM aborts in QEMU 7.2
                return;
            }
        }
        else
        {
            var window = buffer.AsSpan((int)(bufferAddress - DmaStart), (int)dmaCount);
            if (toPci) DmaWrite(Clamp(dmaDst), window);
            else DmaRead(Clamp(dmaSrc), window);
        }
        dmaCmd &= ~CmdRun;
        if ((dmaCmd & CmdIrq) != 0) RaiseIrq(IrqDma);
    }

    // edu_check_range(): start and end must both lie inside the buffer; the end itself must be < the limit,
    // so a transfer reaching the last byte is refused (the off-by-one measured on QEMU 7.2).
    private static bool WithinBuffer(ulong address, ulong count)
    {
        ulong end = address + count, limit = DmaStart + DmaSize;
        static bool Within(ulong a, ulong start, ulong stop) => start <= a && a < stop;
        return Within(address, DmaStart, limit) && end > address && Within(end, DmaStart, limit);
    }

    // edu_clamp_addr()
    private ulong Clamp(ulong address)
    {
        ulong clamped = address & DmaMask;
        if (clamped != address) Errors.Add($"EDU: clamping DMA 0x{address:x16} to 0x{clamped:x16}!");
        return clamped;
    }
}
