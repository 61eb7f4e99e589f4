#!/usr/bin/env bash
# Run a bootable ISO (bench/iso/make-iso.sh) under QEMU TCG until the guest's end; COM1 is
# streamed to stdout. The QEMU side of the ISO rows, like for like with
# bench/bochs/run-bochs.sh: same options, output and exit statuses.
#
#   bench/iso/run-qemu-iso.sh ISO [--timeout S] [--until REGEX] [--memory MB] [--no-debug-exit]
#
#   --timeout S      give up after S seconds of wall time (default 300)
#   --until REGEX    the end is the first COM1 line matching REGEX (POSIX ERE); QEMU is
#                    stopped there. Without it the end is the guest's own: a write to the
#                    isa-debug-exit port 0xf4 or a power-off.
#   --memory MB      guest RAM (default 128)
#   --no-debug-exit  no isa-debug-exit device (to follow a Linux guest on to its power-off)
#
# The machine is the one of tests/guests/run-qemu.sh (-M pc, the CPU of
# tests/guests/qemu-cpu.txt, -nodefaults, -no-reboot, isa-debug-exit at 0xf4), booting the
# ISO from its CD-ROM drive instead of -kernel.
#
# Exit status: 0 the end was reached (--until matched; or, without --until, debug-exit code
# 0 or a power-off); 1 the guest wrote a non-zero code to port 0xf4; 2 bad usage or setup;
# 3 the guest stopped (power-off, reset, debug-exit, a Linux panic) before --until matched;
# 4 QEMU failed; 124 timeout. Every status but 0 comes with one line on stderr; 0 with a
# one-line summary there. With -no-reboot a guest reset also ends QEMU with status 0, so a
# reset counts as a power-off here. QEMU is killed on every way out, and by its parent-death
# signal should this script be killed with SIGKILL.
set -euo pipefail

me=run-qemu-iso
say() { echo "$me: $*" >&2; }
usage() {
	say "usage: $0 ISO [--timeout S] [--until REGEX] [--memory MB] [--no-debug-exit]"
	exit 2
}
bad() {
	say "error: $*"
	exit 2
}

[ $# -ge 1 ] || usage
iso=$1
shift
timeout_s=300
until_re=
memory=128
debug_exit=1
while [ $# -gt 0 ]; do
	case $1 in
	--timeout | --until | --memory)
		[ $# -ge 2 ] || usage
		case $1 in
		--timeout) timeout_s=$2 ;;
		--until) until_re=$2 ;;
		--memory) memory=$2 ;;
		esac
		shift
		;;
	--no-debug-exit) debug_exit=0 ;;
	*) usage ;;
	esac
	shift
done

if [ ! -f "$iso" ] || [ ! -r "$iso" ]; then
	bad "no such ISO: $iso"
fi
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || bad "--timeout wants a positive number of seconds"
if ! [[ $memory =~ ^[1-9][0-9]*$ ]] || [ "$memory" -gt 3072 ]; then
	bad "--memory wants 1..3072 (MB)"
fi
if [ -n "$until_re" ]; then
	# [[ =~ ]] returns 2 for a regex it cannot compile.
	rc=0
	[[ "" =~ $until_re ]] || rc=$?
	[ "$rc" -ne 2 ] || bad "--until: not a valid extended regular expression: $until_re"
fi
command -v qemu-system-i386 >/dev/null || bad "qemu-system-i386 not found (Debian: qemu-system-x86)"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cpu=$(cat "$root/tests/guests/qemu-cpu.txt") || bad "cannot read tests/guests/qemu-cpu.txt"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/run-qemu-iso.XXXXXX")
pid=
qemu_status=
# Is the engine still running? A zombie is not (bash may not have reaped it yet, in a trap).
running() {
	local state=
	read -r _ _ state _ 2>/dev/null <"/proc/$pid/stat" || return 1
	[ "$state" != Z ]
}
# Stop QEMU (TERM, then KILL after 3 s) and reap it; its exit status in $qemu_status.
stop_qemu() {
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 300; i++)); do
		running || break
		read -r -t 0.01 -u "$nap" || true
	done
	kill -KILL "$pid" 2>/dev/null || true
	qemu_status=0
	wait "$pid" 2>/dev/null || qemu_status=$?
	pid=
}
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	stop_qemu
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM HUP

# A read that can never succeed: "read -t" on it is a sleep without a process.
exec {nap}<> <(:)

# QEMU takes a comma in a file name for an option separator: the ISO goes in by a link.
ln -s "$(realpath "$iso")" "$tmp/guest.iso"
: >"$tmp/serial"
devices=()
[ "$debug_exit" -eq 0 ] || devices=(-device "isa-debug-exit,iobase=0xf4,iosize=0x04")

start_us=${EPOCHREALTIME/./}
elapsed() {
	local us=$((${EPOCHREALTIME/./} - start_us))
	printf '%d.%02d' $((us / 1000000)) $((us % 1000000 / 10000))
}

# setpriv: QEMU is killed with this script, even by SIGKILL (the parent-death signal).
setpriv --pdeathsig KILL qemu-system-i386 -M pc -m "$memory" -cpu "$cpu" -display none \
	-nodefaults -no-reboot \
	-serial "file:$tmp/serial" "${devices[@]}" -cdrom "$tmp/guest.iso" -boot d \
	</dev/null >"$tmp/qemu.out" 2>&1 &
pid=$!

# Poll every 20 ms: stream COM1 and look for --until in it, until QEMU ends by itself. A Linux
# panic on COM1 ends the run too (status 3), once COM1 has been quiet for 1 s.
exec {ser}<"$tmp/serial"
partial=
status=
message=
matched=
kpanic=
quiet_since=
check_line() { # a whole COM1 line: printed, then matched
	printf '%s\n' "$1"
	if [ -n "$until_re" ] && [ -z "$matched" ] && [[ $1 =~ $until_re ]]; then
		matched="matched /$until_re/ after $(elapsed) s"
	fi
	if [ -z "$kpanic" ] && [[ $1 == *"Kernel panic - not syncing"* ]]; then
		kpanic="the guest kernel panicked after $(elapsed) s"
	fi
}
while :; do
	alive=1
	running || alive=0
	got=0
	while IFS= read -r -u "$ser" line; do
		check_line "$partial$line"
		partial=''
		got=1
	done
	[ -z "$line" ] || got=1
	partial+=$line
	[ -z "$matched" ] || break
	[ "$alive" -eq 1 ] || break
	now=${EPOCHREALTIME/./}
	if [ -n "$kpanic" ]; then
		if [ "$got" -eq 1 ] || [ -z "$quiet_since" ]; then
			quiet_since=$now
		elif ((now - quiet_since >= 1000000)); then
			status=3 message=$kpanic
			break
		fi
	fi
	if ((now - start_us >= timeout_s * 1000000)); then
		status=124 message="timeout: no end after $timeout_s s"
		break
	fi
	read -r -t 0.02 -u "$nap" || true
done
took=$(elapsed)

stop_qemu
# What COM1 got until QEMU stopped (the end of a line the match was in, too).
while IFS= read -r -u "$ser" line; do
	check_line "$partial$line"
	partial=
done
partial+=$line
[ -z "$partial" ] || printf '%s' "$partial"

if [ -n "$matched" ]; then
	status=0 message=$matched
fi
# QEMU ended by itself: (code << 1) | 1 from isa-debug-exit, 0 from a power-off or a reset
# (-no-reboot), 1 with a "qemu-system-i386:" message on an error of its own.
if [ -z "$status" ]; then
	q=$qemu_status
	if grep -q '^qemu-system-i386: ' "$tmp/qemu.out" && [ "$q" -ne 0 ]; then
		status=4 message="QEMU failed (status $q): $(grep -m1 '^qemu-system-i386: ' "$tmp/qemu.out")"
	elif [ $((q & 1)) -eq 1 ] && [ "$debug_exit" -eq 1 ]; then
		code=$((q >> 1))
		if [ -n "$until_re" ]; then
			status=3 message="the guest wrote $code to the debug-exit port before /$until_re/ appeared"
		elif [ "$code" -eq 0 ]; then
			status=0 message="debug-exit code 0 after $took s"
		else
			status=1 message="the guest wrote $code to the debug-exit port (failure) after $took s"
		fi
	elif [ "$q" -eq 0 ]; then
		if [ -n "$until_re" ]; then
			status=3 message="the guest powered off or reset before /$until_re/ appeared"
		else
			status=0 message="power-off (or reset) after $took s"
		fi
	else
		status=4 message="QEMU exited with status $q: $(tail -n 1 "$tmp/qemu.out")"
	fi
fi
say "$message"
exit "$status"
