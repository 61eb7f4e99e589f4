#!/usr/bin/env bash
# Install the Debian packages bt86 needs to build and test, if any are missing; with --bench
# also those only the benchmarks need (Bochs and the ISO tools), which make test never uses.
# Run as root this installs them with apt-get; otherwise it says what to install.
set -euo pipefail

packages=(
	gcc make pkg-config meson ninja-build
	libzydis-dev libcapstone-dev libelf-dev libcriterion-dev
	gcc-multilib            # the guest test kernels are built with gcc -m32
	qemu-system-x86         # the reference the guest tests compare against
	clang-format            # make format-check
	clang                   # make fuzz (libFuzzer)
	gnuplot-nox             # make bench: the chart
	cpio                    # scripts/build-initramfs.sh: the Linux guest's initramfs
)
if [ "${1:-}" = --bench ]; then
	packages+=(
		# Bochs, headless through SDL's dummy video driver (bench/bochs/): in one
		# apt-get command with bochs-sdl, or apt picks bochs-wx for bochs' display
		bochs bochsbios vgabios bochs-sdl
		grub-pc-bin grub-common xorriso # bench/iso/make-iso.sh: GRUB ISOs
	)
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "bt86: missing Debian packages: ${missing[*]}" >&2
	echo "bt86: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "bt86: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
