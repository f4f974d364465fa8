using FsCheck.Fluent;
using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;
using VfioSim.Vfio;

namespace VfioSim.Tests.Property;

/// <summary>
/// Whatever the mappings, a DMA transaction through an unmanaged domain does exactly what translating each byte
/// on its own says: all bytes move to or from their targets, or (one page lacking) none move and one fault names
/// the first untranslatable byte.
/// </summary>
[TestFixture]
public class DmaTranslationProperties
{
    private const int Pages = 16, Page = 4096;
    private const ulong Base = 0x100000;

    private static readonly string Text = """
        -device pcie-root-port,id=rp,bus=pcie.0,addr=02.0,chassis=1,slot=1
        -device edu,bus=rp,addr=00.0
        """;

    /// <param name="layout">
    /// Byte i mod its length describes IOVA page i: bits 1:0 permission (0 = unmapped), bit 2 which target,
    /// bits 6:3 the target page. FsCheck keeps generated numbers small, so start and length are spread by hand.
    /// </param>
    [FsCheck.NUnit.Property(MaxTest = 300)]
    public FsCheck.Property Dma_moves_what_byte_by_byte_translation_says(byte[] layout, byte startPage, byte startOffset, byte length, bool write)
    {
        var m = new Machine(QemuMachineFile.Parse(Text).Boot());
        var edu = m.Topology.Get("0000:01:00.0");
        edu.Config.Write16(PciRegs.Command, PciRegs.CommandMaster);
        var targets = new[] { Fill(1), Fill(2) };
        var memory = targets.Select(t => new MemoryTarget(t)).ToArray(); // shared: runs over one target coalesce
        var domain = m.Iommu.AllocPagingDomain();
        m.Iommu.AttachGroup(domain, m.Groups.GroupOf(edu)!);
        for (int i = 0; i < Pages && layout.Length > 0; i++)
        {
            byte b = layout[i % layout.Length];
            var perm = (IommuPerm)(b & 3);
            if (perm != IommuPerm.None)
                domain.Map(Base + (ulong)(i * Page), memory[(b >> 2) & 1], (ulong)(((b >> 3) & 15) * Page), Page, perm);
        }

        ulong iova = Base + (ulong)(startPage % Pages * Page + startOffset * 41 % Page);
        int len = 1 + length * 97 % (3 * Page);
        var need = write ? IommuPerm.Write : IommuPerm.Read;
        // The model: each byte translated on its own; the first that cannot be is where the fault is.
        var where = new (byte[] Target, int Offset)[len];
        ulong? firstBad = null;
        for (int k = 0; k < len && firstBad is null; k++)
        {
            var t = domain.Translate(iova + (ulong)k);
            if (t is not { } x || (x.Perm & need) == 0) firstBad = iova + (ulong)k;
            else where[k] = (((MemoryTarget)x.Target).Memory, (int)x.Offset);
        }

        var before = targets.Select(t => t.ToArray()).ToArray();
        var data = Enumerable.Range(0, len).Select(k => (byte)(k * 7 + 3)).ToArray();
        var buffer = new byte[len];
        bool ok = write ? edu.Dma.Write(iova, data) : edu.Dma.Read(iova, buffer);

        if (firstBad is { } bad)
        {
            bool untouched = targets[0].AsSpan().SequenceEqual(before[0]) && targets[1].AsSpan().SequenceEqual(before[1]) && buffer.All(b => b == 0);
            var f = m.Iommu.Faults.SingleOrDefault();
            return (!ok && untouched && f is not null && f.FaultAddress == bad && f.Iova == iova && f.Length == len)
                .Label($"fault at 0x{bad:x}: ok={ok} untouched={untouched} fault={f}");
        }
        // Two IOVA pages may lead to one target page: the later byte of a write wins there, as in address order.
        var expected = before.Select(t => t.ToArray()).ToArray();
        for (int k = 0; k < len && write; k++) expected[where[k].Target == targets[0] ? 0 : 1][where[k].Offset] = data[k];
        bool moved = write
            ? targets[0].AsSpan().SequenceEqual(expected[0]) && targets[1].AsSpan().SequenceEqual(expected[1])
            : Enumerable.Range(0, len).All(k => buffer[k] == where[k].Target[where[k].Offset]);
        return (ok && moved && m.Iommu.Faults.Count == 0).Label($"no fault expected: ok={ok} moved={moved}");
    }

    private static byte[] Fill(int seed) => Enumerable.Range(0, Pages * Page).Select(i => (byte)(i * 13 + seed)).ToArray();
}
