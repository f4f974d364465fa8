using VfioSim.Uapi;

namespace VfioSim.Tests.Unit.Uapi;

/// <summary>Request numbers as vfio-abi §2 lists them for x86_64 (_IO(';', nr) = 0x3B00 | nr).</summary>
public class IoctlNumberTests
{
    private static IEnumerable<TestCaseData> Numbers()
    {
        yield return new TestCaseData(VfioUapi.GET_API_VERSION, 0x3B64u).SetName("VFIO_GET_API_VERSION is 0x3B64");
        yield return new TestCaseData(VfioUapi.CHECK_EXTENSION, 0x3B65u).SetName("VFIO_CHECK_EXTENSION is 0x3B65");
        yield return new TestCaseData(VfioUapi.SET_IOMMU, 0x3B66u).SetName("VFIO_SET_IOMMU is 0x3B66");
        yield return new TestCaseData(VfioUapi.GROUP_GET_STATUS, 0x3B67u).SetName("VFIO_GROUP_GET_STATUS is 0x3B67");
        yield return new TestCaseData(VfioUapi.GROUP_GET_DEVICE_FD, 0x3B6Au).SetName("VFIO_GROUP_GET_DEVICE_FD is 0x3B6A");
        yield return new TestCaseData(VfioUapi.DEVICE_SET_IRQS, 0x3B6Eu).SetName("VFIO_DEVICE_SET_IRQS is 0x3B6E");
        yield return new TestCaseData(VfioUapi.IOMMU_GET_INFO, 0x3B70u).SetName("VFIO_IOMMU_GET_INFO is 0x3B70");
        yield return new TestCaseData(VfioUapi.IOMMU_MAP_DMA, 0x3B71u).SetName("VFIO_IOMMU_MAP_DMA is 0x3B71");
        yield return new TestCaseData(VfioUapi.IOMMU_UNMAP_DMA, 0x3B72u).SetName("VFIO_IOMMU_UNMAP_DMA is 0x3B72");
        yield return new TestCaseData(VfioUapi.EEH_PE_OP, 0x3B79u).SetName("VFIO_EEH_PE_OP is 0x3B79");
        yield return new TestCaseData(IommufdUapi.DESTROY, 0x3B80u).SetName("IOMMU_DESTROY is 0x3B80");
        yield return new TestCaseData(IommufdUapi.IOAS_MAP, 0x3B85u).SetName("IOMMU_IOAS_MAP is 0x3B85");
        yield return new TestCaseData(IommufdUapi.VFIO_IOAS, 0x3B88u).SetName("IOMMU_VFIO_IOAS is 0x3B88");
    }

    [TestCaseSource(nameof(Numbers))]
    public void Request_number_matches_the_x86_64_value(uint actual, uint expected) => Assert.That(actual, Is.EqualTo(expected));

    [Test]
    public void Region_offsets_put_the_index_above_bit_40()
    {
        Assert.Multiple(() =>
        {
            Assert.That(VfioUapi.PciIndexToOffset(VfioUapi.PCI_CONFIG_REGION_INDEX), Is.EqualTo(0x700_0000_0000UL));
            Assert.That(VfioUapi.PciOffsetToIndex(0x100_0000_0010UL), Is.EqualTo(1));
        });
    }

    [TestCase(22, "EINVAL")]
    [TestCase(-25, "ENOTTY")]
    [TestCase(4095, "errno 4095")]
    public void Errno_names_follow_linux(int errno, string name) => Assert.That(Errno.Name(errno), Is.EqualTo(name));
}
