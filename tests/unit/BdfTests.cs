using VfioSim.Pci;

namespace VfioSim.Tests.Unit;

public class BdfTests
{
    [TestCase("0000:06:0d.0", (ushort)0, (byte)6, (byte)0x0d, (byte)0)]
    [TestCase("06:0d.1", (ushort)0, (byte)6, (byte)0x0d, (byte)1)]
    [TestCase("ffff:ff:1f.7", (ushort)0xffff, (byte)0xff, (byte)0x1f, (byte)7)]
    public void Parse_accepts_linux_device_names(string text, ushort domain, byte bus, byte dev, byte fn)
    {
        Assert.That(Bdf.Parse(text), Is.EqualTo(new Bdf(domain, bus, dev, fn)));
    }

    [TestCase("")]
    [TestCase("00:20.0")]
    [TestCase("00:1f.8")]
    [TestCase("0:0:0:0.0")]
    [TestCase("00:1f")]
    [TestCase("g0:00.0")]
    public void TryParse_rejects_malformed_names(string text)
    {
        Assert.That(Bdf.TryParse(text, out _), Is.False);
    }

    [Test]
    public void Format_is_pci_name_with_lowercase_hex()
    {
        Assert.That(new Bdf(0, 0x0b, 0x0d, 1).ToString(), Is.EqualTo("0000:0b:0d.1"));
    }

    [Test]
    public void DevFn_packs_device_and_function()
    {
        Assert.That(new Bdf(0, 0, 0x1f, 3).DevFn, Is.EqualTo(0xfb));
    }
}
