using VfioSim.Pci.MachineFiles;

namespace VfioSim.Tests.Unit.MachineFiles;

/// <summary>Loads every prefix of a machine file, as an editor would on each keystroke.</summary>
internal static class Prefixes
{
    /// <summary>The prefixes whose loading failed with anything but a <see cref="MachineFileException"/>.</summary>
    public static List<string> FailingUnexpectedly(string text, Action<string> load)
    {
        var unexpected = new List<string>();
        for (int i = 0; i <= text.Length; i++)
        {
            try
            {
                load(text[..i]);
            }
            catch (MachineFileException)
            {
            }
            catch (Exception e)
            {
                unexpected.Add($"prefix {i}: {e.GetType().Name}: {e.Message}");
            }
        }
        return unexpected;
    }
}
