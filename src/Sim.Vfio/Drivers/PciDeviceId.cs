using VfioSim.Pci;

namespace VfioSim.Vfio.Drivers;

/// <summary>
/// The IDs a driver matches a device by: vendor, device, subsystem vendor and device, and the 24-bit class as
/// pci_match_one_device() reads them from struct pci_dev (so a VF's vendor and device are its PF's).
/// </summary>
public readonly record struct PciIdentity(ushort Vendor, ushort Device, ushort SubVendor, ushort SubDevice, uint Class)
{
    public static PciIdentity Of(PciFunction dev)
    {
        ArgumentNullException.ThrowIfNull(dev);
        return new(dev.VendorId, dev.DeviceId, dev.SubsystemVendorId, dev.SubsystemId, dev.ClassCode);
    }
}

/// <summary>
/// One entry of a driver's ID table (struct pci_device_id): each ID field is a value or <see cref="AnyId"/>,
/// and the class matches under <see cref="ClassMask"/>. <see cref="OverrideOnly"/> is the
/// PCI_ID_F_VFIO_DRIVER_OVERRIDE flag of vfio-pci's catch-all entry: it matches only a device whose
/// driver_override names the driver.
/// </summary>
public sealed record PciDeviceId(
    uint Vendor,
    uint Device,
    uint SubVendor = PciDeviceId.AnyId,
    uint SubDevice = PciDeviceId.AnyId,
    uint Class = 0,
    uint ClassMask = 0,
    ulong DriverData = 0,
    bool OverrideOnly = false)
{
    /// <summary>PCI_ANY_ID.</summary>
    public const uint AnyId = 0xffffffff;

    /// <summary>PCI_DEVICE(vendor, device): any subsystem, any class.</summary>
    public static PciDeviceId ForDevice(ushort vendor, ushort device, ulong driverData = 0) => new(vendor, device, DriverData: driverData);

    /// <summary>PCI_DEVICE_CLASS(class, mask): any IDs, the class under the mask.</summary>
    public static PciDeviceId ForClass(uint cls, uint mask = 0xffffff, ulong driverData = 0) =>
        new(AnyId, AnyId, Class: cls, ClassMask: mask, DriverData: driverData);

    /// <summary>pci_match_one_device(): every ID field equal or PCI_ANY_ID, and no class bit under the mask differs.</summary>
    public bool Matches(PciIdentity dev) =>
        (Vendor == AnyId || Vendor == dev.Vendor) &&
        (Device == AnyId || Device == dev.Device) &&
        (SubVendor == AnyId || SubVendor == dev.SubVendor) &&
        (SubDevice == AnyId || SubDevice == dev.SubDevice) &&
        ((Class ^ dev.Class) & ClassMask) == 0;

    /// <summary>The new_id line that would add this entry (<c>vvvv dddd ssss ssss cccccc mmmmmm data</c>, hex).</summary>
    public override string ToString() =>
        $"{Vendor:x4} {Device:x4} {SubVendor:x4} {SubDevice:x4} {Class:x6} {ClassMask:x6} {DriverData:x}";
}
