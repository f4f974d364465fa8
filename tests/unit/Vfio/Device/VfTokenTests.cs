using VfioSim.Pci;
using VfioSim.Tests.Unit.Sysfs;
using VfioSim.Tests.Unit.VfioScenarios;
using VfioSim.Uapi;

namespace VfioSim.Tests.Unit.VfioDeviceFd;

/// <summary>
/// VFIO_GROUP_GET_DEVICE_FD names with <c>vf_token=UUID</c> (vfio_pci_core_match(), vfio_pci_validate_vf_token())
/// and the PF's token set by VFIO_DEVICE_FEATURE(PCI_VF_TOKEN) on q2's nvme PF 08:00.0 with one VF 08:00.1.
/// </summary>
public class VfTokenTests
{
    private const string Pf = "0000:08:00.0", Vf = "0000:08:00.1", Edu = "0000:01:00.0";
    private const string Token = "2f4e3d1c-5b6a-4789-8a9b-0c1d2e3f4a5b", Other = "11111111-2222-3333-4444-555555555555";

    /// <summary>PF on vfio-pci with one VF (which vfio-pci takes), the PF's token set to <see cref="Token"/>.</summary>
    private static (VfioScenario S, int PfFd) PfWithVf()
    {
        var s = new VfioScenario(SysfsMachines.Q2());
        Assert.That(s.BindToVfio(Pf), Is.Zero);
        Assert.That(Sriov.SetNumVfs(s.Machine.Topology, s.Dev(Pf), 1, out _), Is.EqualTo(SriovStatus.Ok));
        int pfFd = s.DeviceFd(Pf);
        Assert.That(SetToken(s, pfFd, Guid.Parse(Token)), Is.Zero);
        return (s, pfFd);
    }

    internal static long SetToken(VfioScenario s, int deviceFd, Guid token)
    {
        s.Arg.Put(new VfioDeviceFeature { Argsz = 24, Flags = VfioUapi.DEVICE_FEATURE_SET | VfioUapi.DEVICE_FEATURE_PCI_VF_TOKEN });
        s.Arg.PutBytes(token.ToByteArray(bigEndian: true), 8);
        return s.Process.Ioctl(deviceFd, VfioUapi.DEVICE_FEATURE, s.Arg.Address);
    }

    [Test]
    public void A_vf_of_a_vfio_pci_pf_without_a_token_is_EACCES()
    {
        var (s, _) = PfWithVf();
        Assert.That(s.GetDeviceFd(Vf, Vf), Is.EqualTo(-Errno.EACCES));
    }

    [Test]
    public void A_vf_of_a_vfio_pci_pf_with_a_wrong_token_is_EACCES()
    {
        var (s, _) = PfWithVf();
        Assert.That(s.GetDeviceFd(Vf, $"{Vf} vf_token={Other}"), Is.EqualTo(-Errno.EACCES));
    }

    [Test]
    public void A_vf_of_a_vfio_pci_pf_opens_with_the_token_set_on_the_pf_in_either_case()
    {
        var (s, _) = PfWithVf();
        Assert.That(s.GetDeviceFd(Vf, $"{Vf}  vf_token={Token.ToUpperInvariant()} "), Is.GreaterThanOrEqualTo(0));
    }

    [Test]
    public void A_pf_with_an_open_vf_needs_its_token()
    {
        var (s, _) = PfWithVf();
        Assert.That(s.GetDeviceFd(Vf, $"{Vf} vf_token={Token}"), Is.GreaterThanOrEqualTo(0));
        Assert.Multiple(() =>
        {
            Assert.That(s.GetDeviceFd(Pf, Pf), Is.EqualTo(-Errno.EACCES));
            Assert.That(s.GetDeviceFd(Pf, $"{Pf} vf_token={Other}"), Is.EqualTo(-Errno.EACCES));
            Assert.That(s.GetDeviceFd(Pf, $"{Pf} vf_token={Token}"), Is.GreaterThanOrEqualTo(0));
        });
    }

    [Test]
    public void A_token_given_when_opening_a_pf_without_vf_users_becomes_its_token()
    {
        var (s, _) = PfWithVf();
        Assert.That(s.GetDeviceFd(Pf, $"{Pf} vf_token={Other}"), Is.GreaterThanOrEqualTo(0));
        Assert.Multiple(() =>
        {
            Assert.That(s.GetDeviceFd(Vf, $"{Vf} vf_token={Token}"), Is.EqualTo(-Errno.EACCES));
            Assert.That(s.GetDeviceFd(Vf, $"{Vf} vf_token={Other}"), Is.GreaterThanOrEqualTo(0));
        });
    }

    [Test]
    public void A_token_for_a_device_that_is_neither_pf_nor_vf_is_EINVAL()
    {
        var s = new VfioScenario();
        Assert.That(s.BindToVfio(Edu), Is.Zero);
        Assert.That(s.GetDeviceFd(Edu, $"{Edu} vf_token={Token}"), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void A_token_for_a_vf_whose_pf_is_not_on_vfio_pci_is_EINVAL()
    {
        var s = new VfioScenario(SysfsMachines.Q2());
        Assert.That(Sriov.SetNumVfs(s.Machine.Topology, s.Dev(Pf), 1, out _), Is.EqualTo(SriovStatus.Ok)); // PF stays on nvme
        Assert.That(s.BindToVfio(Vf), Is.Zero);
        Assert.Multiple(() =>
        {
            Assert.That(s.GetDeviceFd(Vf, $"{Vf} vf_token={Token}"), Is.EqualTo(-Errno.EINVAL));
            Assert.That(s.GetDeviceFd(Vf, Vf), Is.GreaterThanOrEqualTo(0));
        });
    }
}
