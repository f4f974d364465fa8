namespace VfioSim.Tests.Property.Generators;

/// <summary>
/// Shrinks a failing machine towards a small one while keeping it valid: drops extra root buses, whole slots,
/// functions other than 0, the buses below bridges, SR-IOV VFs, quirk IDs and lonely multi-function bits.
/// Bigger cuts come first, so FsCheck reaches a small counterexample in few steps.
/// </summary>
public static class MachineShrinker
{
    public static IEnumerable<MachineSpec> Shrink(MachineSpec spec)
    {
        for (int i = spec.Roots.Count - 1; i >= 1; i--)
            yield return Renumber(spec with { Roots = [.. spec.Roots.Take(i), .. spec.Roots.Skip(i + 1)] });
        for (int i = 0; i < spec.Roots.Count; i++)
        {
            foreach (var devices in ShrinkBus(spec.Roots[i].Devices))
            {
                var roots = spec.Roots.ToList();
                roots[i] = roots[i] with { Devices = devices };
                yield return Renumber(spec with { Roots = roots });
            }
        }
    }

    /// <summary>Shrinks that keep the port marked for the ACS toggle.</summary>
    public static IEnumerable<MachineSpec> ShrinkKeepingToggle(MachineSpec spec) =>
        Shrink(spec).Where(s => s.AllDevices.Any(d => d.Toggle));

    /// <summary>Shrinks that keep at least one SR-IOV PF.</summary>
    public static IEnumerable<MachineSpec> ShrinkKeepingPf(MachineSpec spec) =>
        Shrink(spec).Where(s => s.AllDevices.Any(d => d.TotalVfs > 0));

    private static MachineSpec Renumber(MachineSpec spec) => spec.Renumbered();

    private static IEnumerable<IReadOnlyList<DevSpec>> ShrinkBus(IReadOnlyList<DevSpec> devices)
    {
        // a whole slot (function 0 may only go with its slot)
        foreach (var slot in devices.Select(d => d.Slot).Distinct())
            yield return [.. devices.Where(d => d.Slot != slot)];
        // one function other than 0
        for (int i = 0; i < devices.Count; i++)
            if (devices[i].Function != 0)
                yield return [.. devices.Take(i), .. devices.Skip(i + 1)];
        // function 0 replaced by another function of its slot, which becomes function 0
        foreach (var fn0 in devices.Where(d => d.Function == 0))
        {
            var mates = devices.Where(d => d.Slot == fn0.Slot && d.Function != 0).ToList();
            foreach (var mate in mates)
            {
                var promoted = mate with { Function = 0, Multifunction = mates.Count > 1 };
                yield return [.. devices.Where(d => !ReferenceEquals(d, fn0) && !ReferenceEquals(d, mate)).Append(promoted).OrderBy(d => d.DevFn)];
            }
        }
        // a simpler function in place
        for (int i = 0; i < devices.Count; i++)
        {
            bool alone = devices.Count(d => d.Slot == devices[i].Slot) == 1;
            foreach (var smaller in ShrinkDevice(devices[i], alone))
                yield return [.. devices.Take(i), smaller, .. devices.Skip(i + 1)];
        }
    }

    private static IEnumerable<DevSpec> ShrinkDevice(DevSpec d, bool aloneInSlot)
    {
        if (d.Children.Count > 0)
        {
            yield return d with { Children = [] };
            foreach (var children in ShrinkBus(d.Children))
                yield return d with { Children = children };
        }
        if (d.TotalVfs > 1) yield return d with { TotalVfs = 1 };
        if (d.TotalVfs > 0) yield return d with { TotalVfs = 0 };
        if (d.QemuModel is null && d.Kind != DevKind.DmiToPciBridge && (d.VendorId, d.DeviceId) != (0x1b36, 0x0001))
            yield return d with { VendorId = 0x1b36, DeviceId = 0x0001, PchQuirkFails = false };
        if (d.Multifunction && aloneInSlot) yield return d with { Multifunction = false };
    }
}
