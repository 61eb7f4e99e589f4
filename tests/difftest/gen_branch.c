/* The branch class: forward conditional and unconditional branches (direct and indirect),
 * jecxz and the loop instructions, bounded backward loops, and calls to local functions.
 *
 * Termination is by construction: every branch goes forward except the loop instruction at the
 * end of a loop construct, whose body cannot write ECX, so it runs at most the 1..4 times ECX
 * was set to. A call construct is `call F; jmp END; F: body; ret; END:`, so its body runs
 * exactly once and returns to the jmp. Branch targets are labels that bind a few units later;
 * their state is the merge of every path reaching them (gen.c).
 */
#include "gen_internal.h"

static const struct dt_flag_effect dt_no_flags = {0, 0};

/* Units to skip before a forward label binds (0: the branch goes to the next unit). */
static int dt_skip(struct dt_gen *g)
{
	return 1 + (int)dt_rng_below(&g->rng, 4);
}

static void dt_set_branch(struct dt_insn *in, enum dt_flow flow, enum dt_fix fix, int label)
{
	in->flow = (uint8_t)flow;
	in->fix = (uint8_t)fix;
	in->label = (int16_t)label;
	in->fix_at = (uint8_t)(in->len - (fix == DT_FIX_REL8 ? 1 : 4));
}

static bool dt_branch_jcc(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	if (g->n_pend >= DT_MAX_PENDING - 2)
		return false;
	unsigned cc = dt_rng_below(rng, 16);
	uint16_t reads = dt_cc_flags(cc);
	dt_need_flags(g, reads);
	bool short_range = dt_rng_chance(rng, 60);
	int label = dt_label_new(g);
	struct dt_insn *in = dt_emit_begin(g);
	if (dt_rng_chance(rng, 5))
		dt_b(in, dt_rng_chance(rng, 50) ? 0x2e : 0x3e); /* not-taken / taken hints */
	if (short_range) {
		dt_b(in, (uint8_t)(0x70 + cc));
		dt_b(in, 0);
	} else {
		dt_b(in, 0x0f);
		dt_b(in, (uint8_t)(0x80 + cc));
		dt_d(in, 0);
	}
	dt_set_branch(in, DT_FLOW_COND, short_range ? DT_FIX_REL8 : DT_FIX_REL32, label);
	dt_emit_end(g, in, reads, dt_no_flags, 0);
	dt_branch_pending(g, label, dt_skip(g), short_range);
	return true;
}

static bool dt_branch_jmp(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	if (g->n_pend >= DT_MAX_PENDING - 2)
		return false;
	bool short_range = dt_rng_chance(rng, 50);
	int label = dt_label_new(g);
	struct dt_insn *in = dt_emit_begin(g);
	if (short_range) {
		dt_b(in, 0xeb);
		dt_b(in, 0);
	} else {
		dt_b(in, 0xe9);
		dt_d(in, 0);
	}
	dt_set_branch(in, DT_FLOW_JUMP, short_range ? DT_FIX_REL8 : DT_FIX_REL32, label);
	dt_emit_end(g, in, 0, dt_no_flags, 0);
	dt_branch_pending(g, label, dt_skip(g), short_range);
	g->dead = true;
	return true;
}

/* jecxz/jcxz, and loop/loope/loopne used as forward branches. */
static bool dt_branch_ecx(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	if (g->n_pend >= DT_MAX_PENDING - 2)
		return false;
	unsigned kind = dt_rng_below(rng, 4); /* jecxz loop loope loopne */
	static const uint8_t ops[4] = {0xe3, 0xe2, 0xe1, 0xe0};
	bool cx = dt_rng_chance(rng, 20); /* 0x67: CX instead of ECX */
	uint8_t written = kind ? DT_REG_BIT(DT_ECX) : 0;
	if (!dt_can_write(g, written))
		return false;
	uint16_t reads = kind >= 2 ? DT_ZF : 0;
	dt_need_flags(g, reads);
	bool known = g->t.known[DT_ECX] && !g->in_loop;
	uint32_t ecx = g->t.val[DT_ECX];
	int label = dt_label_new(g);
	struct dt_insn *in = dt_emit_begin(g);
	if (cx)
		dt_b(in, 0x67);
	dt_b(in, ops[kind]);
	dt_b(in, 0);
	dt_set_branch(in, DT_FLOW_COND, DT_FIX_REL8, label);
	dt_emit_end(g, in, reads, dt_no_flags, written);
	if (kind && known)
		dt_set_reg(g, DT_ECX, cx ? (ecx & 0xffff0000u) | ((ecx - 1) & 0xffff) : ecx - 1);
	dt_branch_pending(g, label, dt_skip(g), true);
	return true;
}

/* mov ecx, n; L: body; loop/loope/loopne L */
static bool dt_branch_loop(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	if (g->depth >= 2 || g->in_loop || !dt_can_write(g, DT_REG_BIT(DT_ECX)))
		return false;
	unsigned kind = dt_rng_chance(rng, 60) ? 0 : 1 + dt_rng_below(rng, 2);
	static const uint8_t ops[3] = {0xe2, 0xe1, 0xe0};
	bool cx = dt_rng_chance(rng, 15);
	if (!dt_load_reg(g, DT_ECX, 1 + dt_rng_below(rng, 4)))
		return false;

	int top = dt_label_new(g);
	dt_label_bind_here(g, top);
	struct dt_track entry = g->t;
	uint8_t no_write = g->no_write;
	bool stack_free = g->stack_free;
	g->in_loop = true;
	g->stack_free = false;
	g->no_write |= DT_REG_BIT(DT_ECX);
	g->t.known[DT_ECX] = false; /* it counts down from one iteration to the next */
	uint32_t start = g->bytes;

	dt_gen_body(g, 1 + (int)dt_rng_below(rng, 3), 100);
	/* The next iteration starts from here: no flag may be less defined than at the top. */
	uint16_t reads = kind ? DT_ZF : 0;
	dt_need_flags(g, (uint16_t)((g->t.undef & ~entry.undef) | reads));

	g->in_loop = false;
	g->stack_free = stack_free;
	g->no_write = no_write;
	struct dt_insn *in = dt_emit_begin(g);
	if (cx)
		dt_b(in, 0x67);
	dt_b(in, ops[kind]);
	dt_b(in, 0);
	dt_set_branch(in, DT_FLOW_COND, DT_FIX_REL8, top);
	dt_emit_end(g, in, reads, dt_no_flags, DT_REG_BIT(DT_ECX));
	if (g->bytes - start > 128)
		return false;
	if (kind == 0 && !cx)
		dt_set_reg(g, DT_ECX, 0);
	if (!(g->t.df_known && entry.df_known && g->t.df == entry.df))
		g->t.df_known = false;
	return true;
}

/* Load the absolute address of label into a register (mov r, imm32 patched). */
static struct dt_insn *dt_mov_label(struct dt_gen *g, int reg, int label)
{
	struct dt_insn *in = dt_emit_begin(g);
	dt_b(in, (uint8_t)(0xb8 + reg));
	dt_d(in, 0);
	dt_set_branch(in, DT_FLOW_NEXT, DT_FIX_ABS32, label);
	in->pinned = true;
	dt_emit_end(g, in, 0, dt_no_flags, DT_REG_BIT(reg));
	return in;
}

/* Store the absolute address of label into memory (mov dword [m], imm32 patched). */
static void dt_store_label(struct dt_gen *g, const struct dt_rm *rm, int label)
{
	struct dt_insn *in = dt_emit_begin(g);
	dt_prefix_rm(in, rm);
	dt_b(in, 0xc7);
	dt_modrm(in, 0, rm);
	dt_d(in, 0);
	dt_set_branch(in, DT_FLOW_NEXT, DT_FIX_ABS32, label);
	in->pinned = true;
	dt_emit_end(g, in, 0, dt_no_flags, 0);
}

/* The transfer itself, to label: E8/E9 direct, FF /2 or /4 through a register or memory. */
static bool dt_transfer(struct dt_gen *g, bool call, int label)
{
	struct dt_rng *rng = &g->rng;
	struct dt_insn *in;
	unsigned how = dt_rng_below(rng, 10);
	if (how >= 5 && how < 8) {
		int r = dt_pick_dst(g, 32);
		if (r < 0)
			return false;
		dt_mov_label(g, r, label);
		in = dt_emit_begin(g);
		dt_b(in, 0xff);
		dt_b(in, (uint8_t)((call ? 0xd0 : 0xe0) | (unsigned)r));
		in->flow = DT_FLOW_JUMP;
		in->label = (int16_t)label;
	} else if (how >= 8) {
		struct dt_rm rm = {.is_mem = true};
		if (!dt_gen_mem(g, 4, 1, DT_MEM_WRITE | DT_MEM_NO_STACK, &rm.m))
			return false;
		dt_store_label(g, &rm, label);
		in = dt_emit_begin(g);
		dt_prefix_rm(in, &rm);
		dt_b(in, 0xff);
		dt_modrm(in, call ? 2 : 4, &rm);
		in->flow = DT_FLOW_JUMP;
		in->label = (int16_t)label;
	} else {
		in = dt_emit_begin(g);
		dt_b(in, call ? 0xe8 : 0xe9);
		dt_d(in, 0);
		dt_set_branch(in, DT_FLOW_JUMP, DT_FIX_REL32, label);
	}
	dt_emit_end(g, in, 0, dt_no_flags, 0);
	return true;
}

/* [push args] call F; R: jmp END; F: body; ret [n]; END: */
static bool dt_branch_call(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	if (g->depth >= 2 || g->n_prot >= DT_MAX_PROT)
		return false;
	unsigned args = dt_rng_chance(rng, 25) ? 1 + dt_rng_below(rng, 3) : 0;
	if (g->t.val[DT_ESP] - 4 * (args + 1) < DT_STACK_BASE + 0x80)
		return false;
	for (unsigned i = 0; i < args; i++) {
		struct dt_insn *in = dt_emit_begin(g);
		if (dt_rng_chance(rng, 50)) {
			dt_b(in, 0x6a);
			dt_b(in, (uint8_t)dt_rng_next(rng));
		} else {
			dt_b(in, 0x68);
			dt_d(in, (uint32_t)dt_rng_next(rng));
		}
		in->pinned = true;
		dt_emit_end(g, in, 0, dt_no_flags, 0);
		dt_set_reg(g, DT_ESP, g->t.val[DT_ESP] - 4);
	}
	int f = dt_label_new(g), r = dt_label_new(g), end = dt_label_new(g);
	if (!dt_transfer(g, true, f))
		return false;
	dt_set_reg(g, DT_ESP, g->t.val[DT_ESP] - 4);
	g->prot_lo[g->n_prot] = g->t.val[DT_ESP];
	g->prot_hi[g->n_prot] = g->t.val[DT_ESP] + 4;
	g->n_prot++;

	dt_label_bind_here(g, r);
	struct dt_insn *in = dt_emit_begin(g);
	dt_b(in, 0xe9);
	dt_d(in, 0);
	dt_set_branch(in, DT_FLOW_JUMP, DT_FIX_REL32, end);
	in->pinned = true;
	dt_emit_end(g, in, 0, dt_no_flags, 0);

	dt_label_bind_here(g, f);
	bool stack_free = g->stack_free;
	g->stack_free = false;
	dt_gen_body(g, 1 + (int)dt_rng_below(rng, 3), 0);
	g->stack_free = stack_free;

	in = dt_emit_begin(g);
	if (args) {
		dt_b(in, 0xc2);
		dt_w(in, (uint16_t)(4 * args));
	} else {
		dt_b(in, 0xc3);
	}
	in->flow = DT_FLOW_JUMP;
	in->label = (int16_t)r;
	in->pinned = true;
	dt_emit_end(g, in, 0, dt_no_flags, 0);
	dt_set_reg(g, DT_ESP, g->t.val[DT_ESP] + 4 + 4 * args);
	g->n_prot--;
	dt_label_bind_here(g, end);
	return true;
}

/* call $+5; pop reg: the classic way to read EIP. */
static bool dt_branch_get_eip(struct dt_gen *g)
{
	int reg = dt_pick_dst(g, 32);
	if (reg < 0 || g->t.val[DT_ESP] - 8 < DT_STACK_BASE + 0x60)
		return false;
	int next = dt_label_new(g);
	struct dt_insn *in = dt_emit_begin(g);
	dt_b(in, 0xe8);
	dt_d(in, 0);
	dt_set_branch(in, DT_FLOW_JUMP, DT_FIX_REL32, next);
	dt_emit_end(g, in, 0, dt_no_flags, 0);
	dt_set_reg(g, DT_ESP, g->t.val[DT_ESP] - 4);
	dt_label_bind_here(g, next);
	in = dt_emit_begin(g);
	dt_b(in, (uint8_t)(0x58 + reg));
	in->pinned = true;
	dt_emit_end(g, in, 0, dt_no_flags, DT_REG_BIT(reg));
	dt_set_reg(g, DT_ESP, g->t.val[DT_ESP] + 4);
	return true;
}

/* An indirect forward jump: through a register, memory, or push + ret. */
static bool dt_branch_indirect(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	if (g->n_pend >= DT_MAX_PENDING - 2)
		return false;
	int label = dt_label_new(g);
	if (dt_rng_chance(rng, 25)) {
		if (g->t.val[DT_ESP] - 8 < DT_STACK_BASE + 0x60)
			return false;
		struct dt_insn *in = dt_emit_begin(g);
		dt_b(in, 0x68);
		dt_d(in, 0);
		dt_set_branch(in, DT_FLOW_NEXT, DT_FIX_ABS32, label);
		in->pinned = true;
		dt_emit_end(g, in, 0, dt_no_flags, 0);
		in = dt_emit_begin(g);
		dt_b(in, 0xc3);
		in->flow = DT_FLOW_JUMP;
		in->label = (int16_t)label;
		dt_emit_end(g, in, 0, dt_no_flags, 0);
	} else {
		/* Not the direct E9 form here: dt_transfer picks it 50% of the time otherwise. */
		if (!dt_transfer(g, false, label))
			return false;
	}
	dt_branch_pending(g, label, dt_skip(g), false);
	g->dead = true;
	return true;
}

bool dt_gen_branch(struct dt_gen *g)
{
	unsigned r = dt_rng_below(&g->rng, 100);
	if (r < 30)
		return dt_branch_jcc(g);
	if (r < 38)
		return dt_branch_jmp(g);
	if (r < 48)
		return dt_branch_ecx(g);
	if (r < 64)
		return dt_branch_loop(g);
	if (r < 82)
		return dt_branch_call(g);
	if (r < 88)
		return dt_branch_get_eip(g);
	return dt_branch_indirect(g);
}
