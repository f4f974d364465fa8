using VfioSim.Pci;
using VfioSim.Pci.MachineFiles;
using VfioSim.Pci.Models;

namespace VfioSim.Tests.Unit.Models;

/// <summary>QEMU's edu device (hw/misc/edu.c, QEMU 7.2) register by register (shared/spec/edu-device.md).</summary>
public class EduTests
{
    private sealed class Irqs : IInterruptSink
    {
        public bool Intx;
        public List<int> Msis { get; } = [];
        public void SetIntx(PciFunction function, bool asserted) => Intx = asserted;
        public void Msi(PciFunction function, int vector) => Msis.Add(vector);
        public void MsiX(PciFunction function, int vector) => throw new InvalidOperationException("edu has no MSI-X");
    }

    /// <summary>Bus memory: 1 MiB at bus address 0; anything else aborts the transaction.</summary>
    private sealed class Ram : IDmaPort
    {
        public byte[] Bytes { get; } = new byte[1 << 20];
        public List<ulong> Addresses { get; } = [];

        public bool Read(ulong busAddress, Span<byte> destination)
        {
            Addresses.Add(busAddress);
            if (busAddress + (ulong)destination.Length > (ulong)Bytes.Length) return false;
            Bytes.AsSpan((int)busAddress, destination.Length).CopyTo(destination);
            return true;
        }

        public bool Write(ulong busAddress, ReadOnlySpan<byte> source)
        {
            Addresses.Add(busAddress);
            if (busAddress + (ulong)source.Length > (ulong)Bytes.Length) return false;
            source.CopyTo(Bytes.AsSpan((int)busAddress));
            return true;
        }
    }

    private sealed record Rig(PciTopology Topology, PciFunction Function, Edu Edu, IMmio Bar0, Irqs Irqs, Ram Ram);

    private static Rig Boot(string extra = "", bool busMaster = true)
    {
        var t = QemuMachineFile.Parse($"-device pcie-root-port,id=rp,bus=pcie.0,addr=02.0\n-device edu,bus=rp{extra}", "edu.qemu").Boot();
        var f = t.Get("0000:01:00.0");
        var edu = (Edu)f.Device!;
        var irqs = new Irqs();
        var ram = new Ram();
        edu.Interrupts = irqs;
        f.Dma.Upstream = ram; // bus memory directly behind the function, no IOMMU
        if (busMaster) f.Config.Write16(PciRegs.Command, PciRegs.CommandMemory | PciRegs.CommandMaster);
        return new Rig(t, f, edu, edu.Bar(0)!, irqs, ram);
    }

    private static void EnableMsi(PciFunction f)
    {
        int cap = f.Config.FindCapability(PciRegs.CapIdMsi);
        f.Config.Write16(cap + PciRegs.MsiFlags, (ushort)(f.Config.Read16(cap + PciRegs.MsiFlags) | PciRegs.MsiFlagsEnable));
    }

    [Test]
    public void Identification_reads_0x010000ed()
    {
        Assert.That(Boot().Bar0.Read(0x00, 4), Is.EqualTo(0x010000edUL));
    }

    [Test]
    public void Liveness_check_returns_the_inverse_of_the_written_value()
    {
        var r = Boot();
        r.Bar0.Write(0x04, 4, 0x12345678);
        Assert.That(r.Bar0.Read(0x04, 4), Is.EqualTo(0xedcba987UL));
    }

    [Test]
    public void Offsets_below_0x80_act_only_on_4_byte_accesses()
    {
        var r = Boot();
        r.Bar0.Write(0x04, 8, 1);
        Assert.Multiple(() =>
        {
            Assert.That(r.Bar0.Read(0x04, 4), Is.Zero, "the 8-byte write was ignored");
            Assert.That(r.Bar0.Read(0x00, 8), Is.EqualTo(ulong.MaxValue));
            Assert.That(r.Bar0.Read(0x00, 2), Is.EqualTo(0xffffUL));
        });
    }

    [Test]
    public void Undecoded_offsets_and_write_only_registers_read_all_ones()
    {
        var r = Boot();
        Assert.Multiple(() =>
        {
            Assert.That(r.Bar0.Read(0x60, 4), Is.EqualTo(0xffffffffUL));
            Assert.That(r.Bar0.Read(0x1000, 4), Is.EqualTo(0xffffffffUL));
        });
    }

    [Test]
    public void Factorial_is_computed_in_32_bit_arithmetic_after_virtual_time_passes()
    {
        var r = Boot();
        r.Bar0.Write(0x08, 4, 13);
        Assert.That(r.Bar0.Read(0x20, 4) & Edu.StatusComputing, Is.EqualTo(1));
        r.Topology.Clock.Advance(Edu.FactorialNs);
        Assert.Multiple(() =>
        {
            Assert.That(r.Bar0.Read(0x08, 4), Is.EqualTo(unchecked((uint)6227020800UL)), "13! wraps modulo 2^32");
            Assert.That(r.Bar0.Read(0x20, 4) & Edu.StatusComputing, Is.Zero);
        });
    }

    [Test]
    public void A_factorial_write_while_computing_is_ignored()
    {
        var r = Boot();
        r.Bar0.Write(0x08, 4, 5);
        r.Bar0.Write(0x08, 4, 6);
        r.Topology.Clock.Advance(Edu.FactorialNs);
        Assert.That(r.Bar0.Read(0x08, 4), Is.EqualTo(120));
    }

    [Test]
    public void Factorial_completion_raises_interrupt_bit_0_only_when_status_bit_7_is_set()
    {
        var quiet = Boot();
        quiet.Bar0.Write(0x08, 4, 3);
        quiet.Topology.Clock.Advance(Edu.FactorialNs);
        var loud = Boot();
        loud.Bar0.Write(0x20, 4, Edu.StatusIrqFactorial);
        loud.Bar0.Write(0x08, 4, 3);
        loud.Topology.Clock.Advance(Edu.FactorialNs);
        Assert.Multiple(() =>
        {
            Assert.That(quiet.Irqs.Intx, Is.False);
            Assert.That(loud.Irqs.Intx, Is.True, "INTx while MSI is off");
            Assert.That(loud.Bar0.Read(0x24, 4), Is.EqualTo(Edu.IrqFactorial));
        });
    }

    [Test]
    public void Raise_asserts_intx_and_acknowledge_deasserts_it_when_status_becomes_zero()
    {
        var r = Boot();
        r.Bar0.Write(0x60, 4, 0x3);
        Assert.That(r.Irqs.Intx, Is.True);
        r.Bar0.Write(0x64, 4, 0x1);
        Assert.That(r.Irqs.Intx, Is.True, "bit 1 still pending");
        r.Bar0.Write(0x64, 4, 0x2);
        Assert.That(r.Irqs.Intx, Is.False);
    }

    [Test]
    public void With_msi_enabled_every_raise_sends_vector_0_while_status_is_non_zero()
    {
        var r = Boot();
        EnableMsi(r.Function);
        r.Bar0.Write(0x60, 4, 0x1);
        r.Bar0.Write(0x60, 4, 0x0); // status still non-zero: another message
        r.Bar0.Write(0x64, 4, 0x1);
        r.Bar0.Write(0x60, 4, 0x0); // status zero: nothing
        Assert.Multiple(() =>
        {
            Assert.That(r.Irqs.Msis, Is.EqualTo(new[] { 0, 0 }));
            Assert.That(r.Irqs.Intx, Is.False);
        });
    }

    [Test]
    public void Dma_from_ram_to_the_buffer_happens_100_ms_after_the_command()
    {
        var r = Boot();
        r.Ram.Bytes[0x2000] = 0xab;
        r.Bar0.Write(0x80, 8, 0x2000);
        r.Bar0.Write(0x88, 8, Edu.DmaStart);
        r.Bar0.Write(0x90, 8, 16);
        r.Bar0.Write(0x98, 8, Edu.CmdRun | Edu.CmdIrq);
        r.Topology.Clock.Advance(Edu.DmaDelayNs - 1);
        Assert.That(r.Bar0.Read(0x98, 4) & Edu.CmdRun, Is.EqualTo(1), "still running");
        r.Topology.Clock.Advance(1);
        Assert.Multiple(() =>
        {
            Assert.That(r.Edu.Buffer[0], Is.EqualTo(0xab));
            Assert.That(r.Bar0.Read(0x98, 4) & Edu.CmdRun, Is.Zero);
            Assert.That(r.Bar0.Read(0x24, 4), Is.EqualTo(Edu.IrqDma));
        });
    }

    [Test]
    public void Dma_from_the_buffer_to_ram_writes_the_bus_address()
    {
        var r = Boot();
        r.Edu.Buffer[8] = 0x5a;
        r.Bar0.Write(0x80, 8, Edu.DmaStart + 8);
        r.Bar0.Write(0x88, 8, 0x3000);
        r.Bar0.Write(0x90, 8, 1);
        r.Bar0.Write(0x98, 8, Edu.CmdRun | Edu.CmdToPci);
        r.Topology.Clock.Advance(Edu.DmaDelayNs);
        Assert.That(r.Ram.Bytes[0x3000], Is.EqualTo(0x5a));
    }

    [Test]
    public void Dma_registers_are_frozen_while_a_transfer_runs()
    {
        var r = Boot();
        r.Bar0.Write(0x80, 8, 0x1000);
        r.Bar0.Write(0x88, 8, Edu.DmaStart);
        r.Bar0.Write(0x90, 8, 4);
        r.Bar0.Write(0x98, 8, Edu.CmdRun);
        r.Bar0.Write(0x80, 8, 0x5000);
        Assert.That(r.Bar0.Read(0x80, 8), Is.EqualTo(0x1000UL));
    }

    [Test]
    public void A_dma_command_without_the_run_bit_is_ignored()
    {
        var r = Boot();
        r.Bar0.Write(0x98, 8, Edu.CmdIrq);
        Assert.That(r.Bar0.Read(0x98, 8), Is.Zero);
    }

    [Test]
    public void A_transfer_reaching_the_end_of_the_buffer_is_refused_as_qemu_7_2_does()
    {
        var r = Boot();
        r.Bar0.Write(0x80, 8, 0x1000);
        r.Bar0.Write(0x88, 8, Edu.DmaStart);
        r.Bar0.Write(0x90, 8, Edu.DmaSize); // the off-by-one: end == limit is out of bounds
        r.Bar0.Write(0x98, 8, Edu.CmdRun);
        r.Topology.Clock.Advance(Edu.DmaDelayNs);
        Assert.Multiple(() =>
        {
            Assert.That(r.Ram.Addresses, Is.Empty, "safe mode skips the copy");
            Assert.That(r.Edu.Errors, Has.One.Contains("out of bounds"));
            Assert.That(r.Bar0.Read(0x98, 4) & Edu.CmdRun, Is.Zero, "safe mode completes the command");
        });
    }

    [Test]
    public void In_qemu_mode_an_out_of_bounds_transfer_kills_the_device()
    {
        var r = Boot();
        var edu = new Edu(mode: EduDmaMode.Qemu);
        var f = new PciFunction("edu", r.Function.Config, r.Function.Resources) { Device = edu };
        var bar = edu.Bar(0)!;
        bar.Write(0x88, 8, Edu.DmaStart + 0x800);
        bar.Write(0x90, 8, 0x1000);
        bar.Write(0x98, 8, Edu.CmdRun);
        edu.Clock.Advance(Edu.DmaDelayNs);
        Assert.Multiple(() =>
        {
            Assert.That(edu.Dead, Is.True);
            Assert.That(bar.Read(0x00, 4), Is.EqualTo(0xffffffffUL));
            Assert.That(f.Device, Is.SameAs(edu));
        });
    }

    [Test]
    public void Bus_addresses_are_clamped_to_the_28_bit_dma_mask()
    {
        var r = Boot();
        r.Bar0.Write(0x80, 8, 0x1000_2000);
        r.Bar0.Write(0x88, 8, Edu.DmaStart);
        r.Bar0.Write(0x90, 8, 1);
        r.Bar0.Write(0x98, 8, Edu.CmdRun);
        r.Topology.Clock.Advance(Edu.DmaDelayNs);
        Assert.Multiple(() =>
        {
            Assert.That(r.Ram.Addresses, Is.EqualTo(new[] { 0x2000UL }));
            Assert.That(r.Edu.Errors, Has.One.StartWith("EDU: clamping DMA"));
        });
    }

    [Test]
    public void Without_bus_mastering_no_dma_reaches_the_bus_but_the_command_completes()
    {
        var r = Boot(busMaster: false);
        r.Bar0.Write(0x80, 8, 0x1000);
        r.Bar0.Write(0x88, 8, Edu.DmaStart);
        r.Bar0.Write(0x90, 8, 4);
        r.Bar0.Write(0x98, 8, Edu.CmdRun);
        r.Topology.Clock.Advance(Edu.DmaDelayNs);
        Assert.Multiple(() =>
        {
            Assert.That(r.Ram.Addresses, Is.Empty);
            Assert.That(r.Bar0.Read(0x98, 4) & Edu.CmdRun, Is.Zero);
        });
    }

    [Test]
    public void Only_bar0_has_a_handler()
    {
        var r = Boot();
        Assert.That(r.Edu.Bar(1), Is.Null);
    }
}
