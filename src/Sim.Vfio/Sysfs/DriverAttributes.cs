using VfioSim.Pci;
using VfioSim.Uapi;
using VfioSim.Vfio.Drivers;

namespace VfioSim.Vfio.Sysfs;

/// <summary>
/// The sysfs files that change which driver a device has, with their store() methods as the kernel writes them:
/// a driver's <c>bind</c>, <c>unbind</c> (drivers/base/bus.c), <c>new_id</c>, <c>remove_id</c>
/// (drivers/pci/pci-driver.c), the bus's <c>drivers_probe</c> (bus.c) and a device's <c>driver_override</c>
/// (pci-sysfs.c, driver_set_override()). A store returns the count written or -errno.
/// </summary>
internal static class DriverAttributes
{
    private const int WriteOnly = 0x80, ReadWrite = 0x1a4; // 0200, 0644
    private const int PageSize = 4096;

    /// <summary>
    /// bus_add_driver(): the driver's directory with <c>bind</c>, <c>unbind</c>, <c>uevent</c> (store not modelled)
    /// and the PCI bus's <c>new_id</c> and <c>remove_id</c>.
    /// </summary>
    public static void PopulateDriver(SysfsDirectory dir, PciDriver driver, Machine machine)
    {
        dir.AddAttribute("bind", WriteOnly, null, buf => Bind(machine, driver, buf));
        dir.AddAttribute("unbind", WriteOnly, null, buf => Unbind(machine, driver, buf));
        dir.AddAttribute("new_id", WriteOnly, null, buf => NewId(machine, driver, buf));
        dir.AddAttribute("remove_id", WriteOnly, null, buf => RemoveId(machine, driver, buf));
        dir.AddAttribute("uevent", WriteOnly, null);
    }

    /// <summary><c>/sys/bus/pci/drivers_probe</c>.</summary>
    public static void PopulateBus(SysfsDirectory busDir, Machine machine) =>
        busDir.AddAttribute("drivers_probe", WriteOnly, null, buf => DriversProbe(machine, buf));

    /// <summary>A device's <c>driver_override</c>: sysfs_emit("%s\n") of a NULL pointer shows "(null)".</summary>
    public static void PopulateDevice(SysfsDirectory dir, PciFunction dev, Machine machine)
    {
        var state = machine.StateOf(dev);
        dir.AddAttribute("driver_override", ReadWrite, () => $"{state.DriverOverride ?? "(null)"}\n",
            buf => DriverOverride(machine, dev, buf));
    }

    /// <summary>
    /// bind_store(): the device named (bus_find_device_by_name(), sysfs_streq) must exist and match the driver,
    /// else -ENODEV; then device_driver_attach() (-EBUSY when it has a driver, or the probe's error).
    /// </summary>
    private static int Bind(Machine machine, PciDriver driver, ReadOnlySpan<byte> buf)
    {
        if (FindDevice(machine, buf) is not { } dev) return -Errno.ENODEV;
        int ret = machine.Drivers.Bind(dev, driver);
        return ret < 0 ? ret : buf.Length;
    }

    /// <summary>unbind_store(): -ENODEV unless the device named is bound to this driver; then device_driver_detach().</summary>
    private static int Unbind(Machine machine, PciDriver driver, ReadOnlySpan<byte> buf)
    {
        if (FindDevice(machine, buf) is not { } dev) return -Errno.ENODEV;
        int ret = machine.Drivers.Unbind(dev, driver);
        return ret < 0 ? ret : buf.Length;
    }

    /// <summary>
    /// new_id_store(): sscanf "%x %x %x %x %x %x %lx" (vendor device [subvendor subdevice [class class_mask
    /// [driver_data]]]); fewer than two fields is -EINVAL; subsystem IDs default to PCI_ANY_ID, class and mask to 0.
    /// </summary>
    private static int NewId(Machine machine, PciDriver driver, ReadOnlySpan<byte> buf)
    {
        Span<ulong> f = stackalloc ulong[7];
        int fields = KernelText.ScanHex(KernelText.CString(buf), f);
        if (fields < 2) return -Errno.EINVAL;
        var id = new PciDeviceId((uint)f[0], (uint)f[1],
            fields > 2 ? (uint)f[2] : PciDeviceId.AnyId, fields > 3 ? (uint)f[3] : PciDeviceId.AnyId,
            fields > 4 ? (uint)f[4] : 0, fields > 5 ? (uint)f[5] : 0, fields > 6 ? f[6] : 0);
        int ret = machine.Drivers.AddDynamicId(driver, id, allFieldsGiven: fields == 7);
        return ret < 0 ? ret : buf.Length;
    }

    /// <summary>remove_id_store(): sscanf "%x %x %x %x %x %x"; fewer than two fields is -EINVAL; no such ID -ENODEV.</summary>
    private static int RemoveId(Machine machine, PciDriver driver, ReadOnlySpan<byte> buf)
    {
        Span<ulong> f = stackalloc ulong[6];
        int fields = KernelText.ScanHex(KernelText.CString(buf), f);
        if (fields < 2) return -Errno.EINVAL;
        int ret = machine.Drivers.RemoveDynamicId(driver, (uint)f[0], (uint)f[1],
            fields > 2 ? (uint)f[2] : PciDeviceId.AnyId, fields > 3 ? (uint)f[3] : PciDeviceId.AnyId,
            fields > 4 ? (uint)f[4] : 0, fields > 5 ? (uint)f[5] : 0);
        return ret < 0 ? ret : buf.Length;
    }

    /// <summary>
    /// drivers_probe_store(): -ENODEV for an unknown device; bus_rescan_devices_helper() probes it if unbound, and
    /// only a failure of the attach itself is an error (-EINVAL); no driver taking it is success.
    /// </summary>
    private static int DriversProbe(Machine machine, ReadOnlySpan<byte> buf)
    {
        if (FindDevice(machine, buf) is not { } dev) return -Errno.ENODEV;
        int ret = machine.Drivers.ProbeDrivers(dev);
        return ret < 0 ? ret : buf.Length;
    }

    /// <summary>
    /// driver_set_override(): a write of PAGE_SIZE - 1 bytes or more is -EINVAL; the value is the C string up to
    /// the first newline; an empty string or one starting with a newline clears it. Nothing is re-bound.
    /// </summary>
    private static int DriverOverride(Machine machine, PciFunction dev, ReadOnlySpan<byte> buf)
    {
        if (buf.Length >= PageSize - 1) return -Errno.EINVAL;
        string s = KernelText.CString(buf);
        int newline = s.IndexOf('\n', StringComparison.Ordinal);
        machine.Drivers.SetDriverOverride(dev, s.Length == 0 || newline == 0 ? null : newline < 0 ? s : s[..newline]);
        return buf.Length;
    }

    /// <summary>
    /// bus_find_device_by_name(): the device whose name equals the text by sysfs_streq(), which allows one trailing
    /// newline; so only the full lower-case name (<c>0000:01:00.0</c>) finds it.
    /// </summary>
    private static PciFunction? FindDevice(Machine machine, ReadOnlySpan<byte> buf)
    {
        string s = KernelText.CString(buf);
        string name = s.EndsWith('\n') ? s[..^1] : s;
        return Bdf.TryParse(name, out var bdf) && bdf.ToString() == name ? machine.Topology.Find(bdf) : null;
    }
}
