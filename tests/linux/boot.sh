#!/bin/sh
# boot.sh BT86 CACHE — boot Debian's i386 kernel with the test initramfs (bt86.test=1) under
# bt86 and under QEMU TCG (with the -cpu model matching bt86's CPUID), and pass only if under
# bt86 init ran its checks (uname, /proc/cpuinfo, shell arithmetic, awk, sort|md5sum, 16 MiB on
# tmpfs, 100 fork+exec of the project's static program, dmesg free of oopses and warnings),
# reported success through the debug-exit port (status 1), and printed the same results as
# under QEMU. cpu MHz and bogomips are timing and left out of the comparison. `quiet` keeps
# kernel messages from splitting the result lines on the shared console (dmesg is still
# checked in full).
# CACHE is what `make guest` (scripts/fetch-debian-guest.sh, build-initramfs.sh) fills.
set -u
bt86=$1
cache=$2
here=$(dirname "$0")
if [ ! -f "$cache/vmlinuz" ] || [ ! -f "$cache/initramfs.cpio.gz" ]; then
	echo "FAIL: no guest images in $cache: run 'make guest' first"
	exit 1
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
append="console=ttyS0 quiet bt86.test=1"
now_ms() { echo $(($(date +%s%N) / 1000000)); }

start=$(now_ms)
timeout 300 "$bt86" run --kernel "$cache/vmlinuz" --initrd "$cache/initramfs.cpio.gz" -m 256 \
	--append "$append" </dev/null >"$tmp/bt86.out" 2>&1
status=$?
bt86_ms=$(($(now_ms) - start))

start=$(now_ms)
timeout 300 qemu-system-i386 -M pc -m 256 -cpu "$(cat "$here/../guests/qemu-cpu.txt")" \
	-display none -nodefaults -no-reboot -serial stdio \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-kernel "$cache/vmlinuz" -initrd "$cache/initramfs.cpio.gz" -append "$append" \
	</dev/null >"$tmp/qemu.out" 2>&1
qemu_status=$?
qemu_ms=$(($(now_ms) - start))

results() { grep '^bt86-test' "$1" | grep -vE 'cpu MHz|bogomips'; }
fail=0
grep -q '^bt86-init: started' "$tmp/bt86.out" || { echo "FAIL: init never started"; fail=1; }
grep -q '^bt86-test: passed' "$tmp/bt86.out" || { echo "FAIL: the checks did not pass"; fail=1; }
[ "$status" -eq 1 ] || { echo "FAIL: exit status $status, expected 1 (debug exit 0)"; fail=1; }
grep -q '^bt86-test: passed' "$tmp/qemu.out" ||
	{ echo "FAIL: the reference run under QEMU did not pass (status $qemu_status)"; fail=1; }
results "$tmp/qemu.out" >"$tmp/qemu.res"
results "$tmp/bt86.out" >"$tmp/bt86.res"
if ! cmp -s "$tmp/qemu.res" "$tmp/bt86.res"; then
	echo "FAIL: results differ from QEMU's"
	diff -u --label qemu --label bt86 "$tmp/qemu.res" "$tmp/bt86.res"
	fail=1
fi
if [ "$fail" -ne 0 ]; then
	tail -n 40 "$tmp/bt86.out"
	exit 1
fi
echo "ok: $(wc -l <"$tmp/bt86.res") result lines equal QEMU's; bt86 ${bt86_ms} ms, QEMU ${qemu_ms} ms"
