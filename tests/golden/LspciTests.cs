using VfioSim.Cli.Lspci;
using VfioSim.Iommu;
using VfioSim.Pci;
using VfioSim.Pci.Devices;
using VfioSim.Pci.MachineFiles;
using VfioSim.Pci.Qemu;

namespace VfioSim.Tests.Golden;

/// <summary>
/// <c>vfio-sim lspci</c> against lspci itself: the tree lspci printed in the QEMU guest (tests/data/lspci/q1-tvnn.txt),
/// listings pciutils 3.9.0 printed for the same simulated machines (tests/data/lspci/README.md), and the name lines
/// of the QEMU device catalogue.
/// </summary>
public class LspciTests
{
    private static string Data(string dir, string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "data", dir, name);

    private static string Golden(string name) => File.ReadAllText(Data("lspci", name));

    private static (PciTopology Topology, IommuGroups Groups) Load(string dir, string file, params string[] sriov)
    {
        var t = MachineLoader.Load(Data(dir, file));
        var groups = new IommuGroups(t);
        foreach (var pf in sriov) Assert.That(Sriov.SetNumVfs(t, t.Get(pf), 2, out _), Is.EqualTo(SriovStatus.Ok));
        return (t, groups);
    }

    private static (PciTopology Topology, IommuGroups Groups) Boot(string machineText)
    {
        var t = QemuMachineFile.Parse(machineText, "test.qemu").Boot();
        return (t, new IommuGroups(t));
    }

    private static string Lspci((PciTopology Topology, IommuGroups Groups) m, string? slot = null, bool tree = false, bool verbose = false, IdDisplay ids = IdDisplay.Names)
    {
        SlotFilter? filter = null;
        if (slot is not null) Assert.That(filter = SlotFilter.Parse(slot, out _), Is.Not.Null);
        return LspciFormatter.Format(m.Topology, m.Groups, new LspciOptions { Tree = tree, Verbose = verbose, Ids = ids, Filter = filter });
    }

    private static string Lines(params string[] lines) => string.Concat(lines.Select(l => l + "\n"));

    // ---- whole outputs ----

    [Test]
    public void Q1_tree_is_what_lspci_nn_tv_printed_in_the_guest()
    {
        Assert.That(Lspci(Load("conformance", "q1.qemu"), tree: true, verbose: true, ids: IdDisplay.Both), Is.EqualTo(Golden("q1-tvnn.txt")));
    }

    [Test]
    public void Q1_verbose_listing_is_what_pciutils_prints_for_the_same_sysfs()
    {
        Assert.That(Lspci(Load("conformance", "q1.qemu"), verbose: true), Is.EqualTo(Golden("q1-v.txt")));
    }

    [Test]
    public void Every_catalogued_model_is_listed_as_pciutils_lists_it()
    {
        var m = Load("lspci", "catalogue.qemu", "0000:01:00.0", "0000:00:03.0");
        Assert.That(Lspci(m, verbose: true, ids: IdDisplay.Both), Is.EqualTo(Golden("catalogue-vnn.txt")));
    }

    [Test]
    public void Expander_bridge_root_bus_is_a_second_tree_beside_bus_0()
    {
        var m = Load("lspci", "catalogue.qemu", "0000:01:00.0", "0000:00:03.0");
        Assert.That(Lspci(m, tree: true, verbose: true, ids: IdDisplay.Both), Is.EqualTo(Golden("catalogue-tvnn.txt")));
    }

    // ---- one device per format ----

    [Test]
    public void Root_port_name_line_follows_the_id_display_mode()
    {
        var m = Load("conformance", "q1.qemu");
        Assert.Multiple(() =>
        {
            Assert.That(Lspci(m, "00:02.0"), Is.EqualTo("00:02.0 PCI bridge: Red Hat, Inc. QEMU PCIe Root port\n"));
            Assert.That(Lspci(m, "00:02.0", ids: IdDisplay.Numeric), Is.EqualTo("00:02.0 0604: 1b36:000c\n"));
            Assert.That(Lspci(m, "00:02.0", ids: IdDisplay.Both), Is.EqualTo("00:02.0 PCI bridge [0604]: Red Hat, Inc. QEMU PCIe Root port [1b36:000c]\n"));
        });
    }

    [Test]
    public void Root_port_verbose_block_has_bus_numbers_windows_and_one_line_per_capability()
    {
        Assert.That(Lspci(Load("conformance", "q1.qemu"), "00:02.0", verbose: true, ids: IdDisplay.Both), Is.EqualTo(Lines(
            "00:02.0 PCI bridge [0604]: Red Hat, Inc. QEMU PCIe Root port [1b36:000c] (prog-if 00 [Normal decode])",
            "\tSubsystem: Red Hat, Inc. Device [1b36:0000]",
            "\tFlags: fast devsel, IOMMU group 1",
            "\tMemory at <unassigned> (32-bit, non-prefetchable) [disabled] [size=4K]",
            "\tBus: primary=00, secondary=01, subordinate=01, sec-latency=0",
            "\tI/O behind bridge: [disabled] [16-bit]",
            "\tMemory behind bridge: [disabled] [32-bit]",
            "\tPrefetchable memory behind bridge: [disabled] [64-bit]",
            "\tCapabilities: [54] Express Root Port (Slot+), MSI 00",
            "\tCapabilities: [48] MSI-X: Enable- Count=1 Masked-",
            "\tCapabilities: [40] Subsystem: Red Hat, Inc. Device [1b36:0000]",
            "\tCapabilities: [100] Advanced Error Reporting",
            "\tCapabilities: [148] Access Control Services",
            "")));
    }

    [Test]
    public void E1000e_shows_its_io_bar_expansion_rom_and_serial_number()
    {
        var m = Boot("-device pcie-root-port,id=rp,bus=pcie.0,addr=02.0,chassis=1,slot=1\n-device e1000e,bus=rp,addr=00.0");
        Assert.That(Lspci(m, "01:00.0", verbose: true), Is.EqualTo(Lines(
            "01:00.0 Ethernet controller: Intel Corporation 82574L Gigabit Network Connection",
            "\tSubsystem: Intel Corporation Device 0000",
            "\tFlags: fast devsel, IOMMU group 3",
            "\tMemory at <unassigned> (32-bit, non-prefetchable) [disabled] [size=128K]",
            "\tMemory at <unassigned> (32-bit, non-prefetchable) [disabled] [size=128K]",
            "\tI/O ports at <ignored> [disabled] [size=32]",
            "\tMemory at <unassigned> (32-bit, non-prefetchable) [disabled] [size=16K]",
            "\tExpansion ROM at <unassigned> [disabled] [size=256K]",
            "\tCapabilities: [c8] Power Management version 2",
            "\tCapabilities: [d0] MSI: Enable- Count=1/1 Maskable- 64bit+",
            "\tCapabilities: [e0] Express Endpoint, MSI 00",
            "\tCapabilities: [a0] MSI-X: Enable- Count=5 Masked-",
            "\tCapabilities: [100] Advanced Error Reporting",
            "\tCapabilities: [140] Device Serial Number 52-54-00-ff-ff-12-34-56",
            "")));
    }

    [Test]
    public void Nvme_pf_lists_its_sriov_capability_and_its_vfs_show_virtual_bars()
    {
        var m = Boot("-device nvme-subsys,id=ss,nqn=ss\n-device pcie-root-port,id=rp,bus=pcie.0,addr=02.0,chassis=1,slot=1\n" +
            "-device nvme,bus=rp,addr=00.0,serial=s,subsys=ss,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2");
        Assert.That(Sriov.SetNumVfs(m.Topology, m.Topology.Get("0000:01:00.0"), 2, out _), Is.EqualTo(SriovStatus.Ok));
        Assert.That(Lspci(m, "01:00", verbose: true, ids: IdDisplay.Both), Is.EqualTo(Lines(
            "01:00.0 Non-Volatile memory controller [0108]: Red Hat, Inc. QEMU NVM Express Controller [1b36:0010] (rev 02) (prog-if 02 [NVM Express])",
            "\tSubsystem: Red Hat, Inc. Device [1af4:1100]",
            "\tFlags: fast devsel, IOMMU group 3",
            "\tMemory at <ignored> (64-bit, non-prefetchable) [disabled] [size=16K]",
            "\tCapabilities: [40] MSI-X: Enable- Count=63 Masked-",
            "\tCapabilities: [80] Express Endpoint, MSI 00",
            "\tCapabilities: [60] Power Management version 3",
            "\tCapabilities: [100] Alternative Routing-ID Interpretation (ARI)",
            "\tCapabilities: [120] Single Root I/O Virtualization (SR-IOV)",
            "",
            "01:00.1 Non-Volatile memory controller [0108]: Red Hat, Inc. QEMU NVM Express Controller [1b36:0010] (rev 02) (prog-if 02 [NVM Express])",
            "\tSubsystem: Red Hat, Inc. Device [1af4:1100]",
            "\tFlags: fast devsel, IOMMU group 4",
            "\tMemory at <unassigned> (64-bit, non-prefetchable) [virtual] [size=16K]",
            "\tCapabilities: [40] MSI-X: Enable- Count=1 Masked-",
            "\tCapabilities: [80] Express Endpoint, MSI 00",
            "\tCapabilities: [60] Power Management version 3",
            "\tCapabilities: [100] Alternative Routing-ID Interpretation (ARI)",
            "",
            "01:00.2 Non-Volatile memory controller [0108]: Red Hat, Inc. QEMU NVM Express Controller [1b36:0010] (rev 02) (prog-if 02 [NVM Express])",
            "\tSubsystem: Red Hat, Inc. Device [1af4:1100]",
            "\tFlags: fast devsel, IOMMU group 5",
            "\tMemory at <unassigned> (64-bit, non-prefetchable) [virtual] [size=16K]",
            "\tCapabilities: [40] MSI-X: Enable- Count=1 Masked-",
            "\tCapabilities: [80] Express Endpoint, MSI 00",
            "\tCapabilities: [60] Power Management version 3",
            "\tCapabilities: [100] Alternative Routing-ID Interpretation (ARI)",
            "")));
    }

    [Test]
    public void Edu_has_no_pci_ids_name_so_lspci_names_it_by_its_ids()
    {
        var m = Boot("-device edu,bus=pcie.0,addr=0a.0");
        Assert.Multiple(() =>
        {
            Assert.That(Lspci(m, "0a.0"), Is.EqualTo("00:0a.0 Unclassified device [00ff]: Device 1234:11e8 (rev 10)\n"));
            Assert.That(Lspci(m, "0a.0", ids: IdDisplay.Both), Is.EqualTo("00:0a.0 Unclassified device [00ff]: Device [1234:11e8] (rev 10)\n"));
            Assert.That(Lspci(m, "0a.0", tree: true, verbose: true), Is.EqualTo("-[0000:00]-+-0a.0  Device 1234:11e8\n"));
        });
    }

    /// <summary>Generic devices: a Mellanox function with SR-IOV, an RCiEP and a class pci.ids does not know.</summary>
    private static (PciTopology, IommuGroups) Synthetic()
    {
        var t = new PciTopology();
        var root = t.AddRootBus(0, 0, "pcie.0");
        var rp = t.Plug(root, 0x08, GenericDevice.Create(new GenericDeviceSpec { Kind = FunctionKind.RootPort, VendorId = 0x8086, DeviceId = 0xf00d, AcsCapability = 0x5f }));
        t.Plug(rp.Secondary!, 0x00, GenericDevice.Create(new GenericDeviceSpec
        {
            VendorId = 0x15b3, DeviceId = 0xf00d, ClassCode = 0x020000, Revision = 0x01, SubsystemVendorId = 0x15b3, SubsystemId = 0x0001,
            AcsCapability = 0x5f, AriNextFunction = 0, Sriov = new SriovSpec(4),
        }));
        t.Plug(root, 0x10, GenericDevice.Create(new GenericDeviceSpec { Kind = FunctionKind.RcEndpoint, VendorId = 0x1eee, DeviceId = 0x0001, ClassCode = 0x120000 }));
        t.Plug(root, 0x18, GenericDevice.Create(new GenericDeviceSpec
        {
            Kind = FunctionKind.Conventional, VendorId = 0x1eee, DeviceId = 0x0002, ClassCode = 0x140000, SubsystemVendorId = 0x1eee, SubsystemId = 0x0002,
        }));
        t.Boot();
        var groups = new IommuGroups(t);
        Assert.That(Sriov.SetNumVfs(t, t.Get("0000:01:00.0"), 2, out _), Is.EqualTo(SriovStatus.Ok));
        return (t, groups);
    }

    [Test]
    public void Synthetic_devices_are_named_from_the_class_and_vendor_tables()
    {
        var m = Synthetic();
        Assert.Multiple(() =>
        {
            Assert.That(Lspci(m), Is.EqualTo(Lines(
                "00:01.0 PCI bridge: Intel Corporation Device f00d",
                "00:02.0 Processing accelerators: Device 1eee:0001",
                "00:03.0 Class 1400: Device 1eee:0002",
                "01:00.0 Ethernet controller: Mellanox Technologies Device f00d (rev 01)",
                "01:00.1 Ethernet controller: Mellanox Technologies Device f00d (rev 01)",
                "01:00.2 Ethernet controller: Mellanox Technologies Device f00d (rev 01)")));
            Assert.That(Lspci(m, tree: true, verbose: true, ids: IdDisplay.Both), Is.EqualTo(Lines(
                @"-[0000:00]-+-01.0-[01]--+-00.0  Mellanox Technologies Device [15b3:f00d]",
                @"           |            +-00.1  Mellanox Technologies Device [15b3:f00d]",
                @"           |            \-00.2  Mellanox Technologies Device [15b3:f00d]",
                @"           +-02.0  Device [1eee:0001]",
                @"           \-03.0  Device [1eee:0002]")));
        });
    }

    [Test]
    public void Synthetic_verbose_blocks_are_what_pciutils_prints()
    {
        Assert.That(Lspci(Synthetic(), "00:", verbose: true, ids: IdDisplay.Both), Is.EqualTo(Lines(
            "00:01.0 PCI bridge [0604]: Intel Corporation Device [8086:f00d] (prog-if 00 [Normal decode])",
            "\tFlags: fast devsel, IOMMU group 0",
            "\tBus: primary=00, secondary=01, subordinate=01, sec-latency=0",
            "\tI/O behind bridge: 0000-0fff [size=4K] [16-bit]",
            "\tMemory behind bridge: 00000000-000fffff [size=1M] [32-bit]",
            "\tPrefetchable memory behind bridge: 00000000-000fffff [size=1M] [32-bit]",
            "\tCapabilities: [40] Power Management version 3",
            "\tCapabilities: [50] MSI: Enable- Count=1/1 Maskable- 64bit+",
            "\tCapabilities: [70] Express Root Port (Slot+), MSI 00",
            "\tCapabilities: [100] Access Control Services",
            "",
            "00:02.0 Processing accelerators [1200]: Device [1eee:0001]",
            "\tFlags: fast devsel, IOMMU group 1",
            "\tMemory at <ignored> (64-bit, non-prefetchable) [disabled] [size=16K]",
            "\tCapabilities: [40] Power Management version 3",
            "\tCapabilities: [50] MSI: Enable- Count=1/1 Maskable- 64bit+",
            "\tCapabilities: [70] Express Root Complex Integrated Endpoint, MSI 00",
            "",
            "00:03.0 Class [1400]: Device [1eee:0002]",
            "\tSubsystem: Device [1eee:0002]",
            "\tFlags: fast devsel, IOMMU group 2",
            "\tMemory at <ignored> (64-bit, non-prefetchable) [disabled] [size=16K]",
            "\tCapabilities: [40] Power Management version 3",
            "\tCapabilities: [50] MSI: Enable- Count=1/1 Maskable- 64bit+",
            "")));
    }

    /// <summary>A root port and a NIC on a root bus of PCI domain 1, nothing in domain 0.</summary>
    private static (PciTopology, IommuGroups) Domain1()
    {
        var t = new PciTopology();
        var rp = t.Plug(t.AddRootBus(1, 0, "pcie.1"), 0x08, GenericDevice.Create(new GenericDeviceSpec { Kind = FunctionKind.RootPort, VendorId = 0x8086, DeviceId = 0xf00d, AcsCapability = 0x5f }));
        t.Plug(rp.Secondary!, 0x00, GenericDevice.Create(new GenericDeviceSpec { VendorId = 0x15b3, DeviceId = 0xf00d, ClassCode = 0x020000 }));
        t.Boot();
        return (t, new IommuGroups(t));
    }

    [Test]
    public void Domains_are_shown_once_any_device_is_outside_domain_0()
    {
        Assert.That(Lspci(Domain1()), Is.EqualTo(Lines(
            "0001:00:01.0 PCI bridge: Intel Corporation Device f00d",
            "0001:01:00.0 Ethernet controller: Mellanox Technologies Device f00d")));
    }

    [Test]
    public void D_shows_domain_0_too()
    {
        var m = Load("conformance", "q1.qemu");
        var options = new LspciOptions { Domains = true, Filter = SlotFilter.Parse("1f.0", out _) };
        Assert.That(LspciFormatter.Format(m.Topology, m.Groups, options), Is.EqualTo("0000:00:1f.0 ISA bridge: Intel Corporation 82801IB (ICH9) LPC Interface Controller (rev 02)\n"));
    }

    [Test]
    public void Tree_always_has_lspcis_bus_0000_00_even_when_it_is_empty()
    {
        Assert.That(Lspci(Domain1(), tree: true), Is.EqualTo(Lines(
            @"-+-[0000:00]-",
            @" \-[0001:00]---01.0-[01]----00.0")));
    }

    // ---- the catalogue's name lines, one machine per catalogued model and position ----

    private static IEnumerable<string> CatalogueImages() => QemuImage.Names.Order(StringComparer.Ordinal);

    private const string RootPort = "-device pcie-root-port,id=rp,bus=pcie.0,addr=03.0,chassis=1,slot=1\n";
    private const string PcieToPci = "-device pcie-root-port,id=rp2,bus=pcie.0,addr=04.0,chassis=2,slot=2\n-device pcie-pci-bridge,id=ppb,bus=rp2,addr=00.0\n";
    private const string NvmeSriov = "nvme,serial=s,subsys=ss,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2";

    /// <summary>A machine with the image's model at the image's position, and the model's BDF in it.</summary>
    private static (string Machine, string Bdf) Placement(string image)
    {
        var (name, position) = (image[..image.IndexOf('@', StringComparison.Ordinal)], image[(image.IndexOf('@', StringComparison.Ordinal) + 1)..]);
        switch (image)
        {
            case "mch@pcie.0": return ("", "00:00.0");
            case "ICH9-LPC@pcie.0": return ("", "00:1f.0");
            case "ich9-ahci@pcie.0": return ("", "00:1f.2");
            case "ICH9-SMB@pcie.0": return ("", "00:1f.3");
            case "pcie-root-port-empty@pcie.0": return ("-device pcie-root-port,bus=pcie.0,addr=04.0,chassis=1,slot=1", "00:04.0");
            case "pcie-root-port-disable-acs@pcie.0": return ("-device pcie-root-port,bus=pcie.0,addr=03.0,chassis=1,slot=1,disable-acs=on", "00:03.0");
            case "pxb-pcie@pcie.0": return ("-device pxb-pcie,bus=pcie.0,addr=0b.0,bus_nr=0x80", "00:0b.0");
            case "pcie-root-port@pxb-pcie":
                return ("-device pxb-pcie,id=pxb,bus=pcie.0,addr=0b.0,bus_nr=0x80\n-device pcie-root-port,bus=pxb,addr=00.0,chassis=1,slot=1", "80:00.0");
            case "x3130-upstream@root-port": return (RootPort + "-device x3130-upstream,bus=rp,addr=00.0", "01:00.0");
            case "xio3130-downstream@x3130-upstream":
                return (RootPort + "-device x3130-upstream,id=up,bus=rp,addr=00.0\n-device xio3130-downstream,bus=up,addr=00.0,chassis=2,slot=2", "02:00.0");
            case "nvme-sriov-vf@pcie.0": return ($"-device {NvmeSriov},bus=pcie.0,addr=02.0", "00:02.1");
            case "nvme-sriov-vf@root-port": return ($"{RootPort}-device {NvmeSriov},bus=rp,addr=00.0", "01:00.1");
        }
        string device = name switch
        {
            "nvme" => "nvme,serial=s",
            "nvme-sriov" => NvmeSriov,
            "pcie-root-port" => "pcie-root-port,chassis=9,slot=9",
            _ => name,
        };
        return position switch
        {
            "pcie.0" => ($"-device {device},bus=pcie.0,addr=02.0", "00:02.0"),
            "root-port" => ($"{RootPort}-device {device},bus=rp,addr=00.0", "01:00.0"),
            _ => ($"{PcieToPci}-device {device},bus=ppb,addr=01.0", "02:01.0"),
        };
    }

    [TestCaseSource(nameof(CatalogueImages))]
    public void Name_lines_match_the_catalogue(string image)
    {
        var (machine, bdf) = Placement(image);
        var m = Boot("-device nvme-subsys,id=ss,nqn=ss\n" + machine);
        if (image.StartsWith("nvme-sriov-vf@", StringComparison.Ordinal))
            Assert.That(Sriov.SetNumVfs(m.Topology, m.Topology.Functions.Single(f => f.SriovCap != 0), 2, out _), Is.EqualTo(SriovStatus.Ok));
        var lines = Lspci(m, bdf, verbose: true, ids: IdDisplay.Both).Split('\n');
        var catalogued = QemuImage.Load(image);
        Assert.Multiple(() =>
        {
            Assert.That(lines[0], Is.EqualTo($"{bdf} {catalogued.Lspci}"));
            if (catalogued.LspciSubsystem is { } sub) Assert.That(lines[1], Is.EqualTo($"\tSubsystem: {sub}"));
            else Assert.That(lines[1], Does.Not.StartWith("\tSubsystem:"));
        });
    }
}
