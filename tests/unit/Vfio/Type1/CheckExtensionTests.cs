using VfioSim.Uapi;
using VfioSim.Vfio;

namespace VfioSim.Tests.Unit.Type1;

/// <summary>VFIO_CHECK_EXTENSION answered by vfio_iommu_type1_check_extension(); values measured on 6.12 (REPORT.md §4).</summary>
public class CheckExtensionTests
{
    [TestCase(VfioUapi.TYPE1_IOMMU, 1)]
    [TestCase(VfioUapi.TYPE1v2_IOMMU, 1)]
    [TestCase(VfioUapi.TYPE1_NESTING_IOMMU, 1)]
    [TestCase(VfioUapi.DMA_CC_IOMMU, 0)]
    [TestCase(VfioUapi.NOIOMMU_IOMMU, 0)]
    [TestCase(VfioUapi.UNMAP_ALL, 1)]
    [TestCase(VfioUapi.UPDATE_VADDR, 0)]
    [TestCase(VfioUapi.SPAPR_TCE_IOMMU, 0)]
    [TestCase(1234u, 0)]
    public void Check_extension_before_set_iommu_answers_as_measured(uint extension, int expected)
    {
        Assert.That(Type1Iommu.CheckExtension(null, extension), Is.EqualTo(expected));
    }

    [Test]
    public void Update_vaddr_is_available_once_the_backend_is_set()
    {
        var h = new Type1Harness();
        Assert.That(h.Ioctl(VfioUapi.CHECK_EXTENSION, VfioUapi.UPDATE_VADDR), Is.EqualTo(1));
    }

    [Test]
    public void Dma_cc_is_0_with_a_vt_d_domain_without_snoop_control()
    {
        var h = new Type1Harness();
        Assert.That(h.Ioctl(VfioUapi.CHECK_EXTENSION, VfioUapi.DMA_CC_IOMMU), Is.Zero);
    }

    [Test]
    public void Dma_cc_is_1_when_every_domain_enforces_coherency()
    {
        var h = new Type1Harness(attach: false);
        Assert.That(h.Iommu.AttachGroup(h.Group with { EnforceCacheCoherency = true }), Is.Zero);
        Assert.That(h.Ioctl(VfioUapi.CHECK_EXTENSION, VfioUapi.DMA_CC_IOMMU), Is.EqualTo(1));
    }

    [Test]
    public void An_unknown_request_returns_ENOTTY()
    {
        var h = new Type1Harness();
        Assert.That(h.Ioctl(VfioUapi.DEVICE_RESET, 0), Is.EqualTo(-Errno.ENOTTY));
    }
}
