using System.Globalization;

namespace VfioSim.Pci.Qemu;

/// <summary>Where a QEMU device sits decides its personality (QEMU changes some models by position).</summary>
public enum QemuPosition
{
    /// <summary>On a PCIe root bus (pcie.0 or a pxb-pcie bus): RCiEPs, transitional virtio.</summary>
    RootBus,
    /// <summary>On a PCIe link below a root port or switch port: endpoints, modern virtio.</summary>
    PcieLink,
    /// <summary>On a conventional bus (behind pcie-pci-bridge, pci-bridge, i82801b11-bridge): 256-byte config space.</summary>
    ConventionalBus,
}

/// <summary>A rejected device option: the message QEMU would give, and the property it is about (for the column).</summary>
public sealed class QemuDeviceException(string message, string? property = null) : Exception(message)
{
    public string? Property { get; } = property;
}

/// <summary>
/// The QEMU 7.2 device models the simulator imitates, each realized from its catalogued power-on image with
/// the per-instance changes QEMU makes (multi-function bit, slot and chassis numbers, ACS removal, MAC-derived
/// serial number, SR-IOV sizes).
/// </summary>
public static class QemuDeviceModels
{
    public sealed record Model(string Name, string Description, IReadOnlySet<string> Properties, Func<Context, PciFunction> Realize);

    public sealed class Context(string model, IReadOnlyDictionary<string, string> props, QemuPosition position, bool onPxbBus)
    {
        public string ModelName { get; } = model;
        public IReadOnlyDictionary<string, string> Props { get; } = props;
        public QemuPosition Position { get; } = position;
        public bool OnPxbBus { get; } = onPxbBus;
        public string? Id => Props.GetValueOrDefault("id");
        public int NicIndex { get; init; }

        public string PositionSuffix => Position switch
        {
            QemuPosition.RootBus => "pcie.0",
            QemuPosition.PcieLink => "root-port",
            _ => "pcie-pci-bridge",
        };

        public bool Bool(string name, bool dflt = false)
        {
            if (!Props.TryGetValue(name, out var v)) return dflt;
            return v switch
            {
                "on" or "true" or "yes" or "y" or "1" => true,
                "off" or "false" or "no" or "n" or "0" => false,
                _ => throw new QemuDeviceException($"Parameter '{name}' expects 'on' or 'off'", name),
            };
        }

        public ulong UInt(string name, ulong dflt, ulong max)
        {
            if (!Props.TryGetValue(name, out var v)) return dflt;
            bool ok = v.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                ? ulong.TryParse(v[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var n)
                : ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out n);
            if (!ok) throw new QemuDeviceException($"Parameter '{name}' expects an integer", name);
            if (n > max) throw new QemuDeviceException($"Parameter '{name}' expects an integer at most {max}", name);
            return n;
        }
    }

    private static readonly string[] CommonPci =
        ["id", "bus", "addr", "multifunction", "romfile", "rombar", "romsize", "acpi-index", "failover_pair_id",
         "x-pcie-lnksta-dllla", "x-pcie-extcap-init"];

    private static HashSet<string> Props(params string[] extra) => [.. CommonPci, .. extra];

    private static readonly string[] PortProps =
        ["chassis", "slot", "port", "hotplug", "power_controller_present", "aer_log_max", "x-native-hotplug", "x-migrate-msix"];

    private static readonly string[] RootPortProps =
        ["disable-acs", "io-reserve", "mem-reserve", "pref32-reserve", "pref64-reserve", "bus-reserve", "x-speed", "x-width"];

    private static readonly string[] VirtioProps =
        ["disable-legacy", "disable-modern", "vectors", "ioeventfd", "virtio-pci-bus-master-bug-migration",
         "migrate-extra", "modern-pio-notify", "x-disable-pcie", "page-per-vq", "x-ignore-backend-features",
         "ats", "x-ats-page-aligned", "x-pcie-deverr-init", "x-pcie-lnkctl-init", "x-pcie-pm-init",
         "x-pcie-flr-init", "aer", "indirect_desc", "event_idx", "notify_on_empty", "any_layout", "iommu_platform",
         "packed", "use-started", "use-disabled-flag", "x-disable-legacy-check", "virtio-backend"];

    public static readonly IReadOnlyDictionary<string, Model> All = new Dictionary<string, Model>
    {
        ["pcie-root-port"] = new("pcie-root-port", "PCI Express Root Port (1b36:000c)", Props([.. PortProps, .. RootPortProps]), RootPort),
        ["x3130-upstream"] = new("x3130-upstream", "TI X3130 switch upstream port (104c:8232)", Props("x-pcie-extcap-init"),
            c => Image(c, "x3130-upstream@root-port")),
        ["xio3130-downstream"] = new("xio3130-downstream", "TI X3130 switch downstream port (104c:8233)", Props([.. PortProps]), Downstream),
        ["pcie-pci-bridge"] = new("pcie-pci-bridge", "PCIe-to-PCI bridge (1b36:000e)", Props("msi", "shpc"),
            c => Image(c, c.Position == QemuPosition.RootBus ? "pcie-pci-bridge@pcie.0" : "pcie-pci-bridge@root-port")),
        ["pci-bridge"] = new("pci-bridge", "PCI-to-PCI bridge (1b36:0001)", Props("chassis_nr", "msi", "shpc", "addr", "io-reserve", "mem-reserve", "pref32-reserve", "pref64-reserve", "bus-reserve"), PciBridge),
        ["i82801b11-bridge"] = new("i82801b11-bridge", "Intel 82801 DMI-to-PCI bridge (8086:244e)", Props(), c => Image(c, "i82801b11-bridge@pcie.0")),
        ["pxb-pcie"] = new("pxb-pcie", "PCIe expander bridge (1b36:000b), opens a root bus", Props("bus_nr", "numa_node"), c => Image(c, "pxb-pcie@pcie.0")),
        ["edu"] = new("edu", "QEMU edu test device (1234:11e8)", Props("dma_mask"),
            c => Image(c, $"edu@{c.PositionSuffix}", device: new Models.Edu(c.UInt("dma_mask", (1UL << 28) - 1, ulong.MaxValue)))),
        ["e1000e"] = new("e1000e", "Intel 82574L NIC (8086:10d3)", Props("mac", "netdev", "bootindex", "subsys_ven", "subsys", "disable_vnet_hdr", "init-vet", "migrate-timadj"), E1000e),
        ["nvme"] = new("nvme", "NVM Express controller (1b36:0010)", Props("serial", "drive", "subsys", "sriov_max_vfs", "sriov_vq_flexible", "sriov_vi_flexible",
            "sriov_max_vi_per_vf", "sriov_max_vq_per_vf", "max_ioqpairs", "msix_qsize", "cmb_size_mb", "pmrdev", "num_queues", "aerl", "aer_max_queued",
            "mdts", "vsl", "zoned.zasl", "zoned.auto_transition", "use-intel-id", "legacy-cmb", "ioeventfd", "logical_block_size", "physical_block_size", "ocp", "bootindex"), Nvme),
        ["virtio-rng-pci"] = new("virtio-rng-pci", "virtio RNG (1af4:1005 / 1af4:1044)", Props([.. VirtioProps, "rng", "max-bytes", "period"]), c => Image(c, $"virtio-rng-pci@{c.PositionSuffix}")),
        ["virtio-net-pci"] = new("virtio-net-pci", "virtio network (1af4:1000 / 1af4:1041)", Props([.. VirtioProps, "mac", "netdev", "bootindex", "mq", "rx_queue_size", "tx_queue_size", "host_mtu", "speed", "duplex", "failover"]), c => Image(c, $"virtio-net-pci@{c.PositionSuffix}")),
        ["virtio-blk-pci"] = new("virtio-blk-pci", "virtio block (1af4:1001 / 1af4:1042)", Props([.. VirtioProps, "drive", "bootindex", "num-queues", "queue-size", "serial", "logical_block_size", "physical_block_size", "discard_granularity", "write-cache", "iothread"]), c => Image(c, $"virtio-blk-pci@{c.PositionSuffix}")),
        ["virtio-9p-pci"] = new("virtio-9p-pci", "virtio 9P filesystem (1af4:1009 / 1af4:1049)", Props([.. VirtioProps, "fsdev", "mount_tag"]), c => Image(c, $"virtio-9p-pci@{c.PositionSuffix}")),
    };

    /// <summary>A <c>-device</c>'s options as a dictionary; QEMU rejects a property given twice.</summary>
    public static Dictionary<string, string> Properties(string model, IEnumerable<KeyValuePair<string, string>> options)
    {
        var props = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in options)
            if (!props.TryAdd(k, v)) throw new QemuDeviceException($"Property '{model}.{k}' given twice", k);
        return props;
    }

    /// <summary>The PCI model named <paramref name="model"/>, after checking that it has every given property.</summary>
    public static Model Find(string model, IReadOnlyDictionary<string, string> props)
    {
        if (!All.TryGetValue(model, out var m))
            throw new QemuDeviceException($"'{model}' is not a valid device model name (modelled: {string.Join(", ", All.Keys.Concat(NonPci))})");
        foreach (var k in props.Keys)
            if (!m.Properties.Contains(k)) throw new QemuDeviceException($"Property '{model}.{k}' not found", k);
        return m;
    }

    /// <summary>Non-PCI devices a QEMU command line may carry; accepted and ignored by the PCI model.</summary>
    public static readonly IReadOnlySet<string> NonPci = new HashSet<string> { "nvme-subsys", "nvme-ns", "intel-iommu", "virtio-rng-device" };

    private static PciFunction Image(Context c, string image, Action<ConfigSpace>? patch = null, Func<int, PciFunction>? vfModel = null,
        Models.PciDeviceModel? device = null)
    {
        bool mf = c.Bool("multifunction");
        return QemuImage.Load(image).Instantiate(c.ModelName, c.Id, vfModel, cs =>
        {
            patch?.Invoke(cs);
            if (mf) cs.Set8(PciRegs.HeaderType, (byte)(cs.Read8(PciRegs.HeaderType) | PciRegs.HeaderTypeMfd));
        }, device);
    }

    private static void SetSlotNumber(ConfigSpace cs, ulong slot)
    {
        int cap = cs.FindCapability(PciRegs.CapIdExp);
        uint sltcap = cs.Read32(cap + PciRegs.ExpSltCap);
        cs.Set32(cap + PciRegs.ExpSltCap, (sltcap & 0x0007ffff) | ((uint)slot << 19));
    }

    private static PciFunction RootPort(Context c)
    {
        bool disableAcs = c.Bool("disable-acs");
        ulong slot = c.UInt("slot", 0, 0x1fff);
        c.UInt("chassis", 0, 0xff);
        return Image(c, c.OnPxbBus ? "pcie-root-port@pxb-pcie" : "pcie-root-port@pcie.0", cs =>
        {
            SetSlotNumber(cs, slot);
            if (disableAcs) RemoveExtCapability(cs, PciRegs.ExtCapIdAcs);
        });
    }

    private static PciFunction Downstream(Context c)
    {
        ulong slot = c.UInt("slot", 0, 0x1fff);
        c.UInt("chassis", 0, 0xff);
        return Image(c, "xio3130-downstream@x3130-upstream", cs => SetSlotNumber(cs, slot));
    }

    private static PciFunction PciBridge(Context c)
    {
        ulong chassis = c.UInt("chassis_nr", 0, 0xff);
        return Image(c, $"pci-bridge@{c.PositionSuffix}", cs =>
        {
            int cap = cs.FindCapability(PciRegs.CapIdSlotId);
            if (cap != 0) cs.Set8(cap + 3, (byte)chassis);
        });
    }

    private static PciFunction E1000e(Context c)
    {
        byte[] mac = [0x52, 0x54, 0x00, 0x12, 0x34, (byte)(0x56 + c.NicIndex)];
        if (c.Props.TryGetValue("mac", out var text))
        {
            var parts = text.Split(':');
            if (parts.Length != 6 || !parts.All(p => p.Length == 2 && byte.TryParse(p, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out _)))
                throw new QemuDeviceException($"Property 'e1000e.mac' doesn't take value '{text}'", "mac");
            mac = parts.Select(p => byte.Parse(p, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)).ToArray();
        }
        return Image(c, $"e1000e@{c.PositionSuffix}", cs =>
        {
            int dsn = cs.Size > 256 ? FindExt(cs, PciRegs.ExtCapIdDsn) : 0;
            if (dsn == 0) return;
            // QEMU e1000e: serial = MAC[0..2] ff ff MAC[3..5], stored as a little-endian 64-bit value
            byte[] serial = [mac[5], mac[4], mac[3], 0xff, 0xff, mac[2], mac[1], mac[0]];
            for (int i = 0; i < 8; i++) cs.Set8(dsn + 4 + i, serial[i]);
        });
    }

    private static PciFunction Nvme(Context c)
    {
        if (!c.Props.ContainsKey("serial") && !c.Props.ContainsKey("subsys"))
            throw new QemuDeviceException("'serial' property is required", "serial");
        ulong maxVfs = c.UInt("sriov_max_vfs", 0, 127);
        if (maxVfs == 0 || c.Position == QemuPosition.ConventionalBus)
            return Image(c, maxVfs == 0 ? $"nvme@{c.PositionSuffix}" : "nvme-sriov@pcie-pci-bridge");
        ulong viFlexible = c.UInt("sriov_vi_flexible", 0, 0xffff);
        string vfImage = c.Position == QemuPosition.RootBus ? "nvme-sriov-vf@pcie.0" : "nvme-sriov-vf@root-port";
        return Image(c, $"nvme-sriov@{c.PositionSuffix}", cs =>
        {
            int sriov = FindExt(cs, PciRegs.ExtCapIdSriov);
            cs.Set16(sriov + PciRegs.SriovInitialVf, (ushort)maxVfs);
            cs.Set16(sriov + PciRegs.SriovTotalVf, (ushort)maxVfs);
            // The PF keeps msix_qsize (65) minus the flexible interrupt resources handed to VFs.
            int msix = cs.FindCapability(PciRegs.CapIdMsix);
            ushort flags = cs.Read16(msix + PciRegs.MsixFlags);
            cs.Set16(msix + PciRegs.MsixFlags, (ushort)((flags & ~PciRegs.MsixFlagsQsize) | (ushort)(65 - viFlexible - 1)));
        }, vfModel: _ => QemuImage.Load(vfImage).Instantiate("nvme-vf", null));
    }

    private static int FindExt(ConfigSpace cs, ushort id)
    {
        foreach (var (pos, capId, _) in cs.ExtendedCapabilities()) if (capId == id) return pos;
        return 0;
    }

    /// <summary>Unlinks an extended capability from the chain and clears it (QEMU's disable-acs never adds it).</summary>
    public static void RemoveExtCapability(ConfigSpace cs, ushort id)
    {
        int prev = 0;
        foreach (var (pos, capId, _) in cs.ExtendedCapabilities().ToList())
        {
            if (capId != id) { prev = pos; continue; }
            uint header = cs.Read32(pos);
            uint next = header >> 20;
            if (prev != 0) cs.Set32(prev, (cs.Read32(prev) & 0x000fffff) | (next << 20));
            else cs.Set32(pos, next == 0 ? 0 : cs.Read32((int)next)); // first capability: not needed for QEMU models
            for (int i = 0; i < 16 && pos + i < cs.Size; i++) cs.Set8(pos + i, 0);
            return;
        }
    }
}
