using System.Runtime.InteropServices;
using VfioSim.Pci;
using VfioSim.Pci.Models;
using VfioSim.Uapi;
using VfioSim.Vfio.Process;

namespace VfioSim.Vfio.Pci;

/// <summary>
/// The regions of a vfio-pci device fd: VFIO_DEVICE_GET_REGION_INFO (vfio_pci_core.c), read()/write() at
/// index &lt;&lt; 40 (vfio_pci_rdwr.c: BARs split into naturally aligned accesses, the MSI-X table hidden, memory
/// BARs refused with EIO while the virtual Memory Enable bit is clear), and what mmap may map.
/// </summary>
public sealed class VfioPciRdwr
{
    private const ulong PageSize = 4096;

    private readonly PciFunction dev;
    private readonly VfioPciConfig config;
    private readonly int msixBar = -1;
    private readonly ulong msixOffset, msixSize;

    public VfioPciRdwr(PciFunction dev, VfioPciConfig config)
    {
        this.dev = dev;
        this.config = config;
        int cap = dev.Config.FindCapability(PciRegs.CapIdMsix);
        if (cap != 0)
        {
            uint table = dev.Config.Read32(cap + PciRegs.MsixTable);
            msixBar = (int)(table & 7);
            msixOffset = table & ~7u;
            msixSize = 16UL * (ulong)((dev.Config.Read16(cap + PciRegs.MsixFlags) & PciRegs.MsixFlagsQsize) + 1);
        }
    }

    public int NumRegions => VfioUapi.PCI_NUM_REGIONS;

    private PciResource? Bar(int index) => dev.Resources.FirstOrDefault(r => r.Index == index && !r.IsVfBar);

    /// <summary>Region length: BARs and the ROM as implemented, config space, 0 for absent ones.</summary>
    public ulong RegionSize(int index) => index switch
    {
        <= VfioUapi.PCI_BAR5_REGION_INDEX => Bar(index)?.Size ?? 0,
        VfioUapi.PCI_ROM_REGION_INDEX => dev.Resources.FirstOrDefault(r => r.Index == PciResource.RomIndex)?.Size ?? 0,
        VfioUapi.PCI_CONFIG_REGION_INDEX => (ulong)config.Size,
        _ => 0,
    };

    /// <summary>vfio_pci_core_setup_barmap()/bar_mmap_supported: memory BAR, and at least a page or page aligned.</summary>
    public bool Mappable(int index) => index <= VfioUapi.PCI_BAR5_REGION_INDEX && Bar(index) is { Kind: not ResourceKind.Io } r && r.Size > 0;

    private bool IsVga => dev.ClassCode >> 8 == 0x0300;

    /// <summary>VFIO_DEVICE_GET_REGION_INFO.</summary>
    public long GetRegionInfo(SimProcess process, ulong arg)
    {
        Span<byte> buf = stackalloc byte[32];
        if (!process.AddressSpace.TryRead(arg, buf)) return -Errno.EFAULT;
        var info = MemoryMarshal.Read<VfioRegionInfo>(buf);
        if (info.Argsz < 32) return -Errno.EINVAL;
        int index = (int)info.Index;
        bool caps = false;
        switch (info.Index)
        {
            case <= VfioUapi.PCI_BAR5_REGION_INDEX:
                info.Offset = VfioUapi.PciIndexToOffset(index);
                info.Size = RegionSize(index);
                if (info.Size == 0) { info.Flags = 0; break; }
                info.Flags = VfioUapi.REGION_INFO_FLAG_READ | VfioUapi.REGION_INFO_FLAG_WRITE;
                if (Mappable(index))
                {
                    info.Flags |= VfioUapi.REGION_INFO_FLAG_MMAP;
                    caps = index == msixBar; // MSIX_MAPPABLE: the table's BAR may be mmapped whole
                }
                break;
            case VfioUapi.PCI_ROM_REGION_INDEX:
                info.Offset = VfioUapi.PciIndexToOffset(index);
                info.Size = RegionSize(index);
                info.Flags = info.Size == 0 ? 0 : VfioUapi.REGION_INFO_FLAG_READ;
                break;
            case VfioUapi.PCI_CONFIG_REGION_INDEX:
                info.Offset = VfioUapi.PciIndexToOffset(index);
                info.Size = (ulong)config.Size;
                info.Flags = VfioUapi.REGION_INFO_FLAG_READ | VfioUapi.REGION_INFO_FLAG_WRITE;
                break;
            case VfioUapi.PCI_VGA_REGION_INDEX when IsVga:
                info.Offset = VfioUapi.PciIndexToOffset(index);
                info.Size = 0xc0000;
                info.Flags = VfioUapi.REGION_INFO_FLAG_READ | VfioUapi.REGION_INFO_FLAG_WRITE;
                break;
            default:
                return -Errno.EINVAL;
        }
        if (caps)
        {
            // One 8-byte header-only capability: VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, version 1.
            const uint capSize = 8;
            info.Flags |= VfioUapi.REGION_INFO_FLAG_CAPS;
            if (info.Argsz < 32 + capSize)
            {
                info.Argsz = 32 + capSize;
                info.CapOffset = 0;
            }
            else
            {
                var hdr = new VfioInfoCapHeader { Id = VfioUapi.REGION_INFO_CAP_MSIX_MAPPABLE, Version = 1, Next = 0 };
                Span<byte> capBytes = stackalloc byte[8];
                MemoryMarshal.Write(capBytes, in hdr);
                if (!process.AddressSpace.TryWrite(arg + 32, capBytes)) return -Errno.EFAULT;
                info.CapOffset = 32;
            }
        }
        MemoryMarshal.Write(buf, in info); // cap_offset is echoed back as passed when there are no capabilities
        return process.AddressSpace.TryWrite(arg, buf) ? 0 : -Errno.EFAULT;
    }

    /// <summary>read()/write() on the device fd at a region offset (vfio_pci_rw()).</summary>
    public long Rw(long offset, Span<byte> buffer, bool isWrite)
    {
        if (buffer.Length == 0) return 0;
        int index = VfioUapi.PciOffsetToIndex((ulong)offset);
        ulong pos = (ulong)offset & VfioUapi.PCI_OFFSET_MASK;
        if (index >= NumRegions) return -Errno.EINVAL;
        switch (index)
        {
            case VfioUapi.PCI_CONFIG_REGION_INDEX:
                return isWrite ? config.Write((long)pos, buffer) : config.Read((long)pos, buffer);
            case VfioUapi.PCI_ROM_REGION_INDEX when isWrite:
                return -Errno.EINVAL;
            case VfioUapi.PCI_VGA_REGION_INDEX:
                return -Errno.EINVAL; // no VGA devices are modelled
        }
        ulong size = RegionSize(index);
        if (size == 0) return -Errno.EINVAL;
        if (pos >= size) return -Errno.EINVAL;
        var bar = index == VfioUapi.PCI_ROM_REGION_INDEX ? null : Bar(index);
        if (bar is not null && bar.Kind != ResourceKind.Io && !config.MemoryEnabled) return -Errno.EIO;
        int count = (int)Math.Min((ulong)buffer.Length, size - pos);
        var mmio = index == VfioUapi.PCI_ROM_REGION_INDEX ? null : dev.Device?.Bar(index);
        int done = 0;
        while (done < count)
        {
            ulong p = pos + (ulong)done;
            int chunk = (count - done) >= 8 && p % 8 == 0 ? 8 : (count - done) >= 4 && p % 4 == 0 ? 4 : (count - done) >= 2 && p % 2 == 0 ? 2 : 1;
            bool inMsix = index == msixBar && p < msixOffset + msixSize && p + (ulong)chunk > msixOffset;
            if (isWrite)
            {
                ulong v = 0;
                for (int i = 0; i < chunk; i++) v |= (ulong)buffer[done + i] << (8 * i);
                if (!inMsix) mmio?.Write(p, chunk, v); // the MSI-X table is the kernel's: writes are dropped
            }
            else
            {
                ulong v = inMsix || mmio is null ? ulong.MaxValue : mmio.Read(p, chunk);
                for (int i = 0; i < chunk; i++) buffer[done + i] = (byte)(v >> (8 * i));
            }
            done += chunk;
        }
        return done;
    }

    /// <summary>
    /// vfio_pci_core_mmap() checks, in order; on success the BAR's MMIO handler and the offset into it.
    /// </summary>
    public long Mmap(ulong length, long offset, bool shared, out IMmio? region)
    {
        region = null;
        int index = VfioUapi.PciOffsetToIndex((ulong)offset);
        ulong pos = (ulong)offset & VfioUapi.PCI_OFFSET_MASK;
        if (index >= NumRegions) return -Errno.EINVAL;
        if (pos + length < pos) return -Errno.EINVAL;
        if (!shared) return -Errno.EINVAL;
        if (index >= VfioUapi.PCI_ROM_REGION_INDEX) return -Errno.EINVAL;
        if (!Mappable(index)) return -Errno.EINVAL;
        ulong barLen = (RegionSize(index) + PageSize - 1) & ~(PageSize - 1);
        if (pos + length > barLen) return -Errno.EINVAL;
        region = new GatedBar(dev.Device?.Bar(index), config);
        return 0;
    }

    /// <summary>
    /// A BAR mapping: accesses while memory decode is off fault (SIGBUS), as the zapped pages would. The mapping
    /// is addressed by file offset (index &lt;&lt; 40 | position); the BAR sees the position only.
    /// </summary>
    private sealed class GatedBar(IMmio? bar, VfioPciConfig config) : IMmio
    {
        public ulong Read(ulong offset, int size)
        {
            if (!config.MemoryEnabled) throw new UserMemoryFaultException(offset, "bus error: BAR read with memory decode disabled");
            return bar?.Read(offset & VfioUapi.PCI_OFFSET_MASK, size) ?? ulong.MaxValue;
        }

        public void Write(ulong offset, int size, ulong value)
        {
            if (!config.MemoryEnabled) throw new UserMemoryFaultException(offset, "bus error: BAR write with memory decode disabled");
            bar?.Write(offset & VfioUapi.PCI_OFFSET_MASK, size, value);
        }
    }
}
