using FsCheck;
using FsCheck.Fluent;

namespace VfioSim.Tests.Property.Generators;

/// <summary>A machine with one root or downstream port marked whose ACS capability is switched on and off.</summary>
public sealed record PortToggleMachine(MachineSpec Spec)
{
    public override string ToString() => Spec.ToString();
}

/// <summary>A machine with at least one SR-IOV physical function.</summary>
public sealed record SriovMachine(MachineSpec Spec)
{
    public override string ToString() => Spec.ToString();
}

/// <summary>A QEMU machine only (its printout must replay through the .qemu parser).</summary>
public sealed record QemuMachineSpec(MachineSpec Spec)
{
    public override string ToString() => Spec.ToString();
}

/// <summary>FsCheck arbitraries (generator + shrinker) for <c>[Property(Arbitrary = [typeof(Machines)])]</c>.</summary>
public static class Machines
{
    public static Arbitrary<MachineSpec> Machine() => Arb.From(MachineGen.Any, MachineShrinker.Shrink);

    public static Arbitrary<PortToggleMachine> PortToggle() =>
        Arb.From(MachineGen.WithTogglePort(MachineGen.Any).Select(m => new PortToggleMachine(m)),
            t => MachineShrinker.ShrinkKeepingToggle(t.Spec).Select(s => new PortToggleMachine(s)));

    public static Arbitrary<SriovMachine> Sriov() =>
        Arb.From(MachineGen.Any.Where(m => m.AllDevices.Any(d => d.TotalVfs > 0)).Select(m => new SriovMachine(m)),
            t => MachineShrinker.ShrinkKeepingPf(t.Spec).Select(s => new SriovMachine(s)));

    public static Arbitrary<QemuMachineSpec> Qemu() =>
        Arb.From(MachineGen.Qemu.Select(m => new QemuMachineSpec(m)),
            t => MachineShrinker.Shrink(t.Spec).Select(s => new QemuMachineSpec(s)));
}

/// <summary>
/// <c>[Property]</c> with the machine arbitraries. 300 cases per property (sizes 1-100, machines up to ~90
/// functions) keep the whole project near 5 s on two cores; one-off runs with MaxTest = 5000 are clean too.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class MachinePropertyAttribute : FsCheck.NUnit.PropertyAttribute
{
    public MachinePropertyAttribute()
    {
        Arbitrary = [typeof(Machines)];
        MaxTest = 300;
        QuietOnSuccess = true;
    }
}
