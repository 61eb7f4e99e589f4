#!/usr/bin/env bash
# bench/run.sh [--quick] [--runs N] [--only W1,W2,...] — time guest kernels under bt86, QEMU TCG
# and natively (the Linux i386 build of the same kernel, where there is one), round after
# round so that every engine sees the same drift of the machine, then run each workload once
# more under bt86 --stats for its counters. The raw logs go to bench/results/raw/STAMP-MODE/;
# bench/report.sh turns them into bench/results/latest.{md,csv,png} and latest-nanobench.csv.
#
# Environment: BUILD (default build), BENCH_TIMEOUT (seconds per run, default 300).
set -uo pipefail

usage() {
	cat <<'EOF'
usage: bench/run.sh [--quick] [--runs N] [--only W1,W2,...]
  --quick     3 runs of a short subset (hello, compute, smc, nanobench): a few minutes
  --runs N    runs per workload and engine (default 5, or 3 with --quick)
  --only LIST comma-separated workloads to run instead of the default set
Writes bench/results/latest.{md,csv,png}, latest-nanobench.csv and bench/results/raw/.
EOF
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD:-build}
[[ $build == /* ]] || build=$root/$build
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
)

bt86=$build/tools/bt86
qemu_run=$root/tests/guests/run-qemu.sh
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
		"$lib/trap.S" "$lib/trap.c" "$root/tests/guests/nanobench.c" \
		"$root/tests/guests/nanobench_asm.S" \
		-Wl,-T,"$lib/link.ld" -Wl,--build-id=none -Wl,-z,max-page-size=0x1000 \
		-Wl,-z,noexecstack -Wl,--no-warn-rwx-segments -lgcc || return 1
	echo "$out"
}

kernel_of() {
	if [ "$1" = nanobench ]; then
		echo "$nanobench"
	else
		echo "$guests/$1.elf"
	fi
}

# Can this host run Linux i386 programs at all? (compare-host.sh asks the same.)
native_ok=0
if [ -x "$guests/compute-host" ]; then
	"$guests/compute-host" </dev/null >/dev/null 2>&1 && native_ok=1
fi

# The command of one engine for one workload, in the array cmd; 1 if there is none.
engine_cmd() {
	local kernel
	kernel=$(kernel_of "$2")
	case $1 in
	bt86) cmd=("$bt86" run --kernel "$kernel") ;;
	qemu) cmd=("$qemu_run" "$kernel") ;;
	native)
		[ "$native_ok" -eq 1 ] && [ -x "$guests/$2-host" ] || return 1
		cmd=("$guests/$2-host")
		;;
	esac
	return 0
}

# The exit status of a finished kernel: debug-exit code 0 is 1 under bt86 and QEMU.
expected_status() {
	[ "$1" = native ] && echo 0 || echo 1
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
for entry in "${workloads[@]}"; do
	IFS='|' read -r name in_quick what <<<"$entry"
	if [ -n "$only" ]; then
		[[ ,$only, == *,$name,* ]] || continue
	elif [ "$quick" -eq 1 ] && [ "$in_quick" != q ]; then
		continue
	fi
	if [ ! -f "$(kernel_of "$name")" ]; then
		echo "bench: skipping $name: $(kernel_of "$name") is not built" >&2
		continue
	fi
	selected+=("$name")
	printf '%s\t%s\n' "$name" "$what" >>"$raw/workloads.tsv"
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
	printf 'load_start=%q\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$raw/meta.env"

# One timed run: wall time from date +%s%N around the process, CPU time (user + sys of the
# process and its children) from bash's time.
TIMEFORMAT='%3U %3S'
run_one() {
	local w=$1 e=$2 r=$3 t0 t1 status cpu
	local base=$raw/$w.$e.$r
	engine_cmd "$e" "$w" || return 0
	t0=$(date +%s%N)
	{ time timeout "$timeout_s" "${cmd[@]}" </dev/null >"$base.out" 2>"$base.err"; } 2>"$base.time"
	status=$?
	t1=$(date +%s%N)
	cpu=$(awk 'NF == 2 { printf "%.3f", $1 + $2 }' "$base.time")
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$e" "$r" "$((t1 - t0))" "${cpu:-NA}" "$status" \
		>>"$raw/runs.tsv"
	if [ "$status" -ne "$(expected_status "$e")" ]; then
		echo "bench: $w under $e, run $r: exit status $status" >&2
	fi
}

engines=(bt86 qemu native)
echo "bench: $mode run, $runs rounds of ${selected[*]}; raw logs in $raw" >&2
printf 'workload\tengine\tround\twall_ns\tcpu_s\tstatus\n' >"$raw/runs.tsv"
for ((r = 1; r <= runs; r++)); do
	echo "bench: round $r of $runs" >&2
	for w in "${selected[@]}"; do
		for e in "${engines[@]}"; do
			run_one "$w" "$e" "$r"
		done
	done
done

# The counters: one more bt86 run of each workload with --stats (not timed).
echo "bench: bt86 --stats runs" >&2
for w in "${selected[@]}"; do
	timeout "$timeout_s" "$bt86" run --kernel "$(kernel_of "$w")" --stats </dev/null \
		>"$raw/$w.stats.out" 2>"$raw/$w.stats.err"
	echo "$?" >"$raw/$w.stats.status"
done
printf 'load_end=%q\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw/meta.env"

"$root/bench/report.sh" "$raw"
