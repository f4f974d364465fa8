using VfioSim.Cli.Lspci;

namespace VfioSim.Tests.Unit.Lspci;

/// <summary>Name lookups formatted as pciutils' pci_lookup_name() formats them.</summary>
public class PciNamesTests
{
    private static PciNames Names => PciNames.Default;

    [Test]
    public void Known_subclass_is_named_alone_unless_numbers_are_asked_for()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Names.Class(0x0604, IdDisplay.Names), Is.EqualTo("PCI bridge"));
            Assert.That(Names.Class(0x0604, IdDisplay.Both), Is.EqualTo("PCI bridge [0604]"));
            Assert.That(Names.Class(0x0604, IdDisplay.Numeric), Is.EqualTo("0604"));
        });
    }

    [Test]
    public void Class_known_only_by_its_base_class_always_shows_the_number()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Names.Class(0x00ff, IdDisplay.Names), Is.EqualTo("Unclassified device [00ff]"));
            Assert.That(Names.Class(0x0d42, IdDisplay.Both), Is.EqualTo("Wireless controller [0d42]"));
        });
    }

    [Test]
    public void Unknown_class_is_called_class_and_its_number()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Names.Class(0x1400, IdDisplay.Names), Is.EqualTo("Class 1400"));
            Assert.That(Names.Class(0x1400, IdDisplay.Both), Is.EqualTo("Class [1400]"));
        });
    }

    [Test]
    public void Device_of_a_known_vendor_without_a_name_is_vendor_device_and_its_id()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Names.Device(0x15b3, 0xf00d, IdDisplay.Names), Is.EqualTo("Mellanox Technologies Device f00d"));
            Assert.That(Names.Device(0x15b3, 0xf00d, IdDisplay.Both), Is.EqualTo("Mellanox Technologies Device [15b3:f00d]"));
        });
    }

    [Test]
    public void Device_of_an_unknown_vendor_is_device_and_both_ids()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Names.Device(0x1234, 0x11e8, IdDisplay.Names), Is.EqualTo("Device 1234:11e8"));
            Assert.That(Names.Device(0x1234, 0x11e8, IdDisplay.Both), Is.EqualTo("Device [1234:11e8]"));
            Assert.That(Names.Device(0x1234, 0x11e8, IdDisplay.Numeric), Is.EqualTo("1234:11e8"));
        });
    }

    [Test]
    public void Catalogued_qemu_devices_carry_the_names_lspci_printed_for_them()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Names.Device(0x1b36, 0x000c, IdDisplay.Names), Is.EqualTo("Red Hat, Inc. QEMU PCIe Root port"));
            Assert.That(Names.Device(0x1af4, 0x1044, IdDisplay.Names), Is.EqualTo("Red Hat, Inc. Virtio 1.0 RNG"));
            Assert.That(Names.Device(0x1b36, 0x000e, IdDisplay.Names), Is.EqualTo("Red Hat, Inc. Device 000e"));
            Assert.That(Names.Subsystem(0x8086, 0x2918, 0x1af4, 0x1100, IdDisplay.Names), Is.EqualTo("Red Hat, Inc. QEMU Virtual Machine"));
            Assert.That(Names.Subsystem(0x1234, 0x11e8, 0x1af4, 0x1100, IdDisplay.Names), Is.EqualTo("Red Hat, Inc. Device 1100"));
        });
    }

    [Test]
    public void Subsystem_equal_to_the_device_is_named_like_the_device()
    {
        Assert.That(Names.Subsystem(0x1b36, 0x000c, 0x1b36, 0x000c, IdDisplay.Names), Is.EqualTo("Red Hat, Inc. QEMU PCIe Root port"));
    }

    [Test]
    public void Prog_if_names_come_from_the_class_table_even_when_numbers_are_shown()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Names.ProgIf(0x0604, 0x01), Is.EqualTo("Subtractive decode"));
            Assert.That(Names.ProgIf(0x0108, 0x02), Is.EqualTo("NVM Express"));
            Assert.That(Names.ProgIf(0x00ff, 0x00), Is.Null);
            Assert.That(Names.ProgIf(0x0101, 0x8a), Is.EqualTo("ISA Compatibility mode controller, supports both channels switched to PCI native mode, supports bus mastering"));
            Assert.That(Names.ProgIf(0x0101, 0x83), Is.EqualTo("Master PriP PriO"), "IDE bits spelled out when pci.ids has no entry");
        });
    }
}
