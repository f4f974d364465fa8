using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;

namespace VfioSim.Tests.Unit.MachineFiles;

public class MachineLoaderTests
{
    private static PciTopology LoadTemporary(string extension, byte[] content)
    {
        string path = Path.Combine(Path.GetTempPath(), $"vfio-sim-{Guid.NewGuid():N}{extension}");
        File.WriteAllBytes(path, content);
        try
        {
            return MachineLoader.Load(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void Qemu_file_with_a_byte_order_mark_loads()
    {
        var t = LoadTemporary(".qemu", [0xef, 0xbb, 0xbf, .. "-device edu,bus=pcie.0,addr=02.0\n"u8]);
        Assert.That(t.Find(Bdf.Parse("00:02.0")), Is.Not.Null);
    }

    [Test]
    public void Json_file_with_a_byte_order_mark_loads()
    {
        var t = LoadTemporary(".json", [0xef, 0xbb, 0xbf, .. """{"root_buses": [{"devices": [{"addr": "02.0", "kind": "endpoint"}]}]}"""u8]);
        Assert.That(t.Find(Bdf.Parse("00:02.0")), Is.Not.Null);
    }
}
