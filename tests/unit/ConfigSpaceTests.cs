using VfioSim.Pci;
using VfioSim.Pci.Devices;

namespace VfioSim.Tests.Unit;

public class ConfigSpaceTests
{
    [Test]
    public void Extended_space_never_set_reads_as_zero()
    {
        var cs = new ConfigSpace(ConfigSpace.ExtendedSize);
        cs.Set16(0, 0x1b36);
        Assert.That(Enumerable.Range(0x100, 0xf00 / 4).Select(i => cs.Read32(0x100 + 4 * (i - 0x100))), Is.All.EqualTo(0u));
    }

    [Test]
    public void Read_past_the_size_is_all_ones()
    {
        Assert.That(new ConfigSpace(ConfigSpace.ConventionalSize).Read32(0x100), Is.EqualTo(0xffffffffu));
    }

    [Test]
    public void Guest_write_changes_only_writable_bits_far_into_the_extended_space()
    {
        var cs = new ConfigSpace(ConfigSpace.ExtendedSize);
        cs.Set32(0xff0, 0x12345678);
        cs.SetWritable(0xff0, 4, 0x0000ffff);
        cs.Write32(0xff0, 0xaaaaaaaa);
        Assert.That(cs.Read32(0xff0), Is.EqualTo(0x1234aaaau));
    }

    [Test]
    public void Guest_write_to_a_space_without_masks_changes_nothing()
    {
        var cs = new ConfigSpace(ConfigSpace.ExtendedSize);
        cs.Write32(0x800, 0xffffffff);
        Assert.That(cs.Read32(0x800), Is.Zero);
    }

    [Test]
    public void Changing_the_masks_of_one_function_leaves_another_of_the_same_model_alone()
    {
        // Functions of one model share their mask arrays until one of them changes.
        var a = GenericDevice.Create(new GenericDeviceSpec()).Config;
        var b = GenericDevice.Create(new GenericDeviceSpec()).Config;
        a.SetWritable(PciRegs.Command, 2, 0);
        b.Write16(PciRegs.Command, 0x0006);
        Assert.Multiple(() =>
        {
            Assert.That(a.WritableMask(PciRegs.Command, 2), Is.Zero);
            Assert.That(b.Read16(PciRegs.Command), Is.EqualTo(0x0006));
        });
    }

    [Test]
    public void Capability_walk_stops_on_a_loop()
    {
        var cs = new ConfigSpace(ConfigSpace.ConventionalSize);
        cs.Set16(PciRegs.Status, PciRegs.StatusCapList);
        cs.Set8(PciRegs.CapabilityList, 0x40);
        cs.Set16(0x40, 0x4001); // PM capability pointing at itself
        Assert.That(cs.Capabilities().Count(), Is.EqualTo(48)); // PCI_FIND_CAP_TTL
    }
}
