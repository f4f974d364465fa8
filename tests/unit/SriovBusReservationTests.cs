using VfioSim.Pci;
using VfioSim.Pci.Devices;

namespace VfioSim.Tests.Unit;

/// <summary>
/// PciTopology.ReserveSriovBusNumbers: firmware leaves bus numbers for VFs as pci_iov_bus_range() computes them.
/// A PF at devfn 0 with offset 1 and stride 1 puts VF 255 (the 256th) on the next bus number.
/// </summary>
public class SriovBusReservationTests
{
    private sealed record Machine(PciTopology Topology, PciFunction Port, PciFunction Pf, PciFunction NextPort);

    /// <summary>Root port 00:02.0 with a PF of <paramref name="totalVfs"/> VFs, then root port 00:03.0 with an endpoint.</summary>
    private static Machine Build(bool reserve, ushort totalVfs = 256, ushort offset = 1)
    {
        var t = new PciTopology { ReserveSriovBusNumbers = reserve };
        var root = t.AddRootBus(0, 0, "pcie.0");
        var port = t.Plug(root, 2 << 3, GenericDevice.Create(new GenericDeviceSpec { Kind = FunctionKind.RootPort, AcsCapability = 0x5f }));
        var pf = t.Plug(port.Secondary!, 0, GenericDevice.Create(new GenericDeviceSpec { Sriov = new SriovSpec(totalVfs, offset, 1) }));
        var next = t.Plug(root, 3 << 3, GenericDevice.Create(new GenericDeviceSpec { Kind = FunctionKind.RootPort, AcsCapability = 0x5f }));
        t.Plug(next.Secondary!, 0, GenericDevice.Create(new GenericDeviceSpec()));
        t.Boot();
        return new Machine(t, port, pf, next);
    }

    [Test]
    public void Reservation_is_off_by_default_as_on_seabios()
    {
        Assert.That(new PciTopology().ReserveSriovBusNumbers, Is.False);
    }

    [Test]
    public void Without_reservation_vfs_past_the_bridge_bus_range_are_refused()
    {
        var m = Build(reserve: false);
        Assert.Multiple(() =>
        {
            Assert.That(m.Port.Secondary!.Subordinate, Is.EqualTo(1));
            Assert.That(Sriov.SetNumVfs(m.Topology, m.Pf, 256, out _), Is.EqualTo(SriovStatus.NoMemory));
        });
    }

    [Test]
    public void With_reservation_the_bridge_range_covers_the_bus_of_the_last_vf()
    {
        var m = Build(reserve: true);
        Assert.Multiple(() =>
        {
            Assert.That(m.Port.Secondary!.Number, Is.EqualTo(1));
            Assert.That(m.Port.Secondary!.Subordinate, Is.EqualTo(2));
            Assert.That(m.Port.Config.Read8(PciRegs.SubordinateBus), Is.EqualTo(2));
        });
    }

    [Test]
    public void With_reservation_later_bridges_are_numbered_after_the_reserved_bus()
    {
        Assert.That(Build(reserve: true).NextPort.Secondary!.Number, Is.EqualTo(3));
    }

    [Test]
    public void With_reservation_256_vfs_are_enabled_the_last_on_the_reserved_bus()
    {
        var m = Build(reserve: true);
        Assert.Multiple(() =>
        {
            Assert.That(Sriov.SetNumVfs(m.Topology, m.Pf, 256, out var added), Is.EqualTo(SriovStatus.Ok));
            Assert.That(added[^1].Bdf, Is.EqualTo(Bdf.Parse("0000:02:00.0")));
        });
    }

    [Test]
    public void Vfs_within_the_pf_bus_reserve_nothing()
    {
        Assert.That(Build(reserve: true, totalVfs: 255).NextPort.Secondary!.Number, Is.EqualTo(2));
    }

    [Test]
    public void Pf_with_first_vf_offset_zero_reserves_nothing()
    {
        // compute_max_vf_buses() fails, so sriov_init() fails and the device is no PF.
        Assert.That(Build(reserve: true, offset: 0).NextPort.Secondary!.Number, Is.EqualTo(2));
    }
}
