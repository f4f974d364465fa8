namespace VfioSim.Pci;

/// <summary>Register offsets and bits of include/uapi/linux/pci_regs.h that the model uses.</summary>
public static class PciRegs
{
    public const int VendorId = 0x00, DeviceId = 0x02, Command = 0x04, Status = 0x06, ClassRevision = 0x08,
        RevisionId = 0x08, ClassProg = 0x09, ClassDevice = 0x0a, CacheLineSize = 0x0c, LatencyTimer = 0x0d,
        HeaderType = 0x0e, Bist = 0x0f, BaseAddress0 = 0x10, CardbusCis = 0x28, SubsystemVendorId = 0x2c,
        SubsystemId = 0x2e, RomAddress = 0x30, CapabilityList = 0x34, InterruptLine = 0x3c, InterruptPin = 0x3d;

    // type 1 (bridge) header
    public const int PrimaryBus = 0x18, SecondaryBus = 0x19, SubordinateBus = 0x1a, SecLatencyTimer = 0x1b,
        IoBase = 0x1c, IoLimit = 0x1d, SecStatus = 0x1e, MemoryBase = 0x20, MemoryLimit = 0x22,
        PrefMemoryBase = 0x24, PrefMemoryLimit = 0x26, PrefBaseUpper32 = 0x28, PrefLimitUpper32 = 0x2c,
        IoBaseUpper16 = 0x30, IoLimitUpper16 = 0x32, RomAddress1 = 0x38, BridgeControl = 0x3e;

    public const byte HeaderTypeMask = 0x7f, HeaderTypeMfd = 0x80;
    public const byte HeaderTypeNormal = 0, HeaderTypeBridge = 1, HeaderTypeCardbus = 2;

    public const ushort CommandIo = 0x1, CommandMemory = 0x2, CommandMaster = 0x4, CommandSerr = 0x100,
        CommandIntxDisable = 0x400;
    public const ushort StatusCapList = 0x10;

    public const uint BaseAddressSpaceIo = 0x1, BaseAddressMemType64 = 0x4, BaseAddressMemPrefetch = 0x8;
    public const uint RomAddressEnable = 0x1;

    // capability IDs
    public const byte CapIdPm = 0x01, CapIdAgp = 0x02, CapIdVpd = 0x03, CapIdSlotId = 0x04, CapIdMsi = 0x05,
        CapIdPcix = 0x07, CapIdHt = 0x08, CapIdVendor = 0x09, CapIdShpc = 0x0c, CapIdSsvid = 0x0d,
        CapIdExp = 0x10, CapIdMsix = 0x11, CapIdSata = 0x12, CapIdAf = 0x13;

    // extended capability IDs
    public const ushort ExtCapIdErr = 0x01, ExtCapIdVc = 0x02, ExtCapIdDsn = 0x03, ExtCapIdAcs = 0x0d,
        ExtCapIdAri = 0x0e, ExtCapIdAts = 0x0f, ExtCapIdSriov = 0x10, ExtCapIdPri = 0x13, ExtCapIdLtr = 0x18,
        ExtCapIdSecPci = 0x19, ExtCapIdPasid = 0x1b;

    // PCI Express capability
    public const int ExpFlags = 0x02, ExpDevCap = 0x04, ExpDevCtl = 0x08, ExpDevSta = 0x0a, ExpLnkCap = 0x0c,
        ExpLnkCtl = 0x10, ExpLnkSta = 0x12, ExpSltCap = 0x14, ExpSltCtl = 0x18, ExpSltSta = 0x1a,
        ExpRootCtl = 0x1c, ExpDevCap2 = 0x24, ExpDevCtl2 = 0x28;
    public const ushort ExpFlagsType = 0x00f0, ExpFlagsVersion = 0x000f;
    public const ushort ExpDevCtl2Ari = 0x0020;
    public const uint ExpDevCap2Ari = 0x20;

    // ACS
    public const int AcsCap = 0x04, AcsCtrl = 0x06, AcsEgressCtl = 0x08;
    public const ushort AcsSv = 0x01, AcsTb = 0x02, AcsRr = 0x04, AcsCr = 0x08, AcsUf = 0x10, AcsEc = 0x20, AcsDt = 0x40;

    // ARI
    public const int AriCap = 0x04, AriCtrl = 0x06;

    // SR-IOV
    public const int SriovCap = 0x04, SriovCtrl = 0x08, SriovStatus = 0x0a, SriovInitialVf = 0x0c,
        SriovTotalVf = 0x0e, SriovNumVf = 0x10, SriovFuncLink = 0x12, SriovVfOffset = 0x14, SriovVfStride = 0x16,
        SriovVfDid = 0x1a, SriovSupPgSize = 0x1c, SriovSysPgSize = 0x20, SriovBar = 0x24, SriovVfMigration = 0x3c;
    public const ushort SriovCtrlVfe = 0x01, SriovCtrlMse = 0x08, SriovCtrlAri = 0x10;

    // MSI / MSI-X
    public const int MsiFlags = 0x02, MsixFlags = 0x02, MsixTable = 0x04, MsixPba = 0x08;
    public const ushort MsiFlagsEnable = 0x1, MsiFlags64Bit = 0x80, MsiFlagsMaskBit = 0x100;
    public const ushort MsixFlagsQsize = 0x07ff, MsixFlagsMaskAll = 0x4000, MsixFlagsEnable = 0x8000;
}

/// <summary>PCIe Capabilities register bits 7:4 (PCI_EXP_TYPE_*).</summary>
public enum PcieType : byte
{
    Endpoint = 0x0,
    LegacyEndpoint = 0x1,
    RootPort = 0x4,
    Upstream = 0x5,
    Downstream = 0x6,
    PciBridge = 0x7,
    PcieBridge = 0x8,
    RcEndpoint = 0x9,
    RcEventCollector = 0xa,
}
