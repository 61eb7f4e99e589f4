#!/usr/bin/env bash
# Print one "N passed, N failed" line for the meson test logs given as arguments.
set -euo pipefail
passed=0
failed=0
for log in "$@"; do
	[ -f "$log" ] || continue
	p=$(grep -c '"result": "OK"' "$log" || true)
	f=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
	passed=$((passed + p))
	failed=$((failed + f))
done
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
