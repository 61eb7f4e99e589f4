#!/usr/bin/env bash
# Fetch the Debian 12 (bookworm) i386 guest: the linux-image-686 kernel and a static busybox.
#
#   scripts/fetch-debian-guest.sh [CACHE_DIR]      (default: guests-cache/ at the repo root)
#
# Leaves in CACHE_DIR:
#   boot/vmlinuz-6.1.0-N-686   the kernel (a bzImage), as the package ships it
#   vmlinuz                    a symlink to it
#   kernel-version             e.g. "6.1.0-N-686 6.1.x-y" (package name tail, package version)
#   bin/busybox                the static i386 busybox from busybox-static
#
# The host's apt configuration is left alone: apt runs with a private state, cache and source
# list under CACHE_DIR/apt, for architecture i386, against the same Debian mirror the host's own
# sources name (BT86_DEBIAN_MIRROR overrides it): scripts/debian-apt.sh, which
# bench/linux/fetch-bench-packages.sh shares. Only the two .deb files are fetched and
# unpacked with dpkg-deb -x; nothing is installed. Nothing is done when the files are there.
set -euo pipefail

say() { echo "fetch-debian-guest: $*" >&2; }
fail() {
	say "error: $*"
	exit 1
}

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${1:-$repo_root/guests-cache}
# apt reads Dir:: paths relative to /etc/apt: everything must be absolute.
mkdir -p "$cache" || fail "cannot create $cache"
cache=$(cd "$cache" && pwd)

have_guest() {
	[ -s "$cache/vmlinuz" ] && [ -s "$cache/bin/busybox" ] && [ -s "$cache/kernel-version" ]
}

if have_guest; then
	say "already present in $cache: kernel $(cut -d' ' -f1 "$cache/kernel-version")"
	exit 0
fi

command -v dpkg-deb >/dev/null || fail "dpkg-deb not found: this script needs a Debian host"
# shellcheck source=scripts/debian-apt.sh
. "$repo_root/scripts/debian-apt.sh"
apt_dir=$cache/apt
debian_apt_init "$apt_dir"

work=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT

download() { debian_apt_download "$work" "$1"; } # PACKAGE: fetch its .deb, print its name

# linux-image-686 is a metapackage: its first dependency is the real versioned kernel package.
meta_deb=$(download linux-image-686)
kernel_pkg=$(dpkg-deb -f "$meta_deb" Depends | tr ',' '\n' | sed -e 's/^ *//' -e 's/ .*//' |
	grep -E '^linux-image-[0-9].*-686$' | head -n1)
[ -n "$kernel_pkg" ] || fail "linux-image-686 does not depend on a linux-image-*-686 package: $(dpkg-deb -f "$meta_deb" Depends)"
say "linux-image-686 -> $kernel_pkg"
kernel_deb=$(download "$kernel_pkg")
busybox_deb=$(download busybox-static)

dpkg-deb -x "$kernel_deb" "$work/kernel"
dpkg-deb -x "$busybox_deb" "$work/busybox"
kernel_release=${kernel_pkg#linux-image-}
vmlinuz=$work/kernel/boot/vmlinuz-$kernel_release
[ -s "$vmlinuz" ] || fail "$kernel_pkg has no boot/vmlinuz-$kernel_release"
[ -s "$work/busybox/bin/busybox" ] || fail "busybox-static has no bin/busybox"

mkdir -p "$cache/boot" "$cache/bin"
install -m 0644 "$vmlinuz" "$cache/boot/vmlinuz-$kernel_release"
install -m 0755 "$work/busybox/bin/busybox" "$cache/bin/busybox"
ln -sfn "boot/vmlinuz-$kernel_release" "$cache/vmlinuz"
# Written last: have_guest() looks for it, so an interrupted run is redone.
echo "$kernel_release $(dpkg-deb -f "$kernel_deb" Version)" >"$cache/kernel-version"
rm -rf "$apt_dir" # the i386 package lists (~20 MB) are not needed again
say "kernel $kernel_release ($(dpkg-deb -f "$kernel_deb" Version)), busybox $(dpkg-deb -f "$busybox_deb" Version) in $cache"
