#!/bin/sh
# bt86_trace_guest_test.sh BT86 BT86_TRACE COMPUTE_ELF EXCEPTIONS_ELF — records traces of two
# guest test kernels with bt86 run --trace and checks every bt86-trace command on them, then
# records compute again with --trace-counts and checks the execution counts and the time split
# against what tests/guests/compute.c does.
set -u

bt86=$1
bt86_trace=$2
compute=$3
exceptions=$4
dir=$(mktemp -d "${TMPDIR:-/tmp}/bt86-trace-guest.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
status=0

fail() {
	echo "FAIL: $*" >&2
	status=1
}

# expect FILE TEXT: the output in FILE contains TEXT (a fixed string).
expect() {
	grep -qF -- "$2" "$1" || fail "$(basename "$1") lacks '$2'"
}

# run NAME ARGS...: bt86-trace ARGS with stdout in $dir/NAME.out; exit 0 and a quiet stderr.
run() {
	name=$1
	shift
	"$bt86_trace" "$@" >"$dir/$name.out" 2>"$dir/$name.err" || fail "$name: exit status $?"
	[ -s "$dir/$name.err" ] && fail "$name wrote to stderr: $(cat "$dir/$name.err")"
}

for k in compute exceptions; do
	eval "kernel=\$$k"
	# The guest's own exit status is passed through (isa-debug-exit style), so only the trace
	# counts here.
	"$bt86" run --kernel "$kernel" --trace "$dir/$k.trc" </dev/null >"$dir/$k.guest" 2>&1
	[ -s "$dir/$k.trc" ] || fail "bt86 run $k wrote no trace"
done

# summary: totals, the COM1 output as 'out' callouts with a share, all event kinds listed.
run summary summary "$dir/compute.trc"
expect "$dir/summary.out" "IDENT share:"
grep -qE '^  out +kind [0-9]+ +[1-9][0-9]* +[0-9.]+%$' "$dir/summary.out" ||
	fail "summary lacks a count and share of 'out' callouts"
grep -qE '^  exit +1$' "$dir/summary.out" || fail "summary lacks the exit event"
grep -qE '^  (cr3|mmio) +0$' "$dir/summary.out" || fail "summary does not list cr3/mmio"
expect "$dir/summary.out" "time span:"
expect "$dir/summary.out" "blocks translated"

# blocks: the recursive fib (the hot loop of compute) is among the blocks, by symbol; the
# callout sort puts put_char (the UART loop) first.
run blocks --symbols "$compute" blocks "$dir/compute.trc"
expect "$dir/blocks.out" "execution counts are not recorded"
expect "$dir/blocks.out" "sorted by translation time"
grep -qE ' fib(\+0x[0-9a-f]+)?$' "$dir/blocks.out" || fail "blocks lacks fib"
run blocks_hot --symbols "$compute" blocks "$dir/compute.trc" --sort callouts --hot 1
[ "$(grep -c '^ *[0-9]' "$dir/blocks_hot.out")" -eq 1 ] || fail "--hot 1 did not give one block"
expect "$dir/blocks_hot.out" "put_char"
run blocks_size blocks "$dir/compute.trc" --sort size --hot 3

# show: the entry block at _start (0x0010000c), by address and by symbol: guest and host code
# side by side and the reasons (lgdt is a callout, rep stosb a string rewrite, kernel-mode cli
# a store to the frame).
for target in 0x0010000c _start; do
	run show --symbols "$compute" show "$dir/compute.trc" "$target"
	expect "$dir/show.out" "0010000c: fa"
	expect "$dir/show.out" "cli"
	expect "$dir/show.out" "movabs r14"
	expect "$dir/show.out" "jmp qword ptr [r15 + 0x48]"
	expect "$dir/show.out" "callout lgdt-lidt-sgdt-sidt"
	expect "$dir/show.out" "string rewrite"
	expect "$dir/show.out" "_start"
done

# events: the exceptions kernel's #DE and #UD, with symbols; time filters; callouts.
run events --symbols "$exceptions" events "$dir/exceptions.trc" --kind exception
grep -qE '^ +[0-9]+\.[0-9]{9}  exception +vector 0 #DE' "$dir/events.out" || fail "events lacks #DE"
expect "$dir/events.out" "#UD"
expect "$dir/events.out" "x_div0_at"
run events_none events "$dir/exceptions.trc" --kind exception --from 1000 --to 1001
expect "$dir/events_none.out" "(0 shown)"
run events_callout events "$dir/compute.trc" --kind callout
expect "$dir/events_callout.out" "callout    out (kind"

# diff: two different kernels have blocks only in one of them.
run diff diff "$dir/compute.trc" "$dir/exceptions.trc"
grep -qE '^blocks only in A: [1-9]' "$dir/diff.out" || fail "diff: no blocks only in A"
grep -qE '^blocks only in B: [1-9]' "$dir/diff.out" || fail "diff: no blocks only in B"
expect "$dir/diff.out" "counters:"
run diff_same diff "$dir/compute.trc" "$dir/compute.trc"
expect "$dir/diff_same.out" "blocks only in A: 0"

# export: valid JSON with instant events and the counter track.
run export export "$dir/compute.trc" --chrome "$dir/out.json"
if command -v python3 >/dev/null; then
	python3 -m json.tool "$dir/out.json" >/dev/null || fail "export wrote invalid JSON"
fi
expect "$dir/out.json" '"ph":"i"'
expect "$dir/out.json" '"translations per 10 ms"'

# report: a self-contained index.html with the summary and an inline SVG.
run report report "$dir/exceptions.trc" --html "$dir/report"
expect "$dir/report/index.html" "<h2>Summary</h2>"
expect "$dir/report/index.html" "<svg"
expect "$dir/report/index.html" "blocks translated"
grep -qE '(src|href)="?(https?:)?//' "$dir/report/index.html" && fail "report has external links"

# ---- execution counts and the time split (bt86 run --trace-counts) ----------------------------
# compute.c hashes 48 MiB with SHA-256: every byte goes through the guest's memcpy (a byte loop)
# twice, once from the xorshift generator into the chunk and once into the 64-byte block, and
# every 64-byte block runs the 64 compression rounds of sha256_block (inlined into
# sha256_update). fib(27) and the sieve run far fewer iterations, so the hottest block lies in
# memcpy or sha256_update, and it runs at least once per 64-byte block: 48 MiB / 64 = 786432.
"$bt86" run --kernel "$compute" --trace "$dir/counts.trc" --trace-counts </dev/null \
	>"$dir/counts.guest" 2>&1
[ -s "$dir/counts.trc" ] || fail "bt86 run --trace-counts wrote no trace"
expect "$dir/counts.guest" "compute done"

run cblocks --symbols "$compute" blocks "$dir/counts.trc"
expect "$dir/cblocks.out" "sorted by execution count ("
grep -q "not recorded" "$dir/cblocks.out" && fail "blocks says counts are not recorded"
grep -q "match no block" "$dir/cblocks.out" && fail "blocks: counts that match no block"
# The block lines: index exec time eip phys gbytes insns hbytes ident callouts symbol.
awk 'NR > 2 && $1 ~ /^[0-9]+$/ { print }' "$dir/cblocks.out" >"$dir/cblocks.rows"
[ "$(wc -l <"$dir/cblocks.rows")" -gt 20 ] || fail "blocks lists too few blocks"
awk 'NR > 1 && $2 + 0 > prev + 0 { bad = 1 } { prev = $2 } END { exit bad }' "$dir/cblocks.rows" ||
	fail "blocks is not sorted by execution count"
hot_exec=$(awk 'NR == 1 { print $2 }' "$dir/cblocks.rows")
hot_eip=$(awk 'NR == 1 { print $4 }' "$dir/cblocks.rows")
hot_sym=$(awk 'NR == 1 { print $11 }' "$dir/cblocks.rows")
case $hot_sym in
memcpy | memcpy+0x* | sha256_update | sha256_update+0x*) ;;
*) fail "the hottest block is at $hot_eip '$hot_sym', not in memcpy or sha256_update" ;;
esac
[ "${hot_exec:-0}" -ge 786432 ] 2>/dev/null || fail "the hottest block ran $hot_exec times (< 786432)"
run chot --symbols "$compute" blocks "$dir/counts.trc" --hot 1
[ "$(grep -c '^ *[0-9]' "$dir/chot.out")" -eq 1 ] || fail "--hot 1 did not give one block"
awk -v e="$hot_exec" -v a="$hot_eip" -v s="$hot_sym" \
	'NR > 2 && $2 == e && $4 == a && $11 == s { found = 1 } END { exit !found }' \
	"$dir/chot.out" || fail "--hot 1 is not the hottest block"

# summary: the totals are the sums over the blocks (recomputed here from the blocks listing),
# and the time split has the six parts of the runtime with shares adding up to ~100%.
run csummary summary "$dir/counts.trc"
sums=$(awk '{ e += $2; i += $2 * $7; c += $2 * $9 }
	END { printf "%.0f %.0f %.0f", e, i, c }' "$dir/cblocks.rows")
entries=${sums%% *}
rest=${sums#* }
insns=${rest%% *}
copied=${rest#* }
expect "$dir/csummary.out" "  block entries:        $entries ("
expect "$dir/csummary.out" ", 0 matching no block with 0 entries)"
expect "$dir/csummary.out" "  guest insns executed: $insns "
expect "$dir/csummary.out" "  IDENT share executed: $copied of $insns executed mapped insns"
expect "$dir/csummary.out" "time split, shares of the total run of "
for part in "translated code" "translation" "callouts and exceptions" "host faults" \
	"idle in HLT" "dispatcher and devices"; do
	grep -qE "^  $part +[0-9]+\.[0-9]{9} s +[0-9]+\.[0-9]%\$" "$dir/csummary.out" ||
		fail "summary lacks the time split line '$part'"
done
awk '/^time split/ { on = 1; next }
	on && /^  \(sum of the parts\)/ { on = 0 }
	on && /^  / { sum += $NF; n++; if ($NF + 0 > max) { max = $NF + 0; top = $0 } }
	END { if (n < 6 || sum < 99 || sum > 101) { print "shares of " n " parts add up to " sum; exit 1 }
	      if (top !~ /^  translated code /) { print "largest share: " top; exit 1 } }' \
	"$dir/csummary.out" >"$dir/split.err" || fail "time split: $(cat "$dir/split.err")"

# show: the hottest block's count, as blocks gave it.
run cshow --symbols "$compute" show "$dir/counts.trc" "$hot_eip"
expect "$dir/cshow.out" "  executed: $hot_exec times"
expect "$dir/cshow.out" "$hot_sym"

# diff against the trace without counts; export and report carry the counts.
run cdiff diff "$dir/counts.trc" "$dir/compute.trc"
expect "$dir/cdiff.out" "; B has no counts:"
grep -qE "^  $hot_eip +$hot_exec +0 +-$hot_exec\$" "$dir/cdiff.out" || fail "diff lacks the hottest block"
run cexport export "$dir/counts.trc" --chrome "$dir/counts.json"
if command -v python3 >/dev/null; then
	python3 -m json.tool "$dir/counts.json" >/dev/null || fail "export wrote invalid JSON"
fi
expect "$dir/counts.json" "{\"eip\":\"$hot_eip\","
grep -qF ",\"exec\":$hot_exec}" "$dir/counts.json" || fail "export lacks the hottest block's count"
run creport --symbols "$compute" report "$dir/counts.trc" --html "$dir/creport"
expect "$dir/creport/index.html" "<h2>Where the time went</h2>"
expect "$dir/creport/index.html" "<tr><td>translated code</td>"
awk '/<h2>Hot blocks by execution count/ { on = 1 } on && /^<tr><td/ { print; exit }' \
	"$dir/creport/index.html" >"$dir/creport.row"
expect "$dir/creport.row" "<td>$hot_eip</td><td>$hot_sym</td><td class=n>$hot_exec</td>"
grep -qE '(src|href)="?(https?:)?//' "$dir/creport/index.html" && fail "report has external links"

# Bad input: one line on stderr and exit status 2.
for args in "show $dir/compute.trc nosuchsymbol" "events $dir/compute.trc --kind nosuch" \
	"blocks $dir/compute.trc --hot x" "--symbols $dir/compute.guest summary $dir/compute.trc" \
	"blocks $dir/compute.trc --sort exec" "nosuchcommand a b"; do
	# shellcheck disable=SC2086 # split on purpose
	"$bt86_trace" $args >/dev/null 2>"$dir/err"
	rc=$?
	[ "$rc" -eq 2 ] || fail "'$args': exit status $rc, expected 2"
	[ "$(wc -l <"$dir/err")" -eq 1 ] || fail "'$args': stderr is not one line"
	grep -q '^bt86-trace: ' "$dir/err" || fail "'$args': message lacks the prefix"
done

exit $status
