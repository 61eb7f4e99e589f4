#!/bin/sh
# bad_input.sh BT86 — every bad command line and bad kernel file must make bt86 exit with
# status 2 (RT_STATUS_BAD_INPUT), print exactly one line starting "bt86: " on stderr and nothing
# on stdout, and never die of a signal or hang.
#
# The kernels are made here with printf (no toolchain needed); gcc adds a few more cases where
# it is installed. One good kernel is run first as a control, so that each bad case fails for
# the reason it is meant to test and not because the control file is broken.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 path/to/bt86" >&2
	exit 2
fi
BT86=$1
# meson passes a path relative to the build directory; we are about to leave it.
case $BT86 in
/*) ;;
*/*) BT86=$(pwd)/$BT86 ;;
esac
if [ ! -x "$BT86" ] && ! command -v "$BT86" >/dev/null 2>&1; then
	echo "FAIL: $BT86 is not an executable"
	exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bt86-cli.XXXXXX") || exit 1
trap 'chmod -R u+rwx "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
cd "$tmp" || exit 1

if command -v timeout >/dev/null 2>&1; then
	run_limited() { timeout 30 "$@"; }
else
	run_limited() { "$@"; }
fi

failures=0
checks=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# expect_bad DESCRIPTION ARG... — run bt86 ARG... and check the bad-input contract.
expect_bad() {
	desc=$1
	shift
	checks=$((checks + 1))
	run_limited "$BT86" "$@" >out.txt 2>err.txt </dev/null
	status=$?
	if [ "$status" -eq 124 ]; then
		fail "$desc: timed out"
		return
	fi
	if [ "$status" -gt 128 ]; then
		fail "$desc: killed by signal $((status - 128))"
		return
	fi
	if [ "$status" -ne 2 ]; then
		fail "$desc: exit status $status, want 2"
	fi
	lines=$(wc -l <err.txt)
	first_bytes=$(head -n 1 err.txt | wc -c)
	all_bytes=$(wc -c <err.txt)
	if [ "$lines" -ne 1 ] || [ "$first_bytes" -ne "$all_bytes" ]; then
		fail "$desc: want exactly one line on stderr, got:"
		sed 's/^/    | /' err.txt
	elif [ "$(head -c 6 err.txt)" != "bt86: " ]; then
		fail "$desc: stderr line does not start with 'bt86: ': $(cat err.txt)"
	elif [ -s out.txt ]; then
		fail "$desc: printed on stdout: $(head -c 200 out.txt)"
	else
		echo "ok: $desc -> $(cat err.txt)"
	fi
	if ls core* >/dev/null 2>&1; then
		fail "$desc: left a core file"
		rm -f core*
	fi
}

# ---- kernels made with printf ------------------------------------------------------------

# Little-endian 8, 16 and 32-bit values as raw bytes. The octal escape has to be in the
# format string for printf to turn it into a byte.
# shellcheck disable=SC2059
u8() { printf "\\$(printf '%03o' $(($1 & 255)))"; }
le16() {
	u8 $(($1 & 255))
	u8 $((($1 >> 8) & 255))
}
le32() {
	le16 $(($1 & 65535))
	le16 $((($1 >> 16) & 65535))
}

# make_kernel FILE [CLASS [MACHINE [TYPE [PADDR [MAGIC [CHECKSUM_DELTA [FLAGS]]]]]]]
# One PT_LOAD of the whole 101-byte file at PADDR: ELF header (52), program header (32),
# multiboot header (12), then code that writes 0x10 to the debug-exit port and halts.
make_kernel() {
	file=$1
	class=${2:-1}
	machine=${3:-3}
	type=${4:-2}
	paddr=${5:-0x100000}
	magic=${6:-0x1BADB002}
	delta=${7:-0}
	flags=${8:-3}
	checksum=$(((0x100000000 - 0x1BADB002 - flags + delta) & 0xFFFFFFFF))
	{
		printf '\177ELF'
		u8 "$class"
		printf '\001\001\000\000\000\000\000\000\000\000\000'
		le16 "$type"
		le16 "$machine"
		le32 1                   # e_version
		le32 $((paddr + 96))     # e_entry
		le32 52                  # e_phoff
		le32 0                   # e_shoff
		le32 0                   # e_flags
		le16 52                  # e_ehsize
		le16 32                  # e_phentsize
		le16 1                   # e_phnum
		le16 40                  # e_shentsize
		le16 0                   # e_shnum
		le16 0                   # e_shstrndx
		le32 1                   # p_type PT_LOAD
		le32 0                   # p_offset
		le32 "$paddr"            # p_vaddr
		le32 "$paddr"            # p_paddr
		le32 101                 # p_filesz
		le32 4096                # p_memsz
		le32 7                   # p_flags
		le32 4096                # p_align
		le32 "$magic"
		le32 "$flags"
		le32 "$checksum"
		printf '\260\020\346\364\364' # mov $0x10,%al; out %al,$0xf4; hlt
	} >"$file"
}

make_kernel good.elf
if [ "$(wc -c <good.elf)" -ne 101 ]; then
	echo "FAIL: could not build the control kernel with printf"
	exit 1
fi

# Control: the good kernel must get past the command line and the loader.
run_limited "$BT86" run --kernel good.elf -m 16 >out.txt 2>err.txt </dev/null
status=$?
if [ "$status" -eq 2 ] || [ "$status" -eq 126 ] || [ "$status" -eq 127 ]; then
	echo "FAIL: the control kernel was refused (status $status): $(cat err.txt)"
	exit 1
fi
echo "ok: control kernel accepted (exit status $status)"

make_kernel elf64-header.elf 2
make_kernel big-endian.elf 1 3 2
# Flip EI_DATA (byte 5) to big-endian on a copy.
{ head -c 5 good.elf; printf '\002'; tail -c +7 good.elf; } >big-endian.elf
make_kernel x86-64-machine.elf 1 62
make_kernel shared-object.elf 1 3 3
make_kernel outside-ram.elf 1 3 2 0x7FFFF000
make_kernel no-magic.elf 1 3 2 0x100000 0
make_kernel bad-checksum.elf 1 3 2 0x100000 0x1BADB002 1
make_kernel graphics-flag.elf 1 3 2 0x100000 0x1BADB002 0 0x8 # bit 3: unsupported
head -c 30 good.elf >truncated-header.elf
head -c 70 good.elf >truncated-phdrs.elf
head -c 100 good.elf >truncated-data.elf
: >empty.elf
head -c 4096 /dev/urandom >random.bin
printf 'this is not a kernel\n' >text.txt
mkdir dir.elf
mkfifo fifo.elf 2>/dev/null || true

# ---- command lines -----------------------------------------------------------------------

expect_bad "no arguments"
expect_bad "unknown subcommand" frobnicate --kernel good.elf
expect_bad "option before the subcommand" -kernel good.elf
expect_bad "run without --kernel" run
expect_bad "run with -m but no kernel" run -m 64
expect_bad "--kernel without its argument" run --kernel
expect_bad "-kernel without its argument" run -kernel
expect_bad "--append without its argument" run --kernel good.elf --append
expect_bad "-m without its argument" run --kernel good.elf -m
expect_bad "--trace without its argument" run --kernel good.elf --trace
expect_bad "-m 0" run --kernel good.elf -m 0
expect_bad "-m 1" run --kernel good.elf -m 1
expect_bad "-m 3073" run --kernel good.elf -m 3073
expect_bad "-m 99999" run --kernel good.elf -m 99999
expect_bad "-m 4G" run --kernel good.elf -m 4G
expect_bad "-m 99999999999999999999999" run --kernel good.elf -m 99999999999999999999999
expect_bad "-m abc" run --kernel good.elf -m abc
expect_bad "-m empty" run --kernel good.elf -m ""
expect_bad "--pv maybe" run --kernel good.elf --pv maybe
expect_bad "--pv without its argument" run --kernel good.elf --pv
expect_bad "--pv=ON (case matters)" run --kernel good.elf --pv=ON
expect_bad "--trace-counts without --trace" run --kernel good.elf --trace-counts
expect_bad "-m -5" run --kernel good.elf -m -5
expect_bad "-m 64X" run --kernel good.elf -m 64X
expect_bad "-m 0x40" run --kernel good.elf -m 0x40
expect_bad "--memory=abc" run --kernel good.elf --memory=abc
expect_bad "unknown long option" run --kernel good.elf --frobnicate
expect_bad "unknown short option" run --kernel good.elf -x
expect_bad "stray argument" run good.elf
expect_bad "flag given a value" run --kernel good.elf --stats=yes

# ---- kernel files ------------------------------------------------------------------------

expect_bad "missing file" run --kernel does-not-exist.elf
expect_bad "empty path" run --kernel ""
expect_bad "directory" run --kernel dir.elf
expect_bad "empty file" run --kernel empty.elf
expect_bad "random bytes" run --kernel random.bin
expect_bad "text file" run --kernel text.txt
expect_bad "ELF64 header" run --kernel elf64-header.elf
expect_bad "big-endian ELF" run --kernel big-endian.elf
expect_bad "ELF32 for x86-64" run --kernel x86-64-machine.elf
expect_bad "shared object" run --kernel shared-object.elf
expect_bad "truncated ELF header" run --kernel truncated-header.elf
expect_bad "truncated program headers" run --kernel truncated-phdrs.elf
expect_bad "truncated segment data" run --kernel truncated-data.elf
expect_bad "segment outside guest RAM" run --kernel outside-ram.elf -m 64
expect_bad "no multiboot header" run --kernel no-magic.elf
expect_bad "bad multiboot checksum" run --kernel bad-checksum.elf
expect_bad "unsupported multiboot flag" run --kernel graphics-flag.elf
expect_bad "character device" run --kernel /dev/null
if [ -p fifo.elf ]; then
	expect_bad "FIFO (must not hang)" run --kernel fifo.elf
fi
if [ "$(id -u)" -ne 0 ]; then
	cp good.elf unreadable.elf
	chmod 000 unreadable.elf
	expect_bad "unreadable file" run --kernel unreadable.elf
fi

# ---- kernels from the compiler, where there is one ---------------------------------------

if command -v gcc >/dev/null 2>&1; then
	printf 'int bt86_unused;\n' >empty.c
	if gcc -c -o elf64.o empty.c 2>/dev/null; then
		expect_bad "ELF64 object from gcc" run --kernel elf64.o
	fi
	if gcc -m32 -c -o elf32.o empty.c 2>/dev/null; then
		expect_bad "ELF32 relocatable object from gcc -m32" run --kernel elf32.o
	fi
	printf 'void _start(void) { for (;;) ; }\n' >nomb.c
	if gcc -m32 -ffreestanding -nostdlib -static -o nomb.elf nomb.c 2>/dev/null; then
		expect_bad "ELF32 executable without a multiboot header" run --kernel nomb.elf
		head -c 200 nomb.elf >nomb-truncated.elf
		expect_bad "truncated gcc ELF32 executable" run --kernel nomb-truncated.elf
	fi
fi

echo "$checks checks, $failures failed"
[ "$failures" -eq 0 ]
