using VfioSim.Pci.Models;

namespace VfioSim.Tests.Unit.Models;

public class RegisterMapTests
{
    [Test]
    public void A_read_only_register_ignores_writes()
    {
        var map = new RegisterMap("bar0");
        map.Reg32(0x00, "id").ReadOnly(0x010000ed);
        map.Write(0x00, 4, 0x12345678);
        Assert.That(map.Read(0x00, 4), Is.EqualTo(0x010000ed));
    }

    [Test]
    public void An_undecoded_offset_reads_all_ones_and_ignores_writes()
    {
        var map = new RegisterMap("bar0");
        map.Reg32(0x00, "id").ReadOnly(1);
        map.Write(0x10, 4, 5);
        Assert.Multiple(() =>
        {
            Assert.That(map.Read(0x10, 4), Is.EqualTo(0xffffffffUL));
            Assert.That(map.Read(0x10, 8), Is.EqualTo(ulong.MaxValue));
        });
    }

    [Test]
    public void An_access_width_the_register_does_not_accept_is_undecoded()
    {
        var map = new RegisterMap("bar0");
        map.Reg32(0x04, "scratch");
        map.Write(0x04, 4, 7);
        map.Write(0x04, 8, 9); // an 8-byte access to a 4-byte-only register does not act
        Assert.Multiple(() =>
        {
            Assert.That(map.Read(0x04, 4), Is.EqualTo(7));
            Assert.That(map.Read(0x04, 8), Is.EqualTo(ulong.MaxValue));
        });
    }

    [Test]
    public void Strict_mode_reports_each_undefined_access()
    {
        var map = new RegisterMap("bar0") { Strict = true };
        map.Reg32(0x00, "id").ReadOnly(1);
        map.Read(0x08, 4);
        map.Write(0x0c, 2, 0xbeef);
        Assert.That(map.Undefined, Is.EqualTo(new[]
        {
            new UndefinedAccess("bar0", 0x08, 4, false, 0),
            new UndefinedAccess("bar0", 0x0c, 2, true, 0xbeef),
        }));
    }

    [Test]
    public void Fields_keep_their_access_modes_and_reset_values()
    {
        var map = new RegisterMap("bar0");
        var status = map.Reg32(0x20, "status")
            .Field(0, "busy", Access.ReadOnly, reset: true)
            .Field(7, "irq_enable", Access.ReadWrite)
            .Field(8, 8, "errors", Access.WriteOneToClear, reset: 0x0f);
        map.Write(0x20, 4, 0x0000_0380); // try to clear busy, set irq_enable, clear error bits 0 and 1
        Assert.Multiple(() =>
        {
            Assert.That(status["busy"], Is.EqualTo(1), "read-only field");
            Assert.That(status["irq_enable"], Is.EqualTo(1));
            Assert.That(status["errors"], Is.EqualTo(0x0c), "write-1-to-clear field");
        });
        map.Reset();
        Assert.That(map.Read(0x20, 4), Is.EqualTo(0x0f01));
    }

    [Test]
    public void Read_to_clear_fields_clear_after_a_read()
    {
        var map = new RegisterMap("bar0");
        map.Reg32(0x24, "events").Field(0, 8, "pending", Access.ReadToClear, reset: 0x5);
        Assert.Multiple(() =>
        {
            Assert.That(map.Read(0x24, 4), Is.EqualTo(0x5));
            Assert.That(map.Read(0x24, 4), Is.Zero);
        });
    }

    [Test]
    public void Callbacks_see_the_written_value_and_supply_the_read_value()
    {
        var map = new RegisterMap("bar0");
        uint liveness = 0;
        map.Reg32(0x04, "liveness").Read(() => liveness).Write(v => liveness = ~(uint)v);
        map.Write(0x04, 4, 0x12345678);
        Assert.That(map.Read(0x04, 4), Is.EqualTo(0xedcba987));
    }

    [Test]
    public void A_write_only_register_reads_all_ones()
    {
        var map = new RegisterMap("bar0");
        ulong last = 0;
        map.Reg32(0x60, "raise").WriteOnly(v => last = v);
        map.Write(0x60, 4, 3);
        Assert.Multiple(() =>
        {
            Assert.That(last, Is.EqualTo(3));
            Assert.That(map.Read(0x60, 4), Is.EqualTo(0xffffffffUL));
        });
    }

    [Test]
    public void A_register_can_accept_several_widths()
    {
        var map = new RegisterMap("bar0");
        map.Reg64(0x80, "dma_src").Widths(4, 8);
        map.Write(0x80, 8, 0x1_2345_6789);
        Assert.That(map.Read(0x80, 8), Is.EqualTo(0x1_2345_6789UL));
        map.Write(0x80, 4, 0x40000);
        Assert.That(map.Read(0x80, 8), Is.EqualTo(0x40000UL), "a 4-byte write replaces the field with the zero-extended value");
    }
}
