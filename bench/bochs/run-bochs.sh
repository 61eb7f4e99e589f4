#!/usr/bin/env bash
# Run a bootable ISO (bench/iso/make-iso.sh) under Bochs, headless, until the guest's end;
# COM1 is streamed to stdout. The Bochs side of the ISO rows; bench/iso/run-qemu-iso.sh is the
# QEMU side, with the same options, output and exit statuses.
#
#   bench/bochs/run-bochs.sh ISO [--timeout S] [--until REGEX] [--memory MB] [--no-debug-exit]
#                                [--clock realtime|none] [--ips N] [--log FILE]
#
#   --timeout S      give up after S seconds of wall time (default 300)
#   --until REGEX    the end is the first COM1 line matching REGEX (POSIX ERE); Bochs is
#                    stopped there. Without it the end is the guest's own: a write to the
#                    debug-exit port 0xf4 (as QEMU's isa-debug-exit) or a power-off.
#   --memory MB      guest RAM (default 128)
#   --no-debug-exit  ignore writes to port 0xf4 (to follow a Linux guest on to its power-off)
#   --clock MODE     Bochs' "clock: sync=": realtime (default) puts the PIT and the RTC's
#                    seconds on host time; none leaves them, like every other clock (the TSC,
#                    HPET, local APIC timer, ACPI PM timer, UART baud rate), on instruction
#                    counts, and the run is deterministic
#   --ips N          instructions per emulated second (default 50000000)
#   --log FILE       keep the bochsrc and Bochs' log in FILE
# bench/bochs/README.md says what the clocks mean, for nanobench's cycles in particular.
#
# Exit status: 0 the end was reached (--until matched; or, without --until, debug-exit code
# 0 or a power-off); 1 the guest wrote a non-zero code to port 0xf4; 2 bad usage or setup;
# 3 the guest stopped (power-off, reset, "cli; hlt", a Linux panic, debug-exit) before
# --until matched; 4 Bochs failed (panic, triple fault, exit of its own); 124 timeout. Every
# status but 0 comes with one line on stderr; 0 with a one-line summary there.
#
# Headless without a terminal: Debian's Bochs has no "nogui" display library, so it uses sdl2
# with SDL's dummy video driver (Debian package bochs-sdl). Debian's Bochs is built with its
# debugger, which stops at the first instruction: a "continue" command file starts the guest.
# Bochs never survives this script: it is killed on every way out, and by its parent-death
# signal should this script be killed with SIGKILL.
set -euo pipefail

me=run-bochs
say() { echo "$me: $*" >&2; }
usage() {
	say "usage: $0 ISO [--timeout S] [--until REGEX] [--memory MB] [--no-debug-exit] [--clock realtime|none] [--ips N] [--log FILE]"
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
clock=realtime
ips=50000000
keep_log=
while [ $# -gt 0 ]; do
	case $1 in
	--timeout | --until | --memory | --clock | --ips | --log)
		[ $# -ge 2 ] || usage
		case $1 in
		--timeout) timeout_s=$2 ;;
		--until) until_re=$2 ;;
		--memory) memory=$2 ;;
		--clock) clock=$2 ;;
		--ips) ips=$2 ;;
		--log) keep_log=$2 ;;
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
[[ $ips =~ ^[1-9][0-9]*$ ]] || bad "--ips wants a positive number"
case $clock in
realtime | none) ;;
*) bad "--clock wants realtime or none" ;;
esac
if [ -n "$until_re" ]; then
	# [[ =~ ]] returns 2 for a regex it cannot compile.
	rc=0
	[[ "" =~ $until_re ]] || rc=$?
	[ "$rc" -ne 2 ] || bad "--until: not a valid extended regular expression: $until_re"
fi
command -v bochs >/dev/null || bad "bochs not found (Debian: bochs bochsbios vgabios bochs-sdl)"
plugins=$(bochs --help 2>&1 | sed -n "s/.*compile time default '\(.*\)'.*/\1/p" | head -n 1)
if [ -n "$plugins" ] && [ ! -e "$plugins/libbx_sdl2_gui.so" ]; then
	bad "Bochs' sdl2 display library is missing (Debian: bochs-sdl)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/run-bochs.XXXXXX")
pid=
# Is the engine still running? A zombie is not (bash may not have reaped it yet, in a trap).
running() {
	local state=
	read -r _ _ state _ 2>/dev/null <"/proc/$pid/stat" || return 1
	[ "$state" != Z ]
}
# Stop Bochs (TERM, then KILL after 3 s) and reap it.
stop_bochs() {
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 300; i++)); do
		running || break
		read -r -t 0.01 -u "$nap" || true
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=
}
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	stop_bochs
	if [ -n "$keep_log" ] && [ -f "$tmp/bochs.log" ]; then
		cat "$tmp/bochsrc" "$tmp/bochs.log" >"$keep_log" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM HUP

# A read that can never succeed: "read -t" on it is a sleep without a process.
exec {nap}<> <(:)

ln -s "$(realpath "$iso")" "$tmp/guest.iso"
: >"$tmp/serial"
echo continue >"$tmp/debugger.rc"
unmapped=report
[ "$debug_exit" -eq 1 ] || unmapped=ignore
# CPU: Bochs' configurable model as close to bt86's (tests/guests/qemu-cpu.txt: family 6
# model 13 stepping 8, SSE2, SYSENTER, no SSE3, no x86-64) as its options allow. At CPU level
# 6 it cannot hide PAE, PGE, MTRR, PAT, VME, PSE-36, MCE/MCA, the local APIC or (in Debian's
# build) 3DNow!. It has no machine-check MSRs: ignore_bad_msrs=1 (reads give 0, logged) keeps
# Linux's MCE set-up from a #GP that it takes for an "MCA architectural violation" panic.
cat >"$tmp/bochsrc" <<EOF
# Written by bench/bochs/run-bochs.sh for $iso
display_library: sdl2
memory: guest=$memory, host=$memory
cpu: model=bx_generic, count=1, ips=$ips, reset_on_triple_fault=0, ignore_bad_msrs=1
cpuid: level=6, family=6, model=13, stepping=8, vendor_string="GenuineIntel", brand_string="bt86 virtual CPU", mmx=1, apic=legacy, simd=sse2, sep=1, x86_64=0, aes=0, movbe=0, xsave=0, mwait=0, vmx=0
clock: sync=$clock, time0=utc
romimage: file=\$BXSHARE/BIOS-bochs-latest, options=fastboot
vgaromimage: file=\$BXSHARE/VGABIOS-lgpl-latest
pci: enabled=1, chipset=i440fx
ata0-master: type=cdrom, path="$tmp/guest.iso", status=inserted
boot: cdrom
floppy_bootsig_check: disabled=1
speaker: enabled=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
mouse: enabled=0
com1: enabled=1, mode=file, dev="$tmp/serial"
log: "$tmp/bochs.log"
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore, unmapped=$unmapped
EOF

# The end, as the log says it; the patterns are Bochs 2.7's own messages.
re_exit='unmapped: [0-9]+-bit write to 00f4 = ([0-9a-f]+)'
re_hlt='HLT instruction with IF=0'
re_off='(ACPI control: soft power off|Shutdown port: shutdown requested)'
re_reset='^0*[1-9][0-9]*i\[SYS *\] bx_pc_system_c::Reset\((HARDWARE|SOFTWARE)\)'
re_panic='>>PANIC<<'

# Wall time since Bochs' start, as seconds with two decimals.
start_us=${EPOCHREALTIME/./}
elapsed() {
	local us=$((${EPOCHREALTIME/./} - start_us))
	printf '%d.%02d' $((us / 1000000)) $((us % 1000000 / 10000))
}

(
	cd "$tmp"
	unset DISPLAY WAYLAND_DISPLAY
	export SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy
	# Killed with this script, even by SIGKILL (the parent-death signal).
	exec setpriv --pdeathsig KILL bochs -q -f bochsrc -rc debugger.rc \
		</dev/null >"$tmp/bochs.out" 2>&1
) &
pid=$!

# Poll every 20 ms: stream COM1 (looking for --until and for a Linux panic in it) and read the
# log for the guest's end. After the end Bochs runs on until the guest stops (hlt with
# interrupts off, power-off) or COM1 has been quiet for 1 s: Bochs' UART sends at its baud
# rate in emulated time, so a Linux guest's last lines are still in its tty buffer when its
# init writes to port 0xf4 (QEMU's UART has no such delay).
exec {ser}<"$tmp/serial"
logfd=
logpartial=
partial=
matched=
status=
message=
end_status=
end_message=
stopped=0
quiet_since=
check_line() { # a whole COM1 line: printed, then matched
	printf '%s\n' "$1"
	if [ -n "$until_re" ] && [ -z "$matched" ] && [[ $1 =~ $until_re ]]; then
		matched="matched /$until_re/ after $(elapsed) s"
	fi
	if [[ $1 == *"Kernel panic - not syncing"* ]]; then
		guest_end 3 "the guest kernel panicked after $(elapsed) s"
	fi
}
guest_end() { # STATUS MESSAGE: the guest's end; the first one seen counts
	[ -n "$end_status" ] || end_status=$1 end_message=$2
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
	if [ -z "$logfd" ] && [ -f "$tmp/bochs.log" ]; then
		exec {logfd}<"$tmp/bochs.log"
	fi
	entry=
	while [ -n "$logfd" ] && IFS= read -r -u "$logfd" entry; do
		entry=$logpartial$entry logpartial=
		if [ "$debug_exit" -eq 1 ] && [[ $entry =~ $re_exit ]]; then
			code=$((0x${BASH_REMATCH[1]}))
			if [ -n "$until_re" ]; then
				guest_end 3 "the guest wrote $code to the debug-exit port before /$until_re/ appeared"
			elif [ "$code" -eq 0 ]; then
				guest_end 0 "debug-exit code 0 after $(elapsed) s"
			else
				guest_end 1 "the guest wrote $code to the debug-exit port (failure) after $(elapsed) s"
			fi
		elif [[ $entry =~ $re_off ]]; then
			if [ -n "$until_re" ]; then
				guest_end 3 "the guest powered off before /$until_re/ appeared"
			else
				guest_end 0 "power-off after $(elapsed) s"
			fi
			stopped=1
		elif [[ $entry =~ $re_hlt ]]; then
			guest_end 3 "the guest stopped (hlt with interrupts off) after $(elapsed) s without reaching its end"
			stopped=1
		elif [[ $entry =~ $re_reset ]]; then
			guest_end 3 "the guest reset the machine after $(elapsed) s"
			stopped=1
		elif [[ $entry =~ $re_panic ]]; then
			status=4 message="Bochs panic: ${entry#*>>PANIC<< }"
			stopped=1
		fi
		entry=
		[ "$stopped" -eq 0 ] || break
	done
	# A line still being written is read again, whole, at the next poll.
	logpartial+=$entry
	[ "$stopped" -eq 0 ] || break
	if [ "$alive" -eq 0 ]; then
		if [ -z "$end_status" ]; then
			# Gone by itself and no end seen: the reason is in what it printed last.
			why=$(sed -n '/exiting with the following message/{n;p;q}' "$tmp/bochs.out")
			status=4 message="Bochs exited: ${why:-$(tail -n 1 "$tmp/bochs.out")}"
		fi
		break
	fi
	now=${EPOCHREALTIME/./}
	if [ -n "$end_status" ]; then
		if [ "$got" -eq 1 ] || [ -z "$quiet_since" ]; then
			quiet_since=$now
		elif ((now - quiet_since >= 1000000)); then
			break
		fi
	fi
	if ((now - start_us >= timeout_s * 1000000)); then
		[ -n "$end_status" ] || status=124 message="timeout: no end after $timeout_s s"
		break
	fi
	read -r -t 0.02 -u "$nap" || true
done

stop_bochs
# What COM1 got until Bochs stopped: a line written just before the end still counts.
while IFS= read -r -u "$ser" line; do
	check_line "$partial$line"
	partial=
done
partial+=$line
[ -z "$partial" ] || printf '%s' "$partial"
if [ -n "$matched" ]; then
	status=0 message=$matched
elif [ -z "$status" ]; then
	status=$end_status message=$end_message
fi
say "$message"
exit "$status"
