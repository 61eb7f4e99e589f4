#!/bin/sh
# boot.sh BT86 CACHE — boot Debian's i386 kernel with the test initramfs under bt86 and pass
# only if init ran its scripted check (uname, /proc/cpuinfo, shell arithmetic, awk, md5sum of
# sorted output) and reported it passed through the debug-exit port (status 1).
# CACHE is what `make guest` (scripts/fetch-debian-guest.sh, build-initramfs.sh) fills.
set -u
bt86=$1
cache=$2
if [ ! -f "$cache/vmlinuz" ] || [ ! -f "$cache/initramfs.cpio.gz" ]; then
	echo "FAIL: no guest images in $cache: run 'make guest' first"
	exit 1
fi
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
start=$(date +%s%N)
timeout 300 "$bt86" run --kernel "$cache/vmlinuz" --initrd "$cache/initramfs.cpio.gz" -m 256 \
	--append "console=ttyS0 bt86.test=1" </dev/null >"$out" 2>&1
status=$?
end=$(date +%s%N)
fail=0
grep -q '^bt86-init: started' "$out" || { echo "FAIL: init never started"; fail=1; }
grep -q '^bt86-test: passed' "$out" || { echo "FAIL: the scripted check did not pass"; fail=1; }
grep -q '^bt86-test: uname: Linux .* i686' "$out" || { echo "FAIL: no uname line"; fail=1; }
[ "$status" -eq 1 ] || { echo "FAIL: exit status $status, expected 1 (debug exit 0)"; fail=1; }
if [ "$fail" -ne 0 ]; then
	tail -n 40 "$out"
	exit 1
fi
echo "ok: Linux booted and passed its check in $(((end - start) / 1000000)) ms"
