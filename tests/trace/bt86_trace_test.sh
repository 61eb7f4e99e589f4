#!/bin/sh
# bt86_trace_test.sh WRITE_SAMPLE BT86_TRACE — runs bt86-trace on the sample trace (sample.c) and
# checks that the known block comes out disassembled, guest and host, that execution counts and
# the time split of a hand-made trace (write_sample.c counts) come out as computed by hand, and
# that bad input gives one line on stderr and exit status 2.
set -u

write_sample=$1
bt86_trace=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/bt86-trace-tool.XXXXXX") || exit 1
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

"$write_sample" "$dir/sample.bt86" || { echo "FAIL: write_sample" >&2; exit 1; }

for args in "" "blocks --disasm"; do
	# shellcheck disable=SC2086 # $args is words or none on purpose
	"$bt86_trace" $args "$dir/sample.bt86" >"$dir/blocks.out" 2>"$dir/blocks.err" ||
		fail "bt86-trace $args exited with $?"
	[ -s "$dir/blocks.err" ] && fail "bt86-trace $args wrote to stderr: $(cat "$dir/blocks.err")"
	out=$dir/blocks.out
	expect "$out" "eip 0x00100000 phys 0x00100000"
	# Guest instructions (32-bit): address, bytes, mnemonic.
	expect "$out" "00100000: b8 01 00 00 00"
	expect "$out" "00100005: 01 d8"
	expect "$out" "add eax, ebx"
	expect "$out" "00100007: c3"
	expect "$out" "ret"
	# Host instructions (64-bit) under them, at host_addr + the map's offsets.
	expect "$out" "7f1234560005: 01 d8"
	expect "$out" "7f1234560007: 65 67 44 8b 34 24"
	expect "$out" "mov r14d, dword ptr gs:[esp]"
	expect "$out" "jmp qword ptr [r15 + 0x10]"
	expect "$out" "cpuid"
	expect "$out" "translations"
done

# The host code of ret comes after the guest ret and before the end of the block.
awk '/00100007: c3/ { seen = 1 } seen && /jmp qword ptr \[r15 \+ 0x10\]/ { found = 1 }
     END { exit !found }' "$dir/blocks.out" || fail "host code of ret is not listed under it"

"$bt86_trace" summary "$dir/sample.bt86" >"$dir/summary.out" 2>&1 || fail "summary exited with $?"
expect "$dir/summary.out" "blocks:      1"
expect "$dir/summary.out" "guest insns: 3"
expect "$dir/summary.out" "callouts: 3"
grep -qE '^  cpuid +kind 3 +2 +66\.7%$' "$dir/summary.out" || fail "summary lacks 2 cpuid callouts"
grep -qE '^  exception +1$' "$dir/summary.out" || fail "summary lacks 1 exception"
grep -qE '^  hidden_faults +81985529216486895$' "$dir/summary.out" || fail "summary lacks a counter"
# The sample block ran 123456789012 times (more than 32 bits); 3 insns, the first 2 copied.
expect "$dir/summary.out" "  block entries:        123456789012 (1 BLOCK_EXEC records, 0 matching"
expect "$dir/summary.out" "  guest insns executed: 370370367036 "
expect "$dir/summary.out" "  IDENT share executed: 246913578024 of 370370367036 executed mapped insns copied unchanged (66.7%)"
expect "$dir/summary.out" "time split: not recorded"

# Blocks a buggy translator could produce are shown, not fatal.
"$write_sample" "$dir/odd.bt86" odd || { echo "FAIL: write_sample odd" >&2; exit 1; }
"$bt86_trace" "$dir/odd.bt86" >"$dir/odd.out" 2>&1 || fail "bt86-trace on odd blocks exited with $?"
expect "$dir/odd.out" "(block entry)"
expect "$dir/odd.out" "(instruction map not usable: host offset past the host bytes"
expect "$dir/odd.out" "(instruction map not usable: no instructions listed"
expect "$dir/odd.out" "(bad)"
expect "$dir/odd.out" "(unnamed)"
"$bt86_trace" summary "$dir/odd.bt86" >"$dir/odd.out" 2>&1 || fail "summary on odd blocks exited with $?"
grep -qE '^  kind 99 +1$' "$dir/odd.out" || fail "summary lacks the unknown event kind"
# No counts in the odd trace; its time split (3000 and 1000 ns) has no total.
expect "$dir/odd.out" "execution counts: not recorded"
expect "$dir/odd.out" "time split, shares of the sum of the parts"
grep -qE '^  first part +0\.000003000 s +75\.0%$' "$dir/odd.out" || fail "odd: no 75% first part"
grep -qE '^  second part +0\.000001000 s +25\.0%$' "$dir/odd.out" || fail "odd: no 25% second part"
"$bt86_trace" blocks "$dir/odd.bt86" >"$dir/odd.out" 2>&1 || fail "blocks on odd blocks exited with $?"
expect "$dir/odd.out" "sorted by translation time (execution counts are not recorded)"
awk 'NR > 2 && $2 != "-" { bad = 1 } END { exit bad }' "$dir/odd.out" ||
	fail "blocks shows execution counts for a trace without them"

# Execution counts (write_sample.c counts): which block each count belongs to, as worked out by
# hand in write_counts(); the lines of blocks are "index exec ...".
"$write_sample" "$dir/counts.bt86" counts || { echo "FAIL: write_sample counts" >&2; exit 1; }
# rows FILE: "index:exec" of each block line of a blocks listing, on one line.
rows() {
	awk 'NR > 2 && $1 ~ /^[0-9]+$/ { printf "%s%s:%s", sep, $1, $2; sep = " " } END { print "" }' "$1"
}
"$bt86_trace" blocks "$dir/counts.bt86" >"$dir/counts.out" 2>&1 || fail "blocks on counts exited with $?"
expect "$dir/counts.out" "blocks: 5 translations, sorted by execution count (126 block entries counted)"
grep -q "not recorded" "$dir/counts.out" && fail "blocks says counts are not recorded"
[ "$(rows "$dir/counts.out")" = "1:100 2:12 0:10 4:4 3:0" ] ||
	fail "blocks by exec: '$(rows "$dir/counts.out")', expected '1:100 2:12 0:10 4:4 3:0'"
expect "$dir/counts.out" "(2 BLOCK_EXEC records with 5 entries match no block"
"$bt86_trace" blocks "$dir/counts.bt86" --sort time >"$dir/counts.out" 2>&1 || fail "blocks --sort time: $?"
[ "$(rows "$dir/counts.out")" = "0:10 1:100 2:12 3:0 4:4" ] ||
	fail "blocks by time: '$(rows "$dir/counts.out")', expected '0:10 1:100 2:12 3:0 4:4'"
"$bt86_trace" blocks "$dir/counts.bt86" --sort exec --hot 1 >"$dir/counts.out" 2>&1 || fail "blocks --hot 1: $?"
[ "$(rows "$dir/counts.out")" = "1:100" ] || fail "blocks --hot 1: '$(rows "$dir/counts.out")'"

"$bt86_trace" summary "$dir/counts.bt86" >"$dir/counts.out" 2>&1 || fail "summary on counts exited with $?"
expect "$dir/counts.out" "  block entries:        126 (7 BLOCK_EXEC records, 2 matching no block with 5 entries)"
expect "$dir/counts.out" "  guest insns executed: 378 "
expect "$dir/counts.out" "  IDENT share executed: 252 of 378 executed mapped insns copied unchanged (66.7%)"
expect "$dir/counts.out" "time split, shares of the total run of 1.000000000 s:"
grep -qE '^  translated code +0\.600000000 s +60\.0%$' "$dir/counts.out" || fail "no 60% translated code"
grep -qE '^  translation +0\.300000000 s +30\.0%$' "$dir/counts.out" || fail "no 30% translation"
grep -qE '^  idle +0\.100000000 s +10\.0%$' "$dir/counts.out" || fail "no 10% idle"
grep -qE '^  \(sum of the parts\) +1\.000000000 s +100\.0%$' "$dir/counts.out" || fail "no sum of the parts"
grep -q '^  total run' "$dir/counts.out" && fail "the total is listed as a part"

# The full listing names each block's count in its heading.
"$bt86_trace" blocks --disasm "$dir/counts.bt86" >"$dir/counts.out" 2>&1 || fail "blocks --disasm: $?"
[ "$(grep -oE '^block [0-9]+ .*, executed [0-9]+ times$' "$dir/counts.out" |
	sed -E 's/^block ([0-9]+) .*executed ([0-9]+) times$/\1:\2/' | tr '\n' ' ')" = \
	"0:10 1:100 2:12 3:0 4:4 " ] || fail "blocks --disasm: wrong counts in the block headings"

# show: each translation with its own count, then the sum.
"$bt86_trace" show "$dir/counts.bt86" 0x1000 >"$dir/counts.out" 2>&1 || fail "show 0x1000 exited with $?"
[ "$(grep -E '^  executed: ' "$dir/counts.out" | tr -s ' ' | tr '\n' '/')" = \
	" executed: 10 times/ executed: 4 times/" ] || fail "show 0x1000: wrong counts per translation"
expect "$dir/counts.out" "2 translations, executed 14 times in all"
"$bt86_trace" show "$dir/counts.bt86" 0x3004 >"$dir/counts.out" 2>&1 || fail "show 0x3004 exited with $?"
expect "$dir/counts.out" "2 translations, entered 12 times in all (at their starts, not at 0x00003004)"
"$bt86_trace" show "$dir/sample.bt86" 0x00100000 >"$dir/counts.out" 2>&1 || fail "show sample: $?"
expect "$dir/counts.out" "  executed: 123456789012 times"
"$bt86_trace" show "$dir/odd.bt86" 0x2000 >"$dir/counts.out" 2>&1 || fail "show odd: $?"
expect "$dir/counts.out" "  executed: not recorded"

# diff: the exec totals and the hottest eips of both sides; a side without counts is named.
"$bt86_trace" diff "$dir/counts.bt86" "$dir/sample.bt86" >"$dir/counts.out" 2>&1 || fail "diff: $?"
grep -qE '^  block entries \(execution counts\) +126 +123456789012 +\+123456788886$' "$dir/counts.out" ||
	fail "diff lacks the block entries row"
grep -qE '^  0x00002000 +100 +0 +-100$' "$dir/counts.out" || fail "diff lacks the hot block of A"
grep -qE '^  0x00100000 +0 +123456789012 +\+123456789012$' "$dir/counts.out" ||
	fail "diff lacks the hot block of B"
grep -qE '^  0x00001000 +14 +0 +-14$' "$dir/counts.out" || fail "diff does not sum the translations of an eip"
"$bt86_trace" diff "$dir/counts.bt86" "$dir/odd.bt86" >"$dir/counts.out" 2>&1 || fail "diff odd: $?"
expect "$dir/counts.out" "; B has no counts:"
"$bt86_trace" diff "$dir/odd.bt86" "$dir/odd.bt86" >"$dir/counts.out" 2>&1 || fail "diff odd odd: $?"
expect "$dir/counts.out" "hot blocks: execution counts are recorded in neither trace"

# export and report carry the counts and the time split.
"$bt86_trace" export "$dir/counts.bt86" --chrome "$dir/counts.json" >/dev/null 2>&1 || fail "export: $?"
expect "$dir/counts.json" '"eip":"0x00002000","guest_bytes":8,"insns":3,"host_bytes":22,"exec":100}'
expect "$dir/counts.json" '"eip":"0x00003000","guest_bytes":8,"insns":3,"host_bytes":22,"exec":0}'
"$bt86_trace" report "$dir/counts.bt86" --html "$dir/report" >/dev/null 2>&1 || fail "report: $?"
expect "$dir/report/index.html" "<h2>Hot blocks by execution count</h2>"
expect "$dir/report/index.html" "<tr><td class=n>1</td><td>0x00002000</td><td></td><td class=n>100</td><td class=n>79.4%</td>"
expect "$dir/report/index.html" "<tr><td>translated code</td><td class=n>0.600000</td><td class=n>60.0%</td>"
expect "$dir/report/index.html" "<tr><th>sum of the parts</th><td class=n>1.000000</td><td class=n>100.0%</td>"

# bad_input NAME ARGS...: exit status 2 and exactly one line "bt86-trace: FILE: reason".
bad_input() {
	name=$1
	shift
	"$bt86_trace" "$@" >/dev/null 2>"$dir/err"
	rc=$?
	[ "$rc" -eq 2 ] || fail "$name: exit status $rc, expected 2"
	[ "$(wc -l <"$dir/err")" -eq 1 ] || fail "$name: stderr is not one line: $(cat "$dir/err")"
}

printf 'not a trace\n' >"$dir/text"
bad_input "text file" "$dir/text"
expect "$dir/err" "bt86-trace: $dir/text: not a bt86 trace file"
bad_input "missing file" summary "$dir/missing"
expect "$dir/err" "bt86-trace: $dir/missing: No such file or directory"
head -c 100 "$dir/sample.bt86" >"$dir/cut"
bad_input "cut file" "$dir/cut"
expect "$dir/err" "bt86-trace: $dir/cut: "
bad_input "--sort exec without counts" blocks "$dir/odd.bt86" --sort exec
expect "$dir/err" "bt86-trace: blocks: $dir/odd.bt86 has no execution counts to sort by"
bad_input "--sort nosuch" blocks "$dir/counts.bt86" --sort nosuch
expect "$dir/err" "--sort takes exec, size, callouts or time"

exit $status
