/* The stack and string classes.
 *
 * ESP is always known to the generator and stays inside the stack area with a margin. A push
 * or pop on its own changes ESP, so it is only generated where no forward branch is pending
 * and outside construct bodies (where two paths, or two iterations, must agree on ESP); the
 * balanced units (push imm + popf, pushf + popf, ...) go anywhere. Values written by popf
 * always keep IF=1, IOPL=0, TF=0 and AC=0: at CPL 3 those cannot change natively, and bt86
 * runs its guest at CPL 0 where they would.
 *
 * String instructions get a known direction flag, a small count and source/destination
 * pointers whose whole range lies in the data area.
 */
#include "gen_internal.h"

static const struct dt_flag_effect dt_no_flags = {0, 0};

#define DT_STACK_LOW  (DT_STACK_BASE + 0x60)
#define DT_STACK_HIGH (DT_STACK_BASE + DT_STACK_SIZE - 0x20)

static uint32_t dt_esp(const struct dt_gen *g)
{
	return g->t.val[DT_ESP];
}

/* May a standalone push/pop of delta bytes (negative: push) happen here? */
static bool dt_stack_move_ok(const struct dt_gen *g, int32_t delta)
{
	if (!g->stack_free || g->n_pend > 0)
		return false;
	uint32_t esp = dt_esp(g) + (uint32_t)delta;
	return esp >= DT_STACK_LOW && esp <= DT_STACK_HIGH;
}

/* Room for a balanced unit that pushes up to bytes. */
static bool dt_stack_room(const struct dt_gen *g, uint32_t bytes)
{
	return dt_esp(g) - bytes >= DT_STACK_LOW;
}

static void dt_move_esp(struct dt_gen *g, int32_t delta)
{
	dt_set_reg(g, DT_ESP, dt_esp(g) + (uint32_t)delta);
}

/* A random EFLAGS image for popf: the arithmetic flags and DF, rarely NT or ID. */
static uint32_t dt_random_eflags(struct dt_gen *g, bool wide)
{
	uint32_t v = 0x202 | ((uint32_t)dt_rng_next(&g->rng) & (DT_ARITH | DT_DF));
	if (dt_rng_chance(&g->rng, 5))
		v |= DT_NT;
	if (wide && dt_rng_chance(&g->rng, 5))
		v |= DT_ID;
	return v;
}

static bool dt_stack_push(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	unsigned size = dt_rng_chance(rng, 20) ? 16 : 32;
	if (!dt_stack_move_ok(g, -(int32_t)(size / 8)))
		return false;
	struct dt_insn *in;
	switch (dt_rng_below(rng, 4)) {
	case 0: /* push reg (push esp pushes the value before the push) */
		in = dt_emit_begin(g);
		dt_osize(in, size);
		dt_b(in, (uint8_t)(0x50 + dt_pick_src(g)));
		break;
	case 1: { /* push imm8 / imm16 / imm32 */
		bool imm8 = dt_rng_chance(rng, 50);
		in = dt_emit_begin(g);
		dt_osize(in, size);
		dt_b(in, imm8 ? 0x6a : 0x68);
		if (imm8)
			dt_b(in, (uint8_t)dt_rng_next(rng));
		else if (size == 16)
			dt_w(in, (uint16_t)dt_rng_next(rng));
		else
			dt_d(in, (uint32_t)dt_rng_next(rng));
		break;
	}
	default: { /* push r/m (FF /6): an ESP base is read before the push */
		struct dt_rm rm;
		if (!dt_gen_rm(g, size, false, 70, &rm))
			return false;
		in = dt_emit_begin(g);
		dt_prefix_rm(in, &rm);
		dt_osize(in, size);
		dt_b(in, 0xff);
		dt_modrm(in, 6, &rm);
		break;
	}
	}
	dt_emit_end(g, in, 0, dt_no_flags, 0);
	dt_move_esp(g, -(int32_t)(size / 8));
	return true;
}

static bool dt_stack_pop(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	unsigned size = dt_rng_chance(rng, 20) ? 16 : 32;
	int32_t delta = (int32_t)(size / 8);
	if (!dt_stack_move_ok(g, delta))
		return false;
	struct dt_insn *in;
	if (dt_rng_chance(rng, 60)) {
		int r = dt_pick_dst(g, size);
		if (r < 0)
			return false;
		in = dt_emit_begin(g);
		dt_osize(in, size);
		dt_b(in, (uint8_t)(0x58 + r));
		dt_emit_end(g, in, 0, dt_no_flags, DT_REG_BIT(r));
	} else {
		/* pop r/m (8F /0): an ESP base is used after the increment, so build the operand
		 * against the incremented value. */
		struct dt_rm rm;
		g->t.val[DT_ESP] += (uint32_t)delta;
		bool ok = dt_gen_rm(g, size, true, 70, &rm);
		g->t.val[DT_ESP] -= (uint32_t)delta;
		if (!ok)
			return false;
		in = dt_emit_begin(g);
		dt_prefix_rm(in, &rm);
		dt_osize(in, size);
		dt_b(in, 0x8f);
		dt_modrm(in, 0, &rm);
		dt_emit_end(g, in, 0, dt_no_flags, rm.is_mem ? 0 : DT_REG_BIT(rm.reg));
	}
	dt_move_esp(g, delta);
	return true;
}

static bool dt_stack_pusha(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	unsigned size = dt_rng_chance(rng, 25) ? 16 : 32;
	int32_t bytes = (int32_t)(size / 8 * 8);
	bool pop = dt_rng_chance(rng, 50);
	if (!dt_stack_move_ok(g, pop ? bytes : -bytes))
		return false;
	/* popa writes every register but ESP. */
	uint8_t written = pop ? (uint8_t)(0xff & ~DT_REG_BIT(DT_ESP)) : 0;
	if (!dt_can_write(g, written))
		return false;
	struct dt_insn *in = dt_emit_begin(g);
	dt_osize(in, size);
	dt_b(in, pop ? 0x61 : 0x60);
	dt_emit_end(g, in, 0, dt_no_flags, written);
	dt_move_esp(g, pop ? bytes : -bytes);
	return true;
}

static bool dt_stack_enter_leave(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	if (!dt_can_write(g, DT_REG_BIT(DT_EBP)))
		return false;
	struct dt_insn *in;
	if (dt_rng_chance(rng, 50)) {
		/* enter size, level: level > 0 copies level-1 frame pointers from [ebp-4*i]. */
		uint16_t frame = (uint16_t)(dt_rng_chance(rng, 70) ? 4 * dt_rng_below(rng, 16)
								   : dt_rng_below(rng, 64));
		uint8_t level = (uint8_t)(dt_rng_chance(rng, 70) ? 0 : 1 + dt_rng_below(rng, 3));
		uint32_t pushes = level ? level + 1u : 1u;
		int32_t delta = -(int32_t)(4 * pushes + frame);
		if (!dt_stack_move_ok(g, delta))
			return false;
		if (level > 1) {
			uint32_t ebp = g->t.val[DT_EBP];
			bool ok = g->t.known[DT_EBP] && ebp >= DT_STACK_BASE + 4 * level &&
				  ebp <= DT_STACK_BASE + DT_STACK_SIZE;
			if (!ok && !dt_load_reg(g, DT_EBP, dt_esp(g) + 4 * dt_rng_below(rng, 16)))
				return false;
		}
		uint32_t frame_temp = dt_esp(g) - 4;
		in = dt_emit_begin(g);
		dt_b(in, 0xc8);
		dt_w(in, frame);
		dt_b(in, level);
		dt_emit_end(g, in, 0, dt_no_flags, DT_REG_BIT(DT_EBP));
		dt_move_esp(g, delta);
		dt_set_reg(g, DT_EBP, frame_temp);
		return true;
	}
	/* leave: esp = ebp, then pop ebp. EBP must point at or above ESP inside the stack. */
	uint32_t ebp = g->t.val[DT_EBP];
	if (!g->t.known[DT_EBP] || ebp < dt_esp(g) || ebp > DT_STACK_HIGH - 4 || (ebp & 3)) {
		ebp = dt_esp(g) + 4 * dt_rng_below(rng, 12);
		if (!dt_load_reg(g, DT_EBP, ebp))
			return false;
	}
	if (!dt_stack_move_ok(g, (int32_t)(ebp + 4 - dt_esp(g))))
		return false;
	in = dt_emit_begin(g);
	dt_b(in, 0xc9);
	dt_emit_end(g, in, 0, dt_no_flags, DT_REG_BIT(DT_EBP));
	dt_set_reg(g, DT_ESP, ebp + 4);
	return true;
}

/* popf of a value the generator controls; sets the tracker from it. */
static void dt_popf(struct dt_gen *g, unsigned size, bool df_known, bool df)
{
	struct dt_insn *in = dt_emit_begin(g);
	dt_osize(in, size);
	dt_b(in, 0x9d);
	dt_emit_end_fk(g, in, 0, DT_FK_ALL, size, 0, 0);
	dt_move_esp(g, (int32_t)(size / 8));
	g->t.df_known = df_known;
	g->t.df = df;
}

static void dt_pushf(struct dt_gen *g, unsigned size)
{
	dt_need_flags(g, DT_ARITH);
	struct dt_insn *in = dt_emit_begin(g);
	dt_osize(in, size);
	dt_b(in, 0x9c);
	dt_emit_end(g, in, DT_ARITH, dt_no_flags, 0);
	dt_move_esp(g, -(int32_t)(size / 8));
}

/* The balanced pushf/popf units. */
static bool dt_stack_flags(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	unsigned size = dt_rng_chance(rng, 20) ? 16 : 32;
	if (!dt_stack_room(g, 8))
		return false;
	struct dt_insn *in;
	switch (dt_rng_below(rng, 4)) {
	case 0: { /* push imm; popf */
		uint32_t v = dt_random_eflags(g, size == 32);
		in = dt_emit_begin(g);
		dt_osize(in, size);
		dt_b(in, 0x68);
		if (size == 16)
			dt_w(in, (uint16_t)v);
		else
			dt_d(in, v);
		in->pinned = true;
		dt_emit_end(g, in, 0, dt_no_flags, 0);
		dt_move_esp(g, -(int32_t)(size / 8));
		dt_popf(g, size, true, v & DT_DF);
		return true;
	}
	case 1: { /* pushf; popf */
		bool df_known = g->t.df_known, df = g->t.df;
		dt_pushf(g, size);
		g->seq->insn[g->seq->n_insns - 1].pinned = true;
		dt_popf(g, size, df_known, df);
		return true;
	}
	case 2: { /* pushf; pop reg; and/or/xor reg, imm (arithmetic flags and DF); push; popf */
		int r = dt_pick_dst(g, 32);
		if (r < 0)
			return false;
		bool df_known = g->t.df_known, df = g->t.df;
		dt_pushf(g, size);
		g->seq->insn[g->seq->n_insns - 1].pinned = true;
		in = dt_emit_begin(g);
		dt_osize(in, size);
		dt_b(in, (uint8_t)(0x58 + r));
		in->pinned = true;
		dt_emit_end(g, in, 0, dt_no_flags, DT_REG_BIT(r));
		dt_move_esp(g, (int32_t)(size / 8));
		unsigned op = dt_rng_below(rng, 3); /* or and xor */
		uint32_t bits = (uint32_t)dt_rng_next(rng) & (DT_ARITH | DT_DF);
		in = dt_emit_begin(g);
		dt_b(in, 0x81);
		dt_b(in, (uint8_t)((op == 0 ? 0xc8 : op == 1 ? 0xe0 : 0xf0) | (unsigned)r));
		dt_d(in, op == 1 ? bits | ~(uint32_t)(DT_ARITH | DT_DF) : bits);
		in->pinned = true;
		dt_emit_end_fk(g, in, 0, DT_FK_LOGIC, 32, 0, DT_REG_BIT(r));
		if (op == 0 && (bits & DT_DF)) {
			df_known = true;
			df = true;
		} else if (op == 1 && !(bits & DT_DF)) {
			df_known = true;
			df = false;
		} else if (op == 2 && (bits & DT_DF)) {
			df = !df;
		}
		in = dt_emit_begin(g);
		dt_osize(in, size);
		dt_b(in, (uint8_t)(0x50 + r));
		in->pinned = true;
		dt_emit_end(g, in, 0, dt_no_flags, 0);
		dt_move_esp(g, -(int32_t)(size / 8));
		dt_popf(g, size, df_known, df);
		return true;
	}
	default: { /* pushf; pop reg */
		int r = dt_pick_dst(g, size);
		if (r < 0)
			return false;
		dt_pushf(g, size);
		g->seq->insn[g->seq->n_insns - 1].pinned = true;
		in = dt_emit_begin(g);
		dt_osize(in, size);
		dt_b(in, (uint8_t)(0x58 + r));
		dt_emit_end(g, in, 0, dt_no_flags, DT_REG_BIT(r));
		dt_move_esp(g, (int32_t)(size / 8));
		return true;
	}
	}
}

/* ESP changed the ways compilers and hand-written code change it: add/sub esp, lea, mov and
 * xchg from a register, and pop esp. */
static bool dt_stack_esp(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	int32_t delta = (int32_t)(4 * dt_rng_below(rng, 24)) - 48;
	if (dt_rng_chance(rng, 10))
		delta += (int32_t)dt_rng_below(rng, 4) - 2; /* misaligned now and then */
	if (!dt_stack_move_ok(g, delta))
		return false;
	uint32_t target = dt_esp(g) + (uint32_t)delta;
	struct dt_insn *in;
	switch (dt_rng_below(rng, 5)) {
	case 0: /* add/sub esp, imm8 */
		in = dt_emit_begin(g);
		dt_b(in, 0x83);
		if (delta >= 0) {
			dt_b(in, 0xc4);
			dt_b(in, (uint8_t)delta);
		} else {
			dt_b(in, 0xec);
			dt_b(in, (uint8_t)-delta);
		}
		dt_emit_end_fk(g, in, 0, DT_FK_ARITH, 32, 0, 0);
		break;
	case 1: /* lea esp, [esp + disp8] */
		in = dt_emit_begin(g);
		dt_b(in, 0x8d);
		dt_b(in, 0x64);
		dt_b(in, 0x24);
		dt_b(in, (uint8_t)delta);
		dt_emit_end(g, in, 0, dt_no_flags, 0);
		break;
	case 2:
	case 3: { /* mov esp, reg / xchg reg, esp, from a register holding the new value */
		int r = dt_pick_dst(g, 32);
		if (r < 0 || !dt_load_reg(g, r, target))
			return false;
		bool xchg = dt_rng_chance(rng, 40);
		uint32_t old = dt_esp(g);
		in = dt_emit_begin(g);
		dt_b(in, xchg ? 0x87 : 0x89);
		dt_b(in, (uint8_t)(0xc4 | (unsigned)r << 3));
		dt_emit_end(g, in, 0, dt_no_flags, xchg ? DT_REG_BIT(r) : 0);
		if (xchg)
			dt_set_reg(g, r, old);
		break;
	}
	default: /* push imm32; pop esp */
		if (!dt_stack_move_ok(g, -4))
			return false;
		in = dt_emit_begin(g);
		dt_b(in, 0x68);
		dt_d(in, target);
		in->pinned = true;
		dt_emit_end(g, in, 0, dt_no_flags, 0);
		in = dt_emit_begin(g);
		dt_b(in, 0x5c);
		dt_emit_end(g, in, 0, dt_no_flags, 0);
		break;
	}
	dt_set_reg(g, DT_ESP, target);
	return true;
}

bool dt_gen_stack(struct dt_gen *g)
{
	unsigned r = dt_rng_below(&g->rng, 100);
	if (r < 27)
		return dt_stack_push(g);
	if (r < 50)
		return dt_stack_pop(g);
	if (r < 59)
		return dt_stack_pusha(g);
	if (r < 70)
		return dt_stack_enter_leave(g);
	if (r < 80)
		return dt_stack_esp(g);
	return dt_stack_flags(g);
}

/* ---- string ---------------------------------------------------------------------------------- */

/* Make reg point so that n elements of size e, walked in direction df, stay in the data area.
 * Keeps a known pointer that already fits, now and then. */
static bool dt_string_ptr(struct dt_gen *g, int reg, uint32_t n, unsigned e, bool df, uint32_t near)
{
	uint32_t span = (n ? n : 1) * e;
	uint32_t lo_first = DT_DATA_BASE + (df ? span - e : 0);
	uint32_t hi_first = DT_DATA_BASE + DT_DATA_SIZE - (df ? e : span);
	uint32_t v = g->t.val[reg];
	if (g->t.known[reg] && v >= lo_first && v <= hi_first && dt_rng_chance(&g->rng, 70))
		return true;
	if (near && near >= lo_first + 32 && near + 32 <= hi_first)
		v = near - 16 + dt_rng_below(&g->rng, 33); /* overlapping source and destination */
	else
		v = lo_first + dt_rng_below(&g->rng, hi_first - lo_first + 1);
	if (dt_rng_chance(&g->rng, 60))
		v &= ~(uint32_t)(e - 1);
	if (v < lo_first)
		v += e;
	return dt_load_reg(g, reg, v);
}

bool dt_gen_string(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	if (g->in_loop)
		return false;
	unsigned op = dt_rng_below(rng, 5); /* movs cmps stos lods scas */
	static const uint8_t opcodes[5] = {0xa4, 0xa6, 0xaa, 0xac, 0xae};
	bool uses_si = op == 0 || op == 1 || op == 3;
	bool uses_di = op != 3;
	bool compares = op == 1 || op == 4;
	unsigned e = 1u << dt_rng_below(rng, 3);
	unsigned rep = dt_rng_below(rng, 3); /* none, rep/repe (F3), repne (F2) */
	if (!compares && rep == 2)
		rep = 1;
	uint32_t n = rep ? (dt_rng_chance(rng, 10) ? 0 : 1 + dt_rng_below(rng, 16)) : 1;

	uint8_t written = (uses_si ? DT_REG_BIT(DT_ESI) : 0) | (uses_di ? DT_REG_BIT(DT_EDI) : 0) |
			  (rep ? DT_REG_BIT(DT_ECX) : 0) | (op == 3 ? DT_REG_BIT(DT_EAX) : 0);
	if (!dt_can_write(g, written))
		return false;
	if (!g->t.df_known || dt_rng_chance(rng, 20)) {
		bool set = dt_rng_chance(rng, 40);
		struct dt_insn *in = dt_emit_begin(g);
		dt_b(in, set ? 0xfd : 0xfc);
		in->pinned = true;
		dt_emit_end(g, in, 0, dt_no_flags, 0);
		g->t.df_known = true;
		g->t.df = set;
	}
	bool df = g->t.df;
	if (rep && !dt_load_reg(g, DT_ECX, n))
		return false;
	if (uses_si && !dt_string_ptr(g, DT_ESI, n, e, df, 0))
		return false;
	if (uses_di && !dt_string_ptr(g, DT_EDI, n, e, df,
				      op == 0 && dt_rng_chance(rng, 30) ? g->t.val[DT_ESI] : 0))
		return false;

	struct dt_insn *in = dt_emit_begin(g);
	if (uses_si && dt_rng_chance(rng, 10)) {
		static const uint8_t segs[4] = {0x26, 0x2e, 0x36, 0x3e};
		dt_b(in, segs[dt_rng_below(rng, 4)]);
	}
	if (rep)
		dt_b(in, rep == 1 ? 0xf3 : 0xf2);
	if (e == 2)
		dt_b(in, 0x66);
	dt_b(in, (uint8_t)(opcodes[op] + (e != 1)));
	/* With a zero count nothing happens, not even to the flags. */
	struct dt_flag_effect fx =
	    compares && n ? dt_flag_effect(DT_FK_ARITH, e * 8, 0) : dt_no_flags;
	bool si_known = g->t.known[DT_ESI], di_known = g->t.known[DT_EDI];
	uint32_t si = g->t.val[DT_ESI], di = g->t.val[DT_EDI];
	dt_emit_end(g, in, 0, fx, written);
	/* Where the walk ends is known unless a comparison can stop it early. */
	uint32_t step = (uint32_t)(df ? -(int32_t)(n * e) : (int32_t)(n * e));
	if (!(compares && rep)) {
		if (uses_si && si_known)
			dt_set_reg(g, DT_ESI, si + step);
		if (uses_di && di_known)
			dt_set_reg(g, DT_EDI, di + step);
		if (rep)
			dt_set_reg(g, DT_ECX, 0);
	} else if (n == 0) {
		dt_set_reg(g, DT_ECX, 0);
		if (uses_si && si_known)
			dt_set_reg(g, DT_ESI, si);
		if (uses_di && di_known)
			dt_set_reg(g, DT_EDI, di);
	}
	return true;
}
