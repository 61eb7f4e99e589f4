/* The sequence generator: random numbers, the initial state, emission, register and flag
 * tracking, memory operands and the units/labels machinery (see gen_internal.h).
 *
 * Determinism matters more than anything here: sequence i of seed S must come out the same on
 * every run, so that a divergence found in a long campaign can be replayed alone. Everything
 * random comes from one generator seeded from (S, i), and nothing depends on the host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_internal.h"

_Noreturn void dt_assert_fail(const char *file, int line, const char *expr)
{
	fprintf(stderr, "bt86-difftest: assertion failed at %s:%d: %s\n", file, line, expr);
	abort();
}

/* ---- random numbers -------------------------------------------------------------------------- */

static uint64_t dt_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void dt_rng_seed(struct dt_rng *rng, uint64_t seed, uint64_t index)
{
	uint64_t a = seed, b = index ^ 0x6a09e667f3bcc908ull;
	uint64_t x = dt_splitmix(&a) ^ (dt_splitmix(&b) * 3);
	for (int i = 0; i < 4; i++)
		rng->s[i] = dt_splitmix(&x);
}

static uint64_t dt_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t dt_rng_next(struct dt_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = dt_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = dt_rotl(s[3], 45);
	return result;
}

uint32_t dt_rng_below(struct dt_rng *rng, uint32_t n)
{
	DT_ASSERT(n > 0);
	return (uint32_t)(((dt_rng_next(rng) >> 32) * n) >> 32);
}

bool dt_rng_chance(struct dt_rng *rng, unsigned percent)
{
	return dt_rng_below(rng, 100) < percent;
}

/* ---- classes --------------------------------------------------------------------------------- */

static const char *const dt_class_names[DT_CLASS_COUNT] = {
#define DT_CLASS_NAME(name, text) text,
    DT_CLASS_LIST(DT_CLASS_NAME)
#undef DT_CLASS_NAME
};

const char *dt_class_name(enum dt_class cls)
{
	return cls < DT_CLASS_COUNT ? dt_class_names[cls] : "?";
}

int dt_class_parse(const char *text, unsigned *mask, char *bad, size_t bad_len)
{
	*mask = 0;
	const char *p = text;
	while (*p) {
		size_t len = strcspn(p, ",");
		bool found = false;
		for (int c = 0; c < DT_CLASS_COUNT; c++) {
			if (strlen(dt_class_names[c]) == len &&
			    !strncmp(p, dt_class_names[c], len)) {
				*mask |= 1u << c;
				found = true;
			}
		}
		if (len == 3 && !strncmp(p, "all", 3)) {
			*mask |= DT_CLASS_ALL;
			found = true;
		}
		if (!found) {
			snprintf(bad, bad_len, "%.*s", (int)len, p);
			return -1;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return *mask ? 0 : -1;
}

static bool (*const dt_class_gen[DT_CLASS_COUNT])(struct dt_gen *g) = {
    [DT_CLASS_ALU] = dt_gen_alu,       [DT_CLASS_SHIFT] = dt_gen_shift,
    [DT_CLASS_MULDIV] = dt_gen_muldiv, [DT_CLASS_BIT] = dt_gen_bit,
    [DT_CLASS_BCD] = dt_gen_bcd,       [DT_CLASS_MEM] = dt_gen_memory,
    [DT_CLASS_STACK] = dt_gen_stack,   [DT_CLASS_STRING] = dt_gen_string,
    [DT_CLASS_BRANCH] = dt_gen_branch, [DT_CLASS_X87] = dt_gen_x87,
    [DT_CLASS_MMX] = dt_gen_mmx,       [DT_CLASS_SSE] = dt_gen_sse,
};

/* ---- emission -------------------------------------------------------------------------------- */

/* Past this many instructions no new top-level unit starts; the largest construct (two nested
 * bodies) stays well under the rest of DT_MAX_INSNS. */
#define DT_ROOM_TOP  (DT_MAX_INSNS - 100)
#define DT_ROOM_BODY (DT_MAX_INSNS - 30)

struct dt_insn *dt_emit_begin(struct dt_gen *g)
{
	struct dt_seq *s = g->seq;
	DT_ASSERT(s->n_insns < DT_MAX_INSNS);
	struct dt_insn *in = &s->insn[s->n_insns++];
	memset(in, 0, sizeof *in);
	in->label = -1;
	in->unit = (int16_t)g->unit;
	in->cls = g->cls;
	return in;
}

void dt_b(struct dt_insn *in, uint8_t byte)
{
	DT_ASSERT(in->len < DT_INSN_BYTES);
	in->bytes[in->len++] = byte;
}

void dt_w(struct dt_insn *in, uint16_t v)
{
	dt_b(in, (uint8_t)v);
	dt_b(in, (uint8_t)(v >> 8));
}

void dt_d(struct dt_insn *in, uint32_t v)
{
	dt_w(in, (uint16_t)v);
	dt_w(in, (uint16_t)(v >> 16));
}

void dt_osize(struct dt_insn *in, unsigned size)
{
	if (size == 16)
		dt_b(in, 0x66);
}

void dt_prefix_rm(struct dt_insn *in, const struct dt_rm *rm)
{
	if (rm->is_mem && rm->m.seg2)
		dt_b(in, rm->m.seg2);
	if (rm->is_mem && rm->m.seg)
		dt_b(in, rm->m.seg);
}

static unsigned dt_log2_scale(unsigned scale)
{
	return scale == 8 ? 3 : scale == 4 ? 2 : scale == 2 ? 1 : 0;
}

void dt_modrm(struct dt_insn *in, unsigned reg_field, const struct dt_rm *rm)
{
	unsigned r = (reg_field & 7) << 3;
	if (!rm->is_mem) {
		dt_b(in, (uint8_t)(0xc0 | r | rm->reg));
		return;
	}
	const struct dt_mem *m = &rm->m;
	unsigned ss = dt_log2_scale(m->scale) << 6;
	if (m->base < 0 && m->index < 0) {
		/* Absolute: the plain form, or SIB with no base and no index. */
		if (m->sib) {
			dt_b(in, (uint8_t)(0x04 | r));
			dt_b(in, (uint8_t)(ss | 0x25));
		} else {
			dt_b(in, (uint8_t)(0x05 | r));
		}
		dt_d(in, (uint32_t)m->disp);
		return;
	}
	if (m->base < 0) {
		dt_b(in, (uint8_t)(0x04 | r));
		dt_b(in, (uint8_t)(ss | (unsigned)m->index << 3 | 5));
		dt_d(in, (uint32_t)m->disp);
		return;
	}
	DT_ASSERT(!(m->base == DT_EBP && m->disp_size == 0));
	unsigned mod = m->disp_size == 0 ? 0x00 : m->disp_size == 1 ? 0x40 : 0x80;
	if (m->index >= 0 || m->base == DT_ESP || m->sib) {
		dt_b(in, (uint8_t)(mod | r | 4));
		dt_b(in, (uint8_t)(ss | (unsigned)(m->index >= 0 ? m->index : 4) << 3 |
				   (unsigned)m->base));
	} else {
		dt_b(in, (uint8_t)(mod | r | (unsigned)m->base));
	}
	if (m->disp_size == 1)
		dt_b(in, (uint8_t)(int8_t)m->disp);
	else if (m->disp_size == 4)
		dt_d(in, (uint32_t)m->disp);
}

void dt_emit_end(struct dt_gen *g, struct dt_insn *in, uint16_t flags_read,
		 struct dt_flag_effect fx, uint8_t written)
{
	DT_ASSERT(!(flags_read & g->t.undef));
	DT_ASSERT(!(written & DT_REG_BIT(DT_ESP)));
	/* In a loop body an instruction may not write a register it addresses through (the
	 * next iteration would address elsewhere); its unit is generated anew. */
	if (written & g->no_write)
		g->invalid = true;
	in->flags_read = flags_read;
	in->fx = fx;
	g->t.undef = (uint16_t)((g->t.undef & ~fx.def) | fx.undef);
	for (int r = 0; r < DT_GPR_COUNT; r++)
		if (written & DT_REG_BIT(r))
			g->t.known[r] = false;
	g->bytes += in->len;
}

void dt_emit_end_fk(struct dt_gen *g, struct dt_insn *in, uint16_t flags_read, enum dt_fk fk,
		    unsigned size, uint32_t count, uint8_t written)
{
	dt_emit_end(g, in, flags_read, dt_flag_effect(fk, size, count), written);
}

/* ---- state ----------------------------------------------------------------------------------- */

void dt_set_reg(struct dt_gen *g, int reg, uint32_t value)
{
	g->t.known[reg] = true;
	g->t.val[reg] = value;
}

bool dt_can_write(const struct dt_gen *g, uint8_t regs)
{
	return !(regs & g->no_write);
}

uint8_t dt_reg_bit(unsigned size, unsigned reg)
{
	return size == 8 ? DT_REG_BIT(reg & 3) : DT_REG_BIT(reg & 7);
}

void dt_need_flags(struct dt_gen *g, uint16_t flags)
{
	if (!(flags & g->t.undef))
		return;
	/* cmp defines all six arithmetic flags and writes nothing. */
	struct dt_insn *in = dt_emit_begin(g);
	unsigned r = dt_rng_below(&g->rng, 8);
	switch (dt_rng_below(&g->rng, 3)) {
	case 0:
		dt_b(in, 0x81);
		dt_b(in, (uint8_t)(0xf8 | r));
		dt_d(in, (uint32_t)dt_rng_next(&g->rng));
		break;
	case 1:
		dt_b(in, 0x39);
		dt_b(in, (uint8_t)(0xc0 | dt_rng_below(&g->rng, 8) << 3 | r));
		break;
	default:
		dt_b(in, 0x80);
		dt_b(in, (uint8_t)(0xf8 | r));
		dt_b(in, (uint8_t)dt_rng_next(&g->rng));
		break;
	}
	dt_emit_end_fk(g, in, 0, DT_FK_ARITH, 32, 0, 0);
}

bool dt_load_reg(struct dt_gen *g, int reg, uint32_t value)
{
	if (!dt_can_write(g, DT_REG_BIT(reg)))
		return false;
	struct dt_insn *in = dt_emit_begin(g);
	switch (dt_rng_below(&g->rng, 4)) {
	case 0:
		dt_b(in, 0xc7);
		dt_b(in, (uint8_t)(0xc0 | reg));
		break;
	case 1:
		dt_b(in, 0x8d); /* lea reg, [disp32] */
		dt_b(in, (uint8_t)(0x05 | reg << 3));
		break;
	default:
		dt_b(in, (uint8_t)(0xb8 + reg));
		break;
	}
	dt_d(in, value);
	in->pinned = true;
	dt_emit_end(g, in, 0, (struct dt_flag_effect){0, 0}, DT_REG_BIT(reg));
	dt_set_reg(g, reg, value);
	return true;
}

void dt_use_addr_reg(struct dt_gen *g, int reg)
{
	if (g->in_loop && reg >= 0)
		g->no_write |= DT_REG_BIT(reg);
}

/* ---- operands -------------------------------------------------------------------------------- */

int dt_pick_dst(struct dt_gen *g, unsigned size)
{
	int cand[8], n = 0;
	for (int r = 0; r < 8; r++)
		if (dt_can_write(g, dt_reg_bit(size, (unsigned)r)))
			cand[n++] = r;
	return n ? cand[dt_rng_below(&g->rng, (uint32_t)n)] : -1;
}

int dt_pick_src(struct dt_gen *g)
{
	return (int)dt_rng_below(&g->rng, 8);
}

unsigned dt_pick_size(struct dt_gen *g)
{
	unsigned r = dt_rng_below(&g->rng, 10);
	return r < 3 ? 8 : r < 5 ? 16 : 32;
}

uint32_t dt_pick_data_addr(struct dt_gen *g, unsigned size, unsigned align)
{
	uint32_t span = DT_DATA_SIZE - size;
	uint32_t off;
	if (dt_rng_chance(&g->rng, 25))
		/* Around the page boundary in the middle, so accesses split across pages. */
		off = 0x1000 - 24 + dt_rng_below(&g->rng, 48);
	else
		off = dt_rng_below(&g->rng, span + 1);
	off &= ~(align - 1);
	if (off > span)
		off = span & ~(align - 1);
	return DT_DATA_BASE + off;
}

static bool dt_overlaps_prot(const struct dt_gen *g, uint32_t addr, unsigned size)
{
	for (int i = 0; i < g->n_prot; i++)
		if (addr < g->prot_hi[i] && addr + size > g->prot_lo[i])
			return true;
	return false;
}

/* Can size bytes at addr be accessed by a generated memory operand? */
static bool dt_addr_ok(const struct dt_gen *g, uint32_t addr, unsigned size, unsigned align,
		       unsigned flags)
{
	if (addr & (align - 1))
		return false;
	if (addr >= DT_DATA_BASE && addr <= DT_DATA_BASE + DT_DATA_SIZE - size)
		return true;
	if (flags & DT_MEM_NO_STACK)
		return false;
	if (addr < DT_STACK_BASE || addr > DT_STACK_BASE + DT_STACK_SIZE - size)
		return false;
	return !((flags & DT_MEM_WRITE) && dt_overlaps_prot(g, addr, size));
}

static uint32_t dt_pick_target(struct dt_gen *g, unsigned size, unsigned align, unsigned flags)
{
	if (!(flags & (DT_MEM_WRITE | DT_MEM_NO_STACK)) && dt_rng_chance(&g->rng, 4)) {
		/* A read of the code region: the sequence's own bytes or the hlt filling. */
		uint32_t a = DT_CODE_BASE + dt_rng_below(&g->rng, DT_CODE_SIZE - size + 1);
		return a & ~(align - 1);
	}
	if (!(flags & DT_MEM_NO_STACK) && dt_rng_chance(&g->rng, 20)) {
		for (int tries = 0; tries < 8; tries++) {
			uint32_t a =
			    DT_STACK_BASE + dt_rng_below(&g->rng, DT_STACK_SIZE - size + 1);
			a &= ~(align - 1);
			if (dt_addr_ok(g, a, size, align, flags))
				return a;
		}
	}
	return dt_pick_data_addr(g, size, align);
}

/* A register set-up code may write to hold an address, or -1. */
static int dt_pick_ptr_reg(struct dt_gen *g)
{
	int cand[8], n = 0;
	for (int r = 0; r < 8; r++)
		if (dt_can_write(g, DT_REG_BIT(r)) && !(g->lock & DT_REG_BIT(r)))
			cand[n++] = r;
	return n ? cand[dt_rng_below(&g->rng, (uint32_t)n)] : -1;
}

static int dt_pick_known(struct dt_gen *g, bool index)
{
	int cand[8], n = 0;
	for (int r = 0; r < 8; r++)
		if (g->t.known[r] && !(index && r == DT_ESP))
			cand[n++] = r;
	return n ? cand[dt_rng_below(&g->rng, (uint32_t)n)] : -1;
}

static bool dt_fits_i8(int64_t v)
{
	return v >= -128 && v <= 127;
}

bool dt_gen_mem(struct dt_gen *g, unsigned size, unsigned align, unsigned flags, struct dt_mem *m)
{
	struct dt_rng *rng = &g->rng;
	*m = (struct dt_mem){.base = -1, .index = -1, .scale = 1};
	uint32_t target = dt_pick_target(g, size, align, flags);
	unsigned form = dt_rng_below(rng, 100);

	if (form < 8) {
		/* [disp32] */
		m->disp = (int32_t)target;
		m->disp_size = 4;
		m->sib = dt_rng_chance(rng, 30);
		if (m->sib)
			m->scale = (uint8_t)(1u << dt_rng_below(rng, 4));
	} else if (form < 40) {
		/* [base] or [base + disp8]: reuse a register that is close enough, else load one.
		 */
		bool want_disp = form >= 22;
		int b = dt_pick_known(g, false);
		int32_t d = want_disp ? (int32_t)dt_rng_below(rng, 256) - 128 : 0;
		if (b >= 0 && dt_rng_chance(rng, 60) &&
		    dt_addr_ok(g, g->t.val[b] + (uint32_t)d, size, align, flags)) {
			target = g->t.val[b] + (uint32_t)d;
		} else {
			b = dt_pick_ptr_reg(g);
			if (b < 0 || !dt_load_reg(g, b, target - (uint32_t)d))
				return false;
		}
		m->base = (int8_t)b;
		m->disp = d;
		m->disp_size = want_disp ? 1 : 0;
		if (b == DT_EBP && !want_disp)
			m->disp_size = 1;
		m->sib = dt_rng_chance(rng, 15);
		if (m->sib)
			m->scale = (uint8_t)(1u << dt_rng_below(rng, 4));
	} else if (form < 55) {
		/* [base + disp32] with whatever the base holds. */
		int b = dt_pick_known(g, false);
		DT_ASSERT(b >= 0); /* ESP is always known */
		m->base = (int8_t)b;
		m->disp = (int32_t)(target - g->t.val[b]);
		m->disp_size = 4;
		m->sib = dt_rng_chance(rng, 15);
	} else {
		/* [base + index * scale + disp] or [index * scale + disp32]. */
		bool no_base = form >= 88;
		int x = dt_pick_known(g, true);
		if (x < 0) {
			x = dt_pick_ptr_reg(g);
			if (x < 0 || !dt_load_reg(g, x, (uint32_t)dt_rng_below(rng, 64)))
				return false;
		}
		int b = no_base ? -1 : dt_pick_known(g, false);
		m->index = (int8_t)x;
		m->base = (int8_t)b;
		m->scale = (uint8_t)(1u << dt_rng_below(rng, 4));
		uint32_t sum = g->t.val[x] * m->scale + (b >= 0 ? g->t.val[b] : 0);
		int32_t d = (int32_t)dt_rng_below(rng, 256) - 128;
		if (b >= 0 && dt_rng_chance(rng, 50) &&
		    dt_addr_ok(g, sum + (uint32_t)d, size, align, flags)) {
			/* The registers already point close: a short or no displacement. */
			target = sum + (uint32_t)d;
			bool zero_ok = b != DT_EBP && dt_rng_chance(rng, 40) &&
				       dt_addr_ok(g, sum, size, align, flags);
			if (zero_ok)
				target = sum;
			m->disp = (int32_t)(target - sum);
			m->disp_size = zero_ok ? 0 : 1;
		} else {
			m->disp = (int32_t)(target - sum);
			m->disp_size =
			    (b >= 0 && dt_fits_i8(m->disp) && dt_rng_chance(rng, 50)) ? 1 : 4;
			if (b >= 0 && m->disp == 0 && b != DT_EBP && dt_rng_chance(rng, 50))
				m->disp_size = 0;
		}
	}
	m->addr = target;
	dt_use_addr_reg(g, m->base);
	dt_use_addr_reg(g, m->index);
	if (!(flags & DT_MEM_NO_SEG) && dt_rng_chance(rng, 12)) {
		/* ES, CS, SS and DS are flat for a Linux process too. A write through CS faults
		 * (#GP: code segments are not writable) — a test of its own, kept rare. */
		static const uint8_t segs[4] = {0x26, 0x2e, 0x36, 0x3e};
		m->seg = segs[dt_rng_below(rng, 4)];
		if (m->seg == 0x2e && (flags & DT_MEM_WRITE) && !dt_rng_chance(rng, 5))
			m->seg = 0x3e;
		/* Two segment prefixes: the last one counts, so a CS before another is harmless
		 * even on a write. */
		if (dt_rng_chance(rng, 15))
			m->seg2 = segs[dt_rng_below(rng, 4)];
	}
	return true;
}

bool dt_gen_rm(struct dt_gen *g, unsigned size, bool write, unsigned percent_mem, struct dt_rm *rm)
{
	memset(rm, 0, sizeof *rm);
	if (!g->force_mem && !dt_rng_chance(&g->rng, percent_mem)) {
		int r = write ? dt_pick_dst(g, size) : dt_pick_src(g);
		if (r >= 0) {
			rm->reg = (uint8_t)r;
			return true;
		}
	}
	rm->is_mem = true;
	return dt_gen_mem(g, size / 8, 1, write ? DT_MEM_WRITE : 0, &rm->m);
}

/* ---- labels and units ------------------------------------------------------------------------ */

int dt_label_new(struct dt_gen *g)
{
	struct dt_seq *s = g->seq;
	DT_ASSERT(s->n_labels < DT_MAX_LABELS);
	s->label_at[s->n_labels] = -1;
	return s->n_labels++;
}

/* The state where two paths meet: known only what both know alike. */
static void dt_track_merge(struct dt_track *a, const struct dt_track *b)
{
	DT_ASSERT(a->known[DT_ESP] && b->known[DT_ESP] && a->val[DT_ESP] == b->val[DT_ESP]);
	for (int r = 0; r < DT_GPR_COUNT; r++)
		a->known[r] = a->known[r] && b->known[r] && a->val[r] == b->val[r];
	a->undef |= b->undef;
	a->df_known = a->df_known && b->df_known && a->df == b->df;
}

void dt_label_bind_here(struct dt_gen *g, int label)
{
	g->seq->label_at[label] = g->seq->n_insns;
	for (int i = 0; i < g->n_pend;) {
		if (g->pend[i].label != label) {
			i++;
			continue;
		}
		if (g->dead) {
			g->t = g->pend[i].st;
			g->dead = false;
		} else {
			dt_track_merge(&g->t, &g->pend[i].st);
		}
		g->pend[i] = g->pend[--g->n_pend];
	}
}

void dt_branch_pending(struct dt_gen *g, int label, int units_left, bool short_range)
{
	DT_ASSERT(g->n_pend < DT_MAX_PENDING);
	g->pend[g->n_pend++] = (struct dt_pending){.label = label,
						   .units_left = units_left,
						   .short_range = short_range,
						   .from = g->bytes,
						   .scope = g->depth,
						   .st = g->t};
}

struct dt_snap {
	struct dt_gen g;
	int n_insns, n_labels, n_units;
};

static void dt_snap_take(const struct dt_gen *g, struct dt_snap *s)
{
	s->g = *g;
	s->n_insns = g->seq->n_insns;
	s->n_labels = g->seq->n_labels;
	s->n_units = g->seq->n_units;
}

/* Go back to the snapshot but keep drawing new random numbers, so that a retry differs. */
static void dt_snap_restore(struct dt_gen *g, const struct dt_snap *s)
{
	struct dt_rng rng = g->rng;
	*g = s->g;
	g->rng = rng;
	g->seq->n_insns = s->n_insns;
	g->seq->n_labels = s->n_labels;
	g->seq->n_units = s->n_units;
}

/* Bind every label of the current scope whose unit count ran out (all of them if flush). */
static void dt_pending_bind(struct dt_gen *g, bool flush)
{
	for (;;) {
		int label = -1;
		for (int i = 0; i < g->n_pend && label < 0; i++)
			if (g->pend[i].scope == g->depth && (flush || g->pend[i].units_left <= 0))
				label = g->pend[i].label;
		if (label < 0)
			return;
		dt_label_bind_here(g, label);
	}
}

static void dt_pending_tick(struct dt_gen *g)
{
	for (int i = 0; i < g->n_pend; i++)
		if (g->pend[i].scope == g->depth)
			g->pend[i].units_left--;
	dt_pending_bind(g, false);
}

/* Labels of the current scope reached by an 8-bit branch that the code since has pushed out
 * of range; collected into labels (returns how many). */
static int dt_pending_too_far(const struct dt_gen *g, int labels[DT_MAX_PENDING])
{
	int n = 0;
	for (int i = 0; i < g->n_pend; i++)
		if (g->pend[i].scope == g->depth && g->pend[i].short_range &&
		    g->bytes - g->pend[i].from > 127)
			labels[n++] = g->pend[i].label;
	return n;
}

static int dt_pick_class(struct dt_gen *g)
{
	int cand[DT_CLASS_COUNT], n = 0;
	for (int c = 0; c < DT_CLASS_COUNT; c++)
		if (g->classes & (1u << c))
			cand[n++] = c;
	DT_ASSERT(n > 0);
	return cand[dt_rng_below(&g->rng, (uint32_t)n)];
}

void dt_gen_unit(struct dt_gen *g)
{
	struct dt_seq *s = g->seq;
	if (s->n_insns > (g->depth ? DT_ROOM_BODY : DT_ROOM_TOP))
		return;
	for (int attempt = 0; attempt < 100; attempt++) {
		struct dt_snap snap;
		dt_snap_take(g, &snap);
		int parent = g->unit;
		DT_ASSERT(s->n_units < DT_MAX_UNITS);
		s->unit_parent[s->n_units] = parent;
		g->unit = s->n_units++;
		int cls = dt_pick_class(g);
		g->cls = (uint8_t)cls;
		bool ok = dt_class_gen[cls](g);
		g->unit = parent;
		g->lock = 0;
		g->force_mem = false;
		if (!ok || g->invalid || s->n_insns == snap.n_insns) {
			dt_snap_restore(g, &snap);
			continue;
		}
		int far[DT_MAX_PENDING];
		int n_far = dt_pending_too_far(g, far);
		if (n_far) {
			/* Bind the labels before this unit instead and try again. */
			dt_snap_restore(g, &snap);
			for (int i = 0; i < n_far; i++)
				dt_label_bind_here(g, far[i]);
			continue;
		}
		dt_pending_tick(g);
		return;
	}
}

void dt_gen_body(struct dt_gen *g, int n, uint32_t max_bytes)
{
	g->depth++;
	uint32_t start = g->bytes;
	for (int i = 0; i < n; i++) {
		struct dt_snap snap;
		dt_snap_take(g, &snap);
		dt_gen_unit(g);
		if (max_bytes && g->bytes - start > max_bytes) {
			dt_snap_restore(g, &snap);
			break;
		}
	}
	dt_pending_bind(g, true);
	g->depth--;
}

/* ---- the initial state and the driver -------------------------------------------------------- */

static uint32_t dt_random_reg_value(struct dt_rng *rng)
{
	unsigned r = dt_rng_below(rng, 100);
	if (r < 35)
		return DT_DATA_BASE + dt_rng_below(rng, DT_DATA_SIZE);
	if (r < 45)
		return DT_STACK_BASE + dt_rng_below(rng, DT_STACK_SIZE);
	if (r < 55)
		return dt_rng_below(rng, 256);
	if (r < 62)
		return (uint32_t)((int32_t)dt_rng_below(rng, 17) - 8);
	if (r < 66) {
		static const uint32_t edges[] = {0x7fffffff, 0x80000000, 0xffffffff, 0x8000,
						 0x7fff,     0xffff,	 0x80,	     0x7f};
		return edges[dt_rng_below(rng, 8)];
	}
	return (uint32_t)dt_rng_next(rng);
}

static void dt_fill_memory(struct dt_rng *rng, uint8_t *mem, size_t size)
{
	for (size_t i = 0; i < size; i += 8) {
		uint64_t v = dt_rng_next(rng);
		memcpy(mem + i, &v, size - i < 8 ? size - i : 8);
	}
	/* Some structure: runs of small values and repeated blocks, so that repe cmps and
	 * scas find equal elements and BCD instructions see BCD digits. */
	int blocks = (int)dt_rng_below(rng, 4);
	for (int b = 0; b < blocks; b++) {
		uint32_t len = 8 + dt_rng_below(rng, 120);
		uint32_t from = dt_rng_below(rng, (uint32_t)(size - len));
		uint32_t to = dt_rng_below(rng, (uint32_t)(size - len));
		switch (dt_rng_below(rng, 3)) {
		case 0:
			memmove(mem + to, mem + from, len);
			break;
		case 1:
			memset(mem + to, (int)dt_rng_below(rng, 256), len);
			break;
		default:
			for (uint32_t i = 0; i < len; i++)
				mem[to + i] = (uint8_t)dt_rng_below(rng, 10);
			break;
		}
	}
}

static void dt_gen_initial(struct dt_gen *g)
{
	struct dt_seq *s = g->seq;
	struct dt_rng *rng = &g->rng;
	for (int r = 0; r < DT_GPR_COUNT; r++)
		s->gpr[r] = dt_random_reg_value(rng);
	s->gpr[DT_ESP] = DT_STACK_BASE + 0x700 + 4 * dt_rng_below(rng, 0x80);
	if (dt_rng_chance(rng, 5))
		s->gpr[DT_ESP] += 1 + dt_rng_below(rng, 3);
	/* IF=1 and IOPL=0 as in any Linux process; TF, AC, NT, ID clear. */
	s->eflags = 0x202 | ((uint32_t)dt_rng_next(rng) & DT_ARITH);
	if (dt_rng_chance(rng, 30))
		s->eflags |= DT_DF;
	dt_gen_fpu_state(g, s->fxsave);
	dt_fill_memory(rng, s->data, sizeof s->data);
	dt_fill_memory(rng, s->stack, sizeof s->stack);

	for (int r = 0; r < DT_GPR_COUNT; r++)
		dt_set_reg(g, r, s->gpr[r]);
	g->t.undef = 0;
	g->t.df_known = true;
	g->t.df = s->eflags & DT_DF;
}

void dt_generate(struct dt_seq *seq, uint64_t seed, uint64_t index, unsigned class_mask)
{
	memset(seq, 0, offsetof(struct dt_seq, gpr));
	seq->seed = seed;
	seq->index = index;
	seq->class_mask = class_mask;

	struct dt_gen g;
	memset(&g, 0, sizeof g);
	dt_rng_seed(&g.rng, seed, index);
	g.seq = seq;
	/* A third of the sequences start just before the page boundary in the middle of the code
	 * region, so that blocks and instructions straddle two pages. */
	seq->code_base = DT_CODE_BASE;
	if (dt_rng_chance(&g.rng, 30))
		seq->code_base += 0x1000 - 1 - dt_rng_below(&g.rng, 160);
	g.classes = class_mask;
	g.unit = -1;
	g.no_write = DT_REG_BIT(DT_ESP);
	g.stack_free = true;
	dt_gen_initial(&g);

	int units = 1 + (int)dt_rng_below(&g.rng, 20);
	for (int u = 0; u < units; u++)
		dt_gen_unit(&g);
	dt_pending_bind(&g, true);

	bool assembled = dt_seq_assemble(seq);
	DT_ASSERT(assembled);
	int bad = -1;
	if (!dt_seq_analyze(seq, &bad)) {
		fprintf(stderr,
			"bt86-difftest: generator bug: seed %llu index %llu reads an "
			"undefined flag at instruction %d\n",
			(unsigned long long)seed, (unsigned long long)index, bad);
		DT_ASSERT(!"generated sequence reads an undefined flag");
	}
}
