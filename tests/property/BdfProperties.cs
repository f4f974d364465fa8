using FsCheck.Fluent;
using VfioSim.Pci;

namespace VfioSim.Tests.Property;

[TestFixture]
public class BdfProperties
{
    [FsCheck.NUnit.Property]
    public FsCheck.Property Bdf_format_then_parse_round_trips(ushort domain, byte bus, byte dev, byte fn)
    {
        var bdf = new Bdf(domain, bus, (byte)(dev & 0x1f), (byte)(fn & 7));
        return (Bdf.Parse(bdf.ToString()) == bdf).ToProperty();
    }
}

