#!/bin/sh
# bt86_trace_guest_test.sh BT86 BT86_TRACE COMPUTE_ELF EXCEPTIONS_ELF — records traces of two
# guest test kernels with bt86 run --trace and checks every bt86-trace command on them.
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

# Bad input: one line on stderr and exit status 2.
for args in "show $dir/compute.trc nosuchsymbol" "events $dir/compute.trc --kind nosuch" \
	"blocks $dir/compute.trc --hot x" "--symbols $dir/compute.guest summary $dir/compute.trc" \
	"nosuchcommand a b"; do
	# shellcheck disable=SC2086 # split on purpose
	"$bt86_trace" $args >/dev/null 2>"$dir/err"
	rc=$?
	[ "$rc" -eq 2 ] || fail "'$args': exit status $rc, expected 2"
	[ "$(wc -l <"$dir/err")" -eq 1 ] || fail "'$args': stderr is not one line"
	grep -q '^bt86-trace: ' "$dir/err" || fail "'$args': message lacks the prefix"
done

exit $status
