#!/usr/bin/env bash
# Boot the Debian guest under QEMU from the memory image that bt86's Linux loader builds.
#
#   scripts/qemu-loader-check.sh CACHE_DIR [RAM_MIB]        (default 256)
#
# Checks runtime/loader_linux.c end to end before bt86 itself can run Linux: a small host
# program (tests/runtime/linux_boot_dump.c) calls rt_load_linux() on CACHE_DIR/vmlinuz and
# CACHE_DIR/initramfs.cpio.gz with "console=ttyS0 bt86.test=1" and writes out the zero page,
# GDT, command line, kernel and initrd; QEMU places them in its RAM with its generic loader
# device and starts a 64 KiB stub ROM (tests/runtime/linux_boot_stub.S) instead of a BIOS,
# which only enters the kernel as the 32-bit boot protocol says. Without a BIOS there are no
# ACPI tables, so the guest cannot power off: its test mode ends through the debug-exit port
# (isa-debug-exit at 0xf4, as under bt86), and QEMU's status 1 means "bt86-test: passed".
set -euo pipefail

say() { echo "qemu-loader-check: $*" >&2; }
fail() {
	say "error: $*"
	exit 1
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	fail "usage: $0 CACHE_DIR [RAM_MIB]"
fi
cache=$1
ram_mib=${2:-256}
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
limit=${BT86_QEMU_TIMEOUT:-300}
for f in vmlinuz initramfs.cpio.gz; do
	[ -s "$cache/$f" ] || fail "$cache/$f missing: run scripts/fetch-debian-guest.sh and scripts/build-initramfs.sh"
done
for tool in cc as ld qemu-system-i386; do
	command -v "$tool" >/dev/null || fail "$tool not found (scripts/deps.sh installs it)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/bt86-loader-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

cc -std=c17 -O1 -Wall -Wextra -Werror -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 \
	-D_GNU_SOURCE -I"$repo_root" -o "$work/linux-boot-dump" \
	"$repo_root/tests/runtime/linux_boot_dump.c" "$repo_root/runtime/loader_linux.c" \
	"$repo_root/runtime/loader_file.c" ||
	fail "cannot build linux-boot-dump"
"$work/linux-boot-dump" "$cache/vmlinuz" "$cache/initramfs.cpio.gz" \
	"console=ttyS0 bt86.test=1" "$ram_mib" "$work" || fail "rt_load_linux refused the guest"
# shellcheck disable=SC1091
. "$work/boot.env"
say "entry 0x${EIP#0x} esi 0x${ESI#0x} gdt ${GDT_BASE}/${GDT_LIMIT} initrd ${INITRD_ADDR}+${INITRD_SIZE}"

as --32 --defsym EIP="$EIP" --defsym ESI="$ESI" --defsym GDT_BASE="$GDT_BASE" \
	--defsym GDT_LIMIT="$GDT_LIMIT" -o "$work/stub.o" "$repo_root/tests/runtime/linux_boot_stub.S" ||
	fail "cannot assemble the stub ROM"
ld -m elf_i386 -Ttext=0 --oformat binary -o "$work/stub.bin" "$work/stub.o" ||
	fail "cannot link the stub ROM"

log=$cache/qemu-loader-check.log
start=$(date +%s.%N)
status=0
timeout "$limit" qemu-system-i386 -M pc -m "$ram_mib" -nographic -no-reboot \
	-bios "$work/stub.bin" \
	-device "loader,file=$work/low.bin,addr=0,force-raw=on" \
	-device "loader,file=$work/kernel.bin,addr=$KERNEL_ADDR,force-raw=on" \
	-device "loader,file=$work/initrd.bin,addr=$INITRD_ADDR,force-raw=on" \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null >"$log" 2>&1 || status=$?
end=$(date +%s.%N)
seconds=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')
grep -q 'bt86-init: started' "$log" || fail "no 'bt86-init: started' after ${seconds}s (status $status; log $log)"
if [ "$status" -ne 1 ] || ! grep -q 'bt86-test: passed' "$log"; then
	fail "the guest's check did not pass (QEMU status $status; log $log)"
fi
say "passed: $(grep -m1 -o 'Linux version [^ ]*' "$log"), marker and debug exit within ${seconds}s"
