using VfioSim.Pci;
using VfioSim.Pci.Devices;
using VfioSim.Pci.Models;
using VfioSim.Tests.Unit.VfioScenarios;
using VfioSim.Uapi;

namespace VfioSim.Tests.Unit.VfioDeviceFd;

/// <summary>VFIO_DEVICE_PCI_HOT_RESET on a group-path device fd (vfio_pci_ioctl_pci_hot_reset_groups()).</summary>
public class HotResetTests
{
    private const string Edu = "0000:01:00.0", Nic0 = "0000:08:00.0", Nic1 = "0000:08:00.1", RootBusNic = "0000:00:0a.0";
    private const string F0 = "0000:01:00.0", F1 = "0000:01:00.1";

    private sealed class ResetCounter : PciDeviceModel
    {
        public int Resets { get; private set; }
        public override IMmio? Bar(int index) => null;
        public override void Reset() => Resets++;
    }

    private static long HotReset(VfioScenario s, int deviceFd, uint flags, params int[] fds)
    {
        s.Arg.Put(new VfioPciHotReset { Argsz = (uint)(12 + 4 * fds.Length), Flags = flags, Count = (uint)fds.Length });
        for (int i = 0; i < fds.Length; i++) s.Arg.Put(fds[i], (ulong)(12 + 4 * i));
        return s.Process.Ioctl(deviceFd, VfioUapi.DEVICE_PCI_HOT_RESET, s.Arg.Address);
    }

    /// <summary>A root port with ACS at 00:08.0 and, below it on bus 01, a two-function endpoint whose models count resets.</summary>
    private static (PciTopology Topology, ResetCounter F0, ResetCounter F1) CountingPair()
    {
        var t = new PciTopology();
        var root = t.AddRootBus(0, 0, "pcie.0");
        var rp = t.Plug(root, 0x08 << 3, GenericDevice.Create(new GenericDeviceSpec { Kind = FunctionKind.RootPort, AcsCapability = 0x5f }));
        var c0 = new ResetCounter();
        var c1 = new ResetCounter();
        foreach (var (fn, counter) in new[] { (0, c0), (1, c1) })
        {
            var f = GenericDevice.Create(new GenericDeviceSpec { Multifunction = true });
            t.Plug(rp.Secondary!, (byte)fn, new PciFunction(f.Model, f.Config, f.Resources) { Device = counter });
        }
        t.Boot();
        return (t, c0, c1);
    }

    private static (VfioScenario S, int Dev) BothNicFunctionsBound()
    {
        var s = new VfioScenario();
        Assert.That(s.BindToVfio(Nic0), Is.Zero);
        Assert.That(s.BindToVfio(Nic1), Is.Zero);
        return (s, s.DeviceFd(Nic0));
    }

    [Test]
    public void Hot_reset_with_the_group_of_every_device_on_the_bus_resets_them_all()
    {
        var (t, c0, c1) = CountingPair();
        var s = new VfioScenario(t);
        Assert.That(s.BindToVfio(F0), Is.Zero);
        Assert.That(s.BindToVfio(F1), Is.Zero);
        int dev = s.DeviceFd(F0);
        int before0 = c0.Resets, before1 = c1.Resets; // opening the device fd may reset it (FLR) too
        Assert.Multiple(() =>
        {
            Assert.That(HotReset(s, dev, 0, s.GroupFd(F0)), Is.Zero);
            Assert.That((c0.Resets - before0, c1.Resets - before1), Is.EqualTo((1, 1)));
        });
    }

    [Test]
    public void Hot_reset_with_flags_is_EINVAL()
    {
        var (s, dev) = BothNicFunctionsBound();
        Assert.That(HotReset(s, dev, 1, s.GroupFd(Nic0)), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Hot_reset_with_argsz_below_12_is_EINVAL()
    {
        var (s, dev) = BothNicFunctionsBound();
        s.Arg.Put(new VfioPciHotReset { Argsz = 11, Count = 1 });
        s.Arg.Put(s.GroupFd(Nic0), 12);
        Assert.That(s.Process.Ioctl(dev, VfioUapi.DEVICE_PCI_HOT_RESET, s.Arg.Address), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Hot_reset_without_group_fds_is_EINVAL_on_a_group_path_fd()
    {
        var (s, dev) = BothNicFunctionsBound();
        Assert.That(HotReset(s, dev, 0), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Hot_reset_with_more_group_fds_than_affected_devices_is_EINVAL()
    {
        var (s, dev) = BothNicFunctionsBound();
        int g = s.GroupFd(Nic0);
        Assert.That(HotReset(s, dev, 0, g, g, g), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Hot_reset_with_a_closed_fd_is_EBADF()
    {
        var (s, dev) = BothNicFunctionsBound();
        Assert.That(HotReset(s, dev, 0, 999), Is.EqualTo(-Errno.EBADF));
    }

    [Test]
    public void Hot_reset_with_a_fd_that_is_not_a_group_is_EINVAL()
    {
        var (s, dev) = BothNicFunctionsBound();
        Assert.That(HotReset(s, dev, 0, s.ContainerFd), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Hot_reset_is_EINVAL_while_a_device_on_the_bus_is_not_bound_to_vfio_pci()
    {
        var (t, c0, _) = CountingPair();
        var s = new VfioScenario(t);
        Assert.That(s.BindToVfio(F0), Is.Zero); // F1 has no driver: the group stays viable, but F1 is not in the dev_set
        int dev = s.DeviceFd(F0);
        int before = c0.Resets;
        Assert.Multiple(() =>
        {
            Assert.That(HotReset(s, dev, 0, s.GroupFd(F0)), Is.EqualTo(-Errno.EINVAL));
            Assert.That(c0.Resets, Is.EqualTo(before));
        });
    }

    [Test]
    public void Hot_reset_is_EINVAL_when_no_given_group_holds_the_devices_of_the_bus()
    {
        var (s, dev) = BothNicFunctionsBound();
        Assert.That(s.BindToVfio(Edu), Is.Zero);
        Assert.That(HotReset(s, dev, 0, s.GroupFd(Edu)), Is.EqualTo(-Errno.EINVAL));
    }

    [Test]
    public void Hot_reset_of_a_device_on_a_root_bus_is_ENODEV()
    {
        var s = new VfioScenario();
        Assert.That(s.BindToVfio(RootBusNic), Is.Zero);
        int dev = s.DeviceFd(RootBusNic);
        Assert.That(HotReset(s, dev, 0, s.GroupFd(RootBusNic)), Is.EqualTo(-Errno.ENODEV));
    }
}
