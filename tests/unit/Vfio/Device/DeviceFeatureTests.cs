using VfioSim.Pci;
using VfioSim.Tests.Unit.Sysfs;
using VfioSim.Tests.Unit.VfioScenarios;
using VfioSim.Uapi;

namespace VfioSim.Tests.Unit.VfioDeviceFd;

/// <summary>VFIO_DEVICE_FEATURE's core checks (vfio_ioctl_device_feature(), vfio_check_feature()) and PCI_VF_TOKEN.</summary>
public class DeviceFeatureTests
{
    private const uint Get = VfioUapi.DEVICE_FEATURE_GET, Set = VfioUapi.DEVICE_FEATURE_SET, Probe = VfioUapi.DEVICE_FEATURE_PROBE;
    private const uint VfToken = VfioUapi.DEVICE_FEATURE_PCI_VF_TOKEN;

    private static long Feature(VfioScenario s, int fd, uint argsz, uint flags)
    {
        s.Arg.Put(new VfioDeviceFeature { Argsz = argsz, Flags = flags });
        return s.Process.Ioctl(fd, VfioUapi.DEVICE_FEATURE, s.Arg.Address);
    }

    private static (VfioScenario S, int Fd) Open(string bdf, bool q2)
    {
        var s = q2 ? new VfioScenario(SysfsMachines.Q2()) : new VfioScenario();
        Assert.That(s.BindToVfio(bdf), Is.Zero);
        return (s, s.DeviceFd(bdf));
    }

    private static (VfioScenario S, int Fd) SriovPf() => Open("0000:08:00.0", q2: true);
    private static (VfioScenario S, int Fd) Edu() => Open("0000:01:00.0", q2: false);

    [Test]
    public void Argsz_below_8_is_EINVAL()
    {
        var (s, fd) = SriovPf();
        Assert.That(Feature(s, fd, 7, Probe | Set | VfToken), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Unknown_flags_are_EINVAL()
    {
        var (s, fd) = SriovPf();
        Assert.That(Feature(s, fd, 24, Set | VfToken | (1u << 19)), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Get_and_set_together_without_probe_are_EINVAL()
    {
        var (s, fd) = SriovPf();
        Assert.That(Feature(s, fd, 24, Get | Set | VfToken), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void An_unknown_feature_is_ENOTTY()
    {
        var (s, fd) = SriovPf();
        Assert.That(Feature(s, fd, 8, Probe | Set | 42), Is.EqualTo(-Errno.ENOTTY));
    }

    [Test]
    public void Probe_of_vf_token_set_on_an_sriov_pf_is_0()
    {
        var (s, fd) = SriovPf();
        Assert.That(Feature(s, fd, 8, Probe | Set | VfToken), Is.Zero);
    }

    [Test]
    public void Vf_token_get_is_EINVAL_even_with_probe()
    {
        var (s, fd) = SriovPf();
        Assert.Multiple(() =>
        {
            Assert.That(Feature(s, fd, 24, Get | VfToken), Is.EqualTo(-Errno.EINVAL));
            Assert.That(Feature(s, fd, 8, Probe | Get | VfToken), Is.EqualTo(-Errno.EINVAL));
        });
    }

    [Test]
    public void Vf_token_without_get_or_set_is_EINVAL()
    {
        var (s, fd) = SriovPf();
        Assert.That(Feature(s, fd, 24, VfToken), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Vf_token_set_with_less_than_16_bytes_of_data_is_EINVAL()
    {
        var (s, fd) = SriovPf();
        Assert.That(Feature(s, fd, 8 + 15, Set | VfToken), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Vf_token_on_a_device_that_is_not_an_sriov_pf_is_ENOTTY()
    {
        var (s, fd) = Edu();
        Assert.That(Feature(s, fd, 8, Probe | Set | VfToken), Is.EqualTo(-Errno.ENOTTY));
    }

    [Test]
    public void Vf_token_set_makes_the_vfs_open_with_that_token()
    {
        var (s, fd) = SriovPf();
        var token = Guid.Parse("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0");
        Assert.That(VfTokenTests.SetToken(s, fd, token), Is.Zero);
        Assert.That(Sriov.SetNumVfs(s.Machine.Topology, s.Dev("0000:08:00.0"), 1, out _), Is.EqualTo(SriovStatus.Ok));
        Assert.That(s.GetDeviceFd("0000:08:00.1", $"0000:08:00.1 vf_token={token}"), Is.GreaterThanOrEqualTo(0));
    }
}
