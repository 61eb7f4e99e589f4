#!/usr/bin/env bash
# Build the Linux guest's initramfs from the static busybox that fetch-debian-guest.sh fetched.
#
#   scripts/build-initramfs.sh CACHE_DIR            writes CACHE_DIR/initramfs.cpio.gz
#
# The archive (newc cpio, gzip'd) holds /bin/busybox, /bin/sh, empty /proc /sys /tmp ... and
# /init; the other applet links are made at boot by "busybox --install -s". /dev/console must
# exist before /init runs (the kernel opens it for init's stdin/stdout/stderr), and making a
# device node needs root, so it is not made on disk: a second, hand-written newc archive with
# /dev and /dev/console goes in front of cpio's, which the kernel allows (it unpacks
# concatenated archives in order). So this script needs no root.
#
# /init mounts proc, sysfs and devtmpfs, prints "bt86-init: started" and then either
#   - starts an interactive shell on the console (the default); "exit" writes 0 to the
#     debug-exit port and powers off, or
#   - with bt86.test=1 on the kernel command line, runs a scripted check, prints
#     "bt86-test: passed" (or "bt86-test: FAILED ..."), writes 0 (passed) or 1 to the debug-exit
#     port 0xf4 through /dev/port (bt86's exit port; nothing is there on a plain QEMU pc) and
#     powers off with poweroff -f.
# The archive is rebuilt only when busybox or this script is newer than it.
set -euo pipefail

say() { echo "build-initramfs: $*" >&2; }
fail() {
	say "error: $*"
	exit 1
}

[ $# -eq 1 ] || fail "usage: $0 CACHE_DIR (the directory fetch-debian-guest.sh filled)"
cache=$1
busybox=$cache/bin/busybox
out=$cache/initramfs.cpio.gz
[ -s "$busybox" ] || fail "$busybox missing: run scripts/fetch-debian-guest.sh $cache first"
for tool in cpio gzip; do
	command -v "$tool" >/dev/null || fail "$tool not found: apt-get install $tool (scripts/deps.sh)"
done
hello_src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/linux/hello32.c
if [ -s "$out" ] && [ "$out" -nt "$busybox" ] && [ "$out" -nt "${BASH_SOURCE[0]}" ] &&
	[ "$out" -nt "$hello_src" ]; then
	say "$out is up to date"
	exit 0
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/bt86-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,tmp,root,etc}
chmod 1777 "$root/tmp"
install -m 0755 "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
# The project's own static i386 program, run 100 times by the test (fork + exec).
gcc -m32 -static -nostdlib -ffreestanding -fno-pie -no-pie -fno-stack-protector -O2 \
	-o "$root/bin/hello32" "$hello_src" || fail "cannot build $hello_src (gcc-multilib)"

cat >"$root/init" <<'INIT'
#!/bin/busybox sh
# bt86 guest init: see scripts/build-initramfs.sh in the bt86 repository.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=${TERM:-vt100}
cd /root
echo "bt86-init: started"

test_mode=0
for word in $(cat /proc/cmdline); do
	[ "$word" = bt86.test=1 ] && test_mode=1
done

# Write one byte to the debug-exit port: bt86 ends with status (value << 1) | 1.
debug_exit() {
	[ -c /dev/port ] && printf "\\$(printf '%03o' "$1")" |
		dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
}

if [ "$test_mode" = 1 ]; then
	echo "bt86-test: uname: $(uname -a)"
	head -n 12 /proc/cpuinfo | sed 's/^/bt86-test: cpuinfo: /'
	failed=""
	# What the paravirtual interface gave (bt86 --pv on: KVM and kvm-clock), and the guest's
	# clock across a sleep; tests/linux/boot.sh holds both against the host's clock.
	hypervisor=$(dmesg | sed -n 's/.*Hypervisor detected: //p' | head -n 1)
	echo "bt86-pv: hypervisor: ${hypervisor:-none}"
	echo "bt86-pv: clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
	echo "bt86-pv: time before sleep 2: $(date +%s)"
	sleep 2
	echo "bt86-pv: time after sleep 2: $(date +%s)"
	# Shell arithmetic in a loop: sum and sum of squares of 1..1000.
	i=1 sum=0 sq=0
	while [ $i -le 1000 ]; do
		sum=$((sum + i)) sq=$((sq + i * i)) i=$((i + 1))
	done
	echo "bt86-test: sum 1..1000 = $sum, squares = $sq"
	[ "$sum" = 500500 ] && [ "$sq" = 333833500 ] || failed="$failed shell-arith"
	# awk floating point, then a pipe through sort and md5sum (the sum is what coreutils
	# gives for LC_ALL=C sort -r).
	pi=$(awk 'BEGIN { s = 0; for (k = 0; k < 20000; k++) s += (k % 2 ? -4 : 4) / (2 * k + 1); printf "%.4f", s }')
	echo "bt86-test: awk pi ~ $pi"
	[ "$pi" = 3.1415 ] || failed="$failed awk"
	md5=$(seq 1 500 | sort -r | md5sum | cut -d' ' -f1)
	echo "bt86-test: md5(seq 1 500 | sort -r) = $md5"
	[ "$md5" = 5d8b7b4e9db18ba7621d7dbb5e94a48a ] || failed="$failed sort-md5"
	# tmpfs: write 16 MiB of generated text and checksum it.
	mkdir -p /mnt && mount -t tmpfs tmpfs /mnt || failed="$failed tmpfs"
	seq 1 2400000 | head -c 16777216 >/mnt/big
	echo "bt86-test: tmpfs 16 MiB: $(wc -c </mnt/big) bytes, md5 $(md5sum </mnt/big | cut -d' ' -f1)"
	mount | grep -c ' /mnt ' | sed 's/^/bt86-test: tmpfs mounted: /'
	# 100 fork+exec of the project's static program.
	i=0
	while [ $i -lt 100 ]; do
		/bin/hello32 "run$i" >>/tmp/hello.out || failed="$failed hello32"
		i=$((i + 1))
	done
	echo "bt86-test: hello32 x100: $(wc -l </tmp/hello.out) lines, md5 $(md5sum </tmp/hello.out | cut -d' ' -f1)"
	# The kernel log must have no oops, no warning, no BUG.
	bad=$(dmesg | grep -ciE 'oops|warning|bug:|call trace|unknown cpu')
	echo "bt86-test: dmesg oops/warning lines: $bad"
	[ "$bad" = 0 ] || { dmesg | grep -iE 'oops|warning|bug:|call trace|unknown cpu' | head -5; failed="$failed dmesg"; }
	if [ -z "$failed" ]; then
		echo "bt86-test: passed"
		debug_exit 0
	else
		echo "bt86-test: FAILED:$failed"
		debug_exit 1
	fi
	poweroff -f
fi

echo "bt86-init: busybox shell on the console; 'exit' powers off"
setsid cttyhack sh || sh
debug_exit 0
poweroff -f
INIT
chmod 0755 "$root/init"

# The front archive: /dev and /dev/console (character device 5:1), in newc format, which is
# "070701", thirteen 8-digit hex fields, the name with its NUL padded to a multiple of 4 bytes,
# then the data (none here), and the "TRAILER!!!" entry at the end.
newc_entry() { # NAME MODE(octal) RDEVMAJOR RDEVMINOR INO
	local name=$1 mode=$((8#$2)) major=$3 minor=$4 ino=$5
	local namesize=$((${#name} + 1))
	local nlink=1
	[ $((mode & 8#170000)) -eq $((8#040000)) ] && nlink=2
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
		"$ino" "$mode" 0 0 "$nlink" 0 0 0 0 "$major" "$minor" "$namesize" 0 "$name"
	# header (110 bytes) + name + NUL, padded to 4
	local pad=$(((4 - (110 + namesize) % 4) % 4))
	[ $pad -gt 0 ] && head -c $pad /dev/zero
	return 0
}
{
	newc_entry dev 040755 0 0 1
	newc_entry dev/console 020600 5 1 2
	newc_entry TRAILER!!! 0 0 0 0
} >"$stage/dev.cpio"

# Same inputs, same archive: fixed times, sorted names, renumbered inodes (--reproducible).
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0 --reproducible >"$stage/root.cpio") ||
	fail "cpio failed"
cat "$stage/dev.cpio" "$stage/root.cpio" | gzip -9 -n >"$out.tmp"
mv "$out.tmp" "$out"
say "wrote $out ($(stat -c %s "$out") bytes)"
