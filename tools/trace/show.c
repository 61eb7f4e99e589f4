/* show.c — the commands that disassemble: show (one block, guest and host side by side, with
 * the reason for every instruction that was not copied) and blocks --disasm (every block).
 *
 * Both read the file twice: once into memory for the callouts (to name the callout behind an
 * exit stub) and the counters, then again for the code bytes of the blocks they print.
 * The reason an instruction was not copied is read off its host code and the callouts recorded
 * at its eip: `movabs r14, imm; jmp [r15 + 0x48]` is an exit stub (a callout when CALLOUT
 * records name that eip, otherwise a branch exit), `jmp [r15 + 0x50]` the indirect-branch
 * lookup, a gs: operand a memory access through the GS window; stack and string instructions
 * are named from the guest side.
 */
#include <capstone/capstone.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tools/trace/tool.h"

#define TOOL_BYTES_COLUMN 32 /* width of the instruction bytes column (listing) */
#define TOOL_GUEST_INDENT "  "
#define TOOL_HOST_INDENT  "        "
#define TOOL_GUEST_DIGITS 8
#define TOOL_HOST_DIGITS  12
#define TOOL_MAX_HOST	  64 /* host instructions kept per guest instruction for show */
#define TOOL_TEXT	  96

struct tool_disasm {
	csh guest_cs; /* 32-bit guest code */
	csh host_cs;  /* 64-bit host code */
	cs_insn *insn;
};

static int tool_disasm_open(struct tool_disasm *d)
{
	memset(d, 0, sizeof(*d));
	if (cs_open(CS_ARCH_X86, CS_MODE_32, &d->guest_cs) != CS_ERR_OK)
		return -1;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &d->host_cs) != CS_ERR_OK)
		return -1;
	d->insn = cs_malloc(d->guest_cs);
	return d->insn != NULL ? 0 : -1;
}

static void tool_disasm_close(struct tool_disasm *d)
{
	if (d->insn != NULL)
		cs_free(d->insn, 1);
	if (d->guest_cs != 0)
		cs_close(&d->guest_cs);
	if (d->host_cs != 0)
		cs_close(&d->host_cs);
}

/* One decoded instruction as text; a byte Capstone cannot decode becomes "(bad)", length 1. */
struct tool_text {
	uint64_t addr;
	uint32_t len;
	uint8_t bytes[16];
	char mnemonic[32];
	char operands[160];
};

static bool tool_decode(const struct tool_disasm *d, csh cs, const uint8_t **code, size_t *len,
			uint64_t *addr, struct tool_text *out)
{
	if (*len == 0)
		return false;
	memset(out, 0, sizeof(*out));
	if (cs_disasm_iter(cs, code, len, addr, d->insn)) {
		out->addr = d->insn->address;
		out->len = d->insn->size;
		memcpy(out->bytes, d->insn->bytes, out->len < 16 ? out->len : 16);
		snprintf(out->mnemonic, sizeof(out->mnemonic), "%s", d->insn->mnemonic);
		snprintf(out->operands, sizeof(out->operands), "%s", d->insn->op_str);
		return true;
	}
	out->addr = *addr;
	out->len = 1;
	out->bytes[0] = **code;
	snprintf(out->mnemonic, sizeof(out->mnemonic), "(bad)");
	(*code)++;
	(*len)--;
	(*addr)++;
	return true;
}

/* ---- the full listing (blocks --disasm) -------------------------------------------------- */

static void tool_print_insn(const char *indent, int addr_digits, const struct tool_text *x)
{
	int col = 0;

	printf("%s%0*" PRIx64 ": ", indent, addr_digits, x->addr);
	for (size_t i = 0; i < x->len && i < 16; i++)
		col += printf("%02x ", x->bytes[i]);
	printf("%*s%s%s%s\n", col < TOOL_BYTES_COLUMN ? TOOL_BYTES_COLUMN - col : 0, "",
	       x->mnemonic, x->operands[0] ? " " : "", x->operands);
}

static void tool_listing(const struct tool_disasm *d, csh cs, const uint8_t *code, size_t len,
			 uint64_t addr, const char *indent, int addr_digits)
{
	struct tool_text x;

	while (tool_decode(d, cs, &code, &len, &addr, &x))
		tool_print_insn(indent, addr_digits, &x);
}

static void tool_block_listing(const struct tool_disasm *d, const struct tool_opts *o,
			       const struct tool_trace *t, const struct trc_record *rec,
			       uint64_t index)
{
	const struct trc_rec_block *b = &rec->block;
	const char *problem;
	uint32_t eip, hoff;
	char sym[256];

	tool_sym_format(&o->symtab, b->guest_eip, sym, sizeof(sym));
	printf("\nblock %" PRIu64 " at %" PRIu64 ".%09" PRIu64 " s: eip 0x%08" PRIx32
	       "%s%s phys 0x%08" PRIx32 ", %" PRIu32 " guest bytes, %" PRIu32
	       " insns -> host 0x%012" PRIx64 ", %" PRIu32 " bytes",
	       index, rec->time_ns / TOOL_NS, rec->time_ns % TOOL_NS, b->guest_eip,
	       sym[0] ? " " : "", sym, b->guest_phys, b->guest_len, b->n_insns, b->host_addr,
	       b->host_len);
	if (t->has_counts && index < t->n_blocks)
		printf(", executed %" PRIu64 " times", t->blocks[index].exec);
	printf("\n");

	problem = tool_map_problem(b);
	if (problem != NULL) {
		printf("  (instruction map not usable: %s; guest and host shown apart)\n", problem);
		tool_listing(d, d->guest_cs, b->guest, b->guest_len, b->guest_eip,
			     TOOL_GUEST_INDENT, TOOL_GUEST_DIGITS);
		tool_listing(d, d->host_cs, b->host, b->host_len, b->host_addr, TOOL_HOST_INDENT,
			     TOOL_HOST_DIGITS);
		return;
	}
	trc_rec_block_insn_get(b, 0, &eip, &hoff);
	if (hoff > 0) {
		printf("  (block entry)\n");
		tool_listing(d, d->host_cs, b->host, hoff, b->host_addr, TOOL_HOST_INDENT,
			     TOOL_HOST_DIGITS);
	}
	for (uint32_t i = 0; i < b->n_insns; i++) {
		uint32_t goff, gend = b->guest_len, hend = b->host_len, next_eip;

		trc_rec_block_insn_get(b, i, &eip, &hoff);
		goff = eip - b->guest_eip;
		if (i + 1 < b->n_insns) {
			trc_rec_block_insn_get(b, i + 1, &next_eip, &hend);
			gend = next_eip - b->guest_eip;
		}
		tool_listing(d, d->guest_cs, b->guest + goff, gend - goff, eip, TOOL_GUEST_INDENT,
			     TOOL_GUEST_DIGITS);
		tool_listing(d, d->host_cs, b->host + hoff, hend - hoff, b->host_addr + hoff,
			     TOOL_HOST_INDENT, TOOL_HOST_DIGITS);
	}
}

/* Call fn for every BLOCK record of path; returns 0, or -1 after printing the reader's error
 * (which tool_finish() reports too, from the first pass, so it is not printed twice). */
static int tool_each_block(const char *path,
			   void (*fn)(const struct trc_record *rec, uint64_t index, void *arg),
			   void *arg)
{
	struct trc_reader *reader;
	struct trc_record rec;
	uint64_t index = 0;
	char err[256];
	int rc;

	if (trc_reader_open(path, &reader, err, sizeof(err)) < 0)
		return -1;
	while ((rc = trc_reader_next(reader, &rec)) > 0)
		if (rec.type == TRC_REC_BLOCK)
			fn(&rec, index++, arg);
	trc_reader_close(reader);
	return rc < 0 ? -1 : 0;
}

struct tool_listing_arg {
	const struct tool_disasm *d;
	const struct tool_opts *o;
	const struct tool_trace *t;
};

static void tool_listing_one(const struct trc_record *rec, uint64_t index, void *arg)
{
	const struct tool_listing_arg *la = arg;

	tool_block_listing(la->d, la->o, la->t, rec, index);
}

int tool_blocks_disasm(struct tool_opts *o, const char *path)
{
	struct tool_disasm d;
	struct tool_trace t;
	struct tool_listing_arg la = {&d, o, &t};
	int status;

	if (tool_disasm_open(&d) < 0) {
		tool_disasm_close(&d);
		return tool_bad("cannot set up Capstone");
	}
	if (!tool_load_or_complain(&t, path)) {
		tool_disasm_close(&d);
		return TOOL_EXIT_BAD_INPUT;
	}
	tool_each_block(path, tool_listing_one, &la);
	printf("\n");
	if (!t.complete)
		printf("(incomplete trace: the totals cover the records before the error)\n");
	printf("callouts: %zu\n", t.n_callouts);
	for (uint32_t kind = 0; kind < TOOL_KINDS; kind++) {
		const char *name = tool_trace_kind_name(&t, (uint16_t)kind);

		if (t.callouts_by_kind[kind] != 0)
			printf("  %-24s kind %-5" PRIu32 " %" PRIu64 "\n",
			       name ? name : "(unnamed)", kind, t.callouts_by_kind[kind]);
	}
	printf("counters: %zu\n", t.n_counters);
	for (size_t i = 0; i < t.n_counters; i++)
		printf("  %-31s %" PRIu64 "\n", t.counters[i].name, t.counters[i].value);
	tool_disasm_close(&d);
	status = tool_finish(&t);
	tool_trace_free(&t);
	return status;
}

/* ---- show -------------------------------------------------------------------------------- */

struct tool_show {
	const struct tool_opts *o;
	const struct tool_trace *t;
	struct tool_disasm d;
	uint32_t addr;
	bool containing; /* match blocks containing addr, not only starting there */
	size_t shown;
};

static bool tool_mnemonic_is(const char *m, const char *const *list)
{
	/* Compare the last word: "rep stosb" is a stosb. */
	const char *last = strrchr(m, ' ');

	last = last ? last + 1 : m;
	for (size_t i = 0; list[i] != NULL; i++)
		if (strncmp(last, list[i], strlen(list[i])) == 0)
			return true;
	return false;
}

static const char *const tool_string_ops[] = {"movs", "stos", "lods", "cmps",
					      "scas", "ins",  "outs", NULL};
static const char *const tool_stack_ops[] = {"push",  "pop",   "call", "ret",
					     "enter", "leave", "iret", NULL};
static const char *const tool_control_ops[] = {"j", "call", "ret", "loop", "iret", "int", NULL};

/* Why guest instruction g became hosts[0..nh) instead of a copy; "" for a copy. */
static void tool_reason(const struct tool_show *s, const struct tool_text *g,
			const struct tool_text *hosts, size_t nh, const uint8_t *host_bytes,
			size_t host_len, char *out, size_t out_len)
{
	bool exit_stub = false, lookup = false, gs = false;
	size_t used = 0;
	uint64_t calls = 0;
	int kind = -1;

	out[0] = '\0';
	if (host_len == g->len && memcmp(host_bytes, g->bytes, g->len < 16 ? g->len : 16) == 0)
		return;
	for (size_t i = 0; i < nh; i++) {
		if (strcmp(hosts[i].mnemonic, "jmp") == 0 &&
		    strcmp(hosts[i].operands, "qword ptr [r15 + 0x48]") == 0 && i > 0 &&
		    strcmp(hosts[i - 1].mnemonic, "movabs") == 0 &&
		    strncmp(hosts[i - 1].operands, "r14,", 4) == 0)
			exit_stub = true;
		if (strcmp(hosts[i].mnemonic, "jmp") == 0 &&
		    strcmp(hosts[i].operands, "qword ptr [r15 + 0x50]") == 0)
			lookup = true;
		if (strstr(hosts[i].operands, "gs:") != NULL)
			gs = true;
	}
	for (size_t i = 0; i < s->t->n_callouts; i++) {
		if (s->t->callouts[i].eip == (uint32_t)g->addr) {
			kind = s->t->callouts[i].kind;
			calls++;
		}
	}

#define TOOL_ADD(...)                                                                              \
	do {                                                                                       \
		if (used < out_len)                                                                \
			used +=                                                                    \
			    (size_t)snprintf(out + used, out_len - used, "%s", used ? "; " : "");  \
		if (used < out_len)                                                                \
			used += (size_t)snprintf(out + used, out_len - used, __VA_ARGS__);         \
	} while (0)

	if (kind >= 0) {
		const char *name = tool_trace_kind_name(s->t, (uint16_t)kind);

		TOOL_ADD("callout %s (kind %d, %" PRIu64 " calls)", name ? name : "(unnamed)", kind,
			 calls);
	}
	if (exit_stub && kind < 0)
		TOOL_ADD(tool_mnemonic_is(g->mnemonic, tool_control_ops)
			     ? "branch exit (exit stub, chained by the runtime)"
			     : "exit stub to the runtime");
	if (lookup)
		TOOL_ADD("indirect branch: target lookup");
	if (tool_mnemonic_is(g->mnemonic, tool_string_ops))
		TOOL_ADD("string rewrite (addresses through the GS window)");
	else if (tool_mnemonic_is(g->mnemonic, tool_stack_ops) && gs)
		TOOL_ADD("stack rewrite (esp through the GS window)");
	else if (gs)
		TOOL_ADD("memory operand rewritten (GS window)");
	if (used == 0)
		TOOL_ADD(tool_mnemonic_is(g->mnemonic, tool_control_ops) ? "control transfer"
									 : "rewritten");
#undef TOOL_ADD
}

static void tool_show_pair(const char *left, const struct tool_text *h, uint64_t base)
{
	char bytes[48] = "";
	size_t used = 0;

	printf("  %-58s", left);
	if (h == NULL) {
		printf("|\n");
		return;
	}
	for (uint32_t i = 0; i < h->len && i < 16 && used + 4 < sizeof(bytes); i++)
		used += (size_t)snprintf(bytes + used, sizeof(bytes) - used, "%02x", h->bytes[i]);
	printf("| %012" PRIx64 " +%04" PRIx64 " %-22s %s%s%s\n", h->addr, h->addr - base, bytes,
	       h->mnemonic, h->operands[0] ? " " : "", h->operands);
}

/* Print one guest instruction (or the block entry when g is NULL) with its host code. */
static void tool_show_insn(struct tool_show *s, const struct tool_text *g, const uint8_t *host,
			   size_t host_len, uint64_t host_addr, uint64_t base)
{
	struct tool_text *hosts = calloc(TOOL_MAX_HOST, sizeof(*hosts));
	const uint8_t *code = host;
	size_t len = host_len, nh = 0;
	uint64_t addr = host_addr;
	char left[TOOL_TEXT * 2], reason[256];

	if (hosts == NULL)
		return;
	while (nh < TOOL_MAX_HOST &&
	       tool_decode(&s->d, s->d.host_cs, &code, &len, &addr, &hosts[nh]))
		nh++;
	if (g == NULL) {
		snprintf(left, sizeof(left), "(block entry)");
	} else {
		char bytes[24] = "";
		size_t used = 0;

		for (uint32_t i = 0; i < g->len && i < 7; i++)
			used += (size_t)snprintf(bytes + used, sizeof(bytes) - used, "%02x",
						 g->bytes[i]);
		if (g->len > 7)
			snprintf(bytes + used, sizeof(bytes) - used, "..");
		snprintf(left, sizeof(left), "%08" PRIx64 ": %-16s %s%s%.40s", g->addr, bytes,
			 g->mnemonic, g->operands[0] ? " " : "", g->operands);
	}
	tool_show_pair(left, nh ? &hosts[0] : NULL, base);
	for (size_t i = 1; i < nh; i++)
		tool_show_pair("", &hosts[i], base);
	if (len > 0)
		tool_show_pair("", NULL, base);
	if (g != NULL) {
		tool_reason(s, g, hosts, nh, host, host_len, reason, sizeof(reason));
		if (reason[0] != '\0')
			printf("  %-58s  ^ %s\n", "", reason);
	}
	free(hosts);
}

static void tool_show_block(const struct trc_record *rec, uint64_t index, void *arg)
{
	struct tool_show *s = arg;
	const struct trc_rec_block *b = &rec->block;
	const char *problem;
	uint32_t eip, hoff;
	char addr[300];

	if (s->containing ? s->addr - b->guest_eip >= b->guest_len : b->guest_eip != s->addr)
		return;
	s->shown++;
	printf("\ntranslation %zu: block %" PRIu64 " at %" PRIu64 ".%09" PRIu64
	       " s: eip %s, phys 0x%08" PRIx32 ", %" PRIu32 " guest bytes, %" PRIu32
	       " insns -> host 0x%012" PRIx64 ", %" PRIu32 " bytes\n",
	       s->shown, index, rec->time_ns / TOOL_NS, rec->time_ns % TOOL_NS,
	       tool_addr_format(s->o, b->guest_eip, addr, sizeof(addr)), b->guest_phys,
	       b->guest_len, b->n_insns, b->host_addr, b->host_len);
	if (!s->t->has_counts)
		printf("  executed: not recorded (bt86 run --trace FILE --trace-counts)\n");
	else if (index < s->t->n_blocks)
		printf("  executed: %" PRIu64 " times\n", s->t->blocks[index].exec);
	printf("  %-58s| %s\n", "guest (32-bit)", "host (64-bit)");

	problem = tool_map_problem(b);
	if (problem != NULL) {
		const uint8_t *code = b->guest;
		size_t len = b->guest_len;
		uint64_t a = b->guest_eip;
		struct tool_text g;

		printf("  (instruction map not usable: %s; guest and host shown apart)\n", problem);
		while (tool_decode(&s->d, s->d.guest_cs, &code, &len, &a, &g))
			printf("  %08" PRIx64 ": %s %s\n", g.addr, g.mnemonic, g.operands);
		tool_listing(&s->d, s->d.host_cs, b->host, b->host_len, b->host_addr,
			     TOOL_HOST_INDENT, TOOL_HOST_DIGITS);
		return;
	}
	trc_rec_block_insn_get(b, 0, &eip, &hoff);
	if (hoff > 0)
		tool_show_insn(s, NULL, b->host, hoff, b->host_addr, b->host_addr);
	for (uint32_t i = 0; i < b->n_insns; i++) {
		uint32_t goff, gend = b->guest_len, hend = b->host_len, next_eip;
		const uint8_t *code;
		size_t len;
		uint64_t a;
		struct tool_text g;

		trc_rec_block_insn_get(b, i, &eip, &hoff);
		goff = eip - b->guest_eip;
		if (i + 1 < b->n_insns) {
			trc_rec_block_insn_get(b, i + 1, &next_eip, &hend);
			gend = next_eip - b->guest_eip;
		}
		/* The map gives one instruction per entry; decode its bytes as one. */
		code = b->guest + goff;
		len = gend - goff;
		a = eip;
		tool_decode(&s->d, s->d.guest_cs, &code, &len, &a, &g);
		if (len > 0)
			snprintf(g.operands + strlen(g.operands),
				 sizeof(g.operands) - strlen(g.operands), " (+%zu bytes)", len);
		tool_show_insn(s, &g, b->host + hoff, hend - hoff, b->host_addr + hoff,
			       b->host_addr);
	}
}

/* ADDR is a symbol (with --symbols) or a hex address, 0x optional. */
static bool tool_show_parse_addr(const struct tool_opts *o, const char *s, uint32_t *addr)
{
	uint64_t a;
	char *end;

	if (tool_sym_lookup(&o->symtab, s, &a)) {
		*addr = (uint32_t)a;
		return true;
	}
	a = strtoull(s, &end, 16);
	if (end == s || *end != '\0' || a > UINT32_MAX)
		return false;
	*addr = (uint32_t)a;
	return true;
}

int tool_cmd_show(struct tool_opts *o)
{
	struct tool_show s = {.o = o};
	struct tool_trace t;
	bool found = false;
	uint64_t exec = 0;
	int status;

	if (o->argc != 2)
		return tool_bad("usage: bt86-trace show FILE ADDR|SYMBOL");
	if (!tool_show_parse_addr(o, o->argv[1], &s.addr))
		return tool_bad("show: '%s' is neither a hex address nor a known symbol%s",
				o->argv[1], o->symtab.n ? "" : " (no --symbols given)");
	if (!tool_load_or_complain(&t, o->argv[0]))
		return TOOL_EXIT_BAD_INPUT;
	for (size_t i = 0; i < t.n_blocks && !found; i++)
		found = t.blocks[i].eip == s.addr;
	for (size_t i = 0; i < t.n_blocks && !found; i++) {
		if (s.addr - t.blocks[i].eip < t.blocks[i].guest_len)
			found = s.containing = true;
	}
	if (!found) {
		tool_trace_free(&t);
		return tool_bad("%s: no block at or containing 0x%08" PRIx32, o->argv[0], s.addr);
	}
	if (tool_disasm_open(&s.d) < 0) {
		tool_disasm_close(&s.d);
		tool_trace_free(&t);
		return tool_bad("cannot set up Capstone");
	}
	s.t = &t;
	printf("block %s0x%08" PRIx32 ":\n", s.containing ? "containing " : "at ", s.addr);
	tool_each_block(o->argv[0], tool_show_block, &s);
	for (size_t i = 0; i < t.n_blocks; i++) {
		const struct tool_block *b = &t.blocks[i];

		if (s.containing ? s.addr - b->eip < b->guest_len : b->eip == s.addr)
			exec = tool_sat_add(exec, b->exec);
	}
	printf("\n%zu translation%s", s.shown, s.shown == 1 ? "" : "s");
	if (t.has_counts && s.containing)
		printf(", entered %" PRIu64 " times in all (at their starts, not at 0x%08" PRIx32
		       ")",
		       exec, s.addr);
	else if (t.has_counts)
		printf(", executed %" PRIu64 " times in all", exec);
	printf("\n");
	tool_disasm_close(&s.d);
	status = tool_finish(&t);
	tool_trace_free(&t);
	return status;
}
