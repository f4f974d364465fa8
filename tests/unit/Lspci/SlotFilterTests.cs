using VfioSim.Cli.Lspci;
using VfioSim.Pci;

namespace VfioSim.Tests.Unit.Lspci;

/// <summary>lspci's -s selector, as pci_filter_parse_slot() reads it.</summary>
public class SlotFilterTests
{
    private static SlotFilter Parse(string text)
    {
        var f = SlotFilter.Parse(text, out var error);
        Assert.That(error, Is.Null, text);
        return f!;
    }

    private static string? Error(string text)
    {
        Assert.That(SlotFilter.Parse(text, out var error), Is.Null, text);
        return error;
    }

    [TestCase("0000:01:00.0", 0, 1, 0, 0)]
    [TestCase("01:00.0", -1, 1, 0, 0)]
    [TestCase("1f.3", -1, -1, 0x1f, 3)]
    [TestCase("02", -1, -1, 2, -1)]
    [TestCase("0e:", -1, 0x0e, -1, -1)]
    [TestCase(".1", -1, -1, -1, 1)]
    [TestCase("*:*.1", -1, -1, -1, 1)]
    [TestCase("1::", 1, -1, -1, -1)]
    [TestCase("", -1, -1, -1, -1)]
    public void Fields_are_hex_and_empty_or_star_matches_anything(string text, int domain, int bus, int slot, int func)
    {
        Assert.That(Parse(text), Is.EqualTo(new SlotFilter(domain, bus, slot, func)));
    }

    [TestCase("0000:00:00:0", "Too many fields")]
    [TestCase("100:00.0", "Invalid bus number")]
    [TestCase("80000000:00:00.0", "Invalid domain number")]
    [TestCase("20.0", "Invalid slot number")]
    [TestCase("00.8", "Invalid function number")]
    [TestCase("00.0.0", "Invalid slot/function number")]
    [TestCase("0g:00.0", "Invalid bus number")]
    public void Bad_selectors_get_lspcis_message(string text, string message)
    {
        Assert.That(Error(text), Is.EqualTo(message));
    }

    [Test]
    public void A_selector_matches_only_the_fields_it_sets()
    {
        var f = Parse("01:.2");
        Assert.Multiple(() =>
        {
            Assert.That(f.Matches(Bdf.Parse("0000:01:00.2")), Is.True);
            Assert.That(f.Matches(Bdf.Parse("0001:01:1f.2")), Is.True);
            Assert.That(f.Matches(Bdf.Parse("0000:01:00.1")), Is.False);
            Assert.That(f.Matches(Bdf.Parse("0000:02:00.2")), Is.False);
        });
    }
}
