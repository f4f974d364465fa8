using FsCheck.Fluent;
using VfioSim.Pci.MachineFiles;

namespace VfioSim.Tests.Property;

/// <summary>Whatever a machine file holds, loading it either succeeds or reports a <see cref="MachineFileException"/>.</summary>
[TestFixture]
public class MachineFileProperties
{
    private static readonly string ValidJson =
        File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "machines", "every-feature.json"));

    private static readonly string ValidQemu =
        File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "conformance", "q2.qemu"));

    private static bool LoadsOrReports(Action load)
    {
        try
        {
            load();
            return true;
        }
        catch (MachineFileException)
        {
            return true;
        }
    }

    private static string Mutate(string text, int position, char c)
    {
        int i = (int)((uint)position % (uint)text.Length);
        return string.Concat(text.AsSpan(0, i), c.ToString(), text.AsSpan(i + 1));
    }

    [FsCheck.NUnit.Property]
    public FsCheck.Property Json_machine_with_one_character_changed_loads_or_reports_a_position(int position, char c) =>
        LoadsOrReports(() => JsonMachineFile.Parse(Mutate(ValidJson, position, c), "m.json")).ToProperty();

    [FsCheck.NUnit.Property]
    public FsCheck.Property Qemu_machine_with_one_character_changed_loads_or_reports_a_position(int position, char c) =>
        LoadsOrReports(() => QemuMachineFile.Parse(Mutate(ValidQemu, position, c), "m.qemu").Boot()).ToProperty();

    [FsCheck.NUnit.Property]
    public FsCheck.Property Any_text_as_a_json_machine_loads_or_reports_a_position(string? text) =>
        LoadsOrReports(() => JsonMachineFile.Parse(text ?? "", "m.json")).ToProperty();
}
