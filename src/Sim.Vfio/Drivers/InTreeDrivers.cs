using VfioSim.Pci;
using VfioSim.Uapi;

namespace VfioSim.Vfio.Drivers;

/// <summary>
/// The Linux drivers a q35 guest binds its devices to, with their ID tables (the entries that concern the QEMU
/// devices; the real tables are longer), DMA-ownership flag and probe rules. Each call makes new driver objects:
/// dynamic IDs belong to one machine.
/// </summary>
public static class InTreeDrivers
{
    public const string PciePort = "pcieport", VirtioPci = "virtio-pci", E1000e = "e1000e", Nvme = "nvme", Ahci = "ahci",
        LpcIch = "lpc_ich", I801Smbus = "i801_smbus", PciStub = "pci-stub", VfioPci = "vfio-pci";

    private const ushort Intel = 0x8086, RedHatQumranet = 0x1af4;

    /// <summary>
    /// Every modelled driver in registration order: built-ins first (pcieport at device_initcall, virtio-pci), then
    /// the modules udev loads for the devices found, then pci-stub and vfio-pci, which a user loads. At boot a
    /// device goes to the first of these that matches and probes it; only one native driver matches each QEMU
    /// device, and pci-stub and vfio-pci match nothing without new_id or driver_override.
    /// </summary>
    public static IReadOnlyList<PciDriver> All() =>
        [CreatePciePort(), CreateVirtioPci(), CreateE1000e(), CreateNvme(), CreateAhci(), CreateLpcIch(), CreateI801Smbus(),
         CreatePciStub(), CreateVfioPci()];

    /// <summary>
    /// The drivers of the project's measurement VM (shared/vm): a Debian kernel whose initramfs loads only
    /// virtio-pci and vfio-pci beside the built-in pcieport, so the ICH9 functions stay unbound there.
    /// </summary>
    public static IReadOnlyList<PciDriver> MeasurementVm() => [CreatePciePort(), CreateVirtioPci(), CreateVfioPci()];

    /// <summary>
    /// portdrv (drivers/pci/pcie/portdrv.c): matches class 0604 00/01 bridges and Root Complex Event Collectors;
    /// pcie_portdrv_probe() keeps only PCIe Root Ports, switch Upstream and Downstream Ports and RCECs (-ENODEV for
    /// a PCIe-to-PCI bridge or a conventional bridge, which therefore stay unbound). driver_managed_dma: the port
    /// services do no DMA.
    /// </summary>
    public static PciDriver CreatePciePort() => new(PciePort,
        [PciDeviceId.ForClass(0x060400), PciDeviceId.ForClass(0x060401), PciDeviceId.ForClass(0x080700)],
        driverManagedDma: true,
        probe: (dev, _, _) => dev.IsPcie && dev.PcieType is PcieType.RootPort or PcieType.Upstream or PcieType.Downstream
            or PcieType.RcEventCollector ? 0 : -Errno.ENODEV);

    /// <summary>
    /// virtio_pci: every Red Hat/Qumranet device; the modern probe takes device IDs 0x1000-0x107f (transitional
    /// 0x1000-0x103f and modern 0x1040 + type) and leaves the rest (-ENODEV).
    /// </summary>
    public static PciDriver CreateVirtioPci() => new(VirtioPci,
        [new PciDeviceId(RedHatQumranet, PciDeviceId.AnyId)],
        probe: (dev, _, _) => dev.DeviceId is >= 0x1000 and <= 0x107f ? 0 : -Errno.ENODEV);

    /// <summary>e1000e: QEMU's e1000e is an 82574L (8086:10d3, board_82574 = 3); 82571EB (board_82571 = 0) beside it.</summary>
    public static PciDriver CreateE1000e() => new(E1000e,
        [PciDeviceId.ForDevice(Intel, 0x105e, 0), PciDeviceId.ForDevice(Intel, 0x10d3, 3), PciDeviceId.ForDevice(Intel, 0x10f6, 3)]);

    /// <summary>nvme: any NVM Express controller (class 01 08 02); the vendor quirk entries before it are left out.</summary>
    public static PciDriver CreateNvme() => new(Nvme, [PciDeviceId.ForClass(0x010802)]);

    /// <summary>ahci: the ICH9 SATA controller in AHCI mode (8086:2922) and any AHCI class device, both board_ahci.</summary>
    public static PciDriver CreateAhci() => new(Ahci, [PciDeviceId.ForDevice(Intel, 0x2922), PciDeviceId.ForClass(0x010601)]);

    /// <summary>lpc_ich: the ICH9 LPC bridge (8086:2918, LPC_ICH9 of enum lpc_chipsets); QEMU's TCO watchdog lets the probe succeed.</summary>
    public static PciDriver CreateLpcIch() => new(LpcIch, [PciDeviceId.ForDevice(Intel, 0x2918, 25)]);

    /// <summary>i2c-i801 (driver name i801_smbus): the ICH9 SMBus controller 8086:2930.</summary>
    public static PciDriver CreateI801Smbus() => new(I801Smbus, [PciDeviceId.ForDevice(Intel, 0x2930)]);

    /// <summary>pci-stub: no ID table (only new_id and driver_override), claims what it is given, does no DMA.</summary>
    public static PciDriver CreatePciStub() => new(PciStub, idTable: null, driverManagedDma: true);

    /// <summary>
    /// vfio-pci: one catch-all entry that matches only through driver_override
    /// (PCI_DRIVER_OVERRIDE_DEVICE_VFIO(PCI_ANY_ID, PCI_ANY_ID)), otherwise new_id. driver_managed_dma: ownership
    /// is taken by the VFIO group or iommufd when user space attaches, not at bind. Probe: vfio_pci_probe() and
    /// vfio_pci_core_register_device(); remove disables the PF's VFs; its bus notifier captures new VFs of a PF
    /// it drives (vfio_pci_bus_notifier()).
    /// </summary>
    public static PciDriver CreateVfioPci() => new(VfioPci,
        [new PciDeviceId(PciDeviceId.AnyId, PciDeviceId.AnyId, OverrideOnly: true)],
        driverManagedDma: true, probe: VfioPciProbe, remove: VfioPciRemove)
    {
        DeviceAdded = VfioPciCaptureVf,
    };

    /// <summary>vfio_pci_dev_in_denylist(): Intel QAT PFs and VFs (-EINVAL unless disable_denylist).</summary>
    private static readonly ushort[] VfioDenylist = [0x0435, 0x0443, 0x19e2, 0x19e3, 0x37c8, 0x37c9];

    private static int VfioPciProbe(PciFunction dev, PciDeviceId id, Machine machine)
    {
        if (dev.VendorId == Intel && VfioDenylist.Contains(dev.DeviceId)) return -Errno.EINVAL;
        // vfio_pci_core_register_device(): only type 0 headers; bridges are left to the PCI core.
        if (dev.HeaderLayout != PciRegs.HeaderTypeNormal) return -Errno.EINVAL;
        // "Cannot bind to PF with SR-IOV enabled": the VFs may be in use by the host.
        if (Sriov.NumVfs(dev) != 0) return -Errno.EBUSY;
        // vfio_group_find_or_alloc(): no IOMMU group and no enable_unsafe_noiommu_mode (with it, VfioCore makes
        // the fake noiommu group once the device is bound).
        if (machine.Groups.GroupOf(dev) is null && !machine.Topology.CommandLine.EnableUnsafeNoiommu) return -Errno.EINVAL;
        return 0;
    }

    /// <summary>vfio_pci_core_unregister_device() starts with vfio_pci_core_sriov_configure(vdev, 0): the VFs go.</summary>
    private static void VfioPciRemove(PciFunction dev, Machine machine)
    {
        if (Sriov.NumVfs(dev) != 0) Sriov.Disable(machine.Topology, dev);
    }

    /// <summary>vfio_pci_bus_notifier(): a VF of a PF bound to vfio-pci gets driver_override "vfio-pci".</summary>
    private static void VfioPciCaptureVf(PciFunction dev, Machine machine)
    {
        if (dev.PhysFn is { } pf && machine.Drivers.DriverOf(pf)?.Name == VfioPci)
            machine.StateOf(dev).DriverOverride = VfioPci;
    }
}
