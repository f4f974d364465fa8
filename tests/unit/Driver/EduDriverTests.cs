using System.Text;
using VfioSim.Driver;
using VfioSim.Driver.Devices;
using VfioSim.Pci.MachineFiles;
using VfioSim.Uapi;
using Machine = VfioSim.Vfio.Machine;

namespace VfioSim.Tests.Unit.Driver;

/// <summary>The edu driver through IKernel on the simulator (the same code runs on a host with an edu bound to vfio-pci).</summary>
public class EduDriverTests
{
    private const string Edu = "0000:01:00.0";

    private sealed class Rig : IDisposable
    {
        public Rig()
        {
            Machine = new Machine(MachineLoader.Default());
            Kernel = Machine.CreateProcess("edu");
            Machine.Sysfs.Write($"/sys/bus/pci/devices/{Edu}/driver_override", "vfio-pci");
            Machine.Sysfs.Write("/sys/bus/pci/drivers_probe", Edu);
            Kernel.Readlink($"/sys/bus/pci/devices/{Edu}/iommu_group", out var link);
            Container = new VfioContainer(Kernel);
            Group = new VfioGroup(Kernel, int.Parse(link[(link.LastIndexOf('/') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
            Group.SetContainer(Container);
            Container.SetIommu(VfioUapi.TYPE1v2_IOMMU);
            Device = new VfioDevice(Kernel, Group.GetDeviceFd(Edu), Edu);
            Driver = new EduDriver(Kernel, Device);
            Iovas = new IovaAllocator(Container.GetInfo().IovaRanges, dmaMask: EduDriver.DmaMask);
        }

        public Machine Machine { get; }
        public IKernel Kernel { get; }
        public VfioContainer Container { get; }
        public VfioGroup Group { get; }
        public VfioDevice Device { get; }
        public EduDriver Driver { get; }
        public IovaAllocator Iovas { get; }

        public void Dispose()
        {
            Driver.Dispose();
            Device.Dispose();
            Group.Dispose();
            Container.Dispose();
            Kernel.Dispose();
        }
    }

    [Test]
    public void Identify_reads_version_1_0()
    {
        using var r = new Rig();
        Assert.That(r.Driver.Version, Is.EqualTo((1, 0)));
    }

    [Test]
    public void Liveness_check_passes()
    {
        using var r = new Rig();
        Assert.That(r.Driver.CheckLiveness(), Is.True);
    }

    [Test]
    public void Factorial_by_polling_matches_the_measured_10_factorial()
    {
        using var r = new Rig();
        Assert.That(r.Driver.FactorialByPolling(10), Is.EqualTo(3628800));
    }

    [Test]
    public void Factorial_by_msi_interrupt()
    {
        using var r = new Rig();
        Assert.That(r.Driver.FactorialByInterrupt(12), Is.EqualTo(479001600));
    }

    [Test]
    public void Dma_round_trip_with_completion_interrupts()
    {
        using var r = new Rig();
        using var src = new DmaBuffer(r.Kernel, r.Container, r.Iovas, 4096);
        using var dst = new DmaBuffer(r.Kernel, r.Container, r.Iovas, 4096);
        var bytes = Encoding.ASCII.GetBytes("through the IOMMU and back");
        src.Write(bytes);
        r.Driver.Dma(src.Iova, 0, bytes.Length, toRam: false, interrupt: true);
        r.Driver.Dma(dst.Iova, 0, bytes.Length, toRam: true, interrupt: true);
        Assert.That(dst.Read(bytes.Length), Is.EqualTo(bytes));
    }

    [Test]
    public void Dma_to_an_unmapped_iova_is_reported_as_an_iommu_fault_and_the_driver_does_not_hang()
    {
        using var r = new Rig();
        r.Driver.Dma(0x800000, 0, 64, toRam: true);
        Assert.That(r.Machine.Iommu.Faults, Has.Count.EqualTo(1));
    }

    [Test]
    public void A_transfer_reaching_the_end_of_the_buffer_is_refused_before_it_reaches_the_device()
    {
        using var r = new Rig();
        Assert.Throws<ArgumentOutOfRangeException>(() => r.Driver.Dma(0x100000, 0, 4096, toRam: false));
    }
}
