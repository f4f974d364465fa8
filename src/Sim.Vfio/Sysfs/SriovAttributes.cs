using VfioSim.Pci;
using VfioSim.Uapi;

namespace VfioSim.Vfio.Sysfs;

/// <summary>
/// The SR-IOV files of drivers/pci/iov.c: sriov_pf_dev_attrs on a physical function, sriov_vf_dev_attrs on a
/// virtual function, and the <c>virtfnN</c>/<c>physfn</c> links of pci_iov_sysfs_link().
/// </summary>
internal static class SriovAttributes
{
    private const int ReadOnly = 0x124, ReadWrite = 0x1a4, WriteOnly = 0x80; // 0444, 0644, 0200

    /// <summary>
    /// dev_is_pf(): pci_iov_init() found an SR-IOV capability on a PCI Express function (so only within cfg_size:
    /// not behind a conventional bridge) and sriov_init() accepted it: TotalVFs non-zero, and compute_max_vf_buses()
    /// found a First VF Offset (and a VF Stride when there can be several VFs).
    /// </summary>
    public static bool IsPhysFn(PciFunction dev)
    {
        if (!dev.IsPcie || dev.IsVirtFn) return false;
        int pos = dev.SriovCap;
        if (pos == 0) return false;
        int total = dev.Config.Read16(pos + PciRegs.SriovTotalVf);
        int offset = dev.Config.Read16(pos + PciRegs.SriovVfOffset), stride = dev.Config.Read16(pos + PciRegs.SriovVfStride);
        return total != 0 && offset != 0 && (total == 1 || stride != 0);
    }

    /// <summary>sriov_pf_dev_attrs (sriov_numvfs is writable too; its store side comes later).</summary>
    public static void PopulatePhysFn(SysfsDirectory dir, PciFunction pf, PciDeviceState state)
    {
        int pos = pf.SriovCap;
        dir.AddAttribute("sriov_totalvfs", ReadOnly, () => $"{Sriov.TotalVfs(pf)}\n");
        dir.AddAttribute("sriov_numvfs", ReadWrite, () => $"{Sriov.NumVfs(pf)}\n");
        dir.AddAttribute("sriov_offset", ReadOnly, () => $"{pf.Config.Read16(pos + PciRegs.SriovVfOffset)}\n");
        dir.AddAttribute("sriov_stride", ReadOnly, () => $"{pf.Config.Read16(pos + PciRegs.SriovVfStride)}\n");
        dir.AddAttribute("sriov_vf_device", ReadOnly, () => $"{pf.Config.Read16(pos + PciRegs.SriovVfDid):x}\n");
        // sriov_drivers_autoprobe_store(): kstrtobool(), -EINVAL for anything else; VFs added later obey it.
        dir.AddAttribute("sriov_drivers_autoprobe", ReadWrite, () => state.SriovDriversAutoprobe ? "1\n" : "0\n", buf =>
        {
            if (!KernelText.TryParseBool(KernelText.CString(buf), out bool on)) return -Errno.EINVAL;
            state.SriovDriversAutoprobe = on;
            return buf.Length;
        });
        // sriov_vf_total_msix_show(): 0 unless the PF driver implements sriov_get_vf_total_msix (none here).
        dir.AddAttribute("sriov_vf_total_msix", ReadOnly, () => "0\n");
    }

    /// <summary>sriov_vf_dev_attrs: a write-only file (reading it is EACCES).</summary>
    public static void PopulateVirtFn(SysfsDirectory dir) => dir.AddAttribute("sriov_vf_msix_count", WriteOnly, null);

    /// <summary>pci_iov_sysfs_link(): <c>virtfnN</c> in the PF's directory and <c>physfn</c> in the VF's.</summary>
    public static SysfsLink Link(SysfsDirectory pfDir, SysfsDirectory vfDir, int index)
    {
        vfDir.AddLink("physfn", pfDir);
        return pfDir.AddLink($"virtfn{index}", vfDir);
    }
}
