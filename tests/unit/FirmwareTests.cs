using VfioSim.Pci;
using VfioSim.Pci.Devices;
using VfioSim.Pci.MachineFiles;

namespace VfioSim.Tests.Unit;

public class FirmwareTests
{
    [Test]
    public void Running_out_of_bus_numbers_is_reported_with_the_bridge()
    {
        var t = new PciTopology();
        var bus = t.AddRootBus(0, 0, "pcie.0");
        for (int depth = 0; depth < 256; depth++)
            bus = t.Plug(bus, 0, GenericDevice.Create(new GenericDeviceSpec { Kind = FunctionKind.PciBridge })).Secondary!;
        Assert.That(t.Boot, Throws.InvalidOperationException.With.Message.Contains("no bus number left"));
    }

    [Test]
    public void Machine_file_needing_more_than_256_buses_is_a_machine_file_error()
    {
        // A root port, then 255 nested PCI bridges: the last bridge would need bus 0x100.
        var lines = new List<string> { "-device pcie-root-port,id=b0,bus=pcie.0,addr=02.0,chassis=1,slot=1" };
        for (int i = 1; i <= 255; i++) lines.Add($"-device pci-bridge,id=b{i},bus=b{i - 1},addr=0{(i == 1 ? 0 : 1)}.0,chassis_nr={i}");
        string path = Path.Combine(Path.GetTempPath(), $"vfio-sim-buses-{Guid.NewGuid():N}.qemu");
        File.WriteAllLines(path, lines);
        try
        {
            Assert.That(() => MachineLoader.Load(path), Throws.TypeOf<MachineFileException>().With.Message.Contains("no bus number left"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
