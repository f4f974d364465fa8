using VfioSim.Vfio.Pci;

namespace VfioSim.Tests.Unit.VfioPci;

/// <summary>A vfio-pci config host that ignores every reaction (for tests of regions and interrupts alone).</summary>
internal sealed class NullConfigHost : IVfioPciConfigHost
{
    public void IntxDisableChanged(bool disabled) { }
    public void MemoryDecodeDisabled() { }
    public bool MsiEnabledByUser => false;
    public void FunctionLevelReset() { }
    public void SetPowerState(int state) { }
}
