using VfioSim.Pci;

namespace VfioSim.Vfio.Sysfs;

/// <summary>
/// The attribute files of a PCI device directory, as drivers/pci/pci-sysfs.c defines them (pci_dev_attrs,
/// the config bin attribute, modalias; driver_override is in <see cref="DriverAttributes"/>). Values are read from
/// the live device at each read.
/// </summary>
internal static class PciDeviceAttributes
{
    private const int ReadOnly = 0x124, ReadWrite = 0x1a4; // 0444, 0644

    /// <summary>What pci_read_config() lets a reader without CAP_SYS_ADMIN see (more of a CardBus header).</summary>
    private const int UnprivilegedConfigBytes = 64, UnprivilegedCardbusConfigBytes = 128;

    public static void Populate(SysfsDirectory dir, PciFunction dev)
    {
        dir.AddAttribute("vendor", ReadOnly, () => $"0x{dev.VendorId:x4}\n");
        dir.AddAttribute("device", ReadOnly, () => $"0x{dev.DeviceId:x4}\n");
        dir.AddAttribute("subsystem_vendor", ReadOnly, () => $"0x{dev.SubsystemVendorId:x4}\n");
        dir.AddAttribute("subsystem_device", ReadOnly, () => $"0x{dev.SubsystemId:x4}\n");
        dir.AddAttribute("class", ReadOnly, () => $"0x{dev.ClassCode:x6}\n");
        dir.AddAttribute("revision", ReadOnly, () => $"0x{dev.Revision:x2}\n");
        dir.AddAttribute("modalias", ReadOnly, () => Modalias(dev));
        dir.Add(new SysfsBinAttribute("config", ReadWrite, dev.CfgSize, (offset, buffer, admin) => ReadConfig(dev, offset, buffer, admin)));
    }

    /// <summary>modalias_show(): what udev matches driver ID tables against.</summary>
    private static string Modalias(PciFunction dev) =>
        $"pci:v{dev.VendorId:X8}d{dev.DeviceId:X8}sv{dev.SubsystemVendorId:X8}sd{dev.SubsystemId:X8}" +
        $"bc{(byte)(dev.ClassCode >> 16):X2}sc{(byte)(dev.ClassCode >> 8):X2}i{(byte)dev.ClassCode:X2}\n";

    /// <summary>
    /// pci_read_config(): root (CAP_SYS_ADMIN) reads all cfg_size bytes; others only the first 64 (128 for a
    /// CardBus bridge), because some chips lock up when undefined registers are read.
    /// </summary>
    private static int ReadConfig(PciFunction dev, long offset, Span<byte> buffer, bool capSysAdmin)
    {
        long size = capSysAdmin ? dev.CfgSize
            : dev.HeaderLayout == PciRegs.HeaderTypeCardbus ? UnprivilegedCardbusConfigBytes : UnprivilegedConfigBytes;
        if (offset > size) return 0;
        int count = (int)Math.Min(buffer.Length, size - offset);
        for (int i = 0; i < count; i++) buffer[i] = dev.Config.Read8((int)offset + i);
        return count;
    }
}
