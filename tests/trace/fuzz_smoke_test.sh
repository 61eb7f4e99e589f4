#!/bin/sh
# fuzz_smoke_test.sh BT86 BT86_TRACE FUZZ_SMOKE KERNEL — records a trace of KERNEL (with execution
# counts, so that BLOCK_EXEC records are damaged too) and feeds 300 seeded damaged copies of it to
# bt86-trace summary (see fuzz_smoke.c).
set -u
dir=$(mktemp -d "${TMPDIR:-/tmp}/bt86-trace-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
"$1" run --kernel "$4" --trace "$dir/k.trc" --trace-counts </dev/null >/dev/null 2>&1
[ -s "$dir/k.trc" ] || {
	echo "FAIL: bt86 run wrote no trace" >&2
	exit 1
}
TMPDIR=$dir "$3" "$2" "$dir/k.trc" 300 0x5eed
