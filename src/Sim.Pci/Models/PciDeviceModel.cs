namespace VfioSim.Pci.Models;

/// <summary>Where a device's interrupts go: what QEMU's pci_set_irq() and msi_notify()/msix_notify() reach.</summary>
public interface IInterruptSink
{
    /// <summary>The INTx line (level): asserted or deasserted.</summary>
    void SetIntx(PciFunction function, bool asserted);

    /// <summary>An MSI message for <paramref name="vector"/> (the device checked that MSI is enabled).</summary>
    void Msi(PciFunction function, int vector);

    /// <summary>An MSI-X message for table entry <paramref name="vector"/>.</summary>
    void MsiX(PciFunction function, int vector);
}

/// <summary>
/// The behaviour behind a function's config space: BAR regions, timed work on the machine's virtual clock,
/// interrupts and DMA. One short class per device, the way QEMU's hw/misc/edu.c reads.
/// </summary>
public abstract class PciDeviceModel
{
    private PciFunction? function;

    /// <summary>The function this model drives (set when the model is attached).</summary>
    public PciFunction Function => function ?? throw new InvalidOperationException("the device model is not attached to a function");

    /// <summary>The machine's virtual clock (set at boot).</summary>
    public VirtualClock Clock { get; internal set; } = new();

    /// <summary>Where interrupts go; null until something (vfio-pci) listens. Interrupts raised then are lost.</summary>
    public IInterruptSink? Interrupts { get; set; }

    internal void Attach(PciFunction f) => function = f;

    /// <summary>The MMIO or I/O handler of BAR <paramref name="index"/>, or null when it has none.</summary>
    public abstract IMmio? Bar(int index);

    /// <summary>A function-level reset of the device's own state (config space is the PCI core's).</summary>
    public virtual void Reset()
    {
    }

    /// <summary>msi_enabled(): the MSI capability's Enable bit.</summary>
    protected bool MsiEnabled
    {
        get
        {
            int cap = Function.Config.FindCapability(PciRegs.CapIdMsi);
            return cap != 0 && (Function.Config.Read16(cap + PciRegs.MsiFlags) & PciRegs.MsiFlagsEnable) != 0;
        }
    }

    protected void SetIntx(bool asserted) => Interrupts?.SetIntx(Function, asserted);

    /// <summary>
    /// pci_dma_read(): reads bus addresses through the function's DMA port (Bus Master Enable, then the IOMMU).
    /// False when the transaction did not complete (no bus mastering, an IOMMU fault, nothing behind the port).
    /// </summary>
    protected bool DmaRead(ulong busAddress, Span<byte> destination) => Function.Dma.Read(busAddress, destination);

    /// <summary>pci_dma_write(): see <see cref="DmaRead"/>.</summary>
    protected bool DmaWrite(ulong busAddress, ReadOnlySpan<byte> source) => Function.Dma.Write(busAddress, source);

    protected void SendMsi(int vector) => Interrupts?.Msi(Function, vector);
}
