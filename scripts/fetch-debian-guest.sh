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
# sources name (BT86_DEBIAN_MIRROR overrides it). Only the two .deb files are fetched and
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
suite=bookworm
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

have_guest() {
	[ -s "$cache/vmlinuz" ] && [ -s "$cache/bin/busybox" ] && [ -s "$cache/kernel-version" ]
}

if have_guest; then
	say "already present in $cache: kernel $(cut -d' ' -f1 "$cache/kernel-version")"
	exit 0
fi

[ "$(id -u)" -eq 0 ] || fail "run as root: apt-get needs it to fetch and verify Debian's package lists (sudo $0 ${1:-})"
for tool in apt-get dpkg-deb; do
	command -v "$tool" >/dev/null || fail "$tool not found: this script needs a Debian host"
done
[ -r "$keyring" ] || fail "$keyring missing: apt-get install debian-archive-keyring"

# The Debian mirror the host already uses for the main archive: the first URI of a source that
# carries the suite "$suite" itself (not -security or -updates), from the deb822 *.sources
# files or one-line *.list files.
find_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v suite="$suite" '
			function flush() {
				if (uri != "" && has_suite && !disabled) { print uri; found = 1; exit }
				uri = ""; has_suite = 0; disabled = 0
			}
			/^[ \t]*$/ { flush(); next }
			/^[ \t]*#/ { next }
			tolower($1) == "uris:" { uri = $2 }
			tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) has_suite = 1 }
			tolower($1) == "enabled:" && tolower($2) == "no" { disabled = 1 }
			END { if (!found) flush() }
		' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		# deb [options] URI SUITE COMPONENTS...
		sed -e 's/\[[^]]*\]//' "$f" | awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2 }'
	done
}

mirror=${BT86_DEBIAN_MIRROR:-$(find_mirror | head -n1)}
[ -n "$mirror" ] || fail "no Debian mirror for '$suite' in /etc/apt/sources.list{,.d}: set BT86_DEBIAN_MIRROR=http://.../debian"
mirror=${mirror%/}
say "using $mirror $suite main (i386), cache $cache"

# The private apt tree. Dir::State::status points at an empty dpkg status so that the host's
# installed amd64 packages play no part; APT::Architectures limits the lists to i386.
apt_dir=$cache/apt
mkdir -p "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/sources.list.d" \
	"$apt_dir/preferences.d"
: >"$apt_dir/status"
echo "deb [arch=i386 signed-by=$keyring] $mirror $suite main" >"$apt_dir/sources.list"
apt_opts=(
	-o "Dir::State=$apt_dir/state"
	-o "Dir::State::status=$apt_dir/status"
	-o "Dir::Cache=$apt_dir/cache"
	-o "Dir::Etc::SourceList=$apt_dir/sources.list"
	-o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
	-o "Dir::Etc::PreferencesParts=$apt_dir/preferences.d"
	-o "Dir::Etc::Preferences=$apt_dir/preferences"
	-o "APT::Architecture=i386"
	-o "APT::Architectures::=i386"
	-o "APT::Sandbox::User=root"
	-o "Acquire::Languages=none"
	-q
)

say "updating the private i386 package lists"
apt-get "${apt_opts[@]}" update >"$apt_dir/update.log" 2>&1 ||
	fail "apt-get update failed (log: $apt_dir/update.log): $(tail -n 3 "$apt_dir/update.log" | tr '\n' ' ')"

work=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT

download() { # PACKAGE: fetch its .deb into $work, print the file name
	(cd "$work" && apt-get "${apt_opts[@]}" download "$1" >>"$apt_dir/download.log" 2>&1) ||
		fail "apt-get download $1 failed (log: $apt_dir/download.log)"
	local debs=("$work/$1"_*_i386.deb)
	[ -f "${debs[0]}" ] || fail "apt-get download $1 left no ${1}_*_i386.deb"
	echo "${debs[0]}"
}

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
