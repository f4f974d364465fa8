namespace VfioSim.Tests.Unit.Drivers;

/// <summary>new_id and remove_id (drivers/pci/pci-driver.c): dynamic IDs and the binding new_id starts.</summary>
public class DynamicIdTests
{
    private const string VfioPci = "/sys/bus/pci/drivers/vfio-pci/";

    private static IEnumerable<string> BoundTo(Vfio.Machine m, string driver) =>
        m.Drivers.DevicesBoundTo(m.Drivers.Find(driver)!).Select(d => d.Bdf.ToString());

    [Test]
    public void New_id_binds_every_unbound_matching_device()
    {
        // shared/vm REPORT §4: "echo 1234 11e8 > new_id" binds all 16 edu functions.
        var m = DriverMachines.Q1();
        m.Sysfs.Echo(VfioPci + "new_id", "1234 11e8\n");
        var edus = m.Topology.Functions.Where(f => f.VendorId == 0x1234 && f.DeviceId == 0x11e8).Select(f => f.Bdf.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(BoundTo(m, "vfio-pci"), Is.EquivalentTo(edus));
            Assert.That(BoundTo(m, "vfio-pci").Count(), Is.EqualTo(16));
            Assert.That(m.Sysfs.DriverLink("0000:08:01.0"), Is.EqualTo("vfio-pci"));
        });
    }

    [Test]
    public void New_id_does_not_take_devices_bound_to_another_driver()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo(VfioPci + "new_id", "1af4 1044");
        Assert.That(m.Sysfs.DriverLink("0000:0e:00.1"), Is.EqualTo("virtio-pci"));
    }

    [Test]
    public void New_id_matching_an_existing_dynamic_id_is_EEXIST()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo(VfioPci + "new_id", "1234 11e8");
        Assert.That(m.Sysfs.WriteErrno(VfioPci + "new_id", "1234 11e8"), Is.EqualTo("EEXIST"));
    }

    [Test]
    public void New_id_that_the_static_table_already_matches_is_EEXIST()
    {
        // nvme matches class 010802; the probe device new_id builds carries the written class.
        Assert.That(DriverMachines.Q1().Sysfs.WriteErrno("/sys/bus/pci/drivers/nvme/new_id", "1b36 0010 ffffffff ffffffff 010802"),
            Is.EqualTo("EEXIST"));
    }

    [Test]
    public void New_id_with_all_seven_fields_skips_the_EEXIST_check()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo(VfioPci + "new_id", "1234 11e8");
        Assert.That(m.Sysfs.WriteErrno(VfioPci + "new_id", "1234 11e8 ffffffff ffffffff 0 0 0"), Is.EqualTo("errno 0"));
    }

    [TestCase("")]
    [TestCase("1234")]
    [TestCase("1234,11e8")]
    [TestCase("vendor device")]
    public void New_id_with_fewer_than_two_hex_fields_is_EINVAL(string text)
    {
        Assert.That(DriverMachines.Q1().Sysfs.WriteErrno(VfioPci + "new_id", text + "\n"), Is.EqualTo("EINVAL"));
    }

    [Test]
    public void New_id_fields_may_carry_0x_and_extra_spaces()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo(VfioPci + "new_id", "  0x1234\t0X11E8 \n");
        Assert.That(m.Sysfs.DriverLink("0000:01:00.0"), Is.EqualTo("vfio-pci"));
    }

    [Test]
    public void New_id_with_a_driver_data_no_table_entry_has_is_EINVAL()
    {
        Assert.That(DriverMachines.Q1().Sysfs.WriteErrno(VfioPci + "new_id", "1234 11e8 ffffffff ffffffff 0 0 1"), Is.EqualTo("EINVAL"));
    }

    [Test]
    public void New_id_of_pci_stub_accepts_any_driver_data_because_it_has_no_table()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo("/sys/bus/pci/drivers/pci-stub/new_id", "1234 11e8 ffffffff ffffffff 0 0 5");
        Assert.That(m.Sysfs.DriverLink("0000:01:00.0"), Is.EqualTo("pci-stub"));
    }

    [Test]
    public void New_id_with_a_class_mask_matches_by_class()
    {
        // Any vendor and device, class 00ff00 (edu's "unassigned" class).
        var m = DriverMachines.Q1();
        m.Sysfs.Echo("/sys/bus/pci/drivers/pci-stub/new_id", "ffffffff ffffffff ffffffff ffffffff 00ff00 ffffff");
        Assert.Multiple(() =>
        {
            Assert.That(BoundTo(m, "pci-stub").Count(), Is.EqualTo(16));
            Assert.That(m.Sysfs.DriverLink("0000:0e:00.1"), Is.EqualTo("virtio-pci"), "the rng (class 00ff00 too) keeps its driver");
        });
    }

    [Test]
    public void New_id_with_a_subsystem_that_differs_binds_nothing()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo(VfioPci + "new_id", "1234 11e8 abcd abcd");
        Assert.That(BoundTo(m, "vfio-pci"), Is.Empty);
    }

    [Test]
    public void Remove_id_forgets_the_id_but_leaves_bound_devices_bound()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo(VfioPci + "new_id", "1234 11e8");
        m.Sysfs.Echo(VfioPci + "remove_id", "1234 11e8");
        Assert.Multiple(() =>
        {
            Assert.That(m.Drivers.Find("vfio-pci")!.DynamicIds, Is.Empty);
            Assert.That(m.Sysfs.DriverLink("0000:01:00.0"), Is.EqualTo("vfio-pci"));
        });
    }

    [Test]
    public void After_remove_id_an_unbound_device_no_longer_matches()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo(VfioPci + "new_id", "1234 11e8");
        m.Sysfs.Echo(VfioPci + "remove_id", "1234 11e8");
        m.Sysfs.Echo(VfioPci + "unbind", "0000:01:00.0");
        Assert.That(m.Sysfs.WriteErrno(VfioPci + "bind", "0000:01:00.0"), Is.EqualTo("ENODEV"));
    }

    [Test]
    public void Remove_id_of_an_id_never_added_is_ENODEV()
    {
        Assert.That(DriverMachines.Q1().Sysfs.WriteErrno(VfioPci + "remove_id", "1234 11e8"), Is.EqualTo("ENODEV"));
    }

    [Test]
    public void Remove_id_with_fewer_than_two_fields_is_EINVAL()
    {
        Assert.That(DriverMachines.Q1().Sysfs.WriteErrno(VfioPci + "remove_id", "1234"), Is.EqualTo("EINVAL"));
    }

    [Test]
    public void Remove_id_matches_subsystem_ids_only_when_given()
    {
        var m = DriverMachines.Q1();
        m.Sysfs.Echo(VfioPci + "new_id", "1234 11e8 1af4 1100");
        Assert.Multiple(() =>
        {
            Assert.That(m.Sysfs.WriteErrno(VfioPci + "remove_id", "1234 11e8 1af4 1101"), Is.EqualTo("ENODEV"));
            Assert.That(m.Sysfs.WriteErrno(VfioPci + "remove_id", "1234 11e8"), Is.EqualTo("errno 0"));
        });
    }
}
