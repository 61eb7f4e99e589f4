# shellcheck shell=sh
# bench/linux/workloads.sh — the Linux benchmarks' in-guest workloads, sourced by busybox sh:
# by /init in the guest (bench/linux/init) and by bench/linux/native.sh on the host, so that
# both run the same commands on the same data with the same programs.
#
#   bench_main NAME    prepare NAME's data (untimed), run NAME between two readings of
#                      CLOCK_MONOTONIC and print "bt86-bench: NAME ns=N", then print its
#                      results ("bt86-bench-result: NAME ..." lines, the same under every
#                      engine); status 0, or 1 if a step failed ("bt86-bench: NAME FAILED ...")
#
# The caller sets:
#   BENCH_ROOT   the tree with the Debian i386 programs (usr/bin/7zz ...): "" in the guest
#   BENCH_EXEC   the command that runs one of them: "" in the guest (its PT_INTERP is there),
#                "ROOT/lib/ld-linux.so.2 --library-path ..." on the host
#   BENCH_TOOLS  the directory with benchtool and compute-host (static i386)
#   BENCH_BIN    a directory of busybox applet links (true, dd, sort ...)
#   BENCH_TMP    an empty directory on a tmpfs to work in
# and PATH (BENCH_BIN first), LC_ALL=C, OPENSSL_CONF=/dev/null.

# The workloads (bench/run.sh runs them as linux-NAME).
bench_workloads="compute 7zz openssl bzip2 xz forkexec dd pipeline"

# Sizes: each workload takes 1-6 s under bt86 on the reference machine (bench/README.md).
bench_data_half=8388608 # the data: 8 MiB of the programs' own code, then 8 MiB of text
bench_compute_runs=3    # compute-host (SHA-256 of 48 MiB, fib(27), sieve) runs
bench_openssl_rounds=1  # rounds of 3 ciphers and 4 digests over the data
bench_forks=1000        # fork+exec+wait of $BENCH_BIN/true
bench_dd_mib=64         # the dd file
bench_dd_rounds=16      # write it from /dev/zero, read it back, remove it
bench_text_bytes=2097152 # the text the pipeline counts the words of

# The keys and the IV of the openssl workload.
bench_key256=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
bench_key128=f0e0d0c0b0a090807060504030201000
bench_iv=0f0e0d0c0b0a09080706050403020100

# Run a program of BENCH_ROOT: bench_prog usr/bin/xz ARGS...
bench_prog() {
	bench_p=$1
	shift
	# shellcheck disable=SC2086 # BENCH_EXEC is a command and its options, or nothing
	$BENCH_EXEC "$BENCH_ROOT/$bench_p" "$@"
}

bench_md5() {
	md5sum <"$1" | cut -d' ' -f1
}

# The data of the compressors and of openssl: deterministic, 16 MiB.
bench_make_data() {
	{
		cat "$BENCH_ROOT/usr/lib/i386-linux-gnu/libcrypto.so.3" "$BENCH_ROOT/usr/bin/7zz" \
			"$BENCH_ROOT/usr/lib/i386-linux-gnu/libstdc++.so.6" \
			"$BENCH_ROOT/lib/i386-linux-gnu/libc.so.6" | head -c "$bench_data_half"
		"$BENCH_TOOLS/benchtool" text 1 "$bench_data_half"
	} >"$BENCH_TMP/data"
}

# ---- compute: our static program, no library, few system calls ----
bench_prepare_compute() { :; }
bench_run_compute() {
	i=0
	while [ $i -lt $bench_compute_runs ]; do
		"$BENCH_TOOLS/compute-host" >>"$BENCH_TMP/compute.out" || return 1
		i=$((i + 1))
	done
}
bench_result_compute() {
	echo "runs $bench_compute_runs, output md5 $(bench_md5 "$BENCH_TMP/compute.out")"
}

# ---- 7zz: LZMA2 at -mx=1, one thread, into a .7z and tested back ----
bench_prepare_7zz() { bench_make_data; }
bench_run_7zz() {
	bench_prog usr/bin/7zz a -bd -bso0 -bsp0 -t7z -m0=lzma2 -mx=1 -mmt1 -mtm- -mtc- -mta- \
		"$BENCH_TMP/data.7z" "$BENCH_TMP/data" &&
		bench_prog usr/bin/7zz t -bd -bso0 -bsp0 "$BENCH_TMP/data.7z"
}
bench_result_7zz() {
	echo "data md5 $(bench_md5 "$BENCH_TMP/data"), .7z $(wc -c <"$BENCH_TMP/data.7z") bytes"
}

# ---- openssl: enc and dgst over the data (openssl speed runs for a fixed time instead) ----
bench_prepare_openssl() { bench_make_data; }
bench_run_openssl() {
	r=0
	while [ $r -lt $bench_openssl_rounds ]; do
		for c in aes-256-cbc aes-128-ctr chacha20; do
			case $c in
			aes-128-*) key=$bench_key128 ;;
			*) key=$bench_key256 ;;
			esac
			bench_prog usr/bin/openssl enc -"$c" -K "$key" -iv "$bench_iv" \
				-in "$BENCH_TMP/data" -out "$BENCH_TMP/data.$c" || return 1
		done
		: >"$BENCH_TMP/dgst.out"
		for d in sha256 sha512 sha1 md5; do
			bench_prog usr/bin/openssl dgst -"$d" "$BENCH_TMP/data" >>"$BENCH_TMP/dgst.out" ||
				return 1
		done
		r=$((r + 1))
	done
}
bench_result_openssl() {
	# The CPU features openssl chose its code by: the guest's, and on the host the same by
	# OPENSSL_ia32cap (native.sh), else the comparison is not of the same code. Bit 63 is
	# CPUID.1:ECX bit 31, "a hypervisor is present", which bt86 sets for its paravirtual
	# interface and OpenSSL does not choose code by: cleared here.
	bench_prog usr/bin/openssl info -cpusettings | sed 's/ env:.*//' | awk -F'[=:]' '{
		v = $2; x = "0123456789abcdef"
		if (length(v) == 18) {
			d = index(x, substr(v, 3, 1)) - 1
			v = "0x" substr(x, d % 8 + 1, 1) substr(v, 4)
		}
		sub(/^0x0+/, "0x", v)
		print "OPENSSL_ia32cap=" (v == "0x" ? "0x0" : v) ":" $3
	}'
	for c in aes-256-cbc aes-128-ctr chacha20; do
		echo "$c md5 $(bench_md5 "$BENCH_TMP/data.$c")"
	done
	sed 's/([^)]*)//' "$BENCH_TMP/dgst.out"
}

# ---- bzip2: -9 into a .bz2 and back ----
bench_prepare_bzip2() { bench_make_data; }
bench_run_bzip2() {
	bench_prog bin/bzip2 -9 -c "$BENCH_TMP/data" >"$BENCH_TMP/data.bz2" &&
		bench_prog bin/bzip2 -dc "$BENCH_TMP/data.bz2" >"$BENCH_TMP/data.bz2.out"
}
bench_result_bzip2() {
	cmp -s "$BENCH_TMP/data" "$BENCH_TMP/data.bz2.out" && echo "round trip equal" ||
		echo "round trip DIFFERS"
	echo ".bz2 $(wc -c <"$BENCH_TMP/data.bz2") bytes, md5 $(bench_md5 "$BENCH_TMP/data.bz2")"
}

# ---- xz: -1, one thread, into a .xz and back ----
bench_prepare_xz() { bench_make_data; }
bench_run_xz() {
	bench_prog usr/bin/xz -1 -T1 -c "$BENCH_TMP/data" >"$BENCH_TMP/data.xz" &&
		bench_prog usr/bin/xz -dc "$BENCH_TMP/data.xz" >"$BENCH_TMP/data.xz.out"
}
bench_result_xz() {
	cmp -s "$BENCH_TMP/data" "$BENCH_TMP/data.xz.out" && echo "round trip equal" ||
		echo "round trip DIFFERS"
	echo ".xz $(wc -c <"$BENCH_TMP/data.xz") bytes, md5 $(bench_md5 "$BENCH_TMP/data.xz")"
}

# ---- forkexec: fork, exec and wait for the static busybox's true ----
bench_prepare_forkexec() { :; }
bench_run_forkexec() {
	i=0
	while [ $i -lt $bench_forks ]; do
		"$BENCH_BIN/true" || return 1
		i=$((i + 1))
	done
}
bench_result_forkexec() {
	echo "$bench_forks runs"
}

# ---- dd: a 64 MiB file through tmpfs, written, read back and removed ----
bench_prepare_dd() { :; }
bench_run_dd() {
	r=0
	while [ $r -lt $bench_dd_rounds ]; do
		dd if=/dev/zero of="$BENCH_TMP/dd" bs=65536 count=$((bench_dd_mib * 16)) 2>/dev/null &&
			dd if="$BENCH_TMP/dd" of=/dev/null bs=65536 2>/dev/null &&
			rm "$BENCH_TMP/dd" || return 1
		r=$((r + 1))
	done
}
bench_result_dd() {
	echo "$bench_dd_rounds rounds of $bench_dd_mib MiB"
}

# ---- pipeline: the commonest words of generated text, through five processes ----
bench_prepare_pipeline() { :; }
bench_run_pipeline() {
	"$BENCH_TOOLS/benchtool" text 2 "$bench_text_bytes" | tr -s ' ' '\n' | sort | uniq -c |
		sort -rn | head -n 20 >"$BENCH_TMP/pipeline.out"
}
bench_result_pipeline() {
	echo "top words md5 $(bench_md5 "$BENCH_TMP/pipeline.out"), $(sed -n 1p "$BENCH_TMP/pipeline.out")"
}

bench_main() {
	case " $bench_workloads " in
	*" $1 "*) ;;
	*)
		echo "bt86-bench: $1 FAILED: no such workload (there are: $bench_workloads)"
		return 1
		;;
	esac
	if ! "bench_prepare_$1"; then
		echo "bt86-bench: $1 FAILED: preparing its data"
		return 1
	fi
	t0=$("$BENCH_TOOLS/benchtool" ns)
	if ! "bench_run_$1"; then
		echo "bt86-bench: $1 FAILED"
		return 1
	fi
	t1=$("$BENCH_TOOLS/benchtool" ns)
	echo "bt86-bench: $1 ns=$((t1 - t0))"
	"bench_result_$1" | sed "s/^/bt86-bench-result: $1 /"
}
