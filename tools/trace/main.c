/* bt86-trace — reads the trace file that bt86 run --trace FILE writes (trace/FORMAT.md).
 *
 * Each command loads the trace into memory with one pass (load.c) and prints from there; the
 * commands that show code (show, blocks --disasm) read the file a second time for the bytes.
 * A trace that ends in an error still has what was read printed — the trace of a bt86 that
 * crashed is the one most wanted — and then "bt86-trace: FILE: reason" goes to stderr with exit
 * status 2. This file holds the command line and the text commands (summary, blocks, events,
 * diff); show.c disassembles; export.c writes Chrome JSON and the HTML report.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/trace/tool.h"

static double tool_pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void tool_print_ns(const char *label, uint64_t ns)
{
	printf("%s%" PRIu64 ".%09" PRIu64 " s\n", label, ns / TOOL_NS, ns % TOOL_NS);
}

static const struct tool_counter *tool_counter_find(const struct tool_trace *t, const char *prefix)
{
	for (size_t i = 0; i < t->n_counters; i++) {
		const char *name = t->counters[i].name;

		while (*name == ' ')
			name++;
		if (strncmp(name, prefix, strlen(prefix)) == 0)
			return &t->counters[i];
	}
	return NULL;
}

/* The execution counts: block entries, instructions executed and the exec-weighted IDENT
 * share. An instruction count takes every entry to run the whole block, which overcounts the
 * entries that leave early (a fault or an exit in the middle). */
static void tool_summary_execs(const struct tool_trace *t)
{
	if (!t->has_counts) {
		printf("execution counts: not recorded (bt86 run --trace FILE --trace-counts)\n");
		return;
	}
	printf("execution counts:\n");
	printf("  block entries:        %" PRIu64 " (%zu BLOCK_EXEC records, %" PRIu64
	       " matching no block with %" PRIu64 " entries)\n",
	       t->block_entries, t->n_execs, t->execs_unmatched, t->execs_unmatched_sum);
	printf("  guest insns executed: %" PRIu64 " (entries times the block's instructions)\n",
	       t->exec_insns);
	printf("  IDENT share executed: %" PRIu64 " of %" PRIu64
	       " executed mapped insns copied unchanged (%.1f%%)\n",
	       t->exec_copied_insns, t->exec_mapped_insns,
	       tool_pct(t->exec_copied_insns, t->exec_mapped_insns));
}

/* The "time: " counters as shares of the total run; the last line sums the parts, so a split
 * whose parts overlap or miss time shows it. */
static void tool_summary_time(const struct tool_trace *t)
{
	const struct tool_counter *total = tool_time_total(t);
	uint64_t sum = 0, whole;
	bool of_total, any = false;
	char label[128];

	for (size_t i = 0; i < t->n_counters; i++)
		any = any || tool_counter_is_time(&t->counters[i]);
	if (!any) {
		printf("time split: not recorded (this trace has no 'time: ' counters)\n");
		return;
	}
	whole = tool_time_whole(t, &of_total);
	if (of_total)
		printf("time split, shares of the total run of %" PRIu64 ".%09" PRIu64 " s:\n",
		       whole / TOOL_NS, whole % TOOL_NS);
	else
		printf("time split, shares of the sum of the parts (no '%s' counter):\n",
		       TOOL_TIME_TOTAL);
	for (size_t i = 0; i < t->n_counters; i++) {
		const struct tool_counter *c = &t->counters[i];

		if (!tool_counter_is_time(c) || c == total)
			continue;
		printf("  %-34s %4" PRIu64 ".%09" PRIu64 " s %6.1f%%\n",
		       tool_time_label(c, label, sizeof(label)), c->value / TOOL_NS,
		       c->value % TOOL_NS, tool_pct(c->value, whole));
		sum = tool_sat_add(sum, c->value);
	}
	printf("  %-34s %4" PRIu64 ".%09" PRIu64 " s %6.1f%%\n", "(sum of the parts)",
	       sum / TOOL_NS, sum % TOOL_NS, tool_pct(sum, whole));
}

/* Event kinds every summary lists, zero or not; unknown kinds follow when present. */
static const uint16_t tool_known_events[] = {TRC_EV_EXCEPTION, TRC_EV_INVALIDATE, TRC_EV_FLUSH,
					     TRC_EV_EXIT,      TRC_EV_CR3,	  TRC_EV_MMIO};

/* ---- summary ----------------------------------------------------------------------------- */

int tool_cmd_summary(struct tool_opts *o)
{
	const struct tool_counter *ident, *total;
	struct tool_trace t;
	time_t start;
	char when[64];
	struct tm tm;
	int status;

	if (o->argc != 1)
		return tool_bad("usage: bt86-trace summary FILE");
	if (!tool_load_or_complain(&t, o->argv[0]))
		return TOOL_EXIT_BAD_INPUT;

	start = (time_t)(t.start_realtime_ns / TOOL_NS);
	if (gmtime_r(&start, &tm) == NULL || strftime(when, sizeof(when), "%F %T UTC", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	if (!t.complete)
		printf("(incomplete trace: the totals cover the records before the error)\n");
	printf("trace:       %s (format version %u)\n", t.path, t.version);
	printf("guest:       %s\n", t.guest);
	printf("host:        %s\n", t.host);
	printf("started:     %s\n", when);
	printf("time span:   %" PRIu64 ".%09" PRIu64 " s .. %" PRIu64 ".%09" PRIu64 " s\n",
	       t.first_time_ns / TOOL_NS, t.first_time_ns % TOOL_NS, t.last_time_ns / TOOL_NS,
	       t.last_time_ns % TOOL_NS);
	tool_print_ns("duration:    ", t.last_time_ns);
	printf("records:     %" PRIu64 " (%" PRIu64 " of unknown types, %" PRIu64
	       " dropped by the writer)\n",
	       t.records, t.unknown_records, t.dropped);
	printf("blocks:      %zu\n", t.n_blocks);
	printf("guest insns: %" PRIu64 "\n", t.guest_insns);
	printf("guest bytes: %" PRIu64 "\n", t.guest_bytes);
	printf("host bytes:  %" PRIu64 " (%.2f per guest byte)\n", t.host_bytes,
	       t.guest_bytes ? (double)t.host_bytes / (double)t.guest_bytes : 0.0);
	printf("IDENT share: %" PRIu64 " of %" PRIu64 " mapped insns copied unchanged (%.1f%%)\n",
	       t.copied_insns, t.mapped_insns, tool_pct(t.copied_insns, t.mapped_insns));
	ident = tool_counter_find(&t, "IDENT");
	total = tool_counter_find(&t, "guest instructions translated");
	if (ident != NULL && total != NULL)
		printf("IDENT share by the counters: %" PRIu64 " of %" PRIu64 " (%.1f%%)\n",
		       ident->value, total->value, tool_pct(ident->value, total->value));
	tool_summary_execs(&t);
	tool_summary_time(&t);

	printf("callouts: %zu\n", t.n_callouts);
	for (uint32_t kind = 0; kind < TOOL_KINDS; kind++) {
		const char *name = tool_trace_kind_name(&t, (uint16_t)kind);
		uint64_t n = t.callouts_by_kind[kind];

		if (n != 0)
			printf("  %-24s kind %-5" PRIu32 " %10" PRIu64 " %6.1f%%\n",
			       name ? name : "(unnamed)", kind, n, tool_pct(n, t.n_callouts));
	}
	printf("events: %zu\n", t.n_events);
	for (size_t i = 0; i < sizeof(tool_known_events) / sizeof(tool_known_events[0]); i++)
		printf("  %-31s %" PRIu64 "\n", trc_event_kind_name(tool_known_events[i]),
		       t.events_by_kind[tool_known_events[i]]);
	for (uint32_t kind = 0; kind < TOOL_KINDS; kind++)
		if (t.events_by_kind[kind] != 0 && trc_event_kind_name((uint16_t)kind) == NULL)
			printf("  kind %-26" PRIu32 " %" PRIu64 "\n", kind, t.events_by_kind[kind]);
	printf("counters: %zu\n", t.n_counters);
	for (size_t i = 0; i < t.n_counters; i++)
		printf("  %-31s %" PRIu64 "\n", t.counters[i].name, t.counters[i].value);
	status = tool_finish(&t);
	tool_trace_free(&t);
	return status;
}

/* ---- blocks ------------------------------------------------------------------------------ */

/* Parse an unsigned count; false if s is not one. */
static bool tool_parse_count(const char *s, uint64_t *n)
{
	char *end;

	if (s == NULL || *s == '\0' || *s == '-')
		return false;
	*n = strtoull(s, &end, 0);
	return *end == '\0';
}

static const char *tool_sort_title(const char *key)
{
	if (strcmp(key, "exec") == 0)
		return "execution count";
	if (strcmp(key, "size") == 0)
		return "host size";
	if (strcmp(key, "callouts") == 0)
		return "callouts in the block's guest range";
	return "translation time";
}

/* Without --sort the blocks come by execution count when the trace has counts, else in
 * translation order. --sort exec on a trace without counts is refused rather than quietly
 * sorted some other way: a list that looks hot but is not would mislead. */
int tool_cmd_blocks(struct tool_opts *o)
{
	const struct tool_block **sorted;
	const char *path = NULL, *key = NULL;
	uint64_t hot = UINT64_MAX;
	bool disasm = false;
	struct tool_trace t;
	int status;

	for (int i = 0; i < o->argc; i++) {
		const char *a = o->argv[i];

		if (strcmp(a, "--hot") == 0) {
			if (!tool_parse_count(i + 1 < o->argc ? o->argv[++i] : NULL, &hot))
				return tool_bad("blocks: --hot needs a number");
		} else if (strcmp(a, "--sort") == 0) {
			key = i + 1 < o->argc ? o->argv[++i] : "";
			if (strcmp(key, "exec") != 0 && strcmp(key, "size") != 0 &&
			    strcmp(key, "callouts") != 0 && strcmp(key, "time") != 0)
				return tool_bad(
				    "blocks: --sort takes exec, size, callouts or time");
		} else if (strcmp(a, "--disasm") == 0) {
			disasm = true;
		} else if (a[0] == '-' || path != NULL) {
			return tool_bad("blocks: unexpected argument '%s'", a);
		} else {
			path = a;
		}
	}
	if (path == NULL)
		return tool_bad(
		    "usage: bt86-trace blocks FILE [--hot N] [--sort exec|size|callouts|time]");
	if (disasm)
		return tool_blocks_disasm(o, path);
	if (!tool_load_or_complain(&t, path))
		return TOOL_EXIT_BAD_INPUT;
	if (key == NULL)
		key = t.has_counts ? "exec" : "time";
	if (strcmp(key, "exec") == 0 && !t.has_counts) {
		tool_trace_free(&t);
		return tool_bad("blocks: %s has no execution counts to sort by (record them with "
				"bt86 run --trace FILE --trace-counts)",
				path);
	}
	sorted = tool_blocks_sorted(&t, key);
	if (sorted == NULL) {
		tool_trace_free(&t);
		return tool_bad("out of memory");
	}
	printf("blocks: %zu translations, sorted by %s%s", t.n_blocks, tool_sort_title(key),
	       hot != UINT64_MAX ? ", top ones only" : "");
	if (t.has_counts)
		printf(" (%" PRIu64 " block entries counted)\n", t.block_entries);
	else
		printf(" (execution counts are not recorded)\n");
	printf("%7s %12s %13s %-10s %-10s %6s %5s %6s %5s %8s  %s\n", "#", "exec", "time (s)",
	       "eip", "phys", "gbytes", "insns", "hbytes", "ident", "callouts", "symbol");
	for (size_t i = 0; i < t.n_blocks && i < hot; i++) {
		const struct tool_block *b = sorted[i];
		char sym[256], exec[24] = "-";

		tool_sym_format(&o->symtab, b->eip, sym, sizeof(sym));
		if (t.has_counts)
			snprintf(exec, sizeof(exec), "%" PRIu64, b->exec);
		printf("%7" PRIu32 " %12s %3" PRIu64 ".%09" PRIu64 " 0x%08" PRIx32 " 0x%08" PRIx32
		       " %6" PRIu32 " %5" PRIu32 " %6" PRIu32 " %5" PRIu32 " %8" PRIu64 "  %s\n",
		       b->index, exec, b->time_ns / TOOL_NS, b->time_ns % TOOL_NS, b->eip, b->phys,
		       b->guest_len, b->n_insns, b->host_len, b->copied, b->callouts, sym);
	}
	if (t.execs_unmatched != 0)
		printf("(%" PRIu64 " BLOCK_EXEC records with %" PRIu64
		       " entries match no block: not listed)\n",
		       t.execs_unmatched, t.execs_unmatched_sum);
	free(sorted);
	status = tool_finish(&t);
	tool_trace_free(&t);
	return status;
}

/* ---- events ------------------------------------------------------------------------------ */

/* enum trc_cause, as events prints it (0: a trace from before causes were recorded). */
static const char *const tool_cause_names[] = {
    [0] = "unrecorded",
    [TRC_CAUSE_GUEST_STORE] = "guest-store",
    [TRC_CAUSE_CALLOUT_STORE] = "callout-store",
    [TRC_CAUSE_MONITOR_WRITE] = "monitor-write",
};

static const char *const tool_vector_names[32] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD",
						  "#NM", "#DF", "",    "#TS", "#NP", "#SS", "#GP",
						  "#PF", "",	"#MF", "#AC", "#MC", "#XM", "#VE"};

static void tool_event_print(const struct tool_opts *o, const struct tool_event *e)
{
	const char *name = trc_event_kind_name(e->kind);
	char addr[300];

	printf("%4" PRIu64 ".%09" PRIu64 "  %-10s ", e->time_ns / TOOL_NS, e->time_ns % TOOL_NS,
	       name ? name : "?");
	switch (e->kind) {
	case TRC_EV_EXCEPTION:
		printf("vector %" PRIu64 "%s%s error 0x%" PRIx64 " eip %s\n", e->a,
		       e->a < 32 && tool_vector_names[e->a] && tool_vector_names[e->a][0] ? " "
											  : "",
		       e->a < 32 && tool_vector_names[e->a] ? tool_vector_names[e->a] : "", e->b,
		       tool_addr_format(o, (uint32_t)e->c, addr, sizeof(addr)));
		break;
	case TRC_EV_INVALIDATE:
		printf("page 0x%08" PRIx64 " blocks dropped %" PRIu64 " cause %s\n", e->a, e->b,
		       e->c < sizeof tool_cause_names / sizeof tool_cause_names[0] &&
			       tool_cause_names[e->c]
			   ? tool_cause_names[e->c]
			   : "unknown");
		break;
	case TRC_EV_HIDDEN_FAULT:
		printf("linear 0x%08" PRIx64 " phys 0x%08" PRIx64 " %s\n", e->a, e->b,
		       e->c ? "write" : "read");
		break;
	case TRC_EV_FLUSH:
		printf("blocks dropped %" PRIu64 "\n", e->a);
		break;
	case TRC_EV_EXIT:
		printf("status %" PRIu64 "\n", e->a);
		break;
	case TRC_EV_CR3:
		printf("cr3 0x%08" PRIx64 "\n", e->a);
		break;
	case TRC_EV_MMIO:
		printf("phys 0x%08" PRIx64 " size %" PRIu64 " %s\n", e->a, e->b,
		       e->c ? "write" : "read");
		break;
	default:
		printf("kind %u a 0x%" PRIx64 " b 0x%" PRIx64 " c 0x%" PRIx64 "\n", e->kind, e->a,
		       e->b, e->c);
		break;
	}
}

static void tool_callout_print(const struct tool_opts *o, const struct tool_trace *t,
			       const struct tool_callout *c)
{
	const char *name = tool_trace_kind_name(t, c->kind);
	char addr[300];

	printf("%4" PRIu64 ".%09" PRIu64 "  %-10s %s (kind %u) eip %s\n", c->time_ns / TOOL_NS,
	       c->time_ns % TOOL_NS, "callout", name ? name : "(unnamed)", c->kind,
	       tool_addr_format(o, c->eip, addr, sizeof(addr)));
}

/* The event kind named by s, "callout" (-1) or "all" (-2); false if unknown. */
static bool tool_parse_event_kind(const char *s, int *kind)
{
	uint64_t n;

	if (strcmp(s, "callout") == 0 || strcmp(s, "callouts") == 0) {
		*kind = -1;
		return true;
	}
	if (strcmp(s, "all") == 0) {
		*kind = -2;
		return true;
	}
	for (uint16_t k = 1; trc_event_kind_name(k) != NULL; k++) {
		const char *name = trc_event_kind_name(k);

		if (strcmp(s, name) == 0 ||
		    (strncmp(s, name, strlen(name)) == 0 && strcmp(s + strlen(name), "s") == 0)) {
			*kind = k;
			return true;
		}
	}
	if (tool_parse_count(s, &n) && n < TOOL_KINDS) {
		*kind = (int)n;
		return true;
	}
	return false;
}

int tool_cmd_events(struct tool_opts *o)
{
	uint64_t from = 0, to = UINT64_MAX;
	const char *path = NULL;
	int kind = 0; /* 0: every event, no callouts */
	size_t ie = 0, ic = 0, shown = 0;
	struct tool_trace t;
	int status;

	for (int i = 0; i < o->argc; i++) {
		const char *a = o->argv[i], *v = i + 1 < o->argc ? o->argv[i + 1] : NULL;

		if (strcmp(a, "--kind") == 0) {
			if (v == NULL || !tool_parse_event_kind(v, &kind))
				return tool_bad(
				    "events: --kind takes exception, invalidate, flush, "
				    "exit, cr3, mmio, callout, all or a number");
			i++;
		} else if (strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0) {
			if (v == NULL || !tool_parse_seconds(v, a[2] == 'f' ? &from : &to))
				return tool_bad("events: %s takes a time in seconds", a);
			i++;
		} else if (a[0] == '-' || path != NULL) {
			return tool_bad("events: unexpected argument '%s'", a);
		} else {
			path = a;
		}
	}
	if (path == NULL)
		return tool_bad("usage: bt86-trace events FILE [--kind K] [--from T] [--to T]");
	if (!tool_load_or_complain(&t, path))
		return TOOL_EXIT_BAD_INPUT;

	printf("%14s  %-10s details\n", "time (s)", "kind");
	/* Events and callouts are each in file order; merge them by time. */
	while (ie < t.n_events || ic < t.n_callouts) {
		bool want_events = kind >= 0 || kind == -2, want_callouts = kind < 0;
		const struct tool_event *e = want_events && ie < t.n_events ? &t.events[ie] : NULL;
		const struct tool_callout *c =
		    want_callouts && ic < t.n_callouts ? &t.callouts[ic] : NULL;

		if (e == NULL && c == NULL)
			break;
		if (e != NULL && (c == NULL || e->time_ns <= c->time_ns)) {
			ie++;
			if ((kind > 0 && e->kind != kind) || e->time_ns < from || e->time_ns > to)
				continue;
			tool_event_print(o, e);
		} else {
			ic++;
			if (c->time_ns < from || c->time_ns > to)
				continue;
			tool_callout_print(o, &t, c);
		}
		shown++;
	}
	printf("(%zu shown)\n", shown);
	status = tool_finish(&t);
	tool_trace_free(&t);
	return status;
}

/* ---- diff -------------------------------------------------------------------------------- */

/* The distinct block eips of t, sorted; *n gets their number. */
static uint32_t *tool_distinct_eips(const struct tool_trace *t, size_t *n)
{
	uint32_t *eips = malloc((t->n_blocks + 1) * sizeof(*eips));
	size_t k = 0;

	if (eips == NULL)
		return NULL;
	for (size_t i = 0; i < t->n_blocks; i++)
		eips[i] = t->blocks[i].eip;
	qsort(eips, t->n_blocks, sizeof(*eips), tool_u32_compare);
	for (size_t i = 0; i < t->n_blocks; i++)
		if (k == 0 || eips[k - 1] != eips[i])
			eips[k++] = eips[i];
	*n = k;
	return eips;
}

static void tool_diff_row(const char *name, uint64_t a, uint64_t b)
{
	printf("  %-40s %14" PRIu64 " %14" PRIu64 " %+15" PRId64 "\n", name, a, b,
	       (int64_t)(b - a));
}

static void tool_diff_only(const struct tool_opts *o, const char *which, const uint32_t *x,
			   size_t nx, const uint32_t *y, size_t ny, uint64_t limit)
{
	size_t count = 0, j = 0, printed = 0;

	for (size_t i = 0; i < nx; i++) {
		while (j < ny && y[j] < x[i])
			j++;
		if (j < ny && y[j] == x[i])
			continue;
		count++;
	}
	printf("blocks only in %s: %zu\n", which, count);
	j = 0;
	for (size_t i = 0; i < nx && printed < limit; i++) {
		char addr[300];

		while (j < ny && y[j] < x[i])
			j++;
		if (j < ny && y[j] == x[i])
			continue;
		printf("  %s\n", tool_addr_format(o, x[i], addr, sizeof(addr)));
		printed++;
	}
	if (printed < count)
		printf("  ... %zu more (--limit 0 lists all)\n", count - printed);
}

#define TOOL_DIFF_HOT 10u

/* Execution counts summed over the translations of each eip (a block translated again after
 * an invalidation or flush is the same guest code). */
struct tool_eip_exec {
	uint32_t eip;
	uint64_t exec;
};

static int tool_eip_exec_by_eip(const void *pa, const void *pb)
{
	const struct tool_eip_exec *a = pa, *b = pb;

	return a->eip < b->eip ? -1 : a->eip > b->eip;
}

static int tool_eip_exec_by_exec(const void *pa, const void *pb)
{
	const struct tool_eip_exec *a = pa, *b = pb;

	if (a->exec != b->exec)
		return a->exec > b->exec ? -1 : 1;
	return tool_eip_exec_by_eip(pa, pb);
}

/* t's eips with their summed counts, sorted by eip; *n gets their number. */
static struct tool_eip_exec *tool_eip_execs(const struct tool_trace *t, size_t *n)
{
	struct tool_eip_exec *e = malloc((t->n_blocks + 1) * sizeof(*e));
	size_t k = 0;

	if (e == NULL)
		return NULL;
	for (size_t i = 0; i < t->n_blocks; i++)
		e[i] = (struct tool_eip_exec){t->blocks[i].eip, t->blocks[i].exec};
	qsort(e, t->n_blocks, sizeof(*e), tool_eip_exec_by_eip);
	for (size_t i = 0; i < t->n_blocks; i++) {
		if (k > 0 && e[k - 1].eip == e[i].eip)
			e[k - 1].exec = tool_sat_add(e[k - 1].exec, e[i].exec);
		else
			e[k++] = e[i];
	}
	*n = k;
	return e;
}

static uint64_t tool_eip_exec_find(const struct tool_eip_exec *e, size_t n, uint32_t eip)
{
	const struct tool_eip_exec key = {eip, 0}, *hit;

	hit = bsearch(&key, e, n, sizeof(*e), tool_eip_exec_by_eip);
	return hit != NULL ? hit->exec : 0;
}

/* The hottest eips of each trace side by side: the union of both top lists, hottest first. */
static int tool_diff_hot(const struct tool_opts *o, const struct tool_trace *a,
			 const struct tool_trace *b)
{
	struct tool_eip_exec *ea, *eb, top[2 * TOOL_DIFF_HOT];
	size_t na, nb, n_top = 0;

	if (!a->has_counts && !b->has_counts) {
		printf("hot blocks: execution counts are recorded in neither trace\n");
		return 0;
	}
	ea = tool_eip_execs(a, &na);
	eb = tool_eip_execs(b, &nb);
	if (ea == NULL || eb == NULL) {
		free(ea);
		free(eb);
		return -1;
	}
	for (int side = 0; side < 2; side++) {
		struct tool_eip_exec *e = side ? eb : ea;
		size_t n = side ? nb : na;

		qsort(e, n, sizeof(*e), tool_eip_exec_by_exec);
		for (size_t i = 0; i < n && i < TOOL_DIFF_HOT && e[i].exec != 0; i++) {
			bool seen = false;

			for (size_t k = 0; k < n_top; k++)
				seen = seen || top[k].eip == e[i].eip;
			if (!seen)
				top[n_top++] = e[i];
		}
		qsort(e, n, sizeof(*e), tool_eip_exec_by_eip);
	}
	for (size_t k = 0; k < n_top; k++) {
		uint64_t x = tool_eip_exec_find(ea, na, top[k].eip);
		uint64_t y = tool_eip_exec_find(eb, nb, top[k].eip);

		top[k].exec = x > y ? x : y;
	}
	qsort(top, n_top, sizeof(*top), tool_eip_exec_by_exec);
	printf("hot blocks by execution count (the top %u of each, over all translations of "
	       "an eip)%s:\n",
	       TOOL_DIFF_HOT,
	       !a->has_counts	? "; A has no counts"
	       : !b->has_counts ? "; B has no counts"
				: "");
	printf("  %-40s %14s %14s %15s\n", "eip", "A", "B", "B-A");
	for (size_t k = 0; k < n_top; k++) {
		char addr[300];

		tool_diff_row(tool_addr_format(o, top[k].eip, addr, sizeof(addr)),
			      tool_eip_exec_find(ea, na, top[k].eip),
			      tool_eip_exec_find(eb, nb, top[k].eip));
	}
	free(ea);
	free(eb);
	return 0;
}

int tool_cmd_diff(struct tool_opts *o)
{
	const char *paths[2] = {NULL, NULL};
	struct tool_trace a, b;
	uint32_t *ea, *eb;
	size_t na, nb, both = 0, j = 0;
	uint64_t limit = 100;
	int status;

	for (int i = 0, n = 0; i < o->argc; i++) {
		if (strcmp(o->argv[i], "--limit") == 0) {
			if (!tool_parse_count(i + 1 < o->argc ? o->argv[++i] : NULL, &limit))
				return tool_bad("diff: --limit needs a number");
			if (limit == 0)
				limit = UINT64_MAX;
		} else if (o->argv[i][0] == '-' || n == 2) {
			return tool_bad("diff: unexpected argument '%s'", o->argv[i]);
		} else {
			paths[n++] = o->argv[i];
		}
	}
	if (paths[1] == NULL)
		return tool_bad("usage: bt86-trace diff A B [--limit N]");
	if (!tool_load_or_complain(&a, paths[0]))
		return TOOL_EXIT_BAD_INPUT;
	if (!tool_load_or_complain(&b, paths[1])) {
		tool_trace_free(&a);
		return TOOL_EXIT_BAD_INPUT;
	}
	ea = tool_distinct_eips(&a, &na);
	eb = tool_distinct_eips(&b, &nb);
	if (ea == NULL || eb == NULL) {
		free(ea);
		free(eb);
		tool_trace_free(&a);
		tool_trace_free(&b);
		return tool_bad("out of memory");
	}
	for (size_t i = 0; i < na; i++) {
		while (j < nb && eb[j] < ea[i])
			j++;
		both += j < nb && eb[j] == ea[i];
	}
	printf("A: %s (%zu translations, %zu distinct eips)\n", a.path, a.n_blocks, na);
	printf("B: %s (%zu translations, %zu distinct eips)\n", b.path, b.n_blocks, nb);
	printf("blocks in both: %zu\n", both);
	tool_diff_only(o, "A", ea, na, eb, nb, limit);
	tool_diff_only(o, "B", eb, nb, ea, na, limit);

	printf("%-42s %14s %14s %15s\n", "totals:", "A", "B", "B-A");
	tool_diff_row("blocks", a.n_blocks, b.n_blocks);
	tool_diff_row("guest insns", a.guest_insns, b.guest_insns);
	tool_diff_row("host bytes", a.host_bytes, b.host_bytes);
	tool_diff_row("callouts", a.n_callouts, b.n_callouts);
	tool_diff_row("events", a.n_events, b.n_events);
	if (a.has_counts || b.has_counts) {
		tool_diff_row("block entries (execution counts)", a.block_entries, b.block_entries);
		tool_diff_row("guest insns executed", a.exec_insns, b.exec_insns);
	}
	if (tool_diff_hot(o, &a, &b) < 0) {
		free(ea);
		free(eb);
		tool_trace_free(&a);
		tool_trace_free(&b);
		return tool_bad("out of memory");
	}
	printf("callouts by kind:\n");
	for (uint32_t k = 0; k < TOOL_KINDS; k++) {
		const char *name = tool_trace_kind_name(&a, (uint16_t)k);
		char label[64];

		if (a.callouts_by_kind[k] == 0 && b.callouts_by_kind[k] == 0)
			continue;
		if (name == NULL)
			name = tool_trace_kind_name(&b, (uint16_t)k);
		snprintf(label, sizeof(label), "%s", name ? name : "(unnamed)");
		tool_diff_row(label, a.callouts_by_kind[k], b.callouts_by_kind[k]);
	}
	printf("events by kind:\n");
	for (uint32_t k = 0; k < TOOL_KINDS; k++) {
		const char *name = trc_event_kind_name((uint16_t)k);
		char label[64];

		if (a.events_by_kind[k] == 0 && b.events_by_kind[k] == 0)
			continue;
		snprintf(label, sizeof(label), "%s", name ? name : "(unknown kind)");
		tool_diff_row(label, a.events_by_kind[k], b.events_by_kind[k]);
	}
	printf("counters:\n");
	for (size_t i = 0; i < a.n_counters; i++) {
		uint64_t bv = 0;

		for (size_t k = 0; k < b.n_counters; k++)
			if (strcmp(a.counters[i].name, b.counters[k].name) == 0)
				bv = b.counters[k].value;
		tool_diff_row(a.counters[i].name, a.counters[i].value, bv);
	}
	for (size_t k = 0; k < b.n_counters; k++) {
		bool in_a = false;

		for (size_t i = 0; i < a.n_counters; i++)
			in_a = in_a || strcmp(a.counters[i].name, b.counters[k].name) == 0;
		if (!in_a)
			tool_diff_row(b.counters[k].name, 0, b.counters[k].value);
	}
	free(ea);
	free(eb);
	status = tool_finish(&a);
	if (tool_finish(&b) != TOOL_EXIT_OK)
		status = TOOL_EXIT_BAD_INPUT;
	tool_trace_free(&a);
	tool_trace_free(&b);
	return status;
}

/* ---- command line ------------------------------------------------------------------------ */

struct tool_command {
	const char *name;
	int (*run)(struct tool_opts *o);
};

static const struct tool_command tool_commands[] = {
    {"summary", tool_cmd_summary}, {"blocks", tool_cmd_blocks}, {"show", tool_cmd_show},
    {"events", tool_cmd_events},   {"diff", tool_cmd_diff},	{"export", tool_cmd_export},
    {"report", tool_cmd_report},
};

static void tool_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: bt86-trace [--symbols FILE] COMMAND ARGS...\n"
	    "  summary FILE                 totals and shares: instructions, IDENT share,\n"
	    "                               callouts and events per kind, counters, time span;\n"
	    "                               with counts, block entries, guest instructions\n"
	    "                               executed and the executed IDENT share; the time\n"
	    "                               split from the 'time: ' counters, as shares\n"
	    "  blocks FILE [--hot N] [--sort exec|size|callouts|time] [--disasm]\n"
	    "                               the translated blocks, one line each; --sort exec\n"
	    "                               orders by execution count (the default when the\n"
	    "                               trace has counts: bt86 run --trace-counts; an error\n"
	    "                               when it has none), size by host bytes, callouts by\n"
	    "                               the callouts at eips inside the block, time by\n"
	    "                               translation order (the default without counts);\n"
	    "                               --hot N keeps the first N.\n"
	    "                               --disasm prints every block's guest and host code\n"
	    "                               (and how often it ran, with counts)\n"
	    "  show FILE ADDR|SYMBOL        every translation of one block, guest and host code\n"
	    "                               side by side, with why each instruction was not "
	    "copied,\n"
	    "                               and how often each translation ran\n"
	    "  events FILE [--kind K] [--from T] [--to T]\n"
	    "                               the event timeline (T in seconds); K is exception,\n"
	    "                               invalidate, flush, exit, cr3, mmio, callout or all\n"
	    "  diff A B [--limit N]         blocks only in one trace, totals, the hottest blocks\n"
	    "                               of each, callouts and counters side by side\n"
	    "  export FILE --chrome OUT.json  Chrome / Perfetto trace-event JSON (execution\n"
	    "                               counts become arguments of the translations)\n"
	    "  report FILE --html DIR       a self-contained DIR/index.html (no script): the\n"
	    "                               summary, time split, hot blocks, plot and tables\n"
	    "  FILE                         same as blocks FILE --disasm\n"
	    "--symbols FILE names addresses function+0xoff: an ELF with a symbol table, or a\n"
	    "System.map / kallsyms file. Bad input: one line on stderr, exit status 2.\n");
}

int main(int argc, char **argv)
{
	struct tool_opts o = {0};
	const char *symbols = NULL;
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	int n = 0, status;

	if (args == NULL)
		return tool_bad("out of memory");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--symbols") == 0) {
			if (i + 1 >= argc) {
				free(args);
				return tool_bad("--symbols needs a file");
			}
			symbols = argv[++i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			tool_usage(stdout);
			free(args);
			return TOOL_EXIT_OK;
		} else {
			args[n++] = argv[i];
		}
	}
	if (n == 0) {
		tool_usage(stderr);
		free(args);
		return TOOL_EXIT_BAD_INPUT;
	}
	if (symbols != NULL) {
		char err[256];

		if (tool_symtab_load(&o.symtab, symbols, err, sizeof(err)) < 0) {
			free(args);
			return tool_bad("%s: %s", symbols, err);
		}
	}
	o.argc = n - 1;
	o.argv = args + 1;
	status = -1;
	for (size_t i = 0; i < sizeof(tool_commands) / sizeof(tool_commands[0]); i++)
		if (strcmp(args[0], tool_commands[i].name) == 0)
			status = tool_commands[i].run(&o);
	if (status < 0 && n == 1) {
		/* The first bt86-trace took a bare FILE to mean the full listing. */
		status = tool_blocks_disasm(&o, args[0]);
	} else if (status < 0) {
		status = tool_bad("unknown command '%s' (see --help)", args[0]);
	}
	tool_symtab_free(&o.symtab);
	free(args);
	return status;
}
