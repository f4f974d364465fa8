namespace VfioSim.Pci.MachineFiles;

/// <summary>
/// The built-in q35 machine: one of each situation a VFIO user meets (an isolated endpoint, a switch whose
/// downstream ports lack ACS, a PCIe-to-PCI bridge, a multi-function card, a root port without ACS, an SR-IOV
/// NVMe controller, NICs as integrated endpoints).
/// </summary>
public static class DefaultMachine
{
    public const string Text = """
        # vfio-sim default machine: QEMU 7.2 q35 with an emulated Intel VT-d
        -append "intel_iommu=on iommu=pt"
        # an endpoint alone below an ACS root port: its own group, ready for vfio-pci
        -device pcie-root-port,id=rp1,bus=pcie.0,addr=02.0,chassis=1,slot=1
        -device edu,id=edu0,bus=rp1,addr=00.0
        # a switch whose downstream ports have no ACS: each endpoint shares its port's group
        -device pcie-root-port,id=rp2,bus=pcie.0,addr=03.0,chassis=2,slot=2
        -device x3130-upstream,id=sw,bus=rp2,addr=00.0
        -device xio3130-downstream,id=sw.0,bus=sw,addr=00.0,chassis=3,slot=3
        -device xio3130-downstream,id=sw.1,bus=sw,addr=01.0,chassis=4,slot=4
        -device edu,id=edu1,bus=sw.0,addr=00.0
        -device e1000e,id=nic1,bus=sw.1,addr=00.0
        # a PCIe-to-PCI bridge: everything behind it is one group with the bridge
        -device pcie-root-port,id=rp3,bus=pcie.0,addr=04.0,chassis=5,slot=5
        -device pcie-pci-bridge,id=ppb,bus=rp3,addr=00.0
        -device edu,id=edu2,bus=ppb,addr=01.0
        -device virtio-rng-pci,id=rng,bus=ppb,addr=02.0
        # a multi-function card without ACS: its functions share a group
        -device pcie-root-port,id=rp4,bus=pcie.0,addr=05.0,chassis=6,slot=6
        -device e1000e,id=nic2,bus=rp4,addr=00.0,multifunction=on
        -device e1000e,id=nic3,bus=rp4,addr=00.1
        # a root port with ACS disabled: the port and its device are one group
        -device pcie-root-port,id=rp5,bus=pcie.0,addr=06.0,chassis=7,slot=7,disable-acs=on
        -device edu,id=edu3,bus=rp5,addr=00.0
        # an SR-IOV NVMe controller: each VF gets its own group when enabled
        -device nvme-subsys,id=subsys0,nqn=subsys0
        -device pcie-root-port,id=rp6,bus=pcie.0,addr=07.0,chassis=8,slot=8
        -device nvme,id=nvme0,bus=rp6,addr=00.0,serial=deadbeef,subsys=subsys0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4
        # integrated endpoints on the root bus
        -device e1000e,id=nic4,bus=pcie.0,addr=0a.0
        """;
}
