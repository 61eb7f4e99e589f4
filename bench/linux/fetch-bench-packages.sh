#!/usr/bin/env bash
# Fetch the Debian 12 i386 programs of the Linux benchmarks and their shared libraries.
#
#   bench/linux/fetch-bench-packages.sh CACHE_DIR      (the guest cache: guests-cache/)
#
# Leaves in CACHE_DIR/bench-root/ the packages below unpacked with dpkg-deb -x (a Debian i386
# tree: usr/bin/7zz, usr/bin/openssl, bin/bzip2, usr/bin/xz, lib/ld-linux.so.2,
# lib/i386-linux-gnu/...), bench-root/closure, the programs, the dynamic loader and every
# library in the programs' NEEDED closure as paths in the tree (a library missing from the
# packages is named, with this script's list to extend), and bench-root/packages, "PACKAGE
# VERSION" per line, written last. Fetched like scripts/fetch-debian-guest.sh does
# (scripts/debian-apt.sh: a private apt state, the host's apt and packages untouched; root).
# Nothing is done when bench-root/packages lists the packages below.
set -euo pipefail

say() { echo "fetch-bench-packages: $*" >&2; }
fail() {
	say "error: $*"
	exit 1
}

[ $# -eq 1 ] || fail "usage: $0 CACHE_DIR"
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mkdir -p "$1" || fail "cannot create $1"
cache=$(cd "$1" && pwd)
dest=$cache/bench-root

# The programs and every library in their closure (libc6 brings ld-linux.so.2).
packages=(7zip openssl libssl3 bzip2 libbz2-1.0 xz-utils liblzma5 libc6 libstdc++6 libgcc-s1
	zlib1g)
# The programs the benchmarks run, relative to bench-root.
programs=(usr/bin/7zz usr/bin/openssl bin/bzip2 usr/bin/xz)

if [ -s "$dest/packages" ] &&
	[ "$(cut -d' ' -f1 "$dest/packages" | LC_ALL=C sort)" = "$(printf '%s\n' "${packages[@]}" | LC_ALL=C sort)" ]; then
	say "already present in $dest"
	exit 0
fi
for tool in dpkg-deb readelf; do
	command -v "$tool" >/dev/null || fail "$tool not found (Debian packages dpkg, binutils)"
done

# shellcheck source=scripts/debian-apt.sh
. "$repo_root/scripts/debian-apt.sh"
apt_dir=$cache/apt-bench
debian_apt_init "$apt_dir"
work=$(mktemp -d "$cache/.fetch-bench.XXXXXX")
trap 'rm -rf "$work" "$apt_dir"' EXIT

mkdir -p "$work/root"
: >"$work/packages"
for p in "${packages[@]}"; do
	deb=$(debian_apt_download "$work" "$p")
	dpkg-deb -x "$deb" "$work/root"
	echo "$p $(dpkg-deb -f "$deb" Version)" >>"$work/packages"
done

# The NEEDED closure, looked up where the guest's loader will look (LD_LIBRARY_PATH is set to
# these directories by the benchmark's init and by its native runner).
libdirs=(lib/i386-linux-gnu usr/lib/i386-linux-gnu)
[ -e "$work/root/lib/ld-linux.so.2" ] || fail "libc6 has no lib/ld-linux.so.2"
todo=()
printf '%s\n' lib/ld-linux.so.2 >"$work/root/closure"
for prog in "${programs[@]}"; do
	[ -f "$work/root/$prog" ] || fail "no $prog in the packages: ${packages[*]}"
	todo+=("$work/root/$prog")
	echo "$prog" >>"$work/root/closure"
done
declare -A seen=()
while [ ${#todo[@]} -gt 0 ]; do
	elf=${todo[0]}
	todo=("${todo[@]:1}")
	for lib in $(readelf -d "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
		[ -z "${seen[$lib]:-}" ] || continue
		seen[$lib]=1
		found=
		for d in "${libdirs[@]}"; do
			[ -e "$work/root/$d/$lib" ] && found=$work/root/$d/$lib && break
		done
		[ -n "$found" ] || fail "$lib (needed by ${elf#"$work/root/"}) is in none of the packages: add its package to this script's list"
		todo+=("$found")
		echo "${found#"$work/root/"}" >>"$work/root/closure"
	done
done

rm -rf "$dest"
mv "$work/root" "$dest"
mv "$work/packages" "$dest/packages"
say "$(wc -l <"$dest/packages") packages in $dest: $(tr '\n' ' ' <"$dest/packages")"
