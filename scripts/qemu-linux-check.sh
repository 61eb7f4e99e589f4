#!/usr/bin/env bash
# Boot the Debian guest under QEMU (the reference) in test mode and time it.
#
#   scripts/qemu-linux-check.sh CACHE_DIR [RUNS]
#
# Runs qemu-system-i386 -M pc -m 256 -kernel CACHE_DIR/vmlinuz -initrd CACHE_DIR/initramfs.cpio.gz
# -append "console=ttyS0 bt86.test=1" RUNS times (default 1), checks that the guest printed
# "bt86-init: started" and "bt86-test: passed" and that QEMU exited by itself (the guest
# powered off), and prints the wall time from QEMU's start to the marker and to its exit. The
# whole serial output of the last run is left in CACHE_DIR/qemu-check.log.
set -euo pipefail

say() { echo "qemu-linux-check: $*" >&2; }
fail() {
	say "error: $*"
	exit 1
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	fail "usage: $0 CACHE_DIR [RUNS]"
fi
cache=$1
runs=${2:-1}
log=$cache/qemu-check.log
limit=${BT86_QEMU_TIMEOUT:-300}
for f in vmlinuz initramfs.cpio.gz; do
	[ -s "$cache/$f" ] || fail "$cache/$f missing: run scripts/fetch-debian-guest.sh and scripts/build-initramfs.sh"
done
command -v qemu-system-i386 >/dev/null || fail "qemu-system-i386 not found (apt-get install qemu-system-x86)"

now() { date +%s.%N; }

for run in $(seq 1 "$runs"); do
	start=$(now)
	marker=""
	status=0
	# Each output line is stamped with the seconds since QEMU started.
	timeout "$limit" qemu-system-i386 -M pc -m 256 -nographic -no-reboot \
		-kernel "$cache/vmlinuz" -initrd "$cache/initramfs.cpio.gz" \
		-append "console=ttyS0 bt86.test=1" </dev/null 2>&1 |
		while IFS= read -r line; do
			printf '%s %s\n' "$(now)" "$line"
		done >"$log" || status=$?
	end=$(now)
	[ "$status" -eq 0 ] || fail "QEMU did not power off within ${limit}s or failed (status $status; log $log)"
	marker=$(grep -m1 'bt86-init: started' "$log" | cut -d' ' -f1) ||
		fail "no 'bt86-init: started' in $log"
	grep -q 'bt86-test: passed' "$log" || fail "the guest's check did not pass: $(grep -m1 'bt86-test: FAILED' "$log" || echo 'no result line') (log $log)"
	kernel=$(grep -m1 -o 'Linux version [^ ]*' "$log" | cut -d' ' -f3)
	awk -v run="$run" -v k="$kernel" -v s="$start" -v m="$marker" -v e="$end" 'BEGIN {
		printf "run %d: kernel %s, marker after %.2f s, powered off after %.2f s\n", run, k, m - s, e - s
	}'
done
