#!/usr/bin/env bash
# bench/run.sh [--quick] [--runs N] [--only W1,W2,...] — time guest kernels and Linux workloads
# under bt86, QEMU TCG and natively (the Linux i386 build of the same kernel, where there is
# one; the same Debian programs on the host), round after round so that every engine sees the
# same drift of the machine, then run each workload once more under bt86 --stats for its
# counters. The raw logs go to bench/results/raw/STAMP-MODE/; bench/report.sh turns them into
# bench/results/latest.{md,csv,png} and latest-nanobench.csv.
#
# The linux-* rows boot Debian 12's i386 kernel with an initramfs that runs one workload
# (bench/linux/); what they need is fetched and built first when missing (make guest, then
# bench/linux/fetch-bench-packages.sh and build-bench-initramfs.sh: root and the network the
# first time). If that fails, the Linux rows are skipped with a message.
#
# Environment: BUILD (default build), GUESTS (the Linux guest cache, default guests-cache),
# BENCH_TIMEOUT (seconds per run, default 300).
set -uo pipefail

usage() {
	cat <<'EOF'
usage: bench/run.sh [--quick] [--runs N] [--only W1,W2,...]
  --quick     3 runs of a short subset (hello, compute, smc, nanobench, linux-boot-init,
              linux-forkexec): a few minutes
  --runs N    runs per workload and engine (default 5, or 3 with --quick)
  --only LIST comma-separated workloads to run instead of the default set
Writes bench/results/latest.{md,csv,png}, latest-nanobench.csv and bench/results/raw/.
EOF
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD:-build}
[[ $build == /* ]] || build=$root/$build
cache=${GUESTS:-guests-cache}
[[ $cache == /* ]] || cache=$root/$cache
timeout_s=${BENCH_TIMEOUT:-300}
quick=0
runs=
only=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--runs)
		runs=${2:-}
		shift
		;;
	--only)
		only=${2:-}
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		exit 2
		;;
	esac
	shift
done
if [ -z "$runs" ]; then
	runs=$([ "$quick" -eq 1 ] && echo 3 || echo 5)
fi
if ! [[ $runs =~ ^[1-9][0-9]*$ ]]; then
	echo "bench: --runs wants a positive number" >&2
	exit 2
fi

# name|in --quick|what it exercises. Every kernel prints the same under each engine (the
# guest tests check that); the Linux i386 build NAME-host exists for the unprivileged ones.
# The instruction-test kernels print hundreds of KB on COM1: under bt86 and QEMU each byte is
# an `in` from the LSR, an `out` and a write(2), natively a buffered write, so those rows
# measure the UART path more than the instructions they are named after.
workloads=(
	"hello|q|start-up and exit only: the fixed cost of each engine"
	"compute|q|SHA-256 of 48 MiB, recursive fib(27), sieve to 2,000,000: hot loops"
	"arith||integer arithmetic and flags; the time goes into printing its results"
	"shifts||shifts and rotates with their flags; the time goes into printing"
	"muldiv||multiply and divide, including #DE; the time goes into printing"
	"bcd||BCD adjust instructions; the time goes into printing"
	"x87||x87 arithmetic and control; the time goes into printing"
	"sse2||SSE2 integer and floating point; the time goes into printing"
	"string||string instructions with rep prefixes, and printing"
	"smc|q|self-modifying code: stores into pages that hold translated code"
	"pf_retry||demand paging: #PF handler maps the page, the access retries"
	"usermode||ring 3 entry, int 0x80, sysenter, faults at CPL 3"
	"nanobench|q|the per-operation loops of the nanobench table, as a whole"
	"pv-uart||pvbench: 1 MiB of console text through the UART (an LSR poll and a THR write per byte)"
	"pv-hypercall||pvbench: the same 1 MiB through bt86's console hypercall, 4 KiB per call (docs/PV.md)"
	"pv-pte-invlpg||pvbench: 10,000 page-table entry stores, each followed by invlpg and a touch of the page"
	"pv-pte-batch||pvbench: the same 10,000 updates through bt86's batched page-table hypercall (500 per call), then the touches"
	"linux-boot-init|q|Debian's kernel booted to its init's first line (then the debug-exit port at once)"
	"linux-boot-poweroff||Debian's kernel booted to an init that powers off at once (poweroff -f)"
	"linux-compute||our compute kernel as a static Linux program (compute-host), 3 runs: user mode, few system calls"
	"linux-7zz||Debian's 7zz (7-Zip 26): 16 MiB into a .7z (LZMA2 -mx=1, one thread), then tested"
	"linux-openssl||Debian's openssl 3.0: AES-256-CBC, AES-128-CTR, ChaCha20, SHA-256, SHA-512, SHA-1, MD5 of 16 MiB"
	"linux-bzip2||Debian's bzip2: 16 MiB at -9 and back"
	"linux-xz||Debian's xz: 16 MiB at -1 (one thread) and back"
	"linux-forkexec|q|1,000 fork+exec+wait of /bin/true (the static busybox) from busybox sh"
	"linux-dd||16 rounds: dd 64 MiB from /dev/zero to a tmpfs file, dd it to /dev/null, rm it"
	"linux-pipeline||2 MiB of generated text | tr | sort | uniq -c | sort -rn | head: pipes between six processes"
)
# The Linux guest: its RAM (the same under bt86 and QEMU) and kernel command line, to which
# bt86.bench=NAME is added (NAME: the row's name without linux-).
linux_mem=512
linux_append="console=ttyS0 quiet"

# The engines, in the order they run and are reported: id|kind (bt86, qemu or native)|more
# arguments for the engine|the workloads it runs (globs, separated by spaces)|its name in the
# report. A variant of an engine is one more line, for example:
#	"bt86-pv-off|bt86|--pv off|linux-boot-* linux-forkexec|bt86 --pv off"
engine_defs=(
	"bt86|bt86||*|bt86"
	"bt86-pv-off|bt86|--pv off|linux-boot-* linux-forkexec|bt86 --pv off"
	"qemu|qemu||*|QEMU TCG"
	"qemu-iso|qemu-iso||nanobench linux-boot-*|QEMU TCG, GRUB ISO"
	"bochs|bochs||nanobench linux-boot-*|Bochs, GRUB ISO"
	"native|native||*|native"
)
engines=()
declare -A engine_kind engine_args engine_runs engine_name
for def in "${engine_defs[@]}"; do
	IFS='|' read -r id kind args runs_on name <<<"$def"
	if [[ $kind == bochs || $kind == qemu-iso ]] && ! command -v grub-mkrescue >/dev/null; then
		echo "bench: no $name rows: grub-mkrescue is missing (scripts/deps.sh --bench)" >&2
		continue
	fi
	if [ "$kind" = bochs ] && ! command -v bochs >/dev/null; then
		echo "bench: no $name rows: bochs is missing (scripts/deps.sh --bench)" >&2
		continue
	fi
	# Bochs boots Linux in about a minute: --quick keeps its nanobench row only.
	[[ $kind == bochs || $kind == qemu-iso ]] && [ "$quick" -eq 1 ] && runs_on=nanobench
	engines+=("$id")
	engine_kind[$id]=$kind
	engine_args[$id]=$args
	engine_runs[$id]=$runs_on
	engine_name[$id]=$name
done

bt86=$build/tools/bt86
qemu_run=$root/tests/guests/run-qemu.sh
qemu_cpu=$(cat "$root/tests/guests/qemu-cpu.txt") || exit 2
guests=$build/tests/guests
for need in "$bt86" "$qemu_run"; do
	if [ ! -x "$need" ]; then
		echo "bench: $need is missing: build first (make build)" >&2
		exit 2
	fi
done
if ! command -v qemu-system-i386 >/dev/null; then
	echo "bench: qemu-system-i386 is missing (Debian package qemu-system-x86)" >&2
	exit 2
fi

# nanobench: the meson-built kernel once tests/guests/meson.build lists it, otherwise built
# here with the flags tests/guests/meson.build gives every guest kernel (keep them equal).
nanobench_elf() {
	if ninja -C "$build" -t targets all 2>/dev/null | grep -q '^tests/guests/nanobench\.elf:'; then
		ninja -C "$build" tests/guests/nanobench.elf >&2 || return 1
		echo "$guests/nanobench.elf"
		return 0
	fi
	local lib=$root/tests/guests/lib out=$build/bench/nanobench.elf
	mkdir -p "$build/bench"
	gcc -m32 -march=i686 -mno-sse -mno-mmx -O2 -std=gnu17 \
		-ffreestanding -nostdlib -static -fno-pic -fno-pie -no-pie \
		-fno-stack-protector -fcf-protection=none -fno-asynchronous-unwind-tables \
		-fno-tree-loop-distribute-patterns -Wall -Wextra -Werror -I"$lib" \
		-o "$out" "$lib/entry.S" "$lib/uart.c" "$lib/print.c" "$lib/desc.c" \
		"$lib/trap.S" "$lib/trap.c" "$lib/user.S" "$root/tests/guests/nanobench.c" \
		"$root/tests/guests/nanobench_asm.S" \
		-Wl,-T,"$lib/link.ld" -Wl,--build-id=none -Wl,-z,max-page-size=0x1000 \
		-Wl,-z,noexecstack -Wl,--no-warn-rwx-segments -lgcc || return 1
	echo "$out"
}

kernel_of() {
	case $1 in
	nanobench) echo "$nanobench" ;;
	pv-*) echo "$guests/pvbench.elf" ;;
	*) echo "$guests/$1.elf" ;;
	esac
}

# The command line of a guest kernel row: pvbench's mode, from the row's name.
append_of() {
	case $1 in
	pv-*) echo "${1#pv-}" ;;
	esac
}

# The GRUB ISO of workload $1 for the engines without -kernel (Bochs) and QEMU on the same image
# (bench/iso/): built once per run into the raw directory.
iso_of() {
	local iso=$raw/$1.iso
	if [ ! -f "$iso" ]; then
		case $1 in
		linux-*)
			"$root/bench/iso/make-iso.sh" "$iso" "$cache/vmlinuz" \
				--initrd "$cache/bench/boot.cpio.gz" \
				--append "$linux_append bt86.bench=${1#linux-}" >&2
			;;
		*) "$root/bench/iso/make-iso.sh" "$iso" "$(kernel_of "$1")" --multiboot >&2 ;;
		esac || return 1
	fi
	echo "$iso"
}

# Does engine $1 run workload $2?
runs_on() {
	local globs g
	read -ra globs <<<"${engine_runs[$1]}"
	for g in "${globs[@]}"; do
		# shellcheck disable=SC2053 # $g is a glob
		[[ $2 == $g ]] && return 0
	done
	return 1
}

# What the Linux rows need, fetched and built when missing (each script does nothing when its
# files are there and up to date).
linux_prepare() {
	"$root/scripts/fetch-debian-guest.sh" "$cache" &&
		"$root/scripts/build-initramfs.sh" "$cache" &&
		"$root/bench/linux/fetch-bench-packages.sh" "$cache" &&
		"$root/bench/linux/build-bench-initramfs.sh" "$cache" "$build"
}

# Can this host run Linux i386 programs at all? (compare-host.sh asks the same.)
native_ok=0
if [ -x "$guests/compute-host" ]; then
	"$guests/compute-host" </dev/null >/dev/null 2>&1 && native_ok=1
fi

# The command of engine $1 for workload $2, in the array cmd; 1 if there is none.
engine_cmd() {
	local e=$1 w=$2 kernel extra bench img append
	runs_on "$e" "$w" || return 1
	read -ra extra <<<"${engine_args[$e]}"
	case ${engine_kind[$e]} in
	bochs | qemu-iso)
		local iso runner=$root/bench/iso/run-qemu-iso.sh
		[ "${engine_kind[$e]}" = bochs ] && runner=$root/bench/bochs/run-bochs.sh
		iso=$(iso_of "$w") || return 1
		cmd=("$runner" "$iso" --timeout "$timeout_s")
		[[ $w == linux-* ]] && cmd+=(--memory "$linux_mem")
		return 0
		;;
	esac
	if [[ $w == linux-* ]]; then
		bench=${w#linux-}
		img=$cache/bench/initramfs.cpio.gz
		[[ $bench == boot-* ]] && img=$cache/bench/boot.cpio.gz
		append="$linux_append bt86.bench=$bench"
		case ${engine_kind[$e]} in
		bt86)
			cmd=("$bt86" run --kernel "$cache/vmlinuz" --initrd "$img" -m "$linux_mem"
				--append "$append" "${extra[@]}")
			;;
		qemu)
			# tests/linux/boot.sh's invocation
			# shellcheck disable=SC2054 # the commas are in -device's argument
			cmd=(qemu-system-i386 -M pc -m "$linux_mem" -cpu "$qemu_cpu" -display none
				-nodefaults -no-reboot -serial stdio
				-device isa-debug-exit,iobase=0xf4,iosize=0x04 "${extra[@]}"
				-kernel "$cache/vmlinuz" -initrd "$img" -append "$append")
			;;
		native)
			[ "$native_ok" -eq 1 ] && [[ $bench != boot-* ]] || return 1
			cmd=("$root/bench/linux/native.sh" "$cache" "$bench")
			;;
		esac
		return 0
	fi
	kernel=$(kernel_of "$w")
	append=$(append_of "$w")
	case ${engine_kind[$e]} in
	bt86) cmd=("$bt86" run --kernel "$kernel" --append "$append" "${extra[@]}") ;;
	qemu)
		# QEMU offers no bt86 hypercalls: only the rows that do without them.
		[[ $w != pv-hypercall && $w != pv-pte-batch ]] || return 1
		cmd=("$qemu_run" "$kernel" "$append")
		[ ${#extra[@]} -eq 0 ] || cmd=(env GUEST_QEMU_ARGS="${extra[*]}" "${cmd[@]}")
		;;
	native)
		[ "$native_ok" -eq 1 ] && [ -x "$guests/$w-host" ] || return 1
		cmd=("$guests/$w-host")
		;;
	esac
	return 0
}

# The exit status of a finished run of engine $1 on workload $2: debug-exit code 0 is 1 under
# bt86 and QEMU, a Linux program's 0 natively. A Linux guest that powers off without the
# debug-exit port ends QEMU with 0 (ACPI power-off) and bt86 with 6 (halted for good: bt86 has
# no ACPI, so poweroff ends in hlt with interrupts off).
expected_status() {
	case ${engine_kind[$1]}.$2 in
	native.* | bochs.* | qemu-iso.*) echo 0 ;; # the ISO runners: 0 at debug-exit 0 or power-off
	bt86.linux-boot-poweroff) echo 6 ;;
	qemu.linux-boot-poweroff) echo 0 ;;
	*) echo 1 ;;
	esac
}

# Did the run whose output is $2 finish workload $1 (its exit status aside)? A Linux row must
# have printed its marker. Prints the workload's own time in ns where it measured one.
run_finished() {
	local ns
	case $1 in
	linux-boot-*) grep -q '^bt86-bench: init started' "$2" ;;
	linux-*)
		ns=$(tr -d '\r' <"$2" | sed -n "s/^bt86-bench: ${1#linux-} ns=\([0-9][0-9]*\)\$/\1/p")
		[ -n "$ns" ] && echo "$ns"
		;;
	pv-*) tail -n 1 "$2" | tr -d '\r' | grep -q "^pvbench: ${1#pv-} cycles=" ;;
	*) return 0 ;;
	esac
}

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mode=$([ "$quick" -eq 1 ] && echo quick || echo full)
raw=$root/bench/results/raw/$stamp-$mode
mkdir -p "$raw"

nanobench=$(nanobench_elf) || {
	echo "bench: cannot build the nanobench kernel" >&2
	exit 2
}

# The workloads of this run, with their descriptions for the report.
: >"$raw/workloads.tsv"
selected=()
linux_ok=
for entry in "${workloads[@]}"; do
	IFS='|' read -r name in_quick what <<<"$entry"
	if [ -n "$only" ]; then
		[[ ,$only, == *,$name,* ]] || continue
	elif [ "$quick" -eq 1 ] && [ "$in_quick" != q ]; then
		continue
	fi
	if [[ $name == linux-* ]]; then
		if [ -z "$linux_ok" ]; then
			echo "bench: preparing the Linux guest and its benchmark initramfs in $cache" >&2
			if linux_prepare; then
				linux_ok=1
			else
				linux_ok=0
				echo "bench: skipping the Linux rows: their guest could not be fetched or built (above)" >&2
			fi
		fi
		[ "$linux_ok" -eq 1 ] || continue
	elif [ ! -f "$(kernel_of "$name")" ]; then
		echo "bench: skipping $name: $(kernel_of "$name") is not built" >&2
		continue
	fi
	selected+=("$name")
	printf '%s\t%s\n' "$name" "$what" >>"$raw/workloads.tsv"
done
: >"$raw/engines.tsv"
for e in "${engines[@]}"; do
	printf '%s\t%s\t%s\n' "$e" "${engine_kind[$e]}" "${engine_name[$e]}" >>"$raw/engines.tsv"
done
if [ ${#selected[@]} -eq 0 ]; then
	echo "bench: no workload to run" >&2
	exit 2
fi

# What the machine was: read by report.sh (shell assignments, quoted).
host_tsc_mhz=$(dmesg 2>/dev/null | sed -n 's/.*tsc: Detected \([0-9.]*\) MHz.*/\1/p' | tail -n 1)
host_tsc_src="kernel log"
if [ -z "$host_tsc_mhz" ]; then
	host_tsc_mhz=$(awk -F': *' '/^cpu MHz/ { print $2; exit }' /proc/cpuinfo)
	host_tsc_src="/proc/cpuinfo cpu MHz"
fi
{
	printf 'mode=%q\nruns=%q\nstamp=%q\n' "$mode" "$runs" "$stamp"
	printf 'date=%q\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
	printf 'cpu=%q\n' "$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	printf 'cores=%q\n' "$(nproc)"
	printf 'kernel=%q\n' "$(uname -srm)"
	printf 'qemu=%q\n' "$(qemu-system-i386 --version | head -n 1)"
	printf 'commit=%q\n' "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	printf 'dirty=%q\n' "$(git -C "$root" status --porcelain 2>/dev/null | grep -c .)"
	printf 'host_tsc_mhz=%q\nhost_tsc_src=%q\n' "$host_tsc_mhz" "$host_tsc_src"
	printf 'native_ok=%q\n' "$native_ok"
	if [ "${linux_ok:-0}" -eq 1 ]; then
		printf 'linux_kernel=%q\n' "$(cat "$cache/kernel-version")"
		printf 'linux_packages=%q\n' "$(tr '\n' ',' <"$cache/bench-root/packages" | sed 's/,$//; s/,/, /g')"
		printf 'linux_busybox=%q\n' "$("$cache/bin/busybox" | sed -n '1s/^BusyBox \(v[^ ]*\).*/\1/p')"
		printf 'linux_mem=%q\nlinux_append=%q\n' "$linux_mem" "$linux_append"
	fi
	printf 'load_start=%q\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$raw/meta.env"

# One timed run: wall time from date +%s%N around the process, CPU time (user + sys of the
# process and its children) from bash's time; a Linux workload's own time as it printed it.
# A run counts (ok 1) if it ended with the expected status and printed what it must.
TIMEFORMAT='%3U %3S'
run_one() {
	local w=$1 e=$2 r=$3 t0 t1 status cpu expected ok=0 ns
	local base=$raw/$w.$e.$r
	engine_cmd "$e" "$w" || return 0
	t0=$(date +%s%N)
	{ time timeout "$timeout_s" "${cmd[@]}" </dev/null >"$base.out" 2>"$base.err"; } 2>"$base.time"
	status=$?
	t1=$(date +%s%N)
	cpu=$(awk 'NF == 2 { printf "%.3f", $1 + $2 }' "$base.time")
	expected=$(expected_status "$e" "$w")
	if [ "$status" -ne "$expected" ]; then
		echo "bench: $w under $e, run $r: exit status $status ($expected expected)" >&2
	elif ns=$(run_finished "$w" "$base.out"); then
		ok=1
	else
		echo "bench: $w under $e, run $r: no result line in $base.out" >&2
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$e" "$r" "$((t1 - t0))" "${cpu:-NA}" \
		"$status" "$expected" "$ok" "${ns:-NA}" >>"$raw/runs.tsv"
}

echo "bench: $mode run, $runs rounds of ${selected[*]}; raw logs in $raw" >&2
printf 'workload\tengine\tround\twall_ns\tcpu_s\tstatus\texpected\tok\tguest_ns\n' >"$raw/runs.tsv"
for ((r = 1; r <= runs; r++)); do
	echo "bench: round $r of $runs" >&2
	for w in "${selected[@]}"; do
		for e in "${engines[@]}"; do
			run_one "$w" "$e" "$r"
		done
	done
done

# The counters: one more run of each workload under each bt86 engine with --stats (not timed).
echo "bench: bt86 --stats runs" >&2
printf 'workload\tengine\tstatus\texpected\n' >"$raw/stats.tsv"
for e in "${engines[@]}"; do
	[ "${engine_kind[$e]}" = bt86 ] || continue
	for w in "${selected[@]}"; do
		engine_cmd "$e" "$w" || continue
		timeout "$timeout_s" "${cmd[@]}" --stats </dev/null \
			>"$raw/$w.$e.stats.out" 2>"$raw/$w.$e.stats.err"
		status=$?
		printf '%s\t%s\t%s\t%s\n' "$w" "$e" "$status" "$(expected_status "$e" "$w")" \
			>>"$raw/stats.tsv"
	done
done
printf 'load_end=%q\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw/meta.env"

"$root/bench/report.sh" "$raw"
