#!/bin/sh
# run-qemu.sh KERNEL [APPEND] — boot a guest test kernel under QEMU (TCG), the reference.
# Serial output goes to stdout; the exit status is QEMU's: (code << 1) | 1 from isa-debug-exit.
# A kernel that needs a device the others must not see gets it here, by file name (mmio.elf:
# pc-testdev, whose iomem region it tests); GUEST_QEMU_ARGS, if set, adds more arguments.
set -u
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 KERNEL [APPEND]" >&2
	exit 2
fi
here=$(dirname "$0")
cpu=$(cat "$here/qemu-cpu.txt") || exit 2
devices=
case $(basename "$1") in
mmio.elf) devices="-device pc-testdev" ;;
esac
# shellcheck disable=SC2086 # both lists are meant to split into words
exec timeout 60 qemu-system-i386 -M pc -m 128 -cpu "$cpu" -display none -nodefaults \
	-no-reboot -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	$devices ${GUEST_QEMU_ARGS:-} -kernel "$1" -append "${2:-}" </dev/null
