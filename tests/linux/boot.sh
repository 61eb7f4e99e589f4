#!/usr/bin/env bash
# boot.sh BT86 CACHE — boot Debian's i386 kernel with the test initramfs (bt86.test=1) under
# QEMU TCG (with the -cpu model matching bt86's CPUID) and under bt86 twice, with --pv off and
# --pv on, and pass only if each bt86 run
#   - ran init's checks (uname, /proc/cpuinfo, shell arithmetic, awk, sort|md5sum, 16 MiB on
#     tmpfs, 100 fork+exec of the project's static program, dmesg free of oopses and warnings),
#     reported success through the debug-exit port (status 1) and printed the same results as
#     QEMU (cpu MHz and bogomips are timing and left out);
#   - kept the guest's clock with the host's: `date +%s` before and after `sleep 2` is within a
#     second of the host's clock when the line arrives, and the two are 2 s apart (± 1 s);
#   - with --pv on: dmesg says "Hypervisor detected: KVM" and the clocksource is kvm-clock
#     (Linux's KVM guest support, docs/PV.md); with --pv off: no hypervisor was detected, as
#     under QEMU, and the clocksource is not kvm-clock.
# `quiet` keeps kernel messages from splitting the result lines on the shared console (dmesg
# is still checked in full). CACHE is what `make guest` fills.
set -u
bt86=$1
cache=$2
here=$(dirname "$0")
if [ ! -f "$cache/vmlinuz" ] || [ ! -f "$cache/initramfs.cpio.gz" ]; then
	echo "FAIL: no guest images in $cache: run 'make guest' first"
	exit 1
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
append="console=ttyS0 quiet bt86.test=1"
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Each output line with the host's clock (seconds) when it arrived in front.
stamp_lines() {
	local line
	while IFS= read -r line; do
		printf '%(%s)T %s\n' -1 "${line%$'\r'}"
	done
}

start=$(now_ms)
timeout 300 qemu-system-i386 -M pc -m 256 -cpu "$(cat "$here/../guests/qemu-cpu.txt")" \
	-display none -nodefaults -no-reboot -serial stdio \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-kernel "$cache/vmlinuz" -initrd "$cache/initramfs.cpio.gz" -append "$append" \
	</dev/null >"$tmp/qemu.out" 2>&1
qemu_status=$?
qemu_ms=$(($(now_ms) - start))

results() { tr -d '\r' <"$1" | grep '^bt86-test' | grep -vE 'cpu MHz|bogomips'; }
fail=0
grep -q '^bt86-test: passed' "$tmp/qemu.out" ||
	{ echo "FAIL: the reference run under QEMU did not pass (status $qemu_status)"; fail=1; }
results "$tmp/qemu.out" >"$tmp/qemu.res"
tr -d '\r' <"$tmp/qemu.out" | grep -qx 'bt86-pv: hypervisor: none' ||
	{ echo "FAIL: QEMU's reference run detected a hypervisor: its CPU model is not bt86's"; fail=1; }

# check_run PV: boot under bt86 --pv PV and check what is listed above.
check_run() {
	local pv=$1 out=$tmp/bt86-pv-$1 start ms status
	start=$(now_ms)
	timeout 300 "$bt86" run --pv "$pv" --kernel "$cache/vmlinuz" \
		--initrd "$cache/initramfs.cpio.gz" -m 256 --append "$append" </dev/null 2>&1 |
		stamp_lines >"$out.stamped"
	status=${PIPESTATUS[0]}
	ms=$(($(now_ms) - start))
	cut -d' ' -f2- "$out.stamped" >"$out.out"
	local bad=0
	grep -q '^bt86-init: started' "$out.out" || { echo "FAIL (--pv $pv): init never started"; bad=1; }
	grep -q '^bt86-test: passed' "$out.out" || { echo "FAIL (--pv $pv): the checks did not pass"; bad=1; }
	[ "$status" -eq 1 ] || { echo "FAIL (--pv $pv): exit status $status, expected 1"; bad=1; }
	results "$out.out" >"$out.res"
	if ! cmp -s "$tmp/qemu.res" "$out.res"; then
		echo "FAIL (--pv $pv): results differ from QEMU's"
		diff -u --label qemu --label "bt86 --pv $pv" "$tmp/qemu.res" "$out.res"
		bad=1
	fi
	# The guest's clock against the host's, at the lines' arrival.
	local host_before guest_before host_after guest_after
	read -r host_before guest_before < <(awk '$2 == "bt86-pv:" && $4 == "before" { print $1, $NF }' "$out.stamped")
	read -r host_after guest_after < <(awk '$2 == "bt86-pv:" && $4 == "after" { print $1, $NF }' "$out.stamped")
	if [ -z "${guest_before:-}" ] || [ -z "${guest_after:-}" ]; then
		echo "FAIL (--pv $pv): the guest printed no times"
		bad=1
	else
		local d1=$((guest_before - host_before)) d2=$((guest_after - host_after))
		local slept=$((guest_after - guest_before)) host_slept=$((host_after - host_before))
		if [ "${d1#-}" -gt 1 ] || [ "${d2#-}" -gt 1 ] || [ "$slept" -lt 1 ] ||
			[ "$slept" -gt 3 ] || [ "$host_slept" -lt 1 ] || [ "$host_slept" -gt 3 ]; then
			echo "FAIL (--pv $pv): guest clock $guest_before..$guest_after, host $host_before..$host_after"
			bad=1
		fi
	fi
	local hv clocksource
	hv=$(sed -n 's/^bt86-pv: hypervisor: //p' "$out.out")
	clocksource=$(sed -n 's/^bt86-pv: clocksource: //p' "$out.out")
	if [ "$pv" = on ] && { [ "$hv" != KVM ] || [ "$clocksource" != kvm-clock ]; }; then
		echo "FAIL (--pv on): hypervisor '$hv', clocksource '$clocksource'; expected KVM, kvm-clock"
		bad=1
	fi
	if [ "$pv" = off ] && { [ "$hv" != none ] || [ "$clocksource" = kvm-clock ]; }; then
		echo "FAIL (--pv off): hypervisor '$hv', clocksource '$clocksource'"
		bad=1
	fi
	if [ "$bad" -ne 0 ]; then
		tail -n 40 "$out.out"
		fail=1
		return
	fi
	echo "ok (--pv $pv): $(wc -l <"$out.res") result lines equal QEMU's; hypervisor $hv," \
		"clocksource $clocksource, guest clock within 1 s of the host's; bt86 ${ms} ms," \
		"QEMU ${qemu_ms} ms"
}

check_run off
check_run on
exit "$fail"
