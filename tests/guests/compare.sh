#!/bin/sh
# compare.sh BT86 KERNEL [APPEND] — run a guest kernel under QEMU and under bt86 and pass only
# if both printed the same non-empty output and ended with the same status, QEMU's being 1
# (the kernel reached its end and wrote 0 to isa-debug-exit). bt86 runs with --pv off: QEMU's
# CPU model (qemu-cpu.txt) has no hypervisor, so neither may bt86's (docs/PV.md).
set -u
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: $0 BT86 KERNEL [APPEND]" >&2
	exit 2
fi
bt86=$1
kernel=$2
append=${3:-}
here=$(dirname "$0")
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

"$here/run-qemu.sh" "$kernel" "$append" >"$tmp/qemu.out" 2>"$tmp/qemu.err"
qemu_status=$?
timeout 60 "$bt86" run --pv off --kernel "$kernel" --append "$append" </dev/null \
	>"$tmp/bt86.out" 2>"$tmp/bt86.err"
bt86_status=$?

fail=0
if [ "$qemu_status" -ne 1 ] || [ ! -s "$tmp/qemu.out" ]; then
	echo "FAIL: QEMU did not finish the kernel (status $qemu_status)"
	cat "$tmp/qemu.err"
	fail=1
fi
if [ ! -s "$tmp/bt86.out" ]; then
	echo "FAIL: bt86 printed nothing"
	fail=1
fi
if ! cmp -s "$tmp/qemu.out" "$tmp/bt86.out"; then
	echo "FAIL: outputs differ"
	diff -u --label qemu --label bt86 "$tmp/qemu.out" "$tmp/bt86.out"
	fail=1
fi
if [ "$qemu_status" -ne "$bt86_status" ]; then
	echo "FAIL: exit status differs"
	fail=1
fi
if [ "$fail" -ne 0 ]; then
	echo "status: qemu $qemu_status, bt86 $bt86_status"
	echo "--- bt86 stderr:"
	tail -n 40 "$tmp/bt86.err"
	exit 1
fi
echo "ok: $(wc -l <"$tmp/qemu.out") lines, status $qemu_status"
exit 0
