#!/usr/bin/env bash
# Cross-checks `vfio-sim lspci` against the real lspci of pciutils 3.9.0 run on a sysfs tree exported from the
# same simulated machine (export-sysfs.cs). Development aid only; tests never need it.
#   tools/lspci-oracle/run-oracle.sh MACHINE "LSPCI-ARGS" [BDF=NUMVFS ...]
# PCIUTILS=dir of a pciutils v3.9.0 checkout built with `make ZLIB=no DNS=no LIBKMOD=no HWDB=no lspci`.
# The real lspci takes names from pci.ids (-i); pass the pci.ids matching the guest's to compare names too.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
machine="$1"; lspci_args="$2"; shift 2
: "${PCIUTILS:?set PCIUTILS to a built pciutils 3.9.0 tree}"
ids="${PCIIDS:-$PCIUTILS/pci.ids}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
dotnet run --file "$here/export-sysfs.cs" -- "$machine" "$work/sys" "$@" >/dev/null
# shellcheck disable=SC2086
"$PCIUTILS/lspci" -A linux-sysfs -O sysfs.path="$work/sys/bus/pci" -i "$ids" $lspci_args > "$work/real.txt"
sriov=(); for s in "$@"; do sriov+=(--sriov "$s"); done
# shellcheck disable=SC2086
dotnet "$repo/src/Cli/bin/Debug/net10.0/vfio-sim.dll" -m "$machine" lspci $lspci_args "${sriov[@]}" > "$work/sim.txt"
if diff -u "$work/real.txt" "$work/sim.txt"; then echo "oracle: identical ($(wc -l < "$work/sim.txt") lines)"; else exit 1; fi
