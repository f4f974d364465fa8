using VfioSim.Uapi;
using System.Globalization;
using VfioSim.Iommu;
using VfioSim.Vfio;

namespace VfioSim.Tests.Unit.Sysfs;

/// <summary>/sys/kernel/iommu_groups as drivers/iommu/iommu.c shows it.</summary>
public class IommuGroupSysfsTests
{
    private static readonly Machine Q1 = SysfsMachines.Q1();

    [Test]
    public void Q1_iommu_groups_directory_holds_exactly_the_measured_groups_and_members()
    {
        var expected = File.ReadAllLines(SysfsMachines.Data("q1.groups"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split(':', 2))
            .ToDictionary(p => p[0], p => p[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var groups = Q1.Sysfs.Ls("/sys/kernel/iommu_groups");
        Assert.That(groups, Is.EquivalentTo(expected.Keys));
        Assert.Multiple(() =>
        {
            foreach (var (id, members) in expected)
                Assert.That(Q1.Sysfs.Ls($"/sys/kernel/iommu_groups/{id}/devices"), Is.EquivalentTo(members), $"group {id}");
        });
    }

    [Test]
    public void Group_directory_has_devices_reserved_regions_and_type()
    {
        Assert.That(Q1.Sysfs.Ls("/sys/kernel/iommu_groups/13"), Is.EquivalentTo(new[] { "devices", "reserved_regions", "type" }));
    }

    [Test]
    public void Group_type_is_identity_with_iommu_pt()
    {
        Assert.That(Q1.Sysfs.Cat("/sys/kernel/iommu_groups/13/type"), Is.EqualTo("identity\n"));
    }

    // QEMU's VT-d with caching-mode=on forces strict invalidation ("IOMMU batching disallowed due to
    // virtualization"): DMA; bare-metal x86 defaults to lazy invalidation (CONFIG_IOMMU_DEFAULT_DMA_LAZY): DMA-FQ.
    [TestCase(true, "DMA\n")]
    [TestCase(false, "DMA-FQ\n")]
    public void Group_type_without_iommu_pt_is_a_dma_domain_strict_or_lazy(bool dmaStrict, string expected)
    {
        var m = SysfsMachines.FromText("""
            -append "intel_iommu=on"
            -device edu,bus=pcie.0,addr=02.0
            """, dmaStrict);
        Assert.That(m.Sysfs.Cat("/sys/kernel/iommu_groups/1/type"), Is.EqualTo(expected));
    }

    [Test]
    public void Reserved_regions_of_a_group_show_the_vt_d_msi_window()
    {
        Assert.That(Q1.Sysfs.Cat("/sys/kernel/iommu_groups/13/reserved_regions"),
            Is.EqualTo("0x00000000fee00000 0x00000000feefffff msi\n"));
    }

    [Test]
    public void Reserved_regions_of_the_isa_bridge_group_start_with_the_floppy_direct_relaxable_region()
    {
        // Group 12 holds the ICH9 LPC bridge (class 0x0601): CONFIG_INTEL_IOMMU_FLOPPY_WA adds 0-16 MiB.
        Assert.That(Q1.Sysfs.Cat("/sys/kernel/iommu_groups/12/reserved_regions"), Is.EqualTo(
            "0x0000000000000000 0x0000000000ffffff direct-relaxable\n" +
            "0x00000000fee00000 0x00000000feefffff msi\n"));
    }

    [Test]
    public void Machine_without_an_iommu_has_an_empty_iommu_groups_directory()
    {
        var m = SysfsMachines.FromText("""
            -append "intel_iommu=off"
            -device pcie-root-port,id=rp,bus=pcie.0,addr=02.0,chassis=1,slot=1
            -device edu,bus=rp,addr=00.0
            """);
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.Ls("/sys/kernel/iommu_groups"), Is.Empty);
            Assert.That(m.Sysfs.ReadLink("/sys/bus/pci/devices/0000:01:00.0/iommu_group").Errno, Is.EqualTo(Errno.ENOENT));
        });
    }

    [Test]
    public void Merging_keeps_regions_sorted_and_joins_overlapping_or_adjacent_ones_of_a_type()
    {
        var regions = new List<ResvRegion>();
        ReservedRegions.Insert(regions, new ResvRegion(0x2000, 0x1000, ResvRegionType.Msi));
        ReservedRegions.Insert(regions, new ResvRegion(0x1000, 0x1000, ResvRegionType.Msi));      // adjacent below
        ReservedRegions.Insert(regions, new ResvRegion(0x1800, 0x100, ResvRegionType.Reserved)); // other type: kept
        ReservedRegions.Insert(regions, new ResvRegion(0x5000, 0x1000, ResvRegionType.Msi));      // gap: kept apart
        Assert.That(regions.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Start:x}-{r.End:x} {r.TypeName}")), Is.EqualTo(new[]
        {
            "1000-2fff msi",
            "1800-18ff reserved",
            "5000-5fff msi",
        }));
    }
}
