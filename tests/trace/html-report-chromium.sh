#!/bin/sh
# html-report-chromium.sh TRACE [OUT.png] — renders the bt86-trace HTML report of TRACE in
# headless Chromium and exits non-zero if the page logs anything to the console (an uncaught
# exception, an error), loads any file but itself, if the rendered DOM lacks the report's sections
# or if no screenshot comes out. OUT.png keeps the screenshot (1280x2000).
#
# Not part of meson test: Chromium is too heavy for every run (apt-get install chromium).
# Environment: BT86_TRACE (default: build/tools/bt86-trace of this checkout), SYMBOLS (passed as
# --symbols), CHROMIUM (default: chromium, chromium-browser or google-chrome from PATH).
set -u

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 TRACE [OUT.png]" >&2
	exit 2
fi
trace=$1
shot_out=${2:-}
top=$(cd "$(dirname "$0")/../.." && pwd)
bt86_trace=${BT86_TRACE:-$top/build/tools/bt86-trace}
chromium=${CHROMIUM:-}
if [ -z "$chromium" ]; then
	for c in chromium chromium-browser google-chrome; do
		if command -v "$c" >/dev/null 2>&1; then
			chromium=$c
			break
		fi
	done
fi
[ -n "$chromium" ] || { echo "FAIL: no chromium in PATH (apt-get install chromium)" >&2; exit 2; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/bt86-report-chromium.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
status=0

fail() {
	echo "FAIL: $*" >&2
	status=1
}

if [ -n "${SYMBOLS:-}" ]; then
	"$bt86_trace" --symbols "$SYMBOLS" report "$trace" --html "$dir/report" >/dev/null ||
		{ echo "FAIL: bt86-trace report exited with $?" >&2; exit 1; }
else
	"$bt86_trace" report "$trace" --html "$dir/report" >/dev/null ||
		{ echo "FAIL: bt86-trace report exited with $?" >&2; exit 1; }
fi
url="file://$dir/report/index.html"

# One run for the screenshot with the console in the log, one for the DOM after parsing.
flags="--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars"
flags="$flags --user-data-dir=$dir/profile --enable-logging=stderr --v=1"
# shellcheck disable=SC2086 # flags are words on purpose
timeout 120 "$chromium" $flags --window-size=1280,2000 --screenshot="$dir/report.png" "$url" \
	>"$dir/shot.out" 2>"$dir/shot.log" || fail "chromium --screenshot exited with $?"
# shellcheck disable=SC2086
timeout 120 "$chromium" $flags --dump-dom "$url" >"$dir/dom.html" 2>"$dir/dom.log" ||
	fail "chromium --dump-dom exited with $?"

# Chromium (156) logs every console message of the page as an INFO:CONSOLE line, errors and
# uncaught exceptions included; the report has no script, so any console line is a defect. Every
# file the page loads is logged too: anything but index.html breaks "self-contained". Chromium's
# own complaints (D-Bus, GPU, its update and sign-in fetchers) are not the page's and are ignored.
cat "$dir/shot.log" "$dir/dom.log" >"$dir/all.log"
if grep -E ':CONSOLE[:(]|Uncaught' "$dir/all.log" >"$dir/errors"; then
	fail "the page logged console messages:"
	sed 's/^/  /' "$dir/errors" >&2
fi
if grep -E 'FileURLLoader::Start: ' "$dir/all.log" | grep -vF "$url" >"$dir/loads"; then
	fail "the page loads other files:"
	sed 's/^/  /' "$dir/loads" >&2
fi

for section in "<h1>bt86 trace report</h1>" "<h2>Summary</h2>" "<h2>Where the time went</h2>" \
	"<h2>Hot blocks by execution count</h2>" "<h2>Translations and faults over time</h2>" \
	"<h2>Counters at close</h2>" "<svg"; do
	grep -qF "$section" "$dir/dom.html" || fail "the rendered DOM lacks '$section'"
done
grep -qi '<script' "$dir/report/index.html" && echo "note: the report has a script" >&2

if [ -s "$dir/report.png" ] && [ "$(head -c 8 "$dir/report.png" | od -An -tx1 | tr -d ' \n')" = \
	"89504e470d0a1a0a" ]; then
	[ -n "$shot_out" ] && cp "$dir/report.png" "$shot_out"
else
	fail "no PNG screenshot"
fi
[ $status -eq 0 ] && echo "ok: $url rendered without console errors"
exit $status
