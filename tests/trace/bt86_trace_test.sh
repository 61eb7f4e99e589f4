#!/bin/sh
# bt86_trace_test.sh WRITE_SAMPLE BT86_TRACE — runs bt86-trace on the sample trace (sample.c) and
# checks that the known block comes out disassembled, guest and host, and that bad input gives
# one line on stderr and exit status 2.
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

exit $status
