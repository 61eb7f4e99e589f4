/* load.c — reads a whole trace into a struct tool_trace in one pass.
 *
 * Blocks keep their metadata only (a Linux boot translates hundreds of thousands of blocks);
 * commands that need code bytes (show, blocks --disasm) read the file again. The instruction map
 * is used once here, to count instructions copied unchanged. Callouts are attributed to blocks
 * afterwards by guest range, through a sorted table of callout eips with prefix sums.
 *
 * Execution counts (BLOCK_EXEC records) are attributed afterwards too: a count belongs to the
 * latest BLOCK before it with the same host address and eip (host addresses are reused after a
 * code cache flush), so the blocks are sorted by (host address, eip, file order) and each count
 * finds its block by binary search. Counts of one block add up; a count with no such block is
 * only counted, since nothing can be said about it but its eip.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tools/trace/tool.h"

/* Grow *arr (of elem bytes) so that one more element fits. */
static int tool_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	void *bigger;
	size_t want;

	if (n < *cap)
		return 0;
	want = *cap ? *cap * 2 : 1024;
	bigger = realloc(*arr, want * elem);
	if (bigger == NULL)
		return -ENOMEM;
	*arr = bigger;
	*cap = want;
	return 0;
}

const char *tool_map_problem(const struct trc_rec_block *b)
{
	uint32_t prev_goff = 0, prev_hoff = 0;

	if (b->n_insns == 0)
		return "no instructions listed";
	for (uint32_t i = 0; i < b->n_insns; i++) {
		uint32_t eip, hoff, goff;

		trc_rec_block_insn_get(b, i, &eip, &hoff);
		goff = eip - b->guest_eip;
		if (i == 0 && goff != 0)
			return "first instruction is not at the block's eip";
		if (goff >= b->guest_len)
			return "instruction eip outside the guest bytes";
		if (i > 0 && goff <= prev_goff)
			return "instruction eips not increasing";
		if (hoff > b->host_len)
			return "host offset past the host bytes";
		if (hoff < prev_hoff)
			return "host offsets decreasing";
		prev_goff = goff;
		prev_hoff = hoff;
	}
	return NULL;
}

/* Instructions whose host code is exactly their guest bytes: the translator's IDENT class. */
static uint32_t tool_block_copied(const struct trc_rec_block *b)
{
	uint32_t copied = 0;

	for (uint32_t i = 0; i < b->n_insns; i++) {
		uint32_t eip, hoff, next_eip, hend = b->host_len, glen, hlen;

		trc_rec_block_insn_get(b, i, &eip, &hoff);
		glen = b->guest_len - (eip - b->guest_eip);
		if (i + 1 < b->n_insns) {
			trc_rec_block_insn_get(b, i + 1, &next_eip, &hend);
			glen = next_eip - eip;
		}
		hlen = hend - hoff;
		if (glen == hlen &&
		    memcmp(b->guest + (eip - b->guest_eip), b->host + hoff, glen) == 0)
			copied++;
	}
	return copied;
}

static int tool_trace_add(struct tool_trace *t, const struct trc_record *rec, size_t *caps)
{
	t->records++;
	if (t->records == 1 || rec->time_ns < t->first_time_ns)
		t->first_time_ns = rec->time_ns;
	if (rec->time_ns > t->last_time_ns)
		t->last_time_ns = rec->time_ns;

	switch (rec->type) {
	case TRC_REC_BLOCK: {
		const struct trc_rec_block *b = &rec->block;
		struct tool_block *tb;

		if (tool_grow((void **)&t->blocks, &caps[0], t->n_blocks, sizeof(*t->blocks)) < 0)
			return -ENOMEM;
		tb = &t->blocks[t->n_blocks];
		memset(tb, 0, sizeof(*tb));
		tb->time_ns = rec->time_ns;
		tb->host_addr = b->host_addr;
		tb->eip = b->guest_eip;
		tb->phys = b->guest_phys;
		tb->guest_len = b->guest_len;
		tb->host_len = b->host_len;
		tb->n_insns = b->n_insns;
		tb->index = (uint32_t)t->n_blocks;
		if (tool_map_problem(b) == NULL) {
			tb->mapped = true;
			tb->copied = tool_block_copied(b);
			t->copied_insns += tb->copied;
			t->mapped_insns += b->n_insns;
		}
		t->n_blocks++;
		t->guest_insns += b->n_insns;
		t->guest_bytes += b->guest_len;
		t->host_bytes += b->host_len;
		break;
	}
	case TRC_REC_KIND_NAME: {
		char *copy = strndup(rec->kind_name.name, rec->kind_name.name_len);

		if (copy == NULL)
			return -ENOMEM;
		free(t->kind_names[rec->kind_name.kind]);
		t->kind_names[rec->kind_name.kind] = copy;
		break;
	}
	case TRC_REC_CALLOUT: {
		struct tool_callout *c;

		if (tool_grow((void **)&t->callouts, &caps[1], t->n_callouts,
			      sizeof(*t->callouts)) < 0)
			return -ENOMEM;
		c = &t->callouts[t->n_callouts++];
		c->time_ns = rec->time_ns;
		c->eip = rec->callout.guest_eip;
		c->kind = rec->callout.kind;
		t->callouts_by_kind[c->kind]++;
		break;
	}
	case TRC_REC_EVENT: {
		struct tool_event *e;

		if (tool_grow((void **)&t->events, &caps[2], t->n_events, sizeof(*t->events)) < 0)
			return -ENOMEM;
		e = &t->events[t->n_events++];
		e->time_ns = rec->time_ns;
		e->kind = rec->event.kind;
		e->a = rec->event.a;
		e->b = rec->event.b;
		e->c = rec->event.c;
		t->events_by_kind[e->kind]++;
		break;
	}
	case TRC_REC_COUNTER: {
		struct tool_counter *c;

		if (tool_grow((void **)&t->counters, &caps[3], t->n_counters,
			      sizeof(*t->counters)) < 0)
			return -ENOMEM;
		c = &t->counters[t->n_counters];
		c->name = strndup(rec->counter.name, rec->counter.name_len);
		if (c->name == NULL)
			return -ENOMEM;
		c->value = rec->counter.value;
		t->n_counters++;
		break;
	}
	case TRC_REC_BLOCK_EXEC: {
		struct tool_exec *x;

		if (tool_grow((void **)&t->execs, &caps[4], t->n_execs, sizeof(*t->execs)) < 0)
			return -ENOMEM;
		x = &t->execs[t->n_execs++];
		x->host_addr = rec->block_exec.host_addr;
		x->eip = rec->block_exec.guest_eip;
		x->count = rec->block_exec.count;
		x->blocks_before = (uint32_t)t->n_blocks;
		t->has_counts = true;
		break;
	}
	case TRC_REC_END:
		t->dropped = rec->end.dropped;
		break;
	default:
		t->unknown_records++;
		break;
	}
	return 0;
}

int tool_u32_compare(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t tool_sat_add(uint64_t a, uint64_t b)
{
	uint64_t sum;

	return __builtin_add_overflow(a, b, &sum) ? UINT64_MAX : sum;
}

uint64_t tool_sat_mul(uint64_t a, uint64_t b)
{
	uint64_t product;

	return __builtin_mul_overflow(a, b, &product) ? UINT64_MAX : product;
}

/* Index of the first entry with eip >= key (n if none). */
static size_t tool_eips_lower_bound(const uint32_t *eips, size_t n, uint32_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (eips[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Count, for each block, the callouts whose eip falls in its guest range. */
static int tool_trace_attribute_callouts(struct tool_trace *t)
{
	uint32_t *eips;

	if (t->n_callouts == 0)
		return 0;
	eips = malloc(t->n_callouts * sizeof(*eips));
	if (eips == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_callouts; i++)
		eips[i] = t->callouts[i].eip;
	qsort(eips, t->n_callouts, sizeof(*eips), tool_u32_compare);
	for (size_t i = 0; i < t->n_blocks; i++) {
		struct tool_block *b = &t->blocks[i];
		uint64_t end = (uint64_t)b->eip + b->guest_len;
		size_t lo = tool_eips_lower_bound(eips, t->n_callouts, b->eip);
		size_t hi = end > UINT32_MAX
				? t->n_callouts
				: tool_eips_lower_bound(eips, t->n_callouts, (uint32_t)end);

		b->callouts = hi - lo;
	}
	free(eips);
	return 0;
}

/* A block's identity for BLOCK_EXEC, in the order the matching searches. */
struct tool_block_key {
	uint64_t host_addr;
	uint32_t eip;
	uint32_t index;
};

static int tool_block_key_compare(const void *pa, const void *pb)
{
	const struct tool_block_key *a = pa, *b = pb;

	if (a->host_addr != b->host_addr)
		return a->host_addr < b->host_addr ? -1 : 1;
	if (a->eip != b->eip)
		return a->eip < b->eip ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* Give each BLOCK_EXEC count to its block, then sum the exec-weighted totals. */
static int tool_trace_attribute_execs(struct tool_trace *t)
{
	struct tool_block_key *keys;

	if (t->n_execs == 0)
		return 0;
	keys = malloc((t->n_blocks + 1) * sizeof(*keys));
	if (keys == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_blocks; i++)
		keys[i] = (struct tool_block_key){t->blocks[i].host_addr, t->blocks[i].eip,
						  t->blocks[i].index};
	qsort(keys, t->n_blocks, sizeof(*keys), tool_block_key_compare);
	for (size_t i = 0; i < t->n_execs; i++) {
		const struct tool_exec *x = &t->execs[i];
		/* The first key at or after (host, eip, blocks_before); the one before it is the
		 * latest earlier translation, if it has the same host address and eip. */
		const struct tool_block_key want = {x->host_addr, x->eip, x->blocks_before};
		size_t lo = 0, hi = t->n_blocks;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (tool_block_key_compare(&keys[mid], &want) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0 && keys[lo - 1].host_addr == x->host_addr &&
		    keys[lo - 1].eip == x->eip) {
			struct tool_block *b = &t->blocks[keys[lo - 1].index];

			b->exec = tool_sat_add(b->exec, x->count);
		} else {
			t->execs_unmatched++;
			t->execs_unmatched_sum = tool_sat_add(t->execs_unmatched_sum, x->count);
		}
	}
	free(keys);

	for (size_t i = 0; i < t->n_blocks; i++) {
		const struct tool_block *b = &t->blocks[i];
		uint64_t insns = tool_sat_mul(b->exec, b->n_insns);

		t->block_entries = tool_sat_add(t->block_entries, b->exec);
		t->exec_insns = tool_sat_add(t->exec_insns, insns);
		if (b->mapped) {
			t->exec_copied_insns =
			    tool_sat_add(t->exec_copied_insns, tool_sat_mul(b->exec, b->copied));
			t->exec_mapped_insns = tool_sat_add(t->exec_mapped_insns, insns);
		}
	}
	return 0;
}

int tool_trace_load(struct tool_trace *t, const char *path)
{
	struct trc_reader *reader;
	struct trc_record rec;
	size_t caps[5] = {0};
	int rc;

	memset(t, 0, sizeof(*t));
	t->path = path;
	t->kind_names = calloc(TOOL_KINDS, sizeof(*t->kind_names));
	t->callouts_by_kind = calloc(TOOL_KINDS, sizeof(uint64_t));
	t->events_by_kind = calloc(TOOL_KINDS, sizeof(uint64_t));
	if (t->kind_names == NULL || t->callouts_by_kind == NULL || t->events_by_kind == NULL) {
		snprintf(t->error, sizeof(t->error), "out of memory");
		return -ENOMEM;
	}
	rc = trc_reader_open(path, &reader, t->error, sizeof(t->error));
	if (rc < 0)
		return rc;
	t->version = trc_reader_header(reader)->version;
	t->start_realtime_ns = trc_reader_header(reader)->start_realtime_ns;
	t->host = strdup(trc_reader_header(reader)->host);
	t->guest = strdup(trc_reader_header(reader)->guest_description);
	if (t->host == NULL || t->guest == NULL) {
		trc_reader_close(reader);
		snprintf(t->error, sizeof(t->error), "out of memory");
		return -ENOMEM;
	}
	while ((rc = trc_reader_next(reader, &rec)) > 0) {
		if (tool_trace_add(t, &rec, caps) < 0) {
			trc_reader_close(reader);
			snprintf(t->error, sizeof(t->error), "out of memory");
			return -ENOMEM;
		}
	}
	t->complete = rc == 0;
	if (rc < 0)
		snprintf(t->error, sizeof(t->error), "%s", trc_reader_error(reader));
	trc_reader_close(reader);
	if (tool_trace_attribute_callouts(t) < 0 || tool_trace_attribute_execs(t) < 0) {
		snprintf(t->error, sizeof(t->error), "out of memory");
		return -ENOMEM;
	}
	return 0;
}

void tool_trace_free(struct tool_trace *t)
{
	if (t->kind_names != NULL)
		for (size_t i = 0; i < TOOL_KINDS; i++)
			free(t->kind_names[i]);
	for (size_t i = 0; i < t->n_counters; i++)
		free(t->counters[i].name);
	free(t->kind_names);
	free(t->callouts_by_kind);
	free(t->events_by_kind);
	free(t->blocks);
	free(t->callouts);
	free(t->events);
	free(t->counters);
	free(t->execs);
	free(t->host);
	free(t->guest);
	memset(t, 0, sizeof(*t));
}

const char *tool_trace_kind_name(const struct tool_trace *t, uint16_t kind)
{
	return t->kind_names != NULL ? t->kind_names[kind] : NULL;
}

/* ---- helpers shared by the commands ---------------------------------------------------------- */

int tool_bad(const char *fmt, ...)
{
	va_list ap;

	fputs("bt86-trace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return TOOL_EXIT_BAD_INPUT;
}

bool tool_load_or_complain(struct tool_trace *t, const char *path)
{
	if (tool_trace_load(t, path) == 0)
		return true;
	tool_bad("%s: %s", path, t->error);
	tool_trace_free(t);
	return false;
}

int tool_finish(const struct tool_trace *t)
{
	fflush(stdout);
	if (t->complete)
		return TOOL_EXIT_OK;
	tool_bad("%s: %s", t->path, t->error);
	return TOOL_EXIT_BAD_INPUT;
}

bool tool_parse_seconds(const char *s, uint64_t *ns)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0) || v > 1e9)
		return false;
	*ns = (uint64_t)(v * 1e9 + 0.5);
	return true;
}

static const char *tool_sort_key;

static int tool_block_cmp(const void *pa, const void *pb)
{
	const struct tool_block *a = *(const struct tool_block *const *)pa;
	const struct tool_block *b = *(const struct tool_block *const *)pb;

	if (strcmp(tool_sort_key, "size") == 0 && a->host_len != b->host_len)
		return a->host_len > b->host_len ? -1 : 1;
	if (strcmp(tool_sort_key, "callouts") == 0 && a->callouts != b->callouts)
		return a->callouts > b->callouts ? -1 : 1;
	if (strcmp(tool_sort_key, "exec") == 0 && a->exec != b->exec)
		return a->exec > b->exec ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

const struct tool_block **tool_blocks_sorted(const struct tool_trace *t, const char *key)
{
	const struct tool_block **sorted = malloc((t->n_blocks + 1) * sizeof(*sorted));

	if (sorted == NULL)
		return NULL;
	for (size_t i = 0; i < t->n_blocks; i++)
		sorted[i] = &t->blocks[i];
	tool_sort_key = key;
	qsort(sorted, t->n_blocks, sizeof(*sorted), tool_block_cmp);
	return sorted;
}

/* Skip the leading spaces some counter names have (the runtime indents sub-counters). */
static const char *tool_counter_name(const struct tool_counter *c)
{
	const char *name = c->name;

	while (*name == ' ')
		name++;
	return name;
}

bool tool_counter_is_time(const struct tool_counter *c)
{
	return strncmp(tool_counter_name(c), TOOL_TIME_PREFIX, strlen(TOOL_TIME_PREFIX)) == 0;
}

const struct tool_counter *tool_time_total(const struct tool_trace *t)
{
	for (size_t i = 0; i < t->n_counters; i++)
		if (strcmp(tool_counter_name(&t->counters[i]), TOOL_TIME_TOTAL) == 0)
			return &t->counters[i];
	return NULL;
}

uint64_t tool_time_whole(const struct tool_trace *t, bool *of_total)
{
	const struct tool_counter *total = tool_time_total(t);
	uint64_t sum = 0;

	*of_total = total != NULL && total->value != 0;
	if (*of_total)
		return total->value;
	for (size_t i = 0; i < t->n_counters; i++)
		if (tool_counter_is_time(&t->counters[i]) && &t->counters[i] != total)
			sum = tool_sat_add(sum, t->counters[i].value);
	return sum;
}

const char *tool_time_label(const struct tool_counter *c, char *buf, size_t len)
{
	const char *name = tool_counter_name(c) + strlen(TOOL_TIME_PREFIX);
	size_t n = strlen(name);

	if (n >= 5 && strcmp(name + n - 5, " (ns)") == 0)
		n -= 5;
	snprintf(buf, len, "%.*s", (int)n, name);
	return buf;
}

const char *tool_addr_format(const struct tool_opts *o, uint32_t addr, char *buf, size_t len)
{
	char sym[256];

	tool_sym_format(&o->symtab, addr, sym, sizeof(sym));
	snprintf(buf, len, "0x%08" PRIx32 "%s%s", addr, sym[0] ? " " : "", sym);
	return buf;
}
