using System.Buffers.Binary;
using VfioSim.Uapi;
using static VfioSim.Tests.Unit.Type1.Type1Harness;

namespace VfioSim.Tests.Unit.Type1;

/// <summary>
/// VFIO_IOMMU_GET_INFO: vfio_iommu_type1_get_info(), the capability chain of vfio_info_cap_add() and the argsz
/// negotiation, byte by byte against what the 6.12 kernel wrote on QEMU's VT-d (REPORT.md §4).
/// </summary>
public class GetInfoTests
{
    private const byte Fill = 0xEE;
    private const int Required = 116; // 24 + 32 (migration) + 12 (dma_avail) + 16 + 2 * 16 (two IOVA ranges)

    /// <summary>Fills 160 bytes at Arg with a marker, puts argsz, calls GET_INFO.</summary>
    private static (long Ret, byte[] Bytes) GetInfo(Type1Harness h, uint argsz, ulong? at = null)
    {
        ulong a = at ?? h.Arg;
        int n = (int)Math.Min(160, h.Arg + Page - a);
        h.P.AddressSpace.Write(a, Enumerable.Repeat(Fill, n).ToArray());
        h.Put(a, argsz);
        long ret = h.Ioctl(VfioUapi.IOMMU_GET_INFO, a);
        return (ret, h.Bytes(a, n));
    }

    /// <summary>What the measured kernel returns with a large enough buffer and 65535 free entries.</summary>
    private static byte[] Expected(uint argsz, uint avail = 65535)
    {
        var b = new byte[Required];
        void U16(int o, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(o), v);
        void U32(int o, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(o), v);
        void U64(int o, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(o), v);
        U32(0, argsz); U32(4, 3); U64(8, 0x40201000); U32(16, 24); U32(20, 0);
        U16(24, 2); U16(26, 1); U32(28, 56); U32(32, 0); U32(36, 0); U64(40, 0x1000); U64(48, 0x1000_0000);
        U16(56, 3); U16(58, 1); U32(60, 68); U32(64, avail);
        U16(68, 1); U16(70, 1); U32(72, 0); U32(76, 2); U32(80, 0);
        U64(84, 0); U64(92, 0xfedfffff); U64(100, 0xfef00000); U64(108, 0x7f_ffff_ffff);
        return b;
    }

    [Test]
    public void Get_info_with_a_bad_arg_pointer_returns_EFAULT()
    {
        var h = new Type1Harness();
        Assert.That(h.Ioctl(VfioUapi.IOMMU_GET_INFO, Unmapped), Is.EqualTo(-Errno.EFAULT));
    }

    [Test]
    public void Get_info_with_argsz_below_16_returns_EINVAL_and_writes_nothing()
    {
        var h = new Type1Harness();
        var (ret, bytes) = GetInfo(h, 15);
        Assert.That(ret, Is.EqualTo(-Errno.EINVAL));
        Assert.That(bytes[4..], Is.All.EqualTo(Fill));
    }

    [Test]
    public void Get_info_with_room_for_the_chain_writes_capabilities_at_24_56_68()
    {
        var h = new Type1Harness();
        var (ret, bytes) = GetInfo(h, Required);
        Assert.That(ret, Is.Zero);
        Assert.That(bytes[..Required], Is.EqualTo(Expected(Required)));
        Assert.That(bytes[Required..], Is.All.EqualTo(Fill), "nothing past the chain");
    }

    [Test]
    public void Get_info_with_a_larger_argsz_keeps_it()
    {
        var h = new Type1Harness();
        var (ret, bytes) = GetInfo(h, 140);
        Assert.That(ret, Is.Zero);
        Assert.That(bytes[..Required], Is.EqualTo(Expected(140)));
        Assert.That(bytes[Required..], Is.All.EqualTo(Fill));
    }

    [Test]
    public void Get_info_with_argsz_16_writes_the_required_argsz_flags_and_page_sizes_only()
    {
        var h = new Type1Harness();
        var (ret, bytes) = GetInfo(h, 16);
        Assert.That(ret, Is.Zero);
        Assert.That(bytes[..16], Is.EqualTo(Expected(Required)[..16]));
        Assert.That(bytes[16..], Is.All.EqualTo(Fill));
    }

    [Test]
    public void Get_info_with_argsz_24_writes_the_struct_with_cap_offset_0()
    {
        var h = new Type1Harness();
        var (ret, bytes) = GetInfo(h, 24);
        Assert.That(ret, Is.Zero);
        var expected = Expected(Required)[..24];
        expected[16] = 0; // cap_offset stays 0: no capability was copied
        Assert.That(bytes[..24], Is.EqualTo(expected));
        Assert.That(bytes[24..], Is.All.EqualTo(Fill));
    }

    [Test]
    public void Get_info_one_byte_short_of_the_chain_copies_no_capability()
    {
        var h = new Type1Harness();
        var (ret, bytes) = GetInfo(h, Required - 1);
        Assert.That(ret, Is.Zero);
        var expected = Expected(Required)[..24];
        expected[16] = 0;
        Assert.That(bytes[..24], Is.EqualTo(expected));
        Assert.That(bytes[24..], Is.All.EqualTo(Fill));
    }

    [Test]
    public void Get_info_called_again_with_the_argsz_it_asked_for_returns_the_chain()
    {
        var h = new Type1Harness();
        var (_, first) = GetInfo(h, 16);
        uint asked = BinaryPrimitives.ReadUInt32LittleEndian(first);
        var (ret, bytes) = GetInfo(h, asked);
        Assert.That(ret, Is.Zero);
        Assert.That(bytes[..Required], Is.EqualTo(Expected(Required)));
    }

    [Test]
    public void Get_info_dma_avail_counts_the_free_entries()
    {
        var h = new Type1Harness();
        Assert.That(h.Map(0x100000, Page), Is.Zero);
        Assert.That(h.Map(0x200000, Page), Is.Zero);
        var (_, bytes) = GetInfo(h, Required);
        Assert.That(bytes[..Required], Is.EqualTo(Expected(Required, avail: 65533)));
    }

    [Test]
    public void Get_info_of_a_container_with_a_small_entry_limit_reports_it()
    {
        var h = new Type1Harness(dmaEntryLimit: 7);
        Assert.That(h.DmaAvailFromInfo(), Is.EqualTo(7));
    }

    [Test]
    public void Get_info_without_groups_reports_page_mask_and_no_iova_range_capability()
    {
        // vfio_iommu_iova_build_caps() adds nothing for an empty list: 24 + 32 + 12 = 68 bytes.
        var h = new Type1Harness(attach: false);
        var (ret, bytes) = GetInfo(h, 16);
        Assert.That(ret, Is.Zero);
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(bytes), Is.EqualTo(68));
        Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(8)), Is.EqualTo(0xFFFF_FFFF_FFFF_F000));
        (ret, bytes) = GetInfo(h, 68);
        Assert.That(ret, Is.Zero);
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(60)), Is.Zero, "dma_avail is the last capability");
        Assert.That(bytes[68..], Is.All.EqualTo(Fill));
    }

    [Test]
    public void Get_info_with_an_unwritable_capability_area_returns_EFAULT_and_leaves_the_struct()
    {
        // The capabilities are copied out before the struct.
        var h = new Type1Harness();
        ulong at = h.Arg + Page - 24;
        var (ret, bytes) = GetInfo(h, Required, at);
        Assert.That(ret, Is.EqualTo(-Errno.EFAULT));
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(bytes), Is.EqualTo(Required));
        Assert.That(bytes[4..], Is.All.EqualTo(Fill));
    }

    [Test]
    public void Get_info_reads_only_16_bytes()
    {
        var h = new Type1Harness();
        ulong at = h.Arg + Page - 16;
        var (ret, bytes) = GetInfo(h, 16, at);
        Assert.That(ret, Is.Zero);
        Assert.That(bytes, Is.EqualTo(Expected(Required)[..16]));
    }
}
