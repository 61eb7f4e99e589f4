# shellcheck shell=bash
# scripts/debian-apt.sh — sourced, not run: fetch Debian 12 (bookworm) i386 packages with a
# private apt state, leaving the host's apt configuration and installed packages alone.
# Used by scripts/fetch-debian-guest.sh and bench/linux/fetch-bench-packages.sh.
#
#   debian_apt_init APT_DIR     set up the private apt tree in APT_DIR (an absolute path) and
#                               fetch the i386 package lists into it (~20 MB); sets apt_opts
#   debian_apt_download DIR PKG fetch PKG's .deb into DIR and print the file's name
#
# The caller defines say MESSAGE and fail MESSAGE (print; print and exit) and may set BT86_DEBIAN_MIRROR; the mirror
# is otherwise the one the host's own sources name for the suite. Needs root (apt-get update
# verifies and writes the lists), apt-get and debian-archive-keyring.

debian_suite=bookworm
debian_keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# The Debian mirror the host already uses for the main archive: the first URI of a source that
# carries the suite "$debian_suite" itself (not -security or -updates), from the deb822
# *.sources files or one-line *.list files.
debian_find_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v suite="$debian_suite" '
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
		sed -e 's/\[[^]]*\]//' "$f" |
			awk -v suite="$debian_suite" '$1 == "deb" && $3 == suite { print $2 }'
	done
}

debian_apt_init() {
	local apt_dir=$1 mirror
	[ "$(id -u)" -eq 0 ] ||
		fail "run as root: apt-get needs it to fetch and verify Debian's package lists"
	command -v apt-get >/dev/null || fail "apt-get not found: this script needs a Debian host"
	[ -r "$debian_keyring" ] || fail "$debian_keyring missing: apt-get install debian-archive-keyring"
	mirror=${BT86_DEBIAN_MIRROR:-$(debian_find_mirror | head -n1)}
	[ -n "$mirror" ] ||
		fail "no Debian mirror for '$debian_suite' in /etc/apt/sources.list{,.d}: set BT86_DEBIAN_MIRROR=http://.../debian"
	mirror=${mirror%/}
	say "using $mirror $debian_suite main (i386), apt state in $apt_dir"

	# Dir::State::status points at an empty dpkg status so that the host's installed amd64
	# packages play no part; APT::Architectures limits the lists to i386. apt reads Dir::
	# paths relative to /etc/apt: they must all be absolute.
	mkdir -p "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" \
		"$apt_dir/sources.list.d" "$apt_dir/preferences.d"
	: >"$apt_dir/status"
	echo "deb [arch=i386 signed-by=$debian_keyring] $mirror $debian_suite main" \
		>"$apt_dir/sources.list"
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
	debian_apt_dir=$apt_dir
	say "updating the private i386 package lists"
	apt-get "${apt_opts[@]}" update >"$apt_dir/update.log" 2>&1 ||
		fail "apt-get update failed (log: $apt_dir/update.log): $(tail -n 3 "$apt_dir/update.log" | tr '\n' ' ')"
}

debian_apt_download() {
	local dir=$1 pkg=$2 deb
	(cd "$dir" && apt-get "${apt_opts[@]}" download "$pkg" >>"$debian_apt_dir/download.log" 2>&1) ||
		fail "apt-get download $pkg failed (log: $debian_apt_dir/download.log)"
	for deb in "$dir/$pkg"_*_i386.deb "$dir/$pkg"_*_all.deb; do
		[ -f "$deb" ] && echo "$deb" && return 0
	done
	fail "apt-get download $pkg left no ${pkg}_*_i386.deb in $dir"
}
