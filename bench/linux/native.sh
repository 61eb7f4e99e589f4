#!/usr/bin/env bash
# bench/linux/native.sh CACHE_DIR NAME — run one Linux benchmark workload on the host, as the
# guest's /init runs it (bench/linux/init): the same busybox sh sources the same
# bench/linux/workloads.sh and runs bench_main NAME, with the same static busybox for the
# applets, the same Debian i386 programs and libraries (CACHE_DIR/bench/root, run through its
# ld-linux.so.2 --library-path) and the same data, in a fresh directory on a tmpfs
# (/dev/shm, else TMPDIR). Prints what the guest prints, "bt86-bench: NAME ns=N" among it; exit
# status 0 if the workload passed, 1 if it failed, 2 if it could not start.
#
# The Debian programs pick their code by the CPU's features. So that the host runs the code
# the guest runs, glibc's and OpenSSL's choices are limited to the bt86 virtual CPU's (an
# SSE2-era CPU: tests/guests/qemu-cpu.txt): GLIBC_TUNABLES turns off the newer extensions, and
# OPENSSL_ia32cap is the vector OpenSSL finds in the guest (the openssl workload prints it, so
# bench/report.sh notes a difference). Programs' own CPUID checks (7-Zip's) still see the host.
set -uo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 CACHE_DIR NAME" >&2
	exit 2
fi
cache=$(cd "$1" && pwd) || exit 2
name=$2
root=$cache/bench/root
busybox=$cache/bin/busybox
if [ ! -x "$root/lib/ld-linux.so.2" ] || [ ! -x "$busybox" ]; then
	echo "native: $root or $busybox missing: bench/linux/build-bench-initramfs.sh" >&2
	exit 2
fi
case $root in
*[[:space:]]*)
	echo "native: $root has a space in its path; BENCH_EXEC cannot hold it" >&2
	exit 2
	;;
esac

shm=/dev/shm
[ -d "$shm" ] && [ "$(stat -f -c %T "$shm" 2>/dev/null)" = tmpfs ] || shm=${TMPDIR:-/tmp}
tmp=$(mktemp -d "$shm/bt86-bench.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin" "$tmp/work"
"$busybox" --install -s "$tmp/bin" || exit 2

# The bt86 virtual CPU's vector, as `openssl info -cpusettings` prints it in the guest under
# QEMU (under bt86 bit 63 is set too: the hypervisor bit, which OpenSSL picks no code by).
guest_ia32cap=0x4788ad3d:0x0

# What glibc may use beyond the guest's SSE2: none of it.
hwcaps=-SSSE3,-SSE4_1,-SSE4_2,-AVX,-AVX2,-FMA,-POPCNT,-MOVBE,-LZCNT,-BMI1,-BMI2,-ERMS,-FSRM
hwcaps=$hwcaps,-AVX512F,-AVX512BW,-AVX512VL
libpath=$root/lib/i386-linux-gnu:$root/usr/lib/i386-linux-gnu

# shellcheck disable=SC2016 # the inner shell expands them
env -i PATH="$tmp/bin" HOME="$tmp" LC_ALL=C OPENSSL_CONF=/dev/null \
	OPENSSL_ia32cap="$guest_ia32cap" GLIBC_TUNABLES="glibc.cpu.hwcaps=$hwcaps" \
	BENCH_ROOT="$root" BENCH_TOOLS="$root/bench/bin" BENCH_BIN="$tmp/bin" \
	BENCH_TMP="$tmp/work" BENCH_EXEC="$root/lib/ld-linux.so.2 --library-path $libpath" \
	"$busybox" sh -c 'cd "$BENCH_TMP" && . "$BENCH_ROOT/bench/workloads.sh" && bench_main "$1"' \
	sh "$name" </dev/null
