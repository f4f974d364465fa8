#!/usr/bin/env python3
"""Turn the QEMU 7.2 config-space catalogue (measured in a Linux guest) into power-on images.

Usage: tools/gen-qemu-images.py ../shared/vm/qemu-devices src/Sim.Pci/Qemu/Images

Each catalogue file holds the guest's hexdump and a list of the dwords the firmware/kernel changed
("power-on" vs "guest"). Reverting those dwords gives the image QEMU holds after reset, which is what the
simulator loads; firmware and kernel writes are then replayed by the simulator itself. The outputs are data
(measurements of QEMU), not code.
"""
import os, re, sys

def parse(path):
    lines = open(path).read().split("\n")
    out = []
    i = 0
    # a VF file carries two functions; take the first section set only
    hexdump, diffs, bars, lspci_name, lspci_sub, cfgsize, bdf = {}, [], [], None, None, None, None
    section = None
    for line in lines:
        if line.startswith("## "):
            if section == "diff" and line.startswith("## Summary"):
                break  # second function of a VF file
            section = ("hex" if line.startswith("## Config space") else
                       "diff" if line.startswith("## Differences") else
                       "bars" if line.startswith("## BARs") else
                       "lspci" if line.startswith("## lspci") else
                       "other")
            if section == "hex":
                cfgsize = int(re.search(r": (\d+) bytes", line).group(1))
            if line.startswith("## PF after"):
                section = "other"
            continue
        if section == "hex":
            m = re.match(r"^([0-9a-f]{3}): ((?:[0-9a-f]{2} ?){16})$", line.strip())
            if m:
                off = int(m.group(1), 16)
                for k, b in enumerate(m.group(2).split()):
                    hexdump[off + k] = int(b, 16)
        elif section == "diff":
            m = re.match(r"^\s+0x([0-9a-f]{3})\s+([0-9a-f]{8})\s+([0-9a-f]{8})\s+(.*)$", line)
            if m:
                diffs.append((int(m.group(1), 16), int(m.group(2), 16)))
        elif section == "bars":
            m = re.match(r"^\s+(\d+)\s+(BAR\d|ROM|VF BAR\d)\s+(mem32|mem64|I/O|ROM)\s*(pref)?\s+size (\d+)([KMG]?)", line)
            if m:
                size = int(m.group(5)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m.group(6)]
                bars.append((int(m.group(1)), m.group(3), bool(m.group(4)), size))
        elif section == "lspci" and lspci_name is None and re.match(r"^[0-9a-f]{2}:[0-9a-f]{2}\.\d ", line):
            lspci_name = line.split(" ", 1)[1]
        elif section == "lspci" and lspci_sub is None and line.startswith("\tSubsystem: "):
            lspci_sub = line[len("\tSubsystem: "):]
    img = bytearray(cfgsize)
    for off, b in hexdump.items():
        if off < cfgsize:
            img[off] = b
    for off, val in diffs:
        img[off:off + 4] = val.to_bytes(4, "little")
    return cfgsize, img, bars, lspci_name, lspci_sub

def main(src, dst):
    os.makedirs(dst, exist_ok=True)
    for name in sorted(os.listdir(src)):
        if not name.endswith(".txt") or name == "README.md":
            continue
        cfgsize, img, bars, lname, lsub = parse(os.path.join(src, name))
        with open(os.path.join(dst, name[:-4] + ".cfg"), "w") as f:
            f.write(f"# QEMU 7.2 power-on config space of {name[:-4]} (from the qemu-devices catalogue; tools/gen-qemu-images.py)\n")
            f.write(f"cfgsize {cfgsize}\n")
            for idx, kind, pref, size in bars:
                f.write(f"resource {idx} {kind.replace('I/O', 'io')}{' pref' if pref else ''} {size:#x}\n")
            if lname: f.write(f"lspci {lname}\n")
            if lsub: f.write(f"lspci-subsystem {lsub}\n")
            for off in range(0, cfgsize, 16):
                row = img[off:off + 16]
                if any(row):
                    f.write(f"{off:03x}: {' '.join(f'{b:02x}' for b in row)}\n")

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
