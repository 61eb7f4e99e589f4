/* bt86-trace — reads the trace file that bt86 run --trace FILE writes (trace/FORMAT.md).
 *
 *   bt86-trace [blocks] FILE   every translated block: each guest instruction (Capstone, 32-bit)
 *                              with the host instructions its translation became (Capstone,
 *                              64-bit) under it; then callouts per kind and the counters
 *   bt86-trace summary FILE    totals: blocks, instructions, callouts and events per kind,
 *                              counters
 *
 * Both commands make one pass over the records with the same loop; a command is a set of hooks
 * (one per record, one at the end) over shared totals. A trace that ends in an error still has
 * its records and totals printed — the trace of a bt86 that crashed is the one most wanted — and
 * then the error goes to stderr as "bt86-trace: FILE: reason" with exit status 2.
 */
#include <capstone/capstone.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trace/trace.h"

#define TOOL_EXIT_BAD_INPUT 2
#define TOOL_EXIT_FAILURE   1
#define TOOL_KINDS	    65536u
#define TOOL_EVENT_KINDS    65536u
#define TOOL_BYTES_COLUMN   32 /* width of the instruction bytes column */

struct tool_counter {
	char *name;
	uint64_t value;
};

/* Totals over the whole file, shared by all commands. */
struct tool_totals {
	uint64_t records;
	uint64_t blocks;
	uint64_t guest_insns;
	uint64_t guest_bytes;
	uint64_t host_bytes;
	uint64_t callouts;
	uint64_t *callouts_by_kind; /* TOOL_KINDS entries */
	uint64_t events;
	uint64_t *events_by_kind; /* TOOL_EVENT_KINDS entries */
	uint64_t unknown_records;
	uint64_t last_time_ns;
	uint64_t dropped;
	struct tool_counter *counters;
	size_t n_counters;
};

struct tool_ctx {
	const char *path;
	struct trc_reader *reader;
	struct tool_totals totals;
	csh guest_cs; /* 32-bit guest code */
	csh host_cs;  /* 64-bit host code */
	cs_insn *insn;
};

struct tool_command {
	const char *name;
	bool needs_disasm;
	void (*on_record)(struct tool_ctx *ctx, const struct trc_record *rec);
	void (*on_finish)(struct tool_ctx *ctx, bool complete);
};

/* ---- shared totals ----------------------------------------------------------------------- */

static int tool_totals_add(struct tool_ctx *ctx, const struct trc_record *rec)
{
	struct tool_totals *t = &ctx->totals;

	t->records++;
	if (rec->time_ns > t->last_time_ns)
		t->last_time_ns = rec->time_ns;
	switch (rec->type) {
	case TRC_REC_BLOCK:
		t->blocks++;
		t->guest_insns += rec->block.n_insns;
		t->guest_bytes += rec->block.guest_len;
		t->host_bytes += rec->block.host_len;
		break;
	case TRC_REC_CALLOUT:
		t->callouts++;
		t->callouts_by_kind[rec->callout.kind]++;
		break;
	case TRC_REC_EVENT:
		t->events++;
		t->events_by_kind[rec->event.kind]++;
		break;
	case TRC_REC_COUNTER: {
		/* Counter names live in the reader's buffer only until the next record. */
		struct tool_counter *bigger, *c;

		bigger = realloc(t->counters, (t->n_counters + 1) * sizeof(*t->counters));
		if (bigger == NULL)
			return -ENOMEM;
		t->counters = bigger;
		c = &t->counters[t->n_counters];
		c->name = strndup(rec->counter.name, rec->counter.name_len);
		if (c->name == NULL)
			return -ENOMEM;
		c->value = rec->counter.value;
		t->n_counters++;
		break;
	}
	case TRC_REC_END:
		t->dropped = rec->end.dropped;
		break;
	case TRC_REC_KIND_NAME:
		break;
	default:
		t->unknown_records++;
		break;
	}
	return 0;
}

static void tool_print_callouts(const struct tool_ctx *ctx)
{
	const struct tool_totals *t = &ctx->totals;

	printf("callouts: %" PRIu64 "\n", t->callouts);
	for (uint32_t kind = 0; kind < TOOL_KINDS; kind++) {
		const char *name;

		if (t->callouts_by_kind[kind] == 0)
			continue;
		name = trc_reader_kind_name(ctx->reader, (uint16_t)kind);
		printf("  %-24s kind %-5" PRIu32 " %" PRIu64 "\n", name ? name : "(unnamed)", kind,
		       t->callouts_by_kind[kind]);
	}
}

static void tool_print_counters(const struct tool_ctx *ctx)
{
	const struct tool_totals *t = &ctx->totals;

	printf("counters: %zu\n", t->n_counters);
	for (size_t i = 0; i < t->n_counters; i++)
		printf("  %-31s %" PRIu64 "\n", t->counters[i].name, t->counters[i].value);
}

/* ---- disassembly ------------------------------------------------------------------------- */

static void tool_print_insn(const char *indent, int addr_digits, uint64_t addr,
			    const uint8_t *bytes, size_t len, const char *mnemonic,
			    const char *operands)
{
	int col = 0;

	printf("%s%0*" PRIx64 ": ", indent, addr_digits, addr);
	for (size_t i = 0; i < len; i++)
		col += printf("%02x ", bytes[i]);
	printf("%*s%s%s%s\n", col < TOOL_BYTES_COLUMN ? TOOL_BYTES_COLUMN - col : 0, "", mnemonic,
	       operands[0] ? " " : "", operands);
}

/* Disassemble len bytes at addr; a byte Capstone cannot decode is shown as (bad) and skipped so
 * the rest of the range still gets decoded. */
static void tool_disasm(const struct tool_ctx *ctx, csh cs, const uint8_t *code, size_t len,
			uint64_t addr, const char *indent, int addr_digits)
{
	while (len > 0) {
		if (cs_disasm_iter(cs, &code, &len, &addr, ctx->insn)) {
			tool_print_insn(indent, addr_digits, ctx->insn->address, ctx->insn->bytes,
					ctx->insn->size, ctx->insn->mnemonic, ctx->insn->op_str);
			continue;
		}
		tool_print_insn(indent, addr_digits, addr, code, 1, "(bad)", "");
		code++;
		len--;
		addr++;
	}
}

#define TOOL_GUEST_INDENT "  "
#define TOOL_HOST_INDENT  "        "
#define TOOL_GUEST_DIGITS 8
#define TOOL_HOST_DIGITS  12

/* The map must be what FORMAT.md calls normal before it can cut the bytes into per-instruction
 * pieces; returns why not, or NULL. */
static const char *tool_map_problem(const struct trc_rec_block *b)
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

static void tool_block_print(const struct tool_ctx *ctx, const struct trc_record *rec)
{
	const struct trc_rec_block *b = &rec->block;
	const char *problem;
	uint32_t eip, hoff;

	printf("\nblock %" PRIu64 " at %" PRIu64 ".%09" PRIu64 " s: eip 0x%08" PRIx32
	       " phys 0x%08" PRIx32 ", %" PRIu32 " guest bytes, %" PRIu32
	       " insns -> host 0x%012" PRIx64 ", %" PRIu32 " bytes\n",
	       ctx->totals.blocks - 1, rec->time_ns / 1000000000u, rec->time_ns % 1000000000u,
	       b->guest_eip, b->guest_phys, b->guest_len, b->n_insns, b->host_addr, b->host_len);

	problem = tool_map_problem(b);
	if (problem != NULL) {
		printf("  (instruction map not usable: %s; guest and host shown apart)\n", problem);
		tool_disasm(ctx, ctx->guest_cs, b->guest, b->guest_len, b->guest_eip,
			    TOOL_GUEST_INDENT, TOOL_GUEST_DIGITS);
		tool_disasm(ctx, ctx->host_cs, b->host, b->host_len, b->host_addr, TOOL_HOST_INDENT,
			    TOOL_HOST_DIGITS);
		return;
	}

	trc_rec_block_insn_get(b, 0, &eip, &hoff);
	if (hoff > 0) {
		printf("  (block entry)\n");
		tool_disasm(ctx, ctx->host_cs, b->host, hoff, b->host_addr, TOOL_HOST_INDENT,
			    TOOL_HOST_DIGITS);
	}
	for (uint32_t i = 0; i < b->n_insns; i++) {
		uint32_t goff, gend, hend, next_eip;

		trc_rec_block_insn_get(b, i, &eip, &hoff);
		goff = eip - b->guest_eip;
		gend = b->guest_len;
		hend = b->host_len;
		if (i + 1 < b->n_insns) {
			trc_rec_block_insn_get(b, i + 1, &next_eip, &hend);
			gend = next_eip - b->guest_eip;
		}
		tool_disasm(ctx, ctx->guest_cs, b->guest + goff, gend - goff, eip,
			    TOOL_GUEST_INDENT, TOOL_GUEST_DIGITS);
		tool_disasm(ctx, ctx->host_cs, b->host + hoff, hend - hoff, b->host_addr + hoff,
			    TOOL_HOST_INDENT, TOOL_HOST_DIGITS);
	}
}

/* ---- commands ---------------------------------------------------------------------------- */

static void tool_print_incomplete(bool complete)
{
	if (!complete)
		printf("(incomplete trace: the totals cover the records before the error)\n");
}

static void tool_blocks_record(struct tool_ctx *ctx, const struct trc_record *rec)
{
	if (rec->type == TRC_REC_BLOCK)
		tool_block_print(ctx, rec);
}

static void tool_blocks_finish(struct tool_ctx *ctx, bool complete)
{
	printf("\n");
	tool_print_incomplete(complete);
	tool_print_callouts(ctx);
	tool_print_counters(ctx);
}

static void tool_summary_finish(struct tool_ctx *ctx, bool complete)
{
	const struct trc_header *h = trc_reader_header(ctx->reader);
	const struct tool_totals *t = &ctx->totals;
	time_t start = (time_t)(h->start_realtime_ns / 1000000000u);
	char when[64];
	struct tm tm;

	if (gmtime_r(&start, &tm) == NULL || strftime(when, sizeof(when), "%F %T UTC", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	tool_print_incomplete(complete);
	printf("trace:       %s (format version %u)\n", ctx->path, h->version);
	printf("guest:       %s\n", h->guest_description);
	printf("host:        %s\n", h->host);
	printf("started:     %s\n", when);
	printf("duration:    %" PRIu64 ".%09" PRIu64 " s\n", t->last_time_ns / 1000000000u,
	       t->last_time_ns % 1000000000u);
	printf("records:     %" PRIu64 " (%" PRIu64 " of unknown types, %" PRIu64
	       " dropped by the writer)\n",
	       t->records, t->unknown_records, t->dropped);
	printf("blocks:      %" PRIu64 "\n", t->blocks);
	printf("guest insns: %" PRIu64 "\n", t->guest_insns);
	printf("guest bytes: %" PRIu64 "\n", t->guest_bytes);
	printf("host bytes:  %" PRIu64 "\n", t->host_bytes);
	tool_print_callouts(ctx);
	printf("events: %" PRIu64 "\n", t->events);
	for (uint32_t kind = 0; kind < TOOL_EVENT_KINDS; kind++) {
		const char *name = trc_event_kind_name((uint16_t)kind);

		if (t->events_by_kind[kind] == 0)
			continue;
		if (name != NULL)
			printf("  %-31s %" PRIu64 "\n", name, t->events_by_kind[kind]);
		else
			printf("  kind %-26" PRIu32 " %" PRIu64 "\n", kind,
			       t->events_by_kind[kind]);
	}
	tool_print_counters(ctx);
}

static const struct tool_command tool_commands[] = {
    {"blocks", true, tool_blocks_record, tool_blocks_finish},
    {"summary", false, NULL, tool_summary_finish},
};

/* ---- main -------------------------------------------------------------------------------- */

static void tool_usage(FILE *out)
{
	fprintf(out,
		"usage: bt86-trace [blocks] FILE   list translated blocks, guest and host code\n"
		"       bt86-trace summary FILE    totals per kind of record\n");
}

static int tool_disasm_open(struct tool_ctx *ctx)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_32, &ctx->guest_cs) != CS_ERR_OK)
		return -1;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &ctx->host_cs) != CS_ERR_OK)
		return -1;
	ctx->insn = cs_malloc(ctx->guest_cs);
	return ctx->insn != NULL ? 0 : -1;
}

static void tool_ctx_free(struct tool_ctx *ctx)
{
	if (ctx->insn != NULL)
		cs_free(ctx->insn, 1);
	if (ctx->guest_cs != 0)
		cs_close(&ctx->guest_cs);
	if (ctx->host_cs != 0)
		cs_close(&ctx->host_cs);
	for (size_t i = 0; i < ctx->totals.n_counters; i++)
		free(ctx->totals.counters[i].name);
	free(ctx->totals.counters);
	free(ctx->totals.callouts_by_kind);
	free(ctx->totals.events_by_kind);
	trc_reader_close(ctx->reader);
}

static int tool_run(const struct tool_command *cmd, const char *path)
{
	struct tool_ctx ctx = {.path = path};
	struct trc_record rec;
	char err[256];
	int rc, status = 0;

	ctx.totals.callouts_by_kind = calloc(TOOL_KINDS, sizeof(uint64_t));
	ctx.totals.events_by_kind = calloc(TOOL_EVENT_KINDS, sizeof(uint64_t));
	if (ctx.totals.callouts_by_kind == NULL || ctx.totals.events_by_kind == NULL) {
		fprintf(stderr, "bt86-trace: out of memory\n");
		tool_ctx_free(&ctx);
		return TOOL_EXIT_FAILURE;
	}
	if (cmd->needs_disasm && tool_disasm_open(&ctx) < 0) {
		fprintf(stderr, "bt86-trace: cannot set up Capstone\n");
		tool_ctx_free(&ctx);
		return TOOL_EXIT_FAILURE;
	}
	rc = trc_reader_open(path, &ctx.reader, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "bt86-trace: %s: %s\n", path, err);
		tool_ctx_free(&ctx);
		return TOOL_EXIT_BAD_INPUT;
	}

	while ((rc = trc_reader_next(ctx.reader, &rec)) > 0) {
		if (tool_totals_add(&ctx, &rec) < 0) {
			fprintf(stderr, "bt86-trace: out of memory\n");
			tool_ctx_free(&ctx);
			return TOOL_EXIT_FAILURE;
		}
		if (cmd->on_record != NULL)
			cmd->on_record(&ctx, &rec);
	}
	cmd->on_finish(&ctx, rc == 0);
	fflush(stdout);
	if (rc < 0) {
		fprintf(stderr, "bt86-trace: %s: %s\n", path, trc_reader_error(ctx.reader));
		status = TOOL_EXIT_BAD_INPUT;
	}
	tool_ctx_free(&ctx);
	return status;
}

int main(int argc, char **argv)
{
	const struct tool_command *cmd = &tool_commands[0];

	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		tool_usage(stdout);
		return 0;
	}
	if (argc == 2)
		return tool_run(cmd, argv[1]);
	if (argc == 3) {
		for (size_t i = 0; i < sizeof(tool_commands) / sizeof(tool_commands[0]); i++)
			if (strcmp(argv[1], tool_commands[i].name) == 0)
				return tool_run(&tool_commands[i], argv[2]);
		fprintf(stderr, "bt86-trace: unknown command '%s'\n", argv[1]);
	}
	tool_usage(stderr);
	return TOOL_EXIT_BAD_INPUT;
}
