#!/bin/sh
# compare-host.sh HOSTPROG KERNEL — run a kernel built as a Linux i386 program (on the real
# CPU) and the multiboot kernel under QEMU; pass if both print the same. This checks that the
# kernel prints only what the architecture defines, and that QEMU computes it. Exits 77
# (skipped) when the host cannot run i386 programs.
set -u
if [ $# -ne 2 ]; then
	echo "usage: $0 HOSTPROG KERNEL" >&2
	exit 2
fi
here=$(dirname "$0")
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

timeout 60 "$1" </dev/null >"$tmp/host.out" 2>"$tmp/host.err"
host_status=$?
if [ "$host_status" -eq 126 ] || [ "$host_status" -eq 127 ] || grep -q 'Exec format' "$tmp/host.err"; then
	echo "skipped: cannot run i386 programs here"
	exit 77
fi
"$here/run-qemu.sh" "$2" >"$tmp/qemu.out" 2>"$tmp/qemu.err"
qemu_status=$?
if [ "$host_status" -ne 0 ] || [ "$qemu_status" -ne 1 ]; then
	echo "FAIL: status: host $host_status (want 0), qemu $qemu_status (want 1)"
	cat "$tmp/host.err" "$tmp/qemu.err"
	exit 1
fi
if ! cmp -s "$tmp/qemu.out" "$tmp/host.out"; then
	echo "FAIL: the real CPU and QEMU print different things"
	diff -u --label qemu --label cpu "$tmp/qemu.out" "$tmp/host.out"
	exit 1
fi
echo "ok: $(wc -l <"$tmp/qemu.out") lines"
exit 0
