using VfioSim.Tests.Unit.VfioScenarios;
using VfioSim.Uapi;

namespace VfioSim.Tests.Unit.VfioDeviceFd;

/// <summary>The name VFIO_GROUP_GET_DEVICE_FD takes for a vfio-pci device (vfio_pci_core_match()), on the default machine's edu.</summary>
public class DeviceNameTests
{
    private const string Edu = "0000:01:00.0", Token = "2f4e3d1c-5b6a-4789-8a9b-0c1d2e3f4a5b";

    private static VfioScenario EduOnVfio()
    {
        var s = new VfioScenario();
        Assert.That(s.BindToVfio(Edu), Is.Zero);
        return s;
    }

    [TestCase(Edu + "x")]
    [TestCase(Edu + "\tvf_token=" + Token)]
    [TestCase("0000:01:00")]
    public void A_name_that_is_not_the_pci_name_or_followed_by_a_space_matches_nothing_ENODEV(string name) =>
        Assert.That(EduOnVfio().GetDeviceFd(Edu, name), Is.EqualTo(-Errno.ENODEV));

    [Test]
    public void Trailing_spaces_after_the_pci_name_still_match() =>
        Assert.That(EduOnVfio().GetDeviceFd(Edu, Edu + "   "), Is.GreaterThanOrEqualTo(0));

    [TestCase(" foo=1", TestName = "An_unknown_option_is_EINVAL")]
    [TestCase(" vf_token=" + Token + " vf_token=" + Token, TestName = "A_duplicate_vf_token_is_EINVAL")]
    [TestCase(" vf_token=2f4e3d1c-5b6a-4789-8a9b", TestName = "A_truncated_uuid_is_EINVAL")]
    [TestCase(" vf_token=2f4e3d1c-5b6a-4789-8a9b-0c1d2e3f4a5g", TestName = "A_uuid_with_a_non_hex_digit_is_EINVAL")]
    [TestCase(" vf_token=2f4e3d1c55b6a-4789-8a9b-0c1d2e3f4a5b", TestName = "A_uuid_without_its_dashes_is_EINVAL")]
    [TestCase(" vf_token=" + Token + "x", TestName = "Text_glued_to_the_uuid_is_EINVAL")]
    public void Bad_options_are_EINVAL(string options) =>
        Assert.That(EduOnVfio().GetDeviceFd(Edu, Edu + options), Is.EqualTo(-Errno.EINVAL));
}
