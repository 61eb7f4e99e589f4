/* Integer classes: alu, shift, muldiv, bit, bcd.
 *
 * Each generator picks one form at random, covering every encoding of it that 32-bit code can
 * use (the short accumulator forms, 0x82, the r/m,r and r,r/m directions, 8/16/32-bit
 * operands) and some of the rarer aliases the real CPU accepts (test F6 /1, sal /6). Counts and
 * divisors are set up so that most instructions complete and the rest fault on purpose.
 */
#include "gen_internal.h"

static const struct dt_flag_effect dt_no_flags = {0, 0};

static void dt_imm(struct dt_gen *g, struct dt_insn *in, unsigned size)
{
	if (size == 8)
		dt_b(in, (uint8_t)dt_rng_next(&g->rng));
	else if (size == 16)
		dt_w(in, (uint16_t)dt_rng_next(&g->rng));
	else
		dt_d(in, (uint32_t)dt_rng_next(&g->rng));
}

/* The GPRs written by an r/m destination (none for memory). */
static uint8_t dt_rm_written(unsigned size, const struct dt_rm *rm)
{
	return rm->is_mem ? 0 : dt_reg_bit(size, rm->reg);
}

/* 0xF0 before an instruction whose destination is memory, now and then. A lock on a register
 * destination is #UD, a fault worth testing too, rarely. */
static void dt_maybe_lock(struct dt_gen *g, struct dt_insn *in, const struct dt_rm *rm)
{
	if (rm->is_mem ? dt_rng_chance(&g->rng, 15) : dt_rng_chance(&g->rng, 1))
		dt_b(in, 0xf0);
}

/* A value for the count register of a shift that leaves a 16-bit shld/shrd defined. */
static uint32_t dt_random_count(struct dt_gen *g)
{
	unsigned r = dt_rng_below(&g->rng, 10);
	if (r < 2)
		return dt_rng_below(&g->rng, 2);
	if (r < 8)
		return dt_rng_below(&g->rng, 33);
	return (uint32_t)dt_rng_next(&g->rng);
}

/* Make sure ECX is known (for a count in CL); returns false if it may not be written. */
static bool dt_known_ecx(struct dt_gen *g, bool force)
{
	if (g->t.known[DT_ECX] && !force)
		return true;
	return dt_load_reg(g, DT_ECX, dt_random_count(g));
}

/* ---- alu ------------------------------------------------------------------------------------- */

/* op (add or adc sbb and sub xor cmp = 0..7) in one of its encodings. */
static bool dt_alu_binary(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	unsigned op = dt_rng_below(rng, 8);
	unsigned size = dt_pick_size(g);
	bool writes = op != 7;
	uint16_t reads = (op == 2 || op == 3) ? DT_CF : 0;
	enum dt_fk fk = (op == 1 || op == 4 || op == 6) ? DT_FK_LOGIC : DT_FK_ARITH;
	unsigned w = size != 8;
	dt_need_flags(g, reads);

	struct dt_rm rm;
	struct dt_insn *in;
	uint8_t written = 0;
	switch (dt_rng_below(rng, 4)) {
	case 0: { /* op r/m, reg */
		if (!dt_gen_rm(g, size, writes, 40, &rm))
			return false;
		int src = dt_pick_src(g);
		in = dt_emit_begin(g);
		if (writes)
			dt_maybe_lock(g, in, &rm);
		dt_prefix_rm(in, &rm);
		dt_osize(in, size);
		dt_b(in, (uint8_t)(op * 8 + w));
		dt_modrm(in, (unsigned)src, &rm);
		written = writes ? dt_rm_written(size, &rm) : 0;
		break;
	}
	case 1: { /* op reg, r/m */
		int dst = writes ? dt_pick_dst(g, size) : dt_pick_src(g);
		if (dst < 0 || !dt_gen_rm(g, size, false, 40, &rm))
			return false;
		in = dt_emit_begin(g);
		dt_prefix_rm(in, &rm);
		if (!rm.is_mem && dt_rng_chance(rng, 8)) {
			/* Prefixes that change nothing here: a segment override without a memory
			 * operand, a repeated operand-size prefix. */
			static const uint8_t ignored[4] = {0x26, 0x2e, 0x36, 0x3e};
			unsigned k = dt_rng_below(rng, 5);
			dt_b(in, k == 4 ? (size == 16 ? 0x66 : 0x3e) : ignored[k]);
		}
		dt_osize(in, size);
		dt_b(in, (uint8_t)(op * 8 + 2 + w));
		dt_modrm(in, (unsigned)dst, &rm);
		written = writes ? dt_reg_bit(size, (unsigned)dst) : 0;
		break;
	}
	case 2: /* op al/ax/eax, imm */
		if (writes && !dt_can_write(g, DT_REG_BIT(DT_EAX)))
			return false;
		in = dt_emit_begin(g);
		dt_osize(in, size);
		dt_b(in, (uint8_t)(op * 8 + 4 + w));
		dt_imm(g, in, size);
		written = writes ? DT_REG_BIT(DT_EAX) : 0;
		break;
	default: { /* 80 / 81 / 82 / 83 /op */
		if (!dt_gen_rm(g, size, writes, 40, &rm))
			return false;
		in = dt_emit_begin(g);
		if (writes)
			dt_maybe_lock(g, in, &rm);
		dt_prefix_rm(in, &rm);
		dt_osize(in, size);
		bool imm8 = size == 8 || dt_rng_chance(rng, 50);
		uint8_t opc = size == 8 ? (dt_rng_chance(rng, 10) ? 0x82 : 0x80)
			      : imm8	? 0x83
					: 0x81;
		dt_b(in, opc);
		dt_modrm(in, op, &rm);
		dt_imm(g, in, imm8 ? 8 : size);
		written = writes ? dt_rm_written(size, &rm) : 0;
		break;
	}
	}
	dt_emit_end_fk(g, in, reads, fk, size, 0, written);
	return true;
}

static bool dt_alu_test(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	unsigned size = dt_pick_size(g);
	unsigned w = size != 8;
	struct dt_rm rm;
	struct dt_insn *in;
	switch (dt_rng_below(rng, 3)) {
	case 0: /* test r/m, reg */
		if (!dt_gen_rm(g, size, false, 30, &rm))
			return false;
		in = dt_emit_begin(g);
		dt_prefix_rm(in, &rm);
		dt_osize(in, size);
		dt_b(in, (uint8_t)(0x84 + w));
		dt_modrm(in, (unsigned)dt_pick_src(g), &rm);
		break;
	case 1: /* test al/ax/eax, imm */
		in = dt_emit_begin(g);
		dt_osize(in, size);
		dt_b(in, (uint8_t)(0xa8 + w));
		dt_imm(g, in, size);
		break;
	default: /* test r/m, imm: F6/F7 /0, and /1, an undocumented alias Intel CPUs decode */
		if (!dt_gen_rm(g, size, false, 30, &rm))
			return false;
		in = dt_emit_begin(g);
		dt_prefix_rm(in, &rm);
		dt_osize(in, size);
		dt_b(in, (uint8_t)(0xf6 + w));
		dt_modrm(in, dt_rng_chance(rng, 5) ? 1 : 0, &rm);
		dt_imm(g, in, size);
		break;
	}
	dt_emit_end_fk(g, in, 0, DT_FK_LOGIC, size, 0, 0);
	return true;
}

static bool dt_alu_incdec_notneg(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	unsigned size = dt_pick_size(g);
	unsigned kind = dt_rng_below(rng, 4); /* inc dec not neg */
	enum dt_fk fk = kind < 2 ? DT_FK_INCDEC : kind == 3 ? DT_FK_ARITH : DT_FK_NONE;
	struct dt_insn *in;
	uint8_t written;
	if (kind < 2 && size != 8 && dt_rng_chance(rng, 40)) {
		/* The one-byte forms, which 64-bit mode lacks (REX prefixes there). */
		int r = dt_pick_dst(g, size);
		if (r < 0)
			return false;
		in = dt_emit_begin(g);
		dt_osize(in, size);
		dt_b(in, (uint8_t)(0x40 + kind * 8 + (unsigned)r));
		written = DT_REG_BIT(r);
	} else {
		struct dt_rm rm;
		if (!dt_gen_rm(g, size, true, 35, &rm))
			return false;
		in = dt_emit_begin(g);
		dt_maybe_lock(g, in, &rm);
		dt_prefix_rm(in, &rm);
		dt_osize(in, size);
		if (kind < 2) {
			dt_b(in, size == 8 ? 0xfe : 0xff);
			dt_modrm(in, kind, &rm);
		} else {
			dt_b(in, size == 8 ? 0xf6 : 0xf7);
			dt_modrm(in, kind, &rm);
		}
		written = dt_rm_written(size, &rm);
	}
	dt_emit_end_fk(g, in, 0, fk, size, 0, written);
	return true;
}

static bool dt_alu_mov(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	unsigned size = dt_pick_size(g);
	unsigned w = size != 8;
	struct dt_rm rm;
	struct dt_insn *in;
	switch (dt_rng_below(rng, 4)) {
	case 0: { /* mov r/m, reg */
		if (!dt_gen_rm(g, size, true, 50, &rm))
			return false;
		int src = dt_pick_src(g);
		bool track = !rm.is_mem && size == 32 && g->t.known[src] && !g->in_loop;
		uint32_t v = g->t.val[src];
		in = dt_emit_begin(g);
		dt_prefix_rm(in, &rm);
		dt_osize(in, size);
		dt_b(in, (uint8_t)(0x88 + w));
		dt_modrm(in, (unsigned)src, &rm);
		dt_emit_end(g, in, 0, dt_no_flags, dt_rm_written(size, &rm));
		if (track)
			dt_set_reg(g, rm.reg, v);
		return true;
	}
	case 1: { /* mov reg, r/m */
		int dst = dt_pick_dst(g, size);
		if (dst < 0 || !dt_gen_rm(g, size, false, 60, &rm))
			return false;
		in = dt_emit_begin(g);
		dt_prefix_rm(in, &rm);
		dt_osize(in, size);
		dt_b(in, (uint8_t)(0x8a + w));
		dt_modrm(in, (unsigned)dst, &rm);
		dt_emit_end(g, in, 0, dt_no_flags, dt_reg_bit(size, (unsigned)dst));
		return true;
	}
	case 2: { /* mov r/m, imm */
		if (!dt_gen_rm(g, size, true, 50, &rm))
			return false;
		uint32_t v = (uint32_t)dt_rng_next(rng);
		in = dt_emit_begin(g);
		dt_prefix_rm(in, &rm);
		dt_osize(in, size);
		dt_b(in, (uint8_t)(0xc6 + w));
		dt_modrm(in, 0, &rm);
		if (size == 8)
			dt_b(in, (uint8_t)v);
		else if (size == 16)
			dt_w(in, (uint16_t)v);
		else
			dt_d(in, v);
		dt_emit_end(g, in, 0, dt_no_flags, dt_rm_written(size, &rm));
		if (!rm.is_mem && size == 32)
			dt_set_reg(g, rm.reg, v);
		return true;
	}
	default: { /* mov reg, imm (B0+r / B8+r) */
		int dst = dt_pick_dst(g, size);
		if (dst < 0)
			return false;
		uint32_t v = (uint32_t)dt_rng_next(rng);
		in = dt_emit_begin(g);
		dt_osize(in, size);
		dt_b(in, (uint8_t)((size == 8 ? 0xb0 : 0xb8) + (unsigned)dst));
		if (size == 8)
			dt_b(in, (uint8_t)v);
		else if (size == 16)
			dt_w(in, (uint16_t)v);
		else
			dt_d(in, v);
		dt_emit_end(g, in, 0, dt_no_flags, dt_reg_bit(size, (unsigned)dst));
		if (size == 32)
			dt_set_reg(g, dst, v);
		return true;
	}
	}
}

/* lea with 32-bit addressing (any form; nothing is accessed) or 16-bit addressing (0x67). */
static bool dt_alu_lea(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	unsigned size = dt_rng_chance(rng, 25) ? 16 : 32;
	int dst = dt_pick_dst(g, size);
	if (dst < 0)
		return false;
	struct dt_insn *in;
	if (dt_rng_chance(rng, 20)) {
		in = dt_emit_begin(g);
		dt_b(in, 0x67);
		dt_osize(in, size);
		dt_b(in, 0x8d);
		unsigned mod = dt_rng_below(rng, 3);
		unsigned rmf = dt_rng_below(rng, 8);
		dt_b(in, (uint8_t)(mod << 6 | (unsigned)dst << 3 | rmf));
		if (mod == 1)
			dt_b(in, (uint8_t)dt_rng_next(rng));
		else if (mod == 2 || (mod == 0 && rmf == 6))
			dt_w(in, (uint16_t)dt_rng_next(rng));
	} else {
		struct dt_rm rm = {.is_mem = true};
		if (!dt_gen_mem(g, 1, 1, DT_MEM_NO_SEG, &rm.m))
			return false;
		if (dt_rng_chance(rng, 30) && rm.m.disp_size == 4)
			rm.m.disp = (int32_t)dt_rng_next(rng); /* any address will do */
		in = dt_emit_begin(g);
		dt_osize(in, size);
		dt_b(in, 0x8d);
		dt_modrm(in, (unsigned)dst, &rm);
		if (size == 32 && !g->in_loop) {
			uint32_t v = (uint32_t)rm.m.disp;
			bool known = true;
			if (rm.m.base >= 0) {
				known &= g->t.known[rm.m.base];
				v += g->t.val[rm.m.base];
			}
			if (rm.m.index >= 0) {
				known &= g->t.known[rm.m.index];
				v += g->t.val[rm.m.index] * rm.m.scale;
			}
			dt_emit_end(g, in, 0, dt_no_flags, DT_REG_BIT(dst));
			if (known)
				dt_set_reg(g, dst, v);
			return true;
		}
	}
	dt_emit_end(g, in, 0, dt_no_flags, dt_reg_bit(size, (unsigned)dst));
	return true;
}

static bool dt_alu_extend(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	struct dt_insn *in;
	if (dt_rng_chance(rng, 40)) {
		/* cbw/cwde (98) and cwd/cdq (99) */
		bool cwd = dt_rng_chance(rng, 50);
		unsigned size = dt_rng_chance(rng, 40) ? 16 : 32;
		uint8_t written = cwd ? DT_REG_BIT(DT_EDX) : DT_REG_BIT(DT_EAX);
		if (!dt_can_write(g, written))
			return false;
		in = dt_emit_begin(g);
		dt_osize(in, size);
		dt_b(in, cwd ? 0x99 : 0x98);
		dt_emit_end(g, in, 0, dt_no_flags, written);
		return true;
	}
	/* movzx / movsx r16/r32, r/m8 or r/m16 */
	unsigned size = dt_rng_chance(rng, 25) ? 16 : 32;
	unsigned src_size = dt_rng_chance(rng, 50) ? 8 : 16;
	int dst = dt_pick_dst(g, size);
	struct dt_rm rm;
	if (dst < 0 || !dt_gen_rm(g, src_size, false, 40, &rm))
		return false;
	in = dt_emit_begin(g);
	dt_prefix_rm(in, &rm);
	dt_osize(in, size);
	dt_b(in, 0x0f);
	dt_b(in, (uint8_t)((dt_rng_chance(rng, 50) ? 0xb6 : 0xbe) + (src_size == 16)));
	dt_modrm(in, (unsigned)dst, &rm);
	dt_emit_end(g, in, 0, dt_no_flags, DT_REG_BIT(dst));
	return true;
}

static bool dt_alu_flags(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	struct dt_insn *in;
	switch (dt_rng_below(rng, 6)) {
	case 0: /* lahf */
		if (!dt_can_write(g, DT_REG_BIT(DT_EAX)))
			return false;
		dt_need_flags(g, DT_ARITH & ~DT_OF);
		in = dt_emit_begin(g);
		dt_b(in, 0x9f);
		dt_emit_end(g, in, DT_ARITH & ~DT_OF, dt_no_flags, DT_REG_BIT(DT_EAX));
		return true;
	case 1: /* sahf */
		in = dt_emit_begin(g);
		dt_b(in, 0x9e);
		dt_emit_end_fk(g, in, 0, DT_FK_SAHF, 8, 0, 0);
		return true;
	case 2: /* clc stc cmc */
	case 3: {
		static const uint8_t ops[3] = {0xf8, 0xf9, 0xf5};
		uint8_t op = ops[dt_rng_below(rng, 3)];
		uint16_t reads = op == 0xf5 ? DT_CF : 0;
		dt_need_flags(g, reads);
		in = dt_emit_begin(g);
		dt_b(in, op);
		dt_emit_end_fk(g, in, reads, DT_FK_CARRY, 8, 0, 0);
		return true;
	}
	default: { /* cld std */
		bool set = dt_rng_chance(rng, 50);
		in = dt_emit_begin(g);
		dt_b(in, set ? 0xfd : 0xfc);
		dt_emit_end(g, in, 0, dt_no_flags, 0);
		g->t.df_known = true;
		g->t.df = set;
		return true;
	}
	}
}

static bool dt_alu_nop(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	struct dt_insn *in = dt_emit_begin(g);
	switch (dt_rng_below(rng, 4)) {
	case 0:
		dt_b(in, 0x90);
		break;
	case 1: /* pause: rep nop, a nop on every CPU */
		dt_b(in, 0xf3);
		dt_b(in, 0x90);
		break;
	case 2:
		dt_b(in, 0x66);
		dt_b(in, 0x90);
		break;
	default: { /* 0F 1F /0: the multi-byte nop, with a memory operand that is not accessed */
		struct dt_rm rm = {.is_mem = true};
		rm.m = (struct dt_mem){.base = (int8_t)dt_rng_below(rng, 8),
				       .index = -1,
				       .scale = 1,
				       .disp_size = 4,
				       .disp = (int32_t)dt_rng_next(rng)};
		if (dt_rng_chance(rng, 50))
			dt_b(in, 0x66);
		dt_b(in, 0x0f);
		dt_b(in, 0x1f);
		dt_modrm(in, 0, &rm);
		break;
	}
	}
	dt_emit_end(g, in, 0, dt_no_flags, 0);
	return true;
}

/* ud2 and other opcodes that are #UD on every CPU: the sequence ends there. */
static bool dt_alu_ud2(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	struct dt_insn *in = dt_emit_begin(g);
	unsigned modrm = 0xc0 | dt_rng_below(rng, 64);
	switch (dt_rng_below(rng, 5)) {
	case 0: /* FE /2../7 */
		dt_b(in, 0xfe);
		dt_b(in, (uint8_t)(0xc0 | (2 + dt_rng_below(rng, 6)) << 3 | dt_rng_below(rng, 8)));
		break;
	case 1: /* FF /7 */
		dt_b(in, 0xff);
		dt_b(in, (uint8_t)(0xf8 | dt_rng_below(rng, 8)));
		break;
	case 2: /* ud1 (0F B9 /r) */
		dt_b(in, 0x0f);
		dt_b(in, 0xb9);
		dt_b(in, (uint8_t)modrm);
		break;
	default:
		dt_b(in, 0x0f);
		dt_b(in, 0x0b);
		break;
	}
	dt_emit_end(g, in, 0, dt_no_flags, 0);
	return true;
}

bool dt_gen_alu(struct dt_gen *g)
{
	unsigned r = dt_rng_below(&g->rng, 1000);
	if (r < 300)
		return dt_alu_binary(g);
	if (r < 380)
		return dt_alu_test(g);
	if (r < 500)
		return dt_alu_incdec_notneg(g);
	if (r < 640)
		return dt_alu_mov(g);
	if (r < 740)
		return dt_alu_lea(g);
	if (r < 840)
		return dt_alu_extend(g);
	if (r < 950)
		return dt_alu_flags(g);
	if (r < 997)
		return dt_alu_nop(g);
	return dt_alu_ud2(g);
}

/* ---- shift ----------------------------------------------------------------------------------- */

/* One group-2 shift or rotate of a random form. rc_only: rcl/rcr. */
static bool dt_shift_one(struct dt_gen *g, bool rc_only)
{
	struct dt_rng *rng = &g->rng;
	unsigned size = dt_pick_size(g);
	unsigned w = size != 8;
	unsigned op = rc_only ? 2 + dt_rng_below(rng, 2) : dt_rng_below(rng, 8);
	if (op == 6 && dt_rng_chance(rng, 80))
		op = 4; /* /6 (sal) is an undocumented alias of shl; keep it rare */
	unsigned form = dt_rng_below(rng, 3); /* by 1, by imm8, by cl */
	uint32_t count;
	if (form == 2) {
		if (!dt_known_ecx(g, dt_rng_chance(rng, 50)))
			return false;
		g->lock |= DT_REG_BIT(DT_ECX);
		count = g->t.val[DT_ECX] & 0xff;
	} else if (form == 1) {
		count = dt_rng_chance(rng, 85) ? dt_rng_below(rng, 33) : dt_rng_below(rng, 256);
	} else {
		count = 1;
	}
	enum dt_fk fk = op <= 1 ? DT_FK_ROT : op <= 3 ? DT_FK_RC : op == 7 ? DT_FK_SAR : DT_FK_SHL;
	uint16_t reads = fk == DT_FK_RC ? DT_CF : 0;
	dt_need_flags(g, reads);
	struct dt_rm rm;
	if (!dt_gen_rm(g, size, true, 30, &rm))
		return false;
	struct dt_insn *in = dt_emit_begin(g);
	dt_prefix_rm(in, &rm);
	dt_osize(in, size);
	dt_b(in, (uint8_t)((form == 0 ? 0xd0 : form == 1 ? 0xc0 : 0xd2) + w));
	dt_modrm(in, op, &rm);
	if (form == 1)
		dt_b(in, (uint8_t)count);
	dt_emit_end_fk(g, in, reads, fk, size, count, dt_rm_written(size, &rm));
	return true;
}

static bool dt_shift_double(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	unsigned size = dt_rng_chance(rng, 35) ? 16 : 32;
	bool by_cl = dt_rng_chance(rng, 50);
	bool right = dt_rng_chance(rng, 50);
	uint32_t count;
	if (by_cl) {
		bool bad = g->t.known[DT_ECX] && size == 16 && (g->t.val[DT_ECX] & 31) > 16;
		if (!dt_known_ecx(g, bad || dt_rng_chance(rng, 40)))
			return false;
		count = g->t.val[DT_ECX] & 0xff;
		/* A 16-bit shld/shrd by more than 16 leaves the result undefined. */
		if (size == 16 && (count & 31) > 16) {
			if (!dt_load_reg(g, DT_ECX, dt_rng_below(rng, 17)))
				return false;
			count = g->t.val[DT_ECX] & 0xff;
		}
		g->lock |= DT_REG_BIT(DT_ECX);
	} else {
		count = dt_rng_below(rng, size == 16 ? 17 : 32);
		if (dt_rng_chance(rng, 10))
			count += 32 * (1 + dt_rng_below(rng, 7)); /* masked to 5 bits */
	}
	struct dt_rm rm;
	if (!dt_gen_rm(g, size, true, 30, &rm))
		return false;
	struct dt_insn *in = dt_emit_begin(g);
	dt_prefix_rm(in, &rm);
	dt_osize(in, size);
	dt_b(in, 0x0f);
	dt_b(in, (uint8_t)((right ? 0xac : 0xa4) + by_cl));
	dt_modrm(in, (unsigned)dt_pick_src(g), &rm);
	if (!by_cl)
		dt_b(in, (uint8_t)count);
	dt_emit_end_fk(g, in, 0, DT_FK_SHXD, size, count, dt_rm_written(size, &rm));
	return true;
}

/* Carry chains: rcl/rcr mixed with adc/sbb and the carry instructions, the way multi-word
 * shifts and arithmetic are written. */
static bool dt_shift_chain(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	int n = 2 + (int)dt_rng_below(rng, 4);
	for (int i = 0; i < n; i++) {
		unsigned k = dt_rng_below(rng, 10);
		if (k < 5) {
			if (!dt_shift_one(g, true))
				return false;
			g->lock = 0;
			continue;
		}
		struct dt_insn *in;
		if (k < 9) {
			/* adc/sbb reg, reg */
			unsigned size = dt_pick_size(g);
			int dst = dt_pick_dst(g, size);
			if (dst < 0)
				return false;
			dt_need_flags(g, DT_CF);
			in = dt_emit_begin(g);
			dt_osize(in, size);
			/* 12/13: adc reg, r/m; 1A/1B: sbb reg, r/m */
			dt_b(in, (uint8_t)((dt_rng_chance(rng, 50) ? 0x12 : 0x1a) + (size != 8)));
			dt_b(in, (uint8_t)(0xc0 | (unsigned)dst << 3 | (unsigned)dt_pick_src(g)));
			dt_emit_end_fk(g, in, DT_CF, DT_FK_ARITH, size, 0,
				       dt_reg_bit(size, (unsigned)dst));
		} else {
			static const uint8_t ops[3] = {0xf8, 0xf9, 0xf5};
			uint8_t op = ops[dt_rng_below(rng, 3)];
			dt_need_flags(g, op == 0xf5 ? DT_CF : 0);
			in = dt_emit_begin(g);
			dt_b(in, op);
			dt_emit_end_fk(g, in, op == 0xf5 ? DT_CF : 0, DT_FK_CARRY, 8, 0, 0);
		}
	}
	return true;
}

bool dt_gen_shift(struct dt_gen *g)
{
	unsigned r = dt_rng_below(&g->rng, 10);
	if (r < 6)
		return dt_shift_one(g, false);
	if (r < 8)
		return dt_shift_double(g);
	return dt_shift_chain(g);
}

/* ---- muldiv ---------------------------------------------------------------------------------- */

static bool dt_muldiv_mul(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	unsigned size = dt_pick_size(g);
	struct dt_rm rm;
	struct dt_insn *in;
	unsigned form = size == 8 ? 0 : dt_rng_below(rng, 3);
	if (form == 0) {
		/* mul / imul r/m: AX = AL * r/m8, or DX:AX / EDX:EAX */
		uint8_t written = DT_REG_BIT(DT_EAX) | (size == 8 ? 0 : DT_REG_BIT(DT_EDX));
		if (!dt_can_write(g, written) || !dt_gen_rm(g, size, false, 35, &rm))
			return false;
		in = dt_emit_begin(g);
		dt_prefix_rm(in, &rm);
		dt_osize(in, size);
		dt_b(in, size == 8 ? 0xf6 : 0xf7);
		dt_modrm(in, dt_rng_chance(rng, 50) ? 4 : 5, &rm);
		dt_emit_end_fk(g, in, 0, DT_FK_MUL, size, 0, written);
		return true;
	}
	int dst = dt_pick_dst(g, size);
	if (dst < 0 || !dt_gen_rm(g, size, false, 35, &rm))
		return false;
	in = dt_emit_begin(g);
	dt_prefix_rm(in, &rm);
	dt_osize(in, size);
	if (form == 1) {
		dt_b(in, 0x0f);
		dt_b(in, 0xaf);
		dt_modrm(in, (unsigned)dst, &rm);
	} else {
		bool imm8 = dt_rng_chance(rng, 50);
		dt_b(in, imm8 ? 0x6b : 0x69);
		dt_modrm(in, (unsigned)dst, &rm);
		dt_imm(g, in, imm8 ? 8 : size);
	}
	dt_emit_end_fk(g, in, 0, DT_FK_MUL, size, 0, DT_REG_BIT(dst));
	return true;
}

/* Set up the dividend so that the quotient fits, most of the time. */
static bool dt_muldiv_dividend(struct dt_gen *g, unsigned size, bool is_signed)
{
	struct dt_insn *in;
	uint8_t hi = size == 8 ? DT_REG_BIT(DT_EAX) : DT_REG_BIT(DT_EDX);
	if (!dt_can_write(g, hi))
		return false;
	in = dt_emit_begin(g);
	if (is_signed) {
		/* cbw / cwd / cdq */
		if (size == 8) {
			dt_b(in, 0x66);
			dt_b(in, 0x98);
		} else {
			dt_osize(in, size);
			dt_b(in, 0x99);
		}
	} else if (size == 8) {
		dt_b(in, 0xb4); /* mov ah, 0 */
		dt_b(in, 0);
	} else {
		dt_osize(in, size);
		dt_b(in, 0xba); /* mov dx/edx, 0 */
		if (size == 16)
			dt_w(in, 0);
		else
			dt_d(in, 0);
	}
	in->pinned = true;
	dt_emit_end(g, in, 0, dt_no_flags, hi);
	if (!is_signed && size == 32)
		dt_set_reg(g, DT_EDX, 0);
	return true;
}

static bool dt_muldiv_div(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	unsigned size = dt_pick_size(g);
	bool is_signed = dt_rng_chance(rng, 50);
	uint8_t written = DT_REG_BIT(DT_EAX) | (size == 8 ? 0 : DT_REG_BIT(DT_EDX));
	if (!dt_can_write(g, written))
		return false;
	if (is_signed && dt_rng_chance(rng, 5)) {
		/* The one signed overflow: the most negative dividend by -1, which is #DE. */
		int d = 1 + (int)dt_rng_below(rng, 7);
		if (d == DT_EAX || d == DT_EDX || d == DT_ESP || (size == 8 && d >= 4))
			d = DT_EBX;
		if (!dt_load_reg(g, DT_EAX,
				 size == 8    ? 0x80
				 : size == 16 ? 0x8000
					      : 0x80000000u) ||
		    !dt_muldiv_dividend(g, size, true) || !dt_load_reg(g, d, 0xffffffffu))
			return false;
		struct dt_insn *in = dt_emit_begin(g);
		dt_osize(in, size);
		dt_b(in, size == 8 ? 0xf6 : 0xf7);
		dt_b(in, (uint8_t)(0xf8 | (unsigned)d));
		dt_emit_end_fk(g, in, 0, DT_FK_DIV, size, 0, written);
		return true;
	}
	/* A fifth of them divide whatever is there: mostly #DE, which is the point. */
	bool set_up = dt_rng_chance(rng, 80);
	if (set_up && !dt_muldiv_dividend(g, size, is_signed))
		return false;
	g->lock |= written;
	struct dt_rm rm;
	if (!dt_gen_rm(g, size, false, 35, &rm))
		return false;
	/* Not by the high half that was just cleared (AH, or EDX/DX). */
	if (set_up && !rm.is_mem && rm.reg == (size == 8 ? 4 : DT_EDX))
		rm.reg = DT_EBX;
	struct dt_insn *in = dt_emit_begin(g);
	dt_prefix_rm(in, &rm);
	dt_osize(in, size);
	dt_b(in, size == 8 ? 0xf6 : 0xf7);
	dt_modrm(in, is_signed ? 7 : 6, &rm);
	dt_emit_end_fk(g, in, 0, DT_FK_DIV, size, 0, written);
	return true;
}

bool dt_gen_muldiv(struct dt_gen *g)
{
	return dt_rng_chance(&g->rng, 50) ? dt_muldiv_mul(g) : dt_muldiv_div(g);
}

/* ---- bit ------------------------------------------------------------------------------------- */

static bool dt_bit_test(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	unsigned size = dt_rng_chance(rng, 30) ? 16 : 32;
	unsigned op = dt_rng_below(rng, 4); /* bt bts btr btc */
	bool writes = op != 0;
	bool imm = dt_rng_chance(rng, 40);
	struct dt_rm rm;
	struct dt_insn *in;
	if (imm) {
		if (!dt_gen_rm(g, size, writes, 40, &rm))
			return false;
		in = dt_emit_begin(g);
		if (writes)
			dt_maybe_lock(g, in, &rm);
		dt_prefix_rm(in, &rm);
		dt_osize(in, size);
		dt_b(in, 0x0f);
		dt_b(in, 0xba);
		dt_modrm(in, 4 + op, &rm);
		dt_b(in, (uint8_t)dt_rng_next(rng));
		dt_emit_end_fk(g, in, 0, DT_FK_BT, size, 0, writes ? dt_rm_written(size, &rm) : 0);
		return true;
	}
	/* bt r/m, reg: with memory the register is a signed bit offset that can reach outside the
	 * operand, so it must be known and small enough to stay inside the area. */
	int src = dt_pick_src(g);
	bool mem = dt_rng_chance(rng, 45);
	int32_t delta = 0;
	if (mem) {
		if (src == DT_ESP)
			return false;
		int32_t v = (int32_t)g->t.val[src];
		if (!g->t.known[src] || v < -256 || v > 511) {
			if (!dt_load_reg(g, src, (uint32_t)((int32_t)dt_rng_below(rng, 512) - 160)))
				return false;
			v = (int32_t)g->t.val[src];
		}
		delta = size == 32 ? 4 * (v >> 5) : 2 * (v >> 4);
		g->lock |= DT_REG_BIT(src);
		dt_use_addr_reg(g, src);
		rm.is_mem = true;
		if (!dt_gen_mem(g, size / 8, 1, writes ? DT_MEM_WRITE : 0, &rm.m))
			return false;
		uint32_t a = rm.m.addr + (uint32_t)delta;
		bool in_data = a >= DT_DATA_BASE && a + size / 8 <= DT_DATA_BASE + DT_DATA_SIZE;
		bool in_stack = a >= DT_STACK_BASE && a + size / 8 <= DT_STACK_BASE + DT_STACK_SIZE;
		if (!in_data && !(in_stack && !writes))
			return false;
	} else {
		rm.is_mem = false;
		int r = writes ? dt_pick_dst(g, size) : dt_pick_src(g);
		if (r < 0)
			return false;
		rm.reg = (uint8_t)r;
	}
	in = dt_emit_begin(g);
	if (writes)
		dt_maybe_lock(g, in, &rm);
	dt_prefix_rm(in, &rm);
	dt_osize(in, size);
	dt_b(in, 0x0f);
	dt_b(in, (uint8_t)(0xa3 + op * 8));
	dt_modrm(in, (unsigned)src, &rm);
	dt_emit_end_fk(g, in, 0, DT_FK_BT, size, 0, writes ? dt_rm_written(size, &rm) : 0);
	return true;
}

static bool dt_bit_scan(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	unsigned size = dt_rng_chance(rng, 30) ? 16 : 32;
	int dst = dt_pick_dst(g, size);
	struct dt_rm rm;
	if (dst < 0 || !dt_gen_rm(g, size, false, 35, &rm))
		return false;
	struct dt_insn *in = dt_emit_begin(g);
	dt_prefix_rm(in, &rm);
	dt_osize(in, size);
	dt_b(in, 0x0f);
	dt_b(in, dt_rng_chance(rng, 50) ? 0xbc : 0xbd);
	dt_modrm(in, (unsigned)dst, &rm);
	dt_emit_end_fk(g, in, 0, DT_FK_BSF, size, 0, DT_REG_BIT(dst));
	return true;
}

static bool dt_bit_cc(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	unsigned cc = dt_rng_below(rng, 16);
	uint16_t reads = dt_cc_flags(cc);
	dt_need_flags(g, reads);
	struct dt_rm rm;
	struct dt_insn *in;
	if (dt_rng_chance(rng, 50)) {
		/* setcc r/m8 */
		if (!dt_gen_rm(g, 8, true, 30, &rm))
			return false;
		in = dt_emit_begin(g);
		dt_prefix_rm(in, &rm);
		dt_b(in, 0x0f);
		dt_b(in, (uint8_t)(0x90 + cc));
		dt_modrm(in, dt_rng_below(rng, 8), &rm); /* the reg field is ignored */
		dt_emit_end(g, in, reads, dt_no_flags, dt_rm_written(8, &rm));
		return true;
	}
	/* cmovcc r, r/m (the memory operand is read whatever the condition) */
	unsigned size = dt_rng_chance(rng, 30) ? 16 : 32;
	int dst = dt_pick_dst(g, size);
	if (dst < 0 || !dt_gen_rm(g, size, false, 35, &rm))
		return false;
	in = dt_emit_begin(g);
	dt_prefix_rm(in, &rm);
	dt_osize(in, size);
	dt_b(in, 0x0f);
	dt_b(in, (uint8_t)(0x40 + cc));
	dt_modrm(in, (unsigned)dst, &rm);
	dt_emit_end(g, in, reads, dt_no_flags, DT_REG_BIT(dst));
	return true;
}

static bool dt_bit_swap(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	struct dt_insn *in;
	if (dt_rng_chance(rng, 25)) {
		int r = dt_pick_dst(g, 32);
		if (r < 0)
			return false;
		in = dt_emit_begin(g);
		dt_b(in, 0x0f);
		dt_b(in, (uint8_t)(0xc8 + r));
		bool known = g->t.known[r] && !g->in_loop;
		uint32_t v = __builtin_bswap32(g->t.val[r]);
		dt_emit_end(g, in, 0, dt_no_flags, DT_REG_BIT(r));
		if (known)
			dt_set_reg(g, r, v);
		return true;
	}
	unsigned size = dt_pick_size(g);
	if (size != 8 && dt_rng_chance(rng, 30)) {
		/* xchg eax, reg (90+r) */
		int r = dt_pick_dst(g, size);
		if (r < 0 || !dt_can_write(g, DT_REG_BIT(DT_EAX)))
			return false;
		in = dt_emit_begin(g);
		dt_osize(in, size);
		dt_b(in, (uint8_t)(0x90 + r));
		bool track = size == 32 && !g->in_loop;
		struct dt_track before = g->t;
		dt_emit_end(g, in, 0, dt_no_flags, DT_REG_BIT(DT_EAX) | DT_REG_BIT(r));
		if (track && before.known[r])
			dt_set_reg(g, DT_EAX, before.val[r]);
		if (track && before.known[DT_EAX])
			dt_set_reg(g, r, before.val[DT_EAX]);
		return true;
	}
	/* xchg r/m, reg: both are written */
	int r = dt_pick_dst(g, size);
	struct dt_rm rm;
	if (r < 0)
		return false;
	g->lock |= dt_reg_bit(size, (unsigned)r);
	if (!dt_gen_rm(g, size, true, 45, &rm))
		return false;
	in = dt_emit_begin(g);
	if (rm.is_mem && dt_rng_chance(rng, 10))
		dt_b(in, 0xf0); /* implied anyway */
	dt_prefix_rm(in, &rm);
	dt_osize(in, size);
	dt_b(in, size == 8 ? 0x86 : 0x87);
	dt_modrm(in, (unsigned)r, &rm);
	dt_emit_end(g, in, 0, dt_no_flags,
		    dt_reg_bit(size, (unsigned)r) | dt_rm_written(size, &rm));
	return true;
}

static bool dt_bit_xadd_cmpxchg(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	unsigned size = dt_pick_size(g);
	bool xadd = dt_rng_chance(rng, 50);
	int r = xadd ? dt_pick_dst(g, size) : dt_pick_src(g);
	if (r < 0)
		return false;
	uint8_t written = xadd ? dt_reg_bit(size, (unsigned)r) : DT_REG_BIT(DT_EAX);
	if (!dt_can_write(g, written))
		return false;
	g->lock |= written;
	struct dt_rm rm;
	if (!dt_gen_rm(g, size, true, 50, &rm))
		return false;
	struct dt_insn *in = dt_emit_begin(g);
	dt_maybe_lock(g, in, &rm);
	dt_prefix_rm(in, &rm);
	dt_osize(in, size);
	dt_b(in, 0x0f);
	dt_b(in, (uint8_t)((xadd ? 0xc0 : 0xb0) + (size != 8)));
	dt_modrm(in, (unsigned)r, &rm);
	dt_emit_end_fk(g, in, 0, DT_FK_ARITH, size, 0, written | dt_rm_written(size, &rm));
	return true;
}

static bool dt_bit_cmpxchg8b(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	uint8_t written = DT_REG_BIT(DT_EAX) | DT_REG_BIT(DT_EDX);
	if (!dt_can_write(g, written))
		return false;
	struct dt_rm rm = {.is_mem = true};
	if (dt_rng_chance(rng, 2)) {
		rm.is_mem = false; /* the register form is #UD */
		rm.reg = (uint8_t)dt_rng_below(rng, 8);
	} else if (!dt_gen_mem(g, 8, 1, DT_MEM_WRITE, &rm.m)) {
		return false;
	}
	struct dt_insn *in = dt_emit_begin(g);
	if (dt_rng_chance(rng, 30))
		dt_b(in, 0xf0);
	dt_prefix_rm(in, &rm);
	dt_b(in, 0x0f);
	dt_b(in, 0xc7);
	dt_modrm(in, 1, &rm);
	dt_emit_end_fk(g, in, 0, DT_FK_ZF, 32, 0, written);
	return true;
}

bool dt_gen_bit(struct dt_gen *g)
{
	unsigned r = dt_rng_below(&g->rng, 100);
	if (r < 25)
		return dt_bit_test(g);
	if (r < 37)
		return dt_bit_scan(g);
	if (r < 57)
		return dt_bit_cc(g);
	if (r < 77)
		return dt_bit_swap(g);
	if (r < 92)
		return dt_bit_xadd_cmpxchg(g);
	return dt_bit_cmpxchg8b(g);
}

/* ---- bcd ------------------------------------------------------------------------------------- */

bool dt_gen_bcd(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	if (!dt_can_write(g, DT_REG_BIT(DT_EAX)))
		return false;
	struct dt_insn *in;
	/* Usually an addition or subtraction of (near-)BCD bytes first, as real BCD code does. */
	if (dt_rng_chance(rng, 60)) {
		in = dt_emit_begin(g);
		if (dt_rng_chance(rng, 30)) {
			dt_b(in, 0xb8); /* mov eax, imm32 */
			uint32_t v = (uint32_t)dt_rng_next(rng) & 0xffff0000u;
			v |= (dt_rng_below(rng, 10) << 4 | dt_rng_below(rng, 16)) |
			     (dt_rng_below(rng, 16) << 8);
			dt_d(in, v);
			dt_emit_end(g, in, 0, dt_no_flags, DT_REG_BIT(DT_EAX));
			dt_set_reg(g, DT_EAX, v);
		} else {
			dt_b(in, dt_rng_chance(rng, 50) ? 0x04 : 0x2c); /* add/sub al, imm8 */
			dt_b(in, (uint8_t)(dt_rng_below(rng, 10) << 4 | dt_rng_below(rng, 10)));
			dt_emit_end_fk(g, in, 0, DT_FK_ARITH, 8, 0, DT_REG_BIT(DT_EAX));
		}
	}
	unsigned k = dt_rng_below(rng, 100);
	if (k < 40) {
		/* daa das: read AF and CF, OF undefined */
		dt_need_flags(g, DT_AF | DT_CF);
		in = dt_emit_begin(g);
		dt_b(in, dt_rng_chance(rng, 50) ? 0x27 : 0x2f);
		dt_emit_end_fk(g, in, DT_AF | DT_CF, DT_FK_DAA, 8, 0, DT_REG_BIT(DT_EAX));
	} else if (k < 65) {
		/* aaa aas: read AF */
		dt_need_flags(g, DT_AF);
		in = dt_emit_begin(g);
		dt_b(in, dt_rng_chance(rng, 50) ? 0x37 : 0x3f);
		dt_emit_end_fk(g, in, DT_AF, DT_FK_AAA, 8, 0, DT_REG_BIT(DT_EAX));
	} else if (k < 95) {
		/* aam / aad imm8: base 10 mostly; aam 0 is #DE */
		bool aam = dt_rng_chance(rng, 55);
		unsigned r = dt_rng_below(rng, 100);
		uint8_t base = r < 60 ? 10 : (aam && r < 66) ? 0 : (uint8_t)dt_rng_next(rng);
		in = dt_emit_begin(g);
		dt_b(in, aam ? 0xd4 : 0xd5);
		dt_b(in, base);
		dt_emit_end_fk(g, in, 0, DT_FK_AAM, 8, 0, DT_REG_BIT(DT_EAX));
	} else {
		/* salc (D6): AL = CF ? 0xff : 0, undocumented but present on every Intel CPU */
		dt_need_flags(g, DT_CF);
		in = dt_emit_begin(g);
		dt_b(in, 0xd6);
		dt_emit_end(g, in, DT_CF, dt_no_flags, DT_REG_BIT(DT_EAX));
	}
	return true;
}

/* ---- mem ------------------------------------------------------------------------------------- */

/* mov between al/ax/eax and [moffs32] (A0-A3): an absolute address in the instruction. */
static bool dt_mem_moffs(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	unsigned size = dt_pick_size(g);
	bool store = dt_rng_chance(rng, 50);
	if (!store && !dt_can_write(g, DT_REG_BIT(DT_EAX)))
		return false;
	struct dt_rm rm = {.is_mem = true};
	/* Only the address and the segment of the picked operand are used. */
	if (!dt_gen_mem(g, size / 8, 1, store ? DT_MEM_WRITE : 0, &rm.m))
		return false;
	struct dt_insn *in = dt_emit_begin(g);
	dt_prefix_rm(in, &rm);
	dt_osize(in, size);
	dt_b(in, (uint8_t)((store ? 0xa2 : 0xa0) + (size != 8)));
	dt_d(in, rm.m.addr);
	dt_emit_end(g, in, 0, dt_no_flags, store ? 0 : DT_REG_BIT(DT_EAX));
	return true;
}

/* xlat: al = [ebx + al], with an optional segment override. */
static bool dt_mem_xlat(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	if (!dt_can_write(g, DT_REG_BIT(DT_EAX)))
		return false;
	uint32_t b = g->t.val[DT_EBX];
	if (!g->t.known[DT_EBX] || b < DT_DATA_BASE || b > DT_DATA_BASE + DT_DATA_SIZE - 256) {
		b = DT_DATA_BASE + dt_rng_below(rng, DT_DATA_SIZE - 256);
		if (!dt_load_reg(g, DT_EBX, b))
			return false;
	}
	dt_use_addr_reg(g, DT_EBX);
	struct dt_insn *in = dt_emit_begin(g);
	if (dt_rng_chance(rng, 20)) {
		static const uint8_t segs[4] = {0x26, 0x2e, 0x36, 0x3e};
		dt_b(in, segs[dt_rng_below(rng, 4)]);
	}
	dt_b(in, 0xd7);
	dt_emit_end(g, in, 0, dt_no_flags, DT_REG_BIT(DT_EAX));
	return true;
}

/* Self-modifying code: a store into the immediate of the `mov reg, imm32` that runs next,
 * through an absolute address or a register, as patching code does. Natively the CPU sees the
 * new value; bt86 must notice the write to a page it translated and retranslate. */
static bool dt_mem_smc(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	int r = dt_pick_dst(g, 32);
	if (r < 0)
		return false;
	int label = dt_label_new(g);
	uint32_t v = (uint32_t)dt_rng_next(rng);
	struct dt_insn *in;
	if (dt_rng_chance(rng, 50)) {
		in = dt_emit_begin(g); /* mov dword [target + 1], v */
		dt_b(in, 0xc7);
		dt_b(in, 0x05);
		dt_d(in, 0);
		dt_d(in, v);
		in->fix = DT_FIX_ABS32;
		in->fix_at = 2;
	} else {
		int p = dt_pick_dst(g, 32);
		if (p < 0 || p == r || p == DT_EBP)
			return false;
		in = dt_emit_begin(g); /* mov p, target + 1 */
		dt_b(in, (uint8_t)(0xb8 + p));
		dt_d(in, 0);
		in->fix = DT_FIX_ABS32;
		in->fix_at = 1;
		in->fix_add = 1;
		in->label = (int16_t)label;
		in->pinned = true;
		dt_emit_end(g, in, 0, dt_no_flags, DT_REG_BIT(p));
		in = dt_emit_begin(g); /* mov dword [p], v */
		dt_b(in, 0xc7);
		dt_b(in, (uint8_t)p);
		dt_d(in, v);
	}
	in->fix_add = in->fix == DT_FIX_ABS32 ? 1 : 0;
	if (in->fix == DT_FIX_ABS32)
		in->label = (int16_t)label;
	in->pinned = true;
	dt_emit_end(g, in, 0, dt_no_flags, 0);
	dt_label_bind_here(g, label);
	in = dt_emit_begin(g); /* mov r, (patched) */
	dt_b(in, (uint8_t)(0xb8 + r));
	dt_d(in, (uint32_t)dt_rng_next(rng));
	in->pinned = true;
	dt_emit_end(g, in, 0, dt_no_flags, DT_REG_BIT(r));
	dt_set_reg(g, r, v);
	return true;
}

bool dt_gen_memory(struct dt_gen *g)
{
	unsigned r = dt_rng_below(&g->rng, 100);
	if (r < 10)
		return dt_mem_moffs(g);
	if (r < 18)
		return dt_mem_xlat(g);
	if (r < 22)
		return dt_mem_smc(g);
	/* The integer forms with their r/m operand forced to memory. */
	g->force_mem = true;
	if (r < 45)
		return dt_alu_mov(g);
	if (r < 75)
		return dt_alu_binary(g);
	if (r < 87)
		return dt_alu_extend(g);
	return dt_alu_incdec_notneg(g);
}
