#!/bin/sh
# pv-check.sh BT86 KERNEL — the checks of the pv kernel (pv.c) that QEMU cannot make, since
# its CPU has no hypervisor: compare.sh covers bt86 --pv off against QEMU.
#
# --pv on: the kernel checks every hypercall and MSR itself and must end with "pv: all checks
# passed" and status 1, with no check failed; the text of its console hypercall must be in
# stdout exactly once, byte for byte, between the UART lines around the hypercall; and none of
# the text of the console writes that must fail (a fault, ring 3) may show.
# --pv off with "msr" on the command line: vmcall and vmmcall raise #UD, and rdmsr of
# MSR_KVM_SYSTEM_TIME_NEW #GP (which QEMU 7.2 does not raise, hence not in the comparison).
set -u
if [ $# -ne 2 ]; then
	echo "usage: $0 BT86 KERNEL" >&2
	exit 2
fi
bt86=$1
kernel=$2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
fail=0

bad() {
	echo "FAIL: $*"
	fail=1
}

# ---- --pv on ----
timeout 60 "$bt86" run --pv on --kernel "$kernel" </dev/null >"$tmp/on.out" 2>"$tmp/on.err"
status=$?
[ "$status" -eq 1 ] || bad "--pv on: status $status, not 1"
grep -qx 'pv: all checks passed' "$tmp/on.out" || bad "--pv on: no 'pv: all checks passed'"
if grep -q ' FAIL$\|FAIL:' "$tmp/on.out"; then
	bad "--pv on: failed checks:"
	grep ' FAIL$\|FAIL:' "$tmp/on.out"
fi

# The console hypercall's text, between the lines the kernel printed through the UART
# before and after it.
cat >"$tmp/console.want" <<'EOF'
console write: begin
pv console: first line of the hypercall text
pv console: the second line crosses a page boundary
pv console: third and last line
console write: end, eax 129, length 129 ok
EOF
sed -n '/^console write: begin$/,/^console write: end/p' "$tmp/on.out" >"$tmp/console.got"
if ! cmp -s "$tmp/console.want" "$tmp/console.got"; then
	bad "--pv on: the console hypercall's text is not where it belongs"
	diff -u --label want --label bt86 "$tmp/console.want" "$tmp/console.got"
fi
n=$(grep -c '^pv console:' "$tmp/on.out")
[ "$n" -eq 3 ] || bad "--pv on: $n lines of console hypercall text in stdout, not 3"
if grep -q 'MUST NOT APPEAR\|FAULTIN\|RING 3 TEXT' "$tmp/on.out"; then
	bad "--pv on: text of a console write that failed reached stdout"
fi
# Nothing between the lines around the failing console writes.
for what in 'console fault' 'ring 3'; do
	got=$(sed -n "/^$what: begin\$/,/^$what: end\$/p" "$tmp/on.out")
	want=$(printf '%s: begin\n%s: end' "$what" "$what")
	[ "$got" = "$want" ] || bad "--pv on: '$what: begin' not followed by '$what: end'"
done

# ---- --pv off ----
timeout 60 "$bt86" run --pv off --kernel "$kernel" --append msr </dev/null \
	>"$tmp/off.out" 2>"$tmp/off.err"
status=$?
[ "$status" -eq 1 ] || bad "--pv off: status $status, not 1"
cat >"$tmp/off.want" <<'EOF'
pv: cpuid 1 ecx hypervisor bit 0, kvm signature no, bt86 signature no
pv: no hypervisor found (native mode)
vmcall: vector 6 error 0 at the instruction yes
vmmcall: vector 6 error 0 at the instruction yes
rdmsr 4b564d01: vector d error 0
pv: native mode done
EOF
if ! cmp -s "$tmp/off.want" "$tmp/off.out"; then
	bad "--pv off: output differs"
	diff -u --label want --label bt86 "$tmp/off.want" "$tmp/off.out"
fi

if [ "$fail" -ne 0 ]; then
	echo "--- bt86 --pv on stdout:"
	cat "$tmp/on.out"
	echo "--- bt86 --pv on stderr:"
	tail -n 40 "$tmp/on.err"
	echo "--- bt86 --pv off stderr:"
	tail -n 40 "$tmp/off.err"
	exit 1
fi
echo "ok: --pv on $(grep -c ' ok$' "$tmp/on.out") checks passed, --pv off as expected"
exit 0
