#!/usr/bin/env bash
# shellcheck disable=SC2154 # the run's facts come from meta.env, sourced below
# bench/report.sh RAWDIR — turn the raw logs of one bench/run.sh run into
# bench/results/latest.md, latest.csv, latest-nanobench.csv and latest.png. Every number in
# them comes from RAWDIR alone, so every ratio compares measurements of the same run. Can be
# rerun on an old RAWDIR to redraw its report (also one written before the Linux rows, whose
# runs.tsv has six columns and no engines.tsv).
set -uo pipefail

if [ $# -ne 1 ] || [ ! -f "$1/runs.tsv" ]; then
	echo "usage: $0 RAWDIR (a directory written by bench/run.sh)" >&2
	exit 2
fi
raw=$(cd "$1" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$root/bench/results
# The machine and the run (mode runs stamp date cpu cores kernel qemu commit dirty
# host_tsc_mhz host_tsc_src native_ok load_start load_end, and with Linux rows linux_kernel
# linux_packages linux_busybox linux_mem linux_append), written by run.sh.
# shellcheck source=/dev/null
. "$raw/meta.env"
: "${load_end:=unknown}" "${linux_kernel:=? ?}" "${linux_packages:=?}" "${linux_busybox:=?}"
: "${linux_mem:=?}" "${linux_append:=?}"

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

# The engines (id, kind, name), in run.sh's order.
engines=()
declare -A engine_kind engine_name
if [ -f "$raw/engines.tsv" ]; then
	while IFS=$'\t' read -r id kind name; do
		engines+=("$id")
		engine_kind[$id]=$kind
		engine_name[$id]=$name
	done <"$raw/engines.tsv"
else
	engines=(bt86 qemu native)
	engine_kind=([bt86]=bt86 [qemu]=qemu [native]=native)
	engine_name=([bt86]=bt86 [qemu]="QEMU TCG" [native]=native)
fi

# runs.tsv without its header, as workload engine round wall_ns cpu_s status expected ok
# guest_ns; an old six-column one gets the columns it lacks (status 0 natively, else 1, was
# a finished run then).
awk -F'\t' -v OFS='\t' 'NR == 1 { full = ($8 == "ok"); next }
	full { print; next }
	{ x = ($2 == "native") ? 0 : 1; print $1, $2, $3, $4, $5, $6, x, ($6 == x), "NA" }' \
	"$raw/runs.tsv" >"$tmp/runs.tsv"
runs_tsv=$tmp/runs.tsv

# Cycles per operation that VMware's software VMM took (Adams and Agesen, ASPLOS 2006, as
# quoted in DESIGN.md §9); their "ptemod" is our pte_invlpg, their "in" our in_port80.
declare -A vmware=([call_ret]=51 [pgfault]=3927 [pte_invlpg]=391 [div0]=3223 [in_port80]=214)

# "median min max count" of the numbers on stdin ("- - - 0" for none).
summary() {
	sort -g | awk '{ v[NR] = $1 }
		END {
			if (NR == 0) { print "- - - 0"; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.6f %.6f %.6f %d\n", m, v[1], v[NR], NR
		}'
}

# a ÷ b formatted for a table, or "" when either is missing.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0) exit
		r = a / b
		printf(r >= 10 ? "%.0f" : r >= 1 ? "%.2f" : "%.3f", r)
	}'
}

secs() {
	awk -v s="$1" 'BEGIN { if (s == "-") print "-"; else printf(s >= 1 ? "%.2f" : "%.3f", s) }'
}

# The --stats output of engine $2 on workload $1 (run.sh before the Linux rows wrote
# WORKLOAD.stats.err, for bt86 alone).
stats_of() {
	if [ -f "$raw/$1.$2.stats.err" ]; then
		echo "$raw/$1.$2.stats.err"
	elif [ "$2" = bt86 ]; then
		echo "$raw/$1.stats.err"
	fi
}

# The value of one --stats line, found by its label; "" if the label is not there.
counter() {
	[ -f "$1" ] || return 0
	awk -v want="$2" '{
		v = $NF; $NF = ""; sub(/^[ \t]+/, ""); sub(/[ \t]+$/, "")
		if ($0 == want) { print v; exit }
	}' "$1"
}

# The counters in the CSV and (the first md_counters) the table: CSV column|--stats label|
# table heading.
counters=(
	"blocks_translated|blocks translated|blocks translated"
	"callouts|callouts|callouts"
	"hidden_faults|hidden faults (window filled)|hidden faults"
	"guest_page_faults|guest page faults|guest #PF"
	"exits|exits from translated code|exits"
	"cache_flushes|code cache flushes|cache flushes"
	"blocks_invalidated|blocks invalidated|"
	"host_faults|host faults|"
	"exceptions_delivered|guest exceptions and interrupts delivered|"
	"smc_writes|writes to pages with translated code|"
	"window_flushes|window flushes|"
	"port_io|port I/O accesses|"
)
md_counters=6 # the first six go into the markdown table of the guest kernels
# and these into the table of the Linux workloads
linux_counters=(blocks_translated callouts hidden_faults guest_page_faults window_flushes
	cache_flushes exits)

label_of() {
	local rest=${1#*|}
	echo "${rest%|*}"
}

# The entry of counters whose CSV column is $1.
counter_def() {
	local c
	for c in "${counters[@]}"; do
		[ "${c%%|*}" = "$1" ] && echo "$c" && return 0
	done
}

# The counter (CSV column $3) of engine $2 on workload $1: "" for engines other than bt86's.
counter_of() {
	[ "${engine_kind[$2]}" = bt86 ] || return 0
	local def
	def=$(counter_def "$3")
	counter "$(stats_of "$1" "$2")" "$(label_of "$def")"
}

is_linux() { [[ $1 == linux-* ]]; }

# pvbench's cycles per operation for row $1 under bt86: the median over the runs that counted.
pv_per_op() {
	local f r
	for f in "$raw/$1".bt86.*.out; do
		[ -f "$f" ] || continue
		r=${f%.out}
		r=${r##*.}
		awk -F'\t' -v w="$1" -v r="$r" '$1 == w && $2 == "bt86" && $3 == r && $8 == 1 { ok = 1 }
			END { exit !ok }' "$runs_tsv" || continue
		tail -n 1 "$f" | tr -d '\r' | sed -n 's/.* per_op=\([0-9.]*\)$/\1/p'
	done | summary | awk '{ print $1 }'
}

mapfile -t workload_rows <"$raw/workloads.tsv"
kernel_rows=()
linux_rows=()
for row in "${workload_rows[@]}"; do
	w=${row%%$'\t'*}
	if is_linux "$w"; then linux_rows+=("$w"); else kernel_rows+=("$w"); fi
done
notes=()

# ---- times ----
# med lo hi cnt: the wall time of the runs that counted; gmed glo ghi gcnt: the time the
# workload measured itself (Linux rows but the boot ones); tmed tlo thi: the time the ratios
# use, the second where there is one.
declare -A med lo hi cnt fails cpu_s gmed glo ghi gcnt tmed tlo thi
for row in "${workload_rows[@]}"; do
	w=${row%%$'\t'*}
	for e in "${engines[@]}"; do
		read -r "med[$w.$e]" "lo[$w.$e]" "hi[$w.$e]" "cnt[$w.$e]" < <(awk -F'\t' -v w="$w" \
			-v e="$e" '$1 == w && $2 == e && $8 == 1 { print $4 / 1e9 }' "$runs_tsv" | summary)
		read -r "gmed[$w.$e]" "glo[$w.$e]" "ghi[$w.$e]" "gcnt[$w.$e]" < <(awk -F'\t' -v w="$w" \
			-v e="$e" '$1 == w && $2 == e && $8 == 1 && $9 != "NA" { print $9 / 1e9 }' \
			"$runs_tsv" | summary)
		read -r "cpu_s[$w.$e]" _ _ _ < <(awk -F'\t' -v w="$w" -v e="$e" \
			'$1 == w && $2 == e && $8 == 1 && $5 != "NA" { print $5 }' "$runs_tsv" | summary)
		if [ "${gcnt[$w.$e]}" -gt 0 ]; then
			tmed[$w.$e]=${gmed[$w.$e]} tlo[$w.$e]=${glo[$w.$e]} thi[$w.$e]=${ghi[$w.$e]}
		else
			tmed[$w.$e]=${med[$w.$e]} tlo[$w.$e]=${lo[$w.$e]} thi[$w.$e]=${hi[$w.$e]}
		fi
		fails[$w.$e]=$(awk -F'\t' -v w="$w" -v e="$e" \
			'$1 == w && $2 == e && $8 != 1 { n++ } END { print n + 0 }' "$runs_tsv")
		if [ "${fails[$w.$e]}" -gt 0 ]; then
			why=$(awk -F'\t' -v w="$w" -v e="$e" '$1 == w && $2 == e && $8 != 1 {
				printf "%s%s", n++ ? "; " : "",
					$6 == $7 ? "no result line" : "exit status " $6 " (" $7 " expected)" }' \
				"$runs_tsv")
			notes+=("$w under ${engine_name[$e]}: ${fails[$w.$e]} run(s) did not finish" \
				"($why); they are left out")
		fi
	done
	# Same output as QEMU? (nanobench and pvbench print timings, which differ by nature; a
	# Linux row's results are its bt86-bench-result lines, the rest is boot messages and
	# times.)
	if [ "$w" = nanobench ] || [[ $w == pv-* ]] || [ ! -f "$raw/$w.qemu.1.out" ]; then
		continue
	fi
	for e in "${engines[@]}"; do
		if [ "$e" = qemu ] || [ ! -f "$raw/$w.$e.1.out" ]; then
			continue
		fi
		if is_linux "$w"; then
			cmp -s <(tr -d '\r' <"$raw/$w.qemu.1.out" | grep '^bt86-bench-result:') \
				<(tr -d '\r' <"$raw/$w.$e.1.out" | grep '^bt86-bench-result:')
		else
			cmp -s "$raw/$w.qemu.1.out" "$raw/$w.$e.1.out"
		fi || notes+=("$w: the output under ${engine_name[$e]} differs from QEMU's (run 1)")
	done
done

# ---- nanobench ----
nano_ops=()
declare -A nano
declare -A tsc_mhz=([bt86]=- [qemu]=- [bochs]=-)
have_nano=0
if [ -n "$(ls "$raw"/nanobench.qemu.*.out "$raw"/nanobench.bt86.*.out 2>/dev/null)" ]; then
	have_nano=1
	for e in bt86 qemu bochs; do
		files=()
		for f in "$raw"/nanobench."$e".*.out; do
			[ -f "$f" ] || continue
			r=${f%.out}
			r=${r##*.}
			ok=$(awk -F'\t' -v e="$e" -v r="$r" '$1 == "nanobench" && $2 == e && $3 == r {
				print $8 }' "$runs_tsv")
			[ "$ok" = 1 ] && files+=("$f")
		done
		[ ${#files[@]} -gt 0 ] || continue
		if [ ${#nano_ops[@]} -eq 0 ]; then
			mapfile -t nano_ops < <(awk '/^[a-z0-9_]+ [0-9.]+$/ { print $1 }' "${files[0]}")
		fi
		for op in "${nano_ops[@]}"; do
			read -r "nano[$op.$e]" _ _ _ < <(cat "${files[@]}" |
				awk -v op="$op" '$1 == op && NF == 2 { print $2 }' | summary)
		done
		read -r "tsc_mhz[$e]" _ _ _ < <(cat "${files[@]}" |
			awk '$1 == "#" && $2 == "tsc_mhz" && $3 != "none" { print $3 }' | summary)
	done
fi
mhz() {
	awk -v v="$1" 'BEGIN { print (v == "-" ? "none (no PIT)" : sprintf("%.1f MHz", v)) }'
}

# Cycles to nanoseconds at the host's TSC rate, which both engines' guest TSC runs at.
ns() {
	awk -v c="$1" -v mhz="$host_tsc_mhz" 'BEGIN {
		if (c == "-" || c == "" || mhz + 0 == 0) { print "-"; exit }
		n = c * 1000 / mhz; printf(n >= 100 ? "%.0f" : "%.1f", n)
	}'
}

# ---- CSV ----
# The guest_* columns are the Linux workloads' own times; ratio_* compare them where there
# are some, the wall times elsewhere.
{
	printf 'workload,engine,runs,median_s,min_s,max_s,cpu_median_s,guest_median_s,guest_min_s,guest_max_s,ratio_qemu,ratio_native,failed_runs'
	for c in "${counters[@]}"; do printf ',%s' "${c%%|*}"; done
	printf '\n'
	for row in "${workload_rows[@]}"; do
		w=${row%%$'\t'*}
		for e in "${engines[@]}"; do
			[ "${cnt[$w.$e]}" -gt 0 ] || [ "${fails[$w.$e]}" -gt 0 ] || continue
			gcols=("" "" "")
			if [ "${gcnt[$w.$e]}" -gt 0 ]; then
				gcols=("${gmed[$w.$e]}" "${glo[$w.$e]}" "${ghi[$w.$e]}")
			fi
			printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s' "$w" "$e" "${cnt[$w.$e]}" \
				"${med[$w.$e]}" "${lo[$w.$e]}" "${hi[$w.$e]}" "${cpu_s[$w.$e]}" "${gcols[@]}" \
				"$(ratio "${tmed[$w.$e]}" "${tmed[$w.qemu]:-}")" \
				"$(ratio "${tmed[$w.$e]}" "${tmed[$w.native]:-}")" "${fails[$w.$e]}"
			for c in "${counters[@]}"; do
				printf ',%s' "$(counter_of "$w" "$e" "${c%%|*}")"
			done
			printf '\n'
		done
	done
} >"$tmp/latest.csv"

if [ "$have_nano" -eq 1 ]; then
	{
		echo "operation,bt86_cycles,qemu_cycles,bt86_over_qemu,bt86_ns,qemu_ns,vmware_bt_2006_cycles,bt86_tsc_mhz,qemu_tsc_mhz"
		for op in "${nano_ops[@]}"; do
			b=${nano[$op.bt86]:--}
			q=${nano[$op.qemu]:--}
			printf '%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$op" "$b" "$q" "$(ratio "$b" "$q")" \
				"$(ns "$b")" "$(ns "$q")" "${vmware[$op]:-}" "${tsc_mhz[bt86]}" \
				"${tsc_mhz[qemu]}"
		done
	} >"$tmp/latest-nanobench.csv"
fi

# ---- markdown ----
{
	echo "# bt86 benchmarks: bt86 against QEMU TCG, Bochs and native"
	echo
	echo "A $mode run of \`bench/run.sh\`: $runs runs of each workload under each engine, taken"
	echo "round by round so that drift of the machine falls on every engine alike. Every ratio"
	echo "compares two medians of this run. See \`bench/README.md\` for the columns and caveats."
	echo
	echo "| machine | |"
	echo "| --- | --- |"
	echo "| CPU | $cpu, $cores cores; TSC $host_tsc_mhz MHz ($host_tsc_src) |"
	echo "| kernel | $kernel |"
	echo "| date | $date |"
	echo "| bt86 | $commit$([ "$dirty" -gt 0 ] && echo " and $dirty uncommitted path(s) (git status)") |"
	echo "| QEMU | $qemu |"
	echo "| load average (1, 5, 15 min) | $load_start at the start, $load_end at the end |"
	echo
	if [ ${#kernel_rows[@]} -gt 0 ]; then
		echo "## Wall time per workload"
		echo
		printf '| workload | engine | median s | min–max s | CPU s | ÷ QEMU | ÷ native |'
		for c in "${counters[@]:0:$md_counters}"; do printf ' %s |' "${c##*|}"; done
		printf '\n|'
		for _ in $(seq 1 $((7 + md_counters))); do printf ' --- |'; done
		printf '\n'
		for w in "${kernel_rows[@]}"; do
			for e in "${engines[@]}"; do
				[ "${cnt[$w.$e]}" -gt 0 ] || [ "${fails[$w.$e]}" -gt 0 ] || continue
				if [ "${cnt[$w.$e]}" -eq 0 ]; then
					printf '| %s | %s | failed | | | | |' "$w" "${engine_name[$e]}"
				else
					printf '| %s | %s | %s | %s–%s | %s | %s | %s |' "$w" "${engine_name[$e]}" \
						"$(secs "${med[$w.$e]}")" "$(secs "${lo[$w.$e]}")" \
						"$(secs "${hi[$w.$e]}")" "$(secs "${cpu_s[$w.$e]}")" \
						"$(ratio "${med[$w.$e]}" "${med[$w.qemu]:-}")" \
						"$(ratio "${med[$w.$e]}" "${med[$w.native]:-}")"
				fi
				for c in "${counters[@]:0:$md_counters}"; do
					printf ' %s |' "$(counter_of "$w" "$e" "${c%%|*}")"
				done
				printf '\n'
			done
		done
		echo
	fi
	if [ ${#linux_rows[@]} -gt 0 ]; then
		echo "## Linux workloads"
		echo
		echo "Debian 12's i386 kernel ${linux_kernel%% *} (${linux_kernel#* }) with $linux_mem MiB of RAM and the"
		echo "command line \"$linux_append bt86.bench=NAME\", from an initramfs of busybox"
		echo "$linux_busybox and Debian's $linux_packages (\`bench/linux/\`)."
		echo "*Guest s* is the time the workload took by CLOCK_MONOTONIC read around it inside the"
		echo "guest (natively: the same script, programs and data on the host); *process s* is the"
		echo "whole run seen from outside (boot, preparing the data, the workload, power-off). The"
		echo "ratios and min–max are of guest s, or of process s for the boot rows, which have no"
		echo "guest time. The counters are bt86's, from one more run with \`--stats\`."
		echo
		printf '| workload | engine | guest s | process s | min–max s | CPU s | ÷ QEMU | ÷ native |'
		for c in "${linux_counters[@]}"; do
			d=$(counter_def "$c")
			h=${d##*|}
			printf ' %s |' "${h:-$(label_of "$d")}"
		done
		printf '\n|'
		for _ in $(seq 1 $((8 + ${#linux_counters[@]}))); do printf ' --- |'; done
		printf '\n'
		for w in "${linux_rows[@]}"; do
			for e in "${engines[@]}"; do
				[ "${cnt[$w.$e]}" -gt 0 ] || [ "${fails[$w.$e]}" -gt 0 ] || continue
				if [ "${cnt[$w.$e]}" -eq 0 ]; then
					printf '| %s | %s | failed | | | | | |' "$w" "${engine_name[$e]}"
				else
					g=—
					[ "${gcnt[$w.$e]}" -gt 0 ] && g=$(secs "${gmed[$w.$e]}")
					printf '| %s | %s | %s | %s | %s–%s | %s | %s | %s |' "$w" \
						"${engine_name[$e]}" "$g" "$(secs "${med[$w.$e]}")" \
						"$(secs "${tlo[$w.$e]}")" "$(secs "${thi[$w.$e]}")" \
						"$(secs "${cpu_s[$w.$e]}")" \
						"$(ratio "${tmed[$w.$e]}" "${tmed[$w.qemu]:-}")" \
						"$(ratio "${tmed[$w.$e]}" "${tmed[$w.native]:-}")"
				fi
				for c in "${linux_counters[@]}"; do
					printf ' %s |' "$(counter_of "$w" "$e" "$c")"
				done
				printf '\n'
			done
		done
		echo
		echo "Natively, glibc and OpenSSL choose their code for the guest's CPU features, not the"
		echo "host's (GLIBC_TUNABLES, OPENSSL_ia32cap: \`bench/linux/native.sh\`)."
		echo
	fi
	echo "The weakest bt86 rows, by time ÷ QEMU:"
	echo
	for row in "${workload_rows[@]}"; do
		w=${row%%$'\t'*}
		r=$(ratio "${tmed[$w.bt86]:-}" "${tmed[$w.qemu]:-}")
		[ -n "$r" ] && printf '%s %s\n' "$r" "$w"
	done | sort -gr | head -n 3 | while read -r r w; do
		n=$(ratio "${tmed[$w.bt86]}" "${tmed[$w.native]:-}")
		echo "- $w: ${r}× QEMU's time$([ -n "$n" ] && echo ", ${n}× native")"
	done
	if [ "$have_nano" -eq 1 ]; then
		echo
		echo "## nanobench: cycles per operation"
		echo
		echo "TSC cycles per operation inside the guest: the least of 5 timed loops per run, the"
		echo "empty loop subtracted, then the median over the runs. The guest TSC runs at the"
		echo "host's rate under both engines (measured against each engine's PIT: bt86"
		echo "$(mhz "${tsc_mhz[bt86]}"), QEMU $(mhz "${tsc_mhz[qemu]}"); host $host_tsc_mhz MHz), so"
		echo "ns = cycles ÷ $host_tsc_mhz MHz. The VMware columns are its software VMM in 2006"
		echo "(Adams and Agesen, ASPLOS 2006), the per-operation targets of DESIGN.md §9."
		echo
		echo "Bochs' TSC counts instructions, not time (bench/bochs/README.md): its column is"
		echo "emulated instructions per operation, at $(mhz "${tsc_mhz[bochs]}") of instructions per"
		echo "second measured against its PIT (so ns = instructions ÷ that rate)."
		echo
		echo "| operation | bt86 cycles | QEMU cycles | bt86 ÷ QEMU | bt86 ns | QEMU ns | Bochs instructions | Bochs ns | VMware BT 2006 cycles | bt86 ÷ VMware |"
		echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
		for op in "${nano_ops[@]}"; do
			b=${nano[$op.bt86]:--}
			q=${nano[$op.qemu]:--}
			x=${nano[$op.bochs]:--}
			printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$op" \
				"$(awk -v v="$b" 'BEGIN { print (v == "-" ? v : sprintf("%.1f", v)) }')" \
				"$(awk -v v="$q" 'BEGIN { print (v == "-" ? v : sprintf("%.1f", v)) }')" \
				"$(ratio "$b" "$q")" "$(ns "$b")" "$(ns "$q")" \
				"$(awk -v v="$x" 'BEGIN { print (v == "-" ? v : sprintf("%.1f", v)) }')" \
				"$(awk -v c="$x" -v mhz="${tsc_mhz[bochs]}" 'BEGIN {
					if (c == "-" || mhz == "-" || mhz + 0 == 0) { print "-"; exit }
					printf("%.0f", c * 1000 / mhz) }')" \
				"${vmware[$op]:-}" "$(ratio "$b" "${vmware[$op]:-}")"
		done
	fi
	if [ -n "${med[nanobench.bochs]:-}${med[linux-boot-init.bochs]:-}" ]; then
		echo
		echo "## Bochs, against QEMU on the same GRUB ISO"
		echo
		echo "Bochs has no \`-kernel\`: these rows boot a GRUB ISO (\`bench/iso/\`), BIOS and boot"
		echo "loader included, under Bochs and under QEMU TCG alike; the bt86 and QEMU \`-kernel\` rows"
		echo "above start at the kernel. Wall seconds, medians of this run."
		echo
		echo "| workload | Bochs ISO s | QEMU ISO s | Bochs ÷ QEMU ISO | QEMU -kernel s | bt86 -kernel s | Bochs ÷ bt86 |"
		echo "| --- | --- | --- | --- | --- | --- | --- |"
		for w in nanobench linux-boot-init linux-boot-poweroff; do
			[ "${med[$w.bochs]:--}" != - ] || continue
			printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$w" "$(secs "${med[$w.bochs]}")" \
				"$(secs "${med[$w.qemu-iso]:--}")" \
				"$(ratio "${med[$w.bochs]}" "${med[$w.qemu-iso]:--}")" \
				"$(secs "${med[$w.qemu]:--}")" "$(secs "${med[$w.bt86]:--}")" \
				"$(ratio "${med[$w.bochs]}" "${med[$w.bt86]:--}")"
		done
	fi
	if [ -n "${tmed[pv-uart.bt86]:-}${tmed[linux-boot-init.bt86-pv-off]:-}" ]; then
		echo
		echo "## Paravirtualisation: bt86 with and without it"
		echo
		echo "The console and page-table rows are pvbench's own TSC cycles per byte or per update"
		echo "(median over the runs; docs/PV.md describes the hypercalls); the Linux rows compare"
		echo "\`bt86 --pv on\` (the default: kvm-clock, KVM's leaves) with \`--pv off\` on the same"
		echo "kernel, by the same clock as the Linux table. Below 1, PV is faster."
		echo
		echo "| comparison | without PV | with PV | with ÷ without |"
		echo "| --- | --- | --- | --- |"
		pv_row() { # label, value without PV, value with PV, unit
			[ -n "$2" ] && [ -n "$3" ] && [ "$2" != - ] && [ "$3" != - ] || return 0
			printf '| %s | %s %s | %s %s | %s |\n' "$1" "$(awk -v v="$2" 'BEGIN { printf("%.4g", v) }')" \
				"$4" "$(awk -v v="$3" 'BEGIN { printf("%.4g", v) }')" "$4" "$(ratio "$3" "$2")"
		}
		pv_row "console output of 1 MiB: UART port I/O vs the console hypercall" \
			"$(pv_per_op pv-uart)" "$(pv_per_op pv-hypercall)" "cycles/byte"
		pv_row "10,000 PTE updates: stores + invlpg vs batched hypercalls (each page touched after)" \
			"$(pv_per_op pv-pte-invlpg)" "$(pv_per_op pv-pte-batch)" "cycles/update"
		for w in linux-boot-init linux-boot-poweroff linux-forkexec; do
			pv_row "$w" "$(secs "${tmed[$w.bt86-pv-off]:--}")" "$(secs "${tmed[$w.bt86]:--}")" s
		done
	fi
	echo
	echo "## Workloads"
	echo
	for row in "${workload_rows[@]}"; do
		w=${row%%$'\t'*}
		if is_linux "$w"; then
			echo "- $w: ${row#*$'\t'}"
		else
			bytes=$(wc -c 2>/dev/null <"$raw/$w.qemu.1.out" ||
				wc -c 2>/dev/null <"$raw/$w.bt86.1.out" || echo "?")
			echo "- $w: ${row#*$'\t'} (prints $bytes bytes)"
		fi
	done
	if [ "$native_ok" -ne 1 ]; then
		notes+=("this host cannot run Linux i386 programs: no native rows")
	fi
	# The --stats runs: stats.tsv (workload engine status expected), or before it one
	# WORKLOAD.stats.status per workload, bt86's, where 1 was expected.
	if [ -f "$raw/stats.tsv" ]; then
		cat "$raw/stats.tsv"
	else
		for row in "${workload_rows[@]}"; do
			w=${row%%$'\t'*}
			printf '%s\tbt86\t%s\t1\n' "$w" "$(cat "$raw/$w.stats.status" 2>/dev/null || echo none)"
		done
	fi >"$tmp/stats.tsv"
	while IFS=$'\t' read -r w e st x; do
		[ "$w" = workload ] || [ "$st" = "$x" ] ||
			notes+=("$w: the ${engine_name[$e]:-$e} --stats run ended with status $st ($x expected); its counters may be partial")
	done <"$tmp/stats.tsv"
	if [ ${#notes[@]} -gt 0 ]; then
		echo
		echo "## Notes"
		echo
		for n in "${notes[@]}"; do echo "- $n"; done
	fi
	echo
	echo "Raw logs: \`bench/results/raw/$stamp-$mode/\` (not committed). Chart: \`latest.png\`."
} >"$tmp/latest.md"

# ---- chart ----
# The ratios of the tables: of guest times for the Linux workloads that have one.
{
	echo "# workload bt86/QEMU bt86/native QEMU/native"
	for row in "${workload_rows[@]}"; do
		w=${row%%$'\t'*}
		a=$(ratio "${tmed[$w.bt86]:-}" "${tmed[$w.qemu]:-}")
		b=$(ratio "${tmed[$w.bt86]:-}" "${tmed[$w.native]:-}")
		c=$(ratio "${tmed[$w.qemu]:-}" "${tmed[$w.native]:-}")
		echo "$w ${a:--} ${b:--} ${c:--}"
	done
} >"$tmp/ratios.dat"
{
	echo "# operation bt86 QEMU VMware-2006"
	for op in "${nano_ops[@]}"; do
		echo "$op ${nano[$op.bt86]:--} ${nano[$op.qemu]:--} ${vmware[$op]:--}"
	done
} >"$tmp/nano.dat"
cp "$tmp/ratios.dat" "$tmp/nano.dat" "$raw/"

mkdir -p "$out"
if command -v gnuplot >/dev/null; then
	if gnuplot -e "ratios='$tmp/ratios.dat'; nano='$tmp/nano.dat'; have_nano=$have_nano" \
		-e "out='$tmp/latest.png'" \
		-e "title_text='bt86 $commit, $mode run of $date'" "$root/bench/chart.gp"; then
		mv "$tmp/latest.png" "$out/latest.png"
	else
		echo "bench: gnuplot failed; latest.png not updated" >&2
	fi
else
	echo "bench: gnuplot is missing (Debian package gnuplot-nox); latest.png not updated" >&2
fi
mv "$tmp/latest.csv" "$tmp/latest.md" "$out/"
[ -f "$tmp/latest-nanobench.csv" ] && mv "$tmp/latest-nanobench.csv" "$out/"
cp "$out/latest.md" "$raw/report.md"
echo "bench: wrote $out/latest.md, latest.csv, latest.png" >&2
