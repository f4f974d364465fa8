using VfioSim.Pci;
using VfioSim.Pci.Devices;

namespace VfioSim.Tests.Unit;

public class GenericDeviceTests
{
    [Test]
    public void Sriov_capability_without_acs_is_reached_from_offset_0x100()
    {
        var pf = GenericDevice.Create(new GenericDeviceSpec { Sriov = new SriovSpec(4) });
        Assert.Multiple(() =>
        {
            Assert.That(pf.SriovCap, Is.EqualTo(0x120));
            Assert.That(pf.Config.ExtendedCapabilities().Select(c => c.Id), Is.EqualTo(new ushort[] { 0, PciRegs.ExtCapIdSriov }));
        });
    }

    [Test]
    public void Extended_capabilities_are_chained_in_offset_order()
    {
        var f = GenericDevice.Create(new GenericDeviceSpec { AcsCapability = 0x1f, AriNextFunction = 1, Sriov = new SriovSpec(4) });
        Assert.That(f.Config.ExtendedCapabilities().Select(c => (c.Offset, c.Id)),
            Is.EqualTo(new[] { (0x100, PciRegs.ExtCapIdAcs), (0x110, PciRegs.ExtCapIdAri), (0x120, PciRegs.ExtCapIdSriov) }));
    }
}
