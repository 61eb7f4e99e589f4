#!/usr/bin/env bash
# Build the initramfs images of the Linux benchmarks.
#
#   bench/linux/build-bench-initramfs.sh CACHE_DIR BUILD_DIR
#
# CACHE_DIR is the guest cache after `make guest` and bench/linux/fetch-bench-packages.sh
# (initramfs.cpio.gz, bin/busybox, bench-root/); BUILD_DIR has tests/guests/compute-host.
# Writes in CACHE_DIR/bench/:
#   root/              the overlay tree: /init (bench/linux/init), /bench/workloads.sh,
#                      /bench/bin/{benchtool,compute-host}, /mnt, and the Debian programs with
#                      their loader and libraries (bench-root/closure, symlinks resolved) at
#                      their Debian paths; bench/linux/native.sh runs the same files on the host
#   boot.cpio.gz       initramfs.cpio.gz followed by an archive of /init alone (boot rows)
#   initramfs.cpio.gz  initramfs.cpio.gz followed by an archive of all of root/
# The kernel unpacks concatenated archives in order, so the base archive's busybox and
# /dev/console stay and the overlay's /init replaces the base's. Needs gcc -m32 (benchtool, a
# static freestanding program like tests/linux/hello32.c), cpio and gzip; no root. Nothing is
# done when both images are newer than every input.
set -euo pipefail

say() { echo "build-bench-initramfs: $*" >&2; }
fail() {
	say "error: $*"
	exit 1
}

[ $# -eq 2 ] || fail "usage: $0 CACHE_DIR BUILD_DIR"
cache=$(cd "$1" && pwd) || fail "no directory $1"
build=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
base=$cache/initramfs.cpio.gz
broot=$cache/bench-root
compute=$build/tests/guests/compute-host
out=$cache/bench
[ -s "$base" ] || fail "$base missing: make guest"
[ -s "$broot/packages" ] || fail "$broot missing: bench/linux/fetch-bench-packages.sh $cache"
[ -x "$compute" ] || fail "$compute missing: make build"
for tool in gcc cpio gzip; do
	command -v "$tool" >/dev/null || fail "$tool not found (scripts/deps.sh)"
done

inputs=("$base" "$broot/packages" "$compute" "$here/init" "$here/workloads.sh"
	"$here/benchtool.c" "${BASH_SOURCE[0]}")
fresh=1
for img in "$out/boot.cpio.gz" "$out/initramfs.cpio.gz"; do
	for f in "${inputs[@]}"; do
		[ -s "$img" ] && [ "$img" -nt "$f" ] || fresh=0
	done
done
if [ "$fresh" -eq 1 ]; then
	say "$out is up to date"
	exit 0
fi

rm -rf "$out"
mkdir -p "$out"
stage=$out/root
mkdir -p "$stage/bench/bin" "$stage/mnt"
install -m 0755 "$here/init" "$stage/init"
install -m 0644 "$here/workloads.sh" "$stage/bench/workloads.sh"
install -m 0755 "$compute" "$stage/bench/bin/compute-host"
gcc -m32 -static -nostdlib -ffreestanding -fno-pie -no-pie -fno-stack-protector -O2 -Wall \
	-Wextra -Werror -o "$stage/bench/bin/benchtool" "$here/benchtool.c" ||
	fail "cannot build $here/benchtool.c (gcc-multilib)"
while read -r f; do
	mkdir -p "$stage/$(dirname "$f")"
	cp -L "$broot/$f" "$stage/$f" || fail "cannot copy $broot/$f"
done <"$broot/closure"

# One archive of the paths given on stdin (relative to the stage), reproducibly: fixed times,
# sorted names, renumbered inodes.
archive() {
	LC_ALL=C sort | (cd "$stage" && cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -9 -n
}
find "$stage" -exec touch -h -d @0 {} +
{ cat "$base" && echo init | archive; } >"$out/boot.cpio.gz.tmp" || fail "cpio failed"
{ cat "$base" && (cd "$stage" && find . -mindepth 1 | sed 's|^\./||') | archive; } \
	>"$out/initramfs.cpio.gz.tmp" || fail "cpio failed"
mv "$out/boot.cpio.gz.tmp" "$out/boot.cpio.gz"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
say "wrote $out/boot.cpio.gz ($(stat -c %s "$out/boot.cpio.gz") bytes) and initramfs.cpio.gz ($(stat -c %s "$out/initramfs.cpio.gz") bytes)"
