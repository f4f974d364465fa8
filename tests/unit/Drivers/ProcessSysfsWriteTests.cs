using System.Text;
using VfioSim.Tests.Unit.Sysfs;
using VfioSim.Uapi;
using VfioSim.Vfio;

namespace VfioSim.Tests.Unit.Drivers;

/// <summary>The driver files written by a process: open(O_WRONLY), write(2), close, with the kernel's return values.</summary>
public class ProcessSysfsWriteTests
{
    private static long WriteFile(Machine m, string path, string text)
    {
        using var p = m.CreateProcess();
        int fd = p.Open(path, OpenFlags.WriteOnly);
        Assert.That(fd, Is.GreaterThanOrEqualTo(0), $"open {path}: {Errno.Name(fd)}");
        long n = p.Write(fd, Encoding.ASCII.GetBytes(text));
        Assert.That(p.Close(fd), Is.Zero);
        return n;
    }

    [Test]
    public void Writing_a_bdf_to_vfio_pci_bind_returns_the_count_and_binds_it()
    {
        var m = DriverMachines.Q1();
        Assert.That(WriteFile(m, "/sys/bus/pci/devices/0000:01:00.0/driver_override", "vfio-pci\n"), Is.EqualTo(9));
        Assert.That(WriteFile(m, "/sys/bus/pci/drivers/vfio-pci/bind", "0000:01:00.0\n"), Is.EqualTo(13));
        Assert.That(m.Sysfs.DriverLink("0000:01:00.0"), Is.EqualTo("vfio-pci"));
    }

    [Test]
    public void Write_returns_minus_ENODEV_for_a_device_vfio_pci_does_not_match()
    {
        Assert.That(WriteFile(DriverMachines.Q1(), "/sys/bus/pci/drivers/vfio-pci/bind", "0000:01:00.0"), Is.EqualTo(-Errno.ENODEV));
    }

    [Test]
    public void Write_returns_minus_EBUSY_for_a_bound_device()
    {
        var m = DriverMachines.Q1();
        WriteFile(m, "/sys/bus/pci/devices/0000:0e:00.1/driver_override", "vfio-pci");
        Assert.That(WriteFile(m, "/sys/bus/pci/drivers/vfio-pci/bind", "0000:0e:00.1"), Is.EqualTo(-Errno.EBUSY));
    }

    [Test]
    public void New_id_through_a_process_binds_every_edu()
    {
        var m = DriverMachines.Q1();
        Assert.That(WriteFile(m, "/sys/bus/pci/drivers/vfio-pci/new_id", "1234 11e8\n"), Is.EqualTo(10));
        Assert.That(m.Drivers.DevicesBoundTo(m.Drivers.Find("vfio-pci")!).Count(), Is.EqualTo(16));
    }

    [Test]
    public void Unbind_through_a_process_then_reading_the_driver_link_is_ENOENT()
    {
        var m = DriverMachines.Q1();
        WriteFile(m, "/sys/bus/pci/drivers/virtio-pci/unbind", "0000:0e:00.1");
        using var p = m.CreateProcess();
        Assert.That(p.Readlink("/sys/bus/pci/devices/0000:0e:00.1/driver", out _), Is.EqualTo(-Errno.ENOENT));
    }

    [Test]
    public void An_empty_write_returns_0_and_changes_nothing()
    {
        var m = DriverMachines.Q1();
        WriteFile(m, "/sys/bus/pci/devices/0000:01:00.0/driver_override", "vfio-pci");
        Assert.That(WriteFile(m, "/sys/bus/pci/devices/0000:01:00.0/driver_override", ""), Is.Zero);
        Assert.That(m.Sysfs.Cat("/sys/bus/pci/devices/0000:01:00.0/driver_override"), Is.EqualTo("vfio-pci\n"));
    }

    [Test]
    public void Reading_driver_override_through_a_process_shows_what_was_written()
    {
        var m = DriverMachines.Q1();
        WriteFile(m, "/sys/bus/pci/devices/0000:01:00.0/driver_override", "pci-stub\n");
        using var p = m.CreateProcess();
        int fd = p.Open("/sys/bus/pci/devices/0000:01:00.0/driver_override", OpenFlags.ReadOnly);
        var buf = new byte[64];
        long n = p.Read(fd, buf);
        Assert.That(Encoding.ASCII.GetString(buf, 0, (int)n), Is.EqualTo("pci-stub\n"));
    }

    [Test]
    public void Opening_bind_for_reading_is_EACCES()
    {
        using var p = DriverMachines.Q1().CreateProcess();
        Assert.That(p.Open("/sys/bus/pci/drivers/vfio-pci/bind", OpenFlags.ReadOnly), Is.EqualTo(-Errno.EACCES));
    }

    [Test]
    public void A_write_to_the_override_of_a_removed_vf_is_ENODEV()
    {
        var m = DriverMachines.Q2();
        Pci.Sriov.SetNumVfs(m.Topology, m.Topology.Get("0000:08:00.0"), 1, out _);
        using var p = m.CreateProcess();
        int fd = p.Open("/sys/bus/pci/devices/0000:08:00.1/driver_override", OpenFlags.WriteOnly);
        Pci.Sriov.SetNumVfs(m.Topology, m.Topology.Get("0000:08:00.0"), 0, out _);
        Assert.That(p.Write(fd, "x"u8), Is.EqualTo(-Errno.ENODEV));
    }
}
