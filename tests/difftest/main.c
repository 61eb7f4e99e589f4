/* bt86-difftest: the real CPU is the oracle.
 *
 *   bt86-difftest --seed S --count N [--start I] [--classes alu,shift,...] [--verbose]
 *
 * Sequence i of seed S is generated, run natively (by the 32-bit runner) and under bt86, and
 * the two outcomes are compared. A divergence is shrunk (whole constructs, then single
 * instructions, then the initial state) to the smallest sequence that still diverges the same
 * way, and printed with its disassembly, its initial state and both final states.
 *
 * The sequences run in a worker process that a supervisor watches: if bt86 crashes or hangs
 * on a sequence, the supervisor reports that sequence (shrunk in throw-away children) and
 * starts a new worker after it, so one bug does not hide the rest of a campaign. The last line
 * is always `difftest: N passed, M failed`; the exit status is 0 only when nothing diverged.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <Zydis/Zydis.h>

#include "difftest.h"

struct dt_options {
	uint64_t seed;
	uint64_t start;
	uint64_t count;
	unsigned classes;
	const char *classes_text;
	bool verbose;
	bool shrink;
	bool dump;
	bool stats;
	const char *bytes; /* --bytes: run this code instead of generated sequences */
	int max_reports;
	unsigned timeout; /* seconds without progress before a worker counts as hung */
	char native_path[PATH_MAX];
};

/* Shared between the supervisor and its worker (MAP_SHARED). */
struct dt_progress {
	volatile uint64_t current; /* the sequence being run */
	volatile uint64_t ticks;   /* pairs of runs done: the watchdog's heartbeat */
	volatile uint64_t passed;
	volatile uint64_t failed;
	volatile uint64_t reports;
	volatile int stage; /* enum dt_stage */
	volatile int done;
	/* --stats: how the native runs ended (hlt, or by vector) and how far they got. */
	volatile uint64_t ends_hlt;
	volatile uint64_t ends_vector[32];
	volatile uint64_t insns_total;	/* live instructions generated */
	volatile uint64_t insns_before; /* instructions laid out before the end point */
};

enum dt_stage { DT_STAGE_GEN, DT_STAGE_BT86, DT_STAGE_NATIVE, DT_STAGE_SHRINK };

static const char *const dt_stage_names[] = {"generating", "under bt86", "in the native runner",
					     "while shrinking"};

struct dt_ctx {
	const struct dt_options *opt;
	struct dt_progress *progress;
	struct dt_guest *guest;
	struct dt_native *native;
};

static double dt_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- running one sequence -------------------------------------------------------------------- */

/* Run seq both ways: the native run goes first and overlaps with bt86's. */
static void dt_run_pair(struct dt_ctx *ctx, const struct dt_seq *seq, struct dt_outcome *native,
			struct dt_outcome *bt86)
{
	struct dt_progress *p = ctx->progress;
	bool sent = dt_native_send(ctx->native, seq) == 0;
	p->stage = DT_STAGE_BT86;
	dt_guest_run(ctx->guest, seq, bt86);
	p->stage = DT_STAGE_NATIVE;
	if (!sent || dt_native_recv(ctx->native, native) < 0) {
		/* Something in the sequence killed the runner: a tester bug. Start a new one. */
		dt_native_stop(ctx->native);
		ctx->native = dt_native_start(ctx->opt->native_path);
		if (!ctx->native)
			exit(2);
		memset(native, 0, sizeof *native);
		native->kind = DT_OUT_OTHER;
		snprintf(native->note, sizeof native->note, "the native runner died");
	}
	p->ticks++;
}

/* Is the divergence of a shrink candidate still the one being shrunk? Both runs must end the
 * same way as before (so dropping an instruction did not just send the sequence astray) and
 * one of the originally differing fields must still differ. */
static bool dt_same_end(const struct dt_outcome *a, const struct dt_outcome *b)
{
	return a->kind == b->kind && (a->kind != DT_OUT_FAULT || a->vector == b->vector);
}

static bool dt_same_failure(unsigned diff0, const struct dt_outcome *native0,
			    const struct dt_outcome *bt860, unsigned diff,
			    const struct dt_outcome *native, const struct dt_outcome *bt86)
{
	return (diff & diff0) && dt_same_end(native, native0) && dt_same_end(bt86, bt860);
}

static bool dt_try(struct dt_ctx *ctx, struct dt_seq *cand, unsigned diff0,
		   const struct dt_outcome *orig, struct dt_outcome *native,
		   struct dt_outcome *bt86)
{
	if (dt_seq_live_count(cand) == 0 || !dt_seq_assemble(cand) || !dt_seq_analyze(cand, NULL))
		return false;
	dt_run_pair(ctx, cand, native, bt86);
	return dt_same_failure(diff0, &orig[0], &orig[1], dt_compare(cand, native, bt86), native,
			       bt86);
}

static bool dt_in_unit(const struct dt_seq *seq, int unit, int u)
{
	for (; unit >= 0; unit = seq->unit_parent[unit])
		if (unit == u)
			return true;
	return false;
}

/* Shrink seq in place while it keeps failing the same way; native/bt86 end up holding the
 * outcomes of the final version. */
static void dt_shrink(struct dt_ctx *ctx, struct dt_seq *seq, struct dt_outcome *native,
		      struct dt_outcome *bt86)
{
	unsigned diff0 = dt_compare(seq, native, bt86);
	struct dt_outcome *orig = malloc(2 * sizeof *orig); /* native, bt86 */
	struct dt_seq *cand = malloc(sizeof *cand);
	struct dt_outcome *cn = malloc(sizeof *cn), *cb = malloc(sizeof *cb);
	DT_ASSERT(orig && cand && cn && cb);
	orig[0] = *native;
	orig[1] = *bt86;
	ctx->progress->stage = DT_STAGE_SHRINK;

	bool progress = true;
	for (int round = 0; progress && round < 6; round++) {
		progress = false;
		/* Whole constructs first, innermost last. */
		for (int u = seq->n_units - 1; u >= 0; u--) {
			*cand = *seq;
			bool any = false;
			for (int i = 0; i < cand->n_insns; i++) {
				if (!cand->insn[i].dropped &&
				    dt_in_unit(cand, cand->insn[i].unit, u)) {
					cand->insn[i].dropped = true;
					any = true;
				}
			}
			if (any && dt_try(ctx, cand, diff0, orig, cn, cb)) {
				*seq = *cand;
				*native = *cn;
				*bt86 = *cb;
				progress = true;
			}
		}
		/* Then single instructions that are not set-up for another. */
		for (int i = seq->n_insns - 1; i >= 0; i--) {
			if (seq->insn[i].dropped || seq->insn[i].pinned)
				continue;
			*cand = *seq;
			cand->insn[i].dropped = true;
			if (dt_try(ctx, cand, diff0, orig, cn, cb)) {
				*seq = *cand;
				*native = *cn;
				*bt86 = *cb;
				progress = true;
			}
		}
	}
	/* Then a plainer initial state, one part at a time. */
	for (int part = 0; part < 4; part++) {
		*cand = *seq;
		switch (part) {
		case 0:
			memset(cand->fxsave, 0, sizeof cand->fxsave);
			cand->fxsave[0] = 0x7f;
			cand->fxsave[1] = 0x03;
			cand->fxsave[25] = 0x1f;
			cand->fxsave[24] = 0x80;
			break;
		case 1:
			memset(cand->data, 0, sizeof cand->data);
			break;
		case 2:
			memset(cand->stack, 0, sizeof cand->stack);
			break;
		default:
			cand->eflags &= ~(uint32_t)DT_ARITH;
			break;
		}
		if (dt_try(ctx, cand, diff0, orig, cn, cb)) {
			*seq = *cand;
			*native = *cn;
			*bt86 = *cb;
		}
	}
	/* Leave seq assembled and analysed as it is. */
	dt_seq_assemble(seq);
	dt_seq_analyze(seq, NULL);
	free(orig);
	free(cand);
	free(cn);
	free(cb);
}

static void dt_print_replay(const struct dt_options *o, uint64_t index)
{
	printf("  replay: bt86-difftest --seed %llu --start %llu --count 1 --classes %s\n",
	       (unsigned long long)o->seed, (unsigned long long)index, o->classes_text);
}

static void dt_describe_diff(unsigned diff)
{
	static const char *const gpr[DT_GPR_COUNT] = {"eax", "ecx", "edx", "ebx",
						      "esp", "ebp", "esi", "edi"};
	if (diff & DT_DIFF_END)
		printf(" end");
	if (diff & DT_DIFF_EIP)
		printf(" eip");
	for (int r = 0; r < DT_GPR_COUNT; r++)
		if (diff & (DT_DIFF_GPR << r))
			printf(" %s", gpr[r]);
	if (diff & DT_DIFF_EFLAGS)
		printf(" eflags");
	if (diff & DT_DIFF_X87)
		printf(" x87");
	if (diff & DT_DIFF_SSE)
		printf(" sse");
	if (diff & DT_DIFF_DATA)
		printf(" data");
	if (diff & DT_DIFF_STACK)
		printf(" stack");
	if (diff & DT_DIFF_CODE)
		printf(" code");
}

static void dt_report(struct dt_ctx *ctx, struct dt_seq *seq, struct dt_outcome *native,
		      struct dt_outcome *bt86, unsigned diff)
{
	const struct dt_options *o = ctx->opt;
	struct dt_progress *p = ctx->progress;
	printf("difftest: FAIL seed %llu index %llu: differs in", (unsigned long long)o->seed,
	       (unsigned long long)seq->index);
	dt_describe_diff(diff);
	printf("\n");
	if (p->reports >= (uint64_t)o->max_reports) {
		if (p->reports == (uint64_t)o->max_reports)
			printf("difftest: (no more details: --max-reports %d)\n", o->max_reports);
		p->reports++;
		fflush(stdout);
		return;
	}
	p->reports++;
	int before = dt_seq_live_count(seq);
	if (o->shrink)
		dt_shrink(ctx, seq, native, bt86);
	dt_print_replay(o, seq->index);
	printf("  sequence (%d instructions, shrunk from %d):\n", dt_seq_live_count(seq), before);
	dt_print_seq(seq);
	dt_print_initial_state(seq);
	dt_print_outcomes(seq, native, bt86);
	fflush(stdout);
}

static void dt_count(struct dt_progress *p, const struct dt_seq *seq,
		     const struct dt_outcome *native)
{
	if (native->kind == DT_OUT_HLT)
		p->ends_hlt++;
	else if (native->kind == DT_OUT_FAULT)
		p->ends_vector[native->vector & 31]++;
	p->insns_total += (uint64_t)dt_seq_live_count(seq);
	int end = dt_seq_insn_at(seq, native->eip);
	for (int i = 0; i < end; i++)
		p->insns_before += !seq->insn[i].dropped;
}

static void dt_print_stats(const struct dt_progress *p)
{
	uint64_t n = p->passed + p->failed;
	if (!n)
		return;
	printf("difftest: native ends: hlt %.1f%%", 100.0 * (double)p->ends_hlt / (double)n);
	for (int v = 0; v < 32; v++)
		if (p->ends_vector[v])
			printf(", #%d %.1f%%", v, 100.0 * (double)p->ends_vector[v] / (double)n);
	printf("\ndifftest: %.1f instructions per sequence, %.1f of them before the end point\n",
	       (double)p->insns_total / (double)n, (double)p->insns_before / (double)n);
}

static int dt_worker(const struct dt_options *o, struct dt_progress *p, uint64_t from)
{
	signal(SIGPIPE, SIG_IGN);
	struct dt_ctx ctx = {.opt = o, .progress = p};
	ctx.guest = dt_guest_create();
	ctx.native = dt_native_start(o->native_path);
	struct dt_seq *seq = malloc(sizeof *seq);
	struct dt_outcome *native = malloc(sizeof *native), *bt86 = malloc(sizeof *bt86);
	if (!ctx.guest || !ctx.native || !seq || !native || !bt86)
		return 2;
	for (uint64_t i = from; i < o->start + o->count; i++) {
		p->current = i;
		p->stage = DT_STAGE_GEN;
		dt_generate(seq, o->seed, i, o->classes);
		dt_run_pair(&ctx, seq, native, bt86);
		unsigned diff = dt_compare(seq, native, bt86);
		if (o->stats)
			dt_count(p, seq, native);
		if (o->verbose) {
			printf("difftest: seq %llu: %d instructions, native %s, bt86 %s: %s\n",
			       (unsigned long long)i, dt_seq_live_count(seq), native->note,
			       bt86->note, diff ? "DIFFERS" : "same");
			dt_print_seq(seq);
			fflush(stdout);
		}
		if (diff) {
			dt_report(&ctx, seq, native, bt86, diff);
			p->failed++;
		} else {
			p->passed++;
		}
	}
	dt_native_stop(ctx.native);
	dt_guest_destroy(ctx.guest);
	/* The worker leaves through _exit: nothing else flushes its output. */
	fflush(stdout);
	p->done = 1;
	return 0;
}

/* ---- crashes and hangs of bt86 --------------------------------------------------------------- */

/* Run seq under bt86 alone in a throw-away child. Returns true if it crashed or hung. */
static bool dt_crashes(const struct dt_seq *seq, unsigned timeout)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		/* Quiet: the supervisor already showed bt86's message once. */
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 2);
		alarm(timeout);
		struct dt_guest *guest = dt_guest_create();
		struct dt_outcome *out = malloc(sizeof *out);
		if (!guest || !out)
			_exit(0);
		dt_guest_run(guest, seq, out);
		_exit(0);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return false;
	return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void dt_shrink_crash(struct dt_seq *seq, unsigned timeout)
{
	struct dt_seq *cand = malloc(sizeof *cand);
	DT_ASSERT(cand);
	bool progress = true;
	for (int round = 0; progress && round < 4; round++) {
		progress = false;
		for (int i = seq->n_insns - 1; i >= 0; i--) {
			if (seq->insn[i].dropped)
				continue;
			*cand = *seq;
			cand->insn[i].dropped = true;
			if (dt_seq_live_count(cand) && dt_seq_assemble(cand) &&
			    dt_crashes(cand, timeout)) {
				*seq = *cand;
				progress = true;
			}
		}
	}
	dt_seq_assemble(seq);
	dt_seq_analyze(seq, NULL);
	free(cand);
}

static void dt_report_crash(const struct dt_options *o, uint64_t index, int status, bool hung,
			    int stage)
{
	printf("difftest: FAIL seed %llu index %llu: ", (unsigned long long)o->seed,
	       (unsigned long long)index);
	if (hung)
		printf("no progress for %u s %s\n", o->timeout, dt_stage_names[stage]);
	else if (WIFSIGNALED(status))
		printf("the tester died of signal %d %s\n", WTERMSIG(status),
		       dt_stage_names[stage]);
	else
		printf("the tester exited with status %d %s\n", WEXITSTATUS(status),
		       dt_stage_names[stage]);
	struct dt_seq *seq = malloc(sizeof *seq);
	DT_ASSERT(seq);
	dt_generate(seq, o->seed, index, o->classes);
	int before = dt_seq_live_count(seq);
	if (o->shrink && stage == DT_STAGE_BT86)
		dt_shrink_crash(seq, o->timeout);
	dt_print_replay(o, index);
	printf("  sequence (%d instructions, shrunk from %d):\n", dt_seq_live_count(seq), before);
	dt_print_seq(seq);
	dt_print_initial_state(seq);
	fflush(stdout);
	free(seq);
}

/* ---- a hand-written sequence (--bytes) ---------------------------------------------------- */

/* Build a sequence from hex bytes ("0f fb c1 ..."), one dt_insn per decoded instruction, with a
 * plain initial state: GPRs zero but ESP, EFLAGS 0x202, the FPU as after fninit, memory zero.
 * Nothing is known about the flags these instructions leave undefined, so none are masked. */
static bool dt_seq_from_hex(struct dt_seq *seq, const char *hex)
{
	uint8_t code[DT_CODE_SIZE];
	size_t n = 0;
	for (const char *p = hex; *p;) {
		if (*p == ' ' || *p == ',' || *p == ':') {
			p++;
			continue;
		}
		unsigned byte;
		int used;
		if (n == sizeof code - 1 || sscanf(p, "%2x%n", &byte, &used) != 1 || used != 2)
			return false;
		code[n++] = (uint8_t)byte;
		p += used;
	}
	memset(seq, 0, sizeof *seq);
	seq->code_base = DT_CODE_BASE;
	seq->gpr[DT_ESP] = DT_STACK_BASE + 0x800;
	seq->eflags = 0x202;
	seq->fxsave[0] = 0x7f;
	seq->fxsave[1] = 0x03;
	seq->fxsave[24] = 0x80;
	seq->fxsave[25] = 0x1f;
	for (size_t off = 0; off < n;) {
		ZydisDisassembledInstruction d;
		size_t len = n - off;
		if (ZYAN_SUCCESS(ZydisDisassembleIntel(
			ZYDIS_MACHINE_MODE_LEGACY_32, DT_CODE_BASE + off, code + off, n - off, &d)))
			len = d.info.length;
		if (len > DT_INSN_BYTES)
			len = DT_INSN_BYTES;
		if (seq->n_insns == DT_MAX_INSNS)
			return false;
		struct dt_insn *in = &seq->insn[seq->n_insns++];
		memcpy(in->bytes, code + off, len);
		in->len = (uint8_t)len;
		in->label = -1;
		off += len;
	}
	return dt_seq_assemble(seq) && dt_seq_analyze(seq, NULL);
}

static int dt_run_bytes(const struct dt_options *o, struct dt_progress *p)
{
	struct dt_seq *seq = malloc(sizeof *seq);
	struct dt_outcome *native = malloc(sizeof *native), *bt86 = malloc(sizeof *bt86);
	DT_ASSERT(seq && native && bt86);
	if (!dt_seq_from_hex(seq, o->bytes)) {
		fprintf(stderr, "bt86-difftest: --bytes wants hex bytes, at most a code page\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct dt_ctx ctx = {.opt = o, .progress = p};
	ctx.guest = dt_guest_create();
	ctx.native = dt_native_start(o->native_path);
	if (!ctx.guest || !ctx.native)
		return 2;
	dt_run_pair(&ctx, seq, native, bt86);
	unsigned diff = dt_compare(seq, native, bt86);
	printf("difftest: --bytes: %s\n", diff ? "DIFFERS" : "same");
	dt_print_seq(seq);
	dt_print_initial_state(seq);
	dt_print_outcomes(seq, native, bt86);
	printf("difftest: %d passed, %d failed\n", !diff, !!diff);
	dt_native_stop(ctx.native);
	dt_guest_destroy(ctx.guest);
	return diff ? 1 : 0;
}

/* ---- the command line ------------------------------------------------------------------------ */

static void dt_usage(FILE *f)
{
	fprintf(f,
		"usage: bt86-difftest [--seed S] [--count N] [--start I] [--classes LIST]\n"
		"                     [--verbose] [--no-shrink] [--max-reports N] [--timeout SEC]\n"
		"                     [--native PATH] [--include-known] [--list-known] [--dump]\n"
		"                     [--stats] [--bytes HEX]\n"
		"  Runs random instruction sequences natively and under bt86 and compares them.\n"
		"  LIST: all, or a comma-separated subset of");
	for (int c = 0; c < DT_CLASS_COUNT; c++)
		fprintf(f, " %s", dt_class_name((enum dt_class)c));
	fprintf(f, "\n");
}

static bool dt_parse_u64(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		return false;
	*v = x;
	return true;
}

/* The runner sits next to this executable. */
static void dt_default_native(char *path, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", path, len - 1);
	if (n < 0) {
		snprintf(path, len, "bt86-difftest-native");
		return;
	}
	path[n] = 0;
	char *slash = strrchr(path, '/');
	size_t dir = slash ? (size_t)(slash - path + 1) : 0;
	snprintf(path + dir, len - dir, "bt86-difftest-native");
}

static int dt_parse(int argc, char **argv, struct dt_options *o)
{
	*o = (struct dt_options){.seed = (uint64_t)time(NULL),
				 .count = 1000,
				 .classes = DT_CLASS_ALL,
				 .classes_text = "all",
				 .shrink = true,
				 .max_reports = 10,
				 .timeout = 20};
	dt_default_native(o->native_path, sizeof o->native_path);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t x;
		if (!strcmp(a, "--verbose")) {
			o->verbose = true;
		} else if (!strcmp(a, "--no-shrink")) {
			o->shrink = false;
		} else if (!strcmp(a, "--dump")) {
			o->dump = true;
		} else if (!strcmp(a, "--stats")) {
			o->stats = true;
		} else if (!strcmp(a, "--include-known")) {
			dt_known_include_all();
		} else if (!strcmp(a, "--list-known")) {
			dt_known_print();
			exit(0);
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			dt_usage(stdout);
			exit(0);
		} else if (!v) {
			fprintf(stderr, "bt86-difftest: %s needs a value\n", a);
			return -1;
		} else if (!strcmp(a, "--seed") && dt_parse_u64(v, &x)) {
			o->seed = x;
			i++;
		} else if (!strcmp(a, "--count") && dt_parse_u64(v, &x)) {
			o->count = x;
			i++;
		} else if (!strcmp(a, "--start") && dt_parse_u64(v, &x)) {
			o->start = x;
			i++;
		} else if (!strcmp(a, "--max-reports") && dt_parse_u64(v, &x) && x < INT_MAX) {
			o->max_reports = (int)x;
			i++;
		} else if (!strcmp(a, "--timeout") && dt_parse_u64(v, &x) && x > 0 && x < 3600) {
			o->timeout = (unsigned)x;
			i++;
		} else if (!strcmp(a, "--bytes")) {
			o->bytes = v;
			i++;
		} else if (!strcmp(a, "--native")) {
			snprintf(o->native_path, sizeof o->native_path, "%s", v);
			i++;
		} else if (!strcmp(a, "--classes")) {
			char bad[64];
			if (dt_class_parse(v, &o->classes, bad, sizeof bad) < 0) {
				fprintf(stderr, "bt86-difftest: unknown class '%s'\n", bad);
				return -1;
			}
			o->classes_text = v;
			i++;
		} else {
			fprintf(stderr, "bt86-difftest: bad argument %s %s\n", a, v);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct dt_options o;
	if (dt_parse(argc, argv, &o) < 0) {
		dt_usage(stderr);
		return 2;
	}
	if (o.dump) {
		struct dt_seq *seq = malloc(sizeof *seq);
		DT_ASSERT(seq);
		for (uint64_t i = o.start; i < o.start + o.count; i++) {
			dt_generate(seq, o.seed, i, o.classes);
			printf("sequence %llu:\n", (unsigned long long)i);
			dt_print_seq(seq);
		}
		free(seq);
		return 0;
	}

	struct dt_progress *p =
	    mmap(NULL, sizeof *p, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("bt86-difftest: mmap");
		return 2;
	}
	memset((void *)p, 0, sizeof *p);
	if (o.bytes)
		return dt_run_bytes(&o, p);
	printf("difftest: seed %llu, sequences %llu..%llu, classes %s%s\n",
	       (unsigned long long)o.seed, (unsigned long long)o.start,
	       (unsigned long long)(o.start + o.count - (o.count > 0)), o.classes_text,
	       dt_known_excluded_count() ? " (known divergences excluded: --list-known)" : "");
	double t0 = dt_now();
	uint64_t from = o.start;
	while (from < o.start + o.count) {
		p->done = 0;
		p->current = from;
		fflush(stdout);
		fflush(stderr);
		pid_t pid = fork();
		if (pid < 0) {
			perror("bt86-difftest: fork");
			return 2;
		}
		if (pid == 0)
			_exit(dt_worker(&o, p, from));
		int status = 0;
		bool hung = false;
		uint64_t ticks = p->ticks;
		double last = dt_now();
		for (;;) {
			if (waitpid(pid, &status, WNOHANG) == pid)
				break;
			struct timespec nap = {0, 20 * 1000 * 1000};
			nanosleep(&nap, NULL);
			if (p->ticks != ticks) {
				ticks = p->ticks;
				last = dt_now();
			} else if (dt_now() - last > o.timeout) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				hung = true;
				break;
			}
		}
		if (p->done)
			break;
		if (!hung && WIFEXITED(status) && WEXITSTATUS(status) == 2) {
			fprintf(stderr, "bt86-difftest: cannot set up the runs\n");
			return 2;
		}
		uint64_t bad = p->current;
		dt_report_crash(&o, bad, status, hung, p->stage);
		p->failed++;
		from = bad + 1;
	}
	double secs = dt_now() - t0;
	if (o.stats)
		dt_print_stats(p);
	uint64_t total = p->passed + p->failed;
	printf("difftest: %llu sequences in %.1f s (%.0f per second)\n", (unsigned long long)total,
	       secs, secs > 0 ? (double)total / secs : 0.0);
	printf("difftest: %llu passed, %llu failed\n", (unsigned long long)p->passed,
	       (unsigned long long)p->failed);
	return p->failed ? 1 : 0;
}
