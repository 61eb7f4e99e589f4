#!/usr/bin/env bash
# Build a BIOS-bootable ISO that boots one kernel straight away, for engines without a -kernel
# option (Bochs) and for QEMU on the same image (bench/bochs/run-bochs.sh, run-qemu-iso.sh).
#
#   bench/iso/make-iso.sh OUT.iso KERNEL [--initrd FILE] [--append "ARGS"] [--multiboot]
#
# GRUB (grub-mkrescue, i386-pc only) loads KERNEL with "linux" (a Linux bzImage, the default)
# or "multiboot" (--multiboot: a multiboot v1 kernel such as build/tests/guests/*.elf) and
# boots it at once: grub.cfg has no menu, so there is no timeout and no key to wait for, and
# GRUB keeps to its BIOS console, so COM1 carries only the kernel's output. If GRUB cannot boot
# the kernel it says so on COM1 ("make-iso: GRUB could not boot ..."), writes 125 to the
# debug-exit port 0xf4 (the runners' status 1, "the guest wrote 125") and powers off.
# --initrd is the Linux initrd (a multiboot module with --multiboot); --append the kernel
# command line. A multiboot kernel gets "/boot/kernel ARGS", the kernel path first, as QEMU's
# -kernel gives it. The command line is split on blanks; a word must not contain ' or ".
#
# grub.cfg records the SHA-256 of KERNEL, FILE and this script, so a rerun with the same
# inputs leaves OUT.iso alone ("up to date"); otherwise it is rebuilt in a temporary file and
# renamed. (grub-mkrescue's output is never byte-identical twice: the volume's date is the
# UUID GRUB finds its files by.)
# Needs grub-mkrescue (grub-common), the i386-pc images (grub-pc-bin) and xorriso.
set -euo pipefail

say() { echo "make-iso: $*" >&2; }
fail() {
	say "error: $*"
	exit 2
}
usage() {
	fail "usage: $0 OUT.iso KERNEL [--initrd FILE] [--append \"ARGS\"] [--multiboot]"
}

grub_dir=/usr/lib/grub/i386-pc

[ $# -ge 2 ] || usage
out=$1
kernel=$2
shift 2
initrd=
append=
multiboot=0
while [ $# -gt 0 ]; do
	case $1 in
	--initrd)
		[ $# -ge 2 ] || usage
		initrd=$2
		shift
		;;
	--append)
		[ $# -ge 2 ] || usage
		append=$2
		shift
		;;
	--multiboot) multiboot=1 ;;
	*) usage ;;
	esac
	shift
done

[[ $out == *.iso ]] || fail "the output must be named *.iso: $out"
readable() { [ -f "$1" ] && [ -r "$1" ]; }
readable "$kernel" || fail "no such kernel: $kernel"
[ -z "$initrd" ] || readable "$initrd" || fail "no such initrd: $initrd"
case $append in
*[\'\"\\$'\n']*) fail "--append must not contain quotes, backslashes or newlines" ;;
esac
for tool in grub-mkrescue xorriso sha256sum; do
	command -v "$tool" >/dev/null || fail "$tool not found (Debian: grub-common, xorriso)"
done
[ -f "$grub_dir/cdboot.img" ] || fail "$grub_dir/cdboot.img missing (Debian: grub-pc-bin)"

# The kind of kernel must match the loader: GRUB's own errors would only show on the VGA.
if [ "$multiboot" -eq 1 ]; then
	# Multiboot v1: the magic 0x1BADB002 in the first 8 KiB, 4-byte aligned, with its flags
	# and checksum summing to 0 mod 2^32.
	found=0
	read -r -a words <<<"$(od -An -v -tx4 -N8192 "$kernel" | tr '\n' ' ')"
	for ((i = 0; i + 2 < ${#words[@]}; i++)); do
		if [ "${words[i]}" = 1badb002 ] &&
			(((0x${words[i]} + 0x${words[i + 1]} + 0x${words[i + 2]}) % 0x100000000 == 0)); then
			found=1
			break
		fi
	done
	[ "$found" -eq 1 ] || fail "$kernel has no multiboot v1 header in its first 8 KiB"
else
	# Linux boot protocol: "HdrS" at offset 0x202.
	[ "$(od -An -c -j514 -N4 "$kernel" | tr -d ' ')" = HdrS ] ||
		fail "$kernel is not a Linux bzImage (--multiboot for a multiboot kernel)"
fi

# grub.cfg. Every argument is single-quoted: GRUB expands $ and quotes in bare words.
args=
read -r -a words <<<"$append"
for w in "${words[@]}"; do
	args+=" '$w'"
done
cfg=$(
	echo "# make-iso.sh: boot one kernel at once; nothing here waits for a key."
	echo "# make-iso.sh sha256 $(sha256sum <"${BASH_SOURCE[0]}" | cut -d' ' -f1)"
	echo "# kernel sha256 $(sha256sum <"$kernel" | cut -d' ' -f1)"
	[ -z "$initrd" ] || echo "# initrd sha256 $(sha256sum <"$initrd" | cut -d' ' -f1)"
	if [ "$multiboot" -eq 1 ]; then
		echo "multiboot /boot/kernel /boot/kernel$args"
		[ -z "$initrd" ] || echo "module /boot/initrd /boot/initrd"
	else
		echo "linux /boot/kernel$args"
		[ -z "$initrd" ] || echo "initrd /boot/initrd"
	fi
	echo "boot"
	echo "# Only reached when the kernel could not be loaded or booted."
	echo "serial --unit=0 --speed=115200"
	echo "terminal_output serial"
	echo "echo 'make-iso: GRUB could not boot /boot/kernel'"
	echo "outb 0xf4 0x7d"
	echo "halt"
)

tmp_out=
stage=$(mktemp -d "${TMPDIR:-/tmp}/make-iso.XXXXXX")
trap 'rm -rf "$stage" ${tmp_out:+"$tmp_out"}' EXIT

# Up to date: OUT's grub.cfg is the one we would write (same inputs, same options).
if [ -s "$out" ] && xorriso -osirrox on -indev "$out" \
	-extract /boot/grub/grub.cfg "$stage/old.cfg" >/dev/null 2>&1 &&
	[ "$(cat "$stage/old.cfg")" = "$cfg" ]; then
	say "$out is up to date"
	exit 0
fi

mkdir -p "$stage/root/boot/grub"
cp "$kernel" "$stage/root/boot/kernel"
[ -z "$initrd" ] || cp "$initrd" "$stage/root/boot/initrd"
printf '%s\n' "$cfg" >"$stage/root/boot/grub/grub.cfg"
find "$stage/root" -exec touch -h -d @0 {} +

# Only the modules grub.cfg needs (and theirs); no fonts, themes or locales; BIOS only (-d),
# so no EFI image and no mtools.
mkdir -p "$(dirname "$out")"
tmp_out=$(mktemp "$out.XXXXXX")
if ! grub-mkrescue -d "$grub_dir" --fonts= --themes= --locales= \
	--install-modules="linux multiboot normal serial terminal echo iorw halt iso9660 biosdisk" \
	-o "$tmp_out" "$stage/root" >"$stage/log" 2>&1; then
	fail "grub-mkrescue failed: $(grep -m1 -i -E 'error|sorry|fail' "$stage/log" ||
		tail -n 1 "$stage/log")"
fi
chmod 0644 "$tmp_out"
mv -f "$tmp_out" "$out"
tmp_out=
say "wrote $out ($(stat -c %s "$out") bytes)"
