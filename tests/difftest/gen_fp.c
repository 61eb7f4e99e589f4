/* The x87, MMX and SSE/SSE2 classes, and the random initial FPU state.
 *
 * The initial state masks every exception, so invalid operations, overflows and the like mostly
 * produce their masked results and sticky flags; those, the rounding modes and the odd
 * encodings (NaNs, denormals, unnormals) are what the initial state and the memory operands
 * feed in. A few fldcw/ldmxcsr in a sequence unmask some exceptions to reach #MF and #XM. MMX and
 * SSE forms come from one table: prefix, opcode, operand kinds, memory size and alignment.
 */
#include <string.h>

#include "gen_internal.h"

static const struct dt_flag_effect dt_no_flags = {0, 0};

/* ---- the initial state ----------------------------------------------------------------------- */

static void dt_put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void dt_put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void dt_put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* An 80-bit extended value: mostly ordinary numbers, with every special class mixed in. */
static void dt_random_ext(struct dt_rng *rng, uint8_t out[10])
{
	uint64_t mant = dt_rng_next(rng);
	uint16_t exp;
	uint16_t sign = dt_rng_chance(rng, 30) ? 0x8000 : 0;
	unsigned k = dt_rng_below(rng, 100);
	if (k < 50) {
		exp = (uint16_t)(0x3fff + (int)dt_rng_below(rng, 128) - 64);
		mant |= 1ull << 63;
	} else if (k < 58) {
		exp = 0;
		mant = 0;
	} else if (k < 62) {
		exp = 0x7fff;
		mant = 1ull << 63;
	} else if (k < 67) {
		exp = 0x7fff;
		mant |= 3ull << 62; /* quiet NaN */
	} else if (k < 70) {
		exp = 0x7fff;
		mant = (mant & ~(3ull << 62)) | (1ull << 63) | 1; /* signalling NaN */
	} else if (k < 74) {
		exp = 0;
		mant &= ~(1ull << 63); /* denormal */
	} else if (k < 82) {
		uint64_t v = 1 + dt_rng_below(rng, 1000);
		int lz = __builtin_clzll(v);
		exp = (uint16_t)(0x3fff + 63 - lz);
		mant = v << lz;
	} else if (k < 88) {
		exp = dt_rng_chance(rng, 50) ? (uint16_t)(0x7ffe - dt_rng_below(rng, 4))
					     : (uint16_t)(1 + dt_rng_below(rng, 4));
		mant |= 1ull << 63;
	} else {
		exp = (uint16_t)dt_rng_next(rng) & 0x7fff; /* anything, unnormals included */
	}
	dt_put64(out, mant);
	dt_put16(out + 8, (uint16_t)(exp | sign));
}

static uint32_t dt_random_float_bits(struct dt_rng *rng)
{
	unsigned k = dt_rng_below(rng, 100);
	uint32_t sign = dt_rng_chance(rng, 30) ? 0x80000000u : 0;
	uint32_t mant = (uint32_t)dt_rng_next(rng) & 0x7fffff;
	if (k < 60)
		return sign | (uint32_t)(127 + (int)dt_rng_below(rng, 40) - 20) << 23 | mant;
	if (k < 66)
		return sign;
	if (k < 70)
		return sign | 0x7f800000u;
	if (k < 75)
		return sign | 0x7fc00000u | mant;
	if (k < 80)
		return sign | mant; /* denormal */
	return (uint32_t)dt_rng_next(rng);
}

static uint64_t dt_random_double_bits(struct dt_rng *rng)
{
	unsigned k = dt_rng_below(rng, 100);
	uint64_t sign = dt_rng_chance(rng, 30) ? 1ull << 63 : 0;
	uint64_t mant = dt_rng_next(rng) & ((1ull << 52) - 1);
	if (k < 60)
		return sign | (uint64_t)(1023 + (int)dt_rng_below(rng, 80) - 40) << 52 | mant;
	if (k < 66)
		return sign;
	if (k < 70)
		return sign | 0x7ff0000000000000ull;
	if (k < 75)
		return sign | 0x7ff8000000000000ull | mant;
	if (k < 80)
		return sign | mant;
	return dt_rng_next(rng);
}

/* 16 bytes of XMM content: packed singles, packed doubles, or integers. */
static void dt_random_xmm(struct dt_rng *rng, uint8_t out[16])
{
	switch (dt_rng_below(rng, 3)) {
	case 0:
		for (int i = 0; i < 4; i++)
			dt_put32(out + 4 * i, dt_random_float_bits(rng));
		break;
	case 1:
		for (int i = 0; i < 2; i++)
			dt_put64(out + 8 * i, dt_random_double_bits(rng));
		break;
	default:
		for (int i = 0; i < 2; i++)
			dt_put64(out + 8 * i, dt_rng_next(rng));
		break;
	}
}

/* FCW with every exception masked: random precision (not the reserved 01), rounding, IC. */
static uint16_t dt_random_fcw(struct dt_rng *rng)
{
	static const uint16_t pc[3] = {0x000, 0x200, 0x300};
	return (uint16_t)(0x007f | pc[dt_rng_below(rng, 3)] | dt_rng_below(rng, 4) << 10 |
			  (dt_rng_chance(rng, 20) ? 0x1000 : 0));
}

/* MXCSR with every exception masked: random rounding, FZ, DAZ and sticky flags. */
static uint32_t dt_random_mxcsr(struct dt_rng *rng)
{
	uint32_t v = 0x1f80 | dt_rng_below(rng, 4) << 13;
	if (dt_rng_chance(rng, 20))
		v |= 0x8000;
	if (dt_rng_chance(rng, 20))
		v |= 0x0040;
	if (dt_rng_chance(rng, 30))
		v |= dt_rng_below(rng, 64);
	return v;
}

void dt_gen_fpu_state(struct dt_gen *g, uint8_t fx[DT_FXSAVE_SIZE])
{
	struct dt_rng *rng = &g->rng;
	memset(fx, 0, DT_FXSAVE_SIZE);
	dt_put16(fx + 0, dt_random_fcw(rng));
	/* FSW: TOP, condition codes and sticky exception flags; never ES or B (nothing is
	 * unmasked, so nothing can be pending). */
	uint16_t fsw = (uint16_t)(dt_rng_below(rng, 8) << 11 | (dt_rng_next(rng) & 0x4700));
	if (dt_rng_chance(rng, 30))
		fsw |= (uint16_t)dt_rng_below(rng, 128);
	dt_put16(fx + 2, fsw);
	uint8_t ftw = 0;
	for (int i = 0; i < 8; i++)
		if (dt_rng_chance(rng, 65))
			ftw |= (uint8_t)(1u << i);
	fx[4] = ftw;
	dt_put32(fx + 24, dt_random_mxcsr(rng));
	for (int i = 0; i < 8; i++)
		dt_random_ext(rng, fx + 32 + 16 * i);
	for (int i = 0; i < 8; i++)
		dt_random_xmm(rng, fx + 160 + 16 * i);
}

/* A control word for fldcw/ldmxcsr inside a sequence: now and then with some exceptions
 * unmasked, so that #MF (at the next waiting x87 instruction) and #XM (at the faulting SSE
 * instruction) happen too. mask_shift is where the six mask bits start (0 in FCW, 7 in MXCSR). */
static uint32_t dt_maybe_unmask(struct dt_rng *rng, uint32_t value, unsigned mask_shift)
{
	if (dt_rng_chance(rng, 8))
		value &= ~((dt_rng_below(rng, 64) | 1u << dt_rng_below(rng, 6)) << mask_shift);
	return value;
}

/* ---- x87 ------------------------------------------------------------------------------------- */

/* An x87 instruction with a memory operand: [seg] opcode /ext m. */
static bool dt_x87_mem(struct dt_gen *g, uint8_t opcode, unsigned ext, unsigned size, bool store)
{
	struct dt_rm rm = {.is_mem = true};
	if (!dt_gen_mem(g, size, 1, store ? DT_MEM_WRITE : 0, &rm.m))
		return false;
	struct dt_insn *in = dt_emit_begin(g);
	dt_prefix_rm(in, &rm);
	dt_b(in, opcode);
	dt_modrm(in, ext, &rm);
	dt_emit_end(g, in, 0, dt_no_flags, 0);
	return true;
}

static void dt_x87_two(struct dt_gen *g, uint8_t a, uint8_t b)
{
	struct dt_insn *in = dt_emit_begin(g);
	dt_b(in, a);
	dt_b(in, b);
	dt_emit_end(g, in, 0, dt_no_flags, 0);
}

static bool dt_x87_load_store(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	unsigned i = dt_rng_below(rng, 8);
	switch (dt_rng_below(rng, 14)) {
	case 0:
		dt_x87_two(g, 0xd9, (uint8_t)(0xc0 + i)); /* fld st(i) */
		return true;
	case 1:
		return dt_x87_mem(g, 0xd9, 0, 4, false); /* fld m32 */
	case 2:
		return dt_x87_mem(g, 0xdd, 0, 8, false); /* fld m64 */
	case 3:
		return dt_x87_mem(g, 0xdb, 5, 10, false); /* fld m80 */
	case 4: {					  /* fild m16 / m32 / m64 */
		unsigned k = dt_rng_below(rng, 3);
		return dt_x87_mem(g, k == 1 ? 0xdb : 0xdf, k == 2 ? 5 : 0, 2u << k, false);
	}
	case 5: /* fld1 fldl2t fldl2e fldpi fldlg2 fldln2 fldz */
		dt_x87_two(g, 0xd9, (uint8_t)(0xe8 + dt_rng_below(rng, 7)));
		return true;
	case 6: /* fst / fstp m32 */
		return dt_x87_mem(g, 0xd9, 2 + dt_rng_below(rng, 2), 4, true);
	case 7: /* fst / fstp m64 */
		return dt_x87_mem(g, 0xdd, 2 + dt_rng_below(rng, 2), 8, true);
	case 8: /* fstp m80 */
		return dt_x87_mem(g, 0xdb, 7, 10, true);
	case 9: /* fst / fstp st(i) */
		dt_x87_two(g, 0xdd, (uint8_t)((dt_rng_chance(rng, 50) ? 0xd0 : 0xd8) + i));
		return true;
	case 10: /* fist / fistp m16 */
		return dt_x87_mem(g, 0xdf, 2 + dt_rng_below(rng, 2), 2, true);
	case 11: /* fist / fistp m32 */
		return dt_x87_mem(g, 0xdb, 2 + dt_rng_below(rng, 2), 4, true);
	case 12: /* fistp m64 */
		return dt_x87_mem(g, 0xdf, 7, 8, true);
	default: /* fxch st(i) */
		dt_x87_two(g, 0xd9, (uint8_t)(0xc8 + i));
		return true;
	}
}

static bool dt_x87_arith(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	static const unsigned ops[6] = {0, 1, 4, 5, 6, 7}; /* add mul sub subr div divr */
	unsigned op = ops[dt_rng_below(rng, 6)];
	unsigned i = dt_rng_below(rng, 8);
	switch (dt_rng_below(rng, 7)) {
	case 0:
		return dt_x87_mem(g, 0xd8, op, 4, false); /* fop m32 */
	case 1:
		return dt_x87_mem(g, 0xdc, op, 8, false); /* fop m64 */
	case 2:
		return dt_x87_mem(g, 0xda, op, 4, false); /* fiop m32 */
	case 3:
		return dt_x87_mem(g, 0xde, op, 2, false); /* fiop m16 */
	case 4:
		dt_x87_two(g, 0xd8, (uint8_t)(0xc0 + op * 8 + i)); /* st0 = st0 op st(i) */
		return true;
	case 5:
		dt_x87_two(g, 0xdc, (uint8_t)(0xc0 + op * 8 + i)); /* st(i) = st(i) op st0 */
		return true;
	default:
		dt_x87_two(g, 0xde, (uint8_t)(0xc0 + op * 8 + i)); /* ...p */
		return true;
	}
}

static bool dt_x87_compare(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	unsigned i = dt_rng_below(rng, 8);
	unsigned k = dt_rng_below(rng, 12);
	if (k < 4) {
		/* fcomi fcomip fucomi fucomip: ZF PF CF from the comparison, OF SF AF cleared */
		static const uint8_t a[4] = {0xdb, 0xdf, 0xdb, 0xdf};
		static const uint8_t b[4] = {0xf0, 0xf0, 0xe8, 0xe8};
		struct dt_insn *in = dt_emit_begin(g);
		dt_b(in, a[k]);
		dt_b(in, (uint8_t)(b[k] + i));
		dt_emit_end_fk(g, in, 0, DT_FK_ALL, 32, 0, 0);
		return true;
	}
	switch (k) {
	case 4:
		return dt_x87_mem(g, 0xd8, 2 + dt_rng_below(rng, 2), 4, false); /* fcom(p) m32 */
	case 5:
		return dt_x87_mem(g, 0xdc, 2 + dt_rng_below(rng, 2), 8, false); /* fcom(p) m64 */
	case 6:
		dt_x87_two(g, 0xd8, (uint8_t)((dt_rng_chance(rng, 50) ? 0xd0 : 0xd8) + i));
		return true;
	case 7:
		dt_x87_two(g, 0xdd, (uint8_t)((dt_rng_chance(rng, 50) ? 0xe0 : 0xe8) + i));
		return true;
	case 8:
		dt_x87_two(g, 0xde, 0xd9); /* fcompp */
		return true;
	case 9:
		dt_x87_two(g, 0xda, 0xe9); /* fucompp */
		return true;
	default:
		dt_x87_two(g, 0xd9, dt_rng_chance(rng, 50) ? 0xe4 : 0xe5); /* ftst fxam */
		return true;
	}
}

static bool dt_x87_unary(struct dt_gen *g)
{
	static const uint8_t ops[] = {
	    0xe0, 0xe1, 0xfa, 0xfc, /* fchs fabs fsqrt frndint */
	    0xf7, 0xf6, 0xfd, 0xf8, /* fincstp fdecstp fscale fprem */
	    0xf5, 0xf4, 0xf0, 0xf1, /* fprem1 fxtract f2xm1 fyl2x */
	    0xf2, 0xf3, 0xfe, 0xff, /* fptan fpatan fsin fcos */
	    0xfb, 0xf9, 0xd0,	    /* fsincos fyl2xp1 fnop */
	};
	struct dt_rng *rng = &g->rng;
	if (dt_rng_chance(rng, 10)) {
		dt_x87_two(g, 0xdd, (uint8_t)(0xc0 + dt_rng_below(rng, 8))); /* ffree st(i) */
		return true;
	}
	/* The common ones more often than the transcendental ones. */
	unsigned n = dt_rng_chance(rng, 60) ? 4 : sizeof ops;
	dt_x87_two(g, 0xd9, ops[dt_rng_below(rng, n)]);
	return true;
}

static bool dt_x87_control(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	struct dt_insn *in;
	switch (dt_rng_below(rng, 7)) {
	case 0: /* fnstsw ax */
		if (!dt_can_write(g, DT_REG_BIT(DT_EAX)))
			return false;
		in = dt_emit_begin(g);
		dt_b(in, 0xdf);
		dt_b(in, 0xe0);
		dt_emit_end(g, in, 0, dt_no_flags, DT_REG_BIT(DT_EAX));
		return true;
	case 1:
		return dt_x87_mem(g, 0xdd, 7, 2, true); /* fnstsw m16 */
	case 2:
		return dt_x87_mem(g, 0xd9, 7, 2, true); /* fnstcw m16 */
	case 3: {					/* mov word [m], fcw; fldcw [m] */
		struct dt_rm rm = {.is_mem = true};
		if (!dt_gen_mem(g, 2, 1, DT_MEM_WRITE | DT_MEM_NO_SEG, &rm.m))
			return false;
		in = dt_emit_begin(g);
		dt_b(in, 0x66);
		dt_b(in, 0xc7);
		dt_modrm(in, 0, &rm);
		uint16_t fcw = (uint16_t)dt_maybe_unmask(rng, dt_random_fcw(rng), 0);
		dt_w(in, fcw);
		g->x87_unmasked |= (fcw & 0x3f) != 0x3f;
		in->pinned = true;
		dt_emit_end(g, in, 0, dt_no_flags, 0);
		in = dt_emit_begin(g);
		dt_b(in, 0xd9);
		dt_modrm(in, 5, &rm);
		dt_emit_end(g, in, 0, dt_no_flags, 0);
		return true;
	}
	case 4:
		dt_x87_two(g, 0xdb, dt_rng_chance(rng, 70) ? 0xe2 : 0xe3); /* fnclex fninit */
		return true;
	case 5: /* fwait: nothing is pending, so a no-op */
		in = dt_emit_begin(g);
		dt_b(in, 0x9b);
		dt_emit_end(g, in, 0, dt_no_flags, 0);
		return true;
	default: { /* fcmovcc st0, st(i): b e be u, nb ne nbe nu */
		unsigned cc = dt_rng_below(rng, 8);
		static const uint16_t reads[4] = {DT_CF, DT_ZF, DT_CF | DT_ZF, DT_PF};
		dt_need_flags(g, reads[cc & 3]);
		in = dt_emit_begin(g);
		dt_b(in, cc < 4 ? 0xda : 0xdb);
		dt_b(in, (uint8_t)(0xc0 + (cc & 3) * 8 + dt_rng_below(rng, 8)));
		dt_emit_end(g, in, reads[cc & 3], dt_no_flags, 0);
		return true;
	}
	}
}

bool dt_gen_x87(struct dt_gen *g)
{
	unsigned r = dt_rng_below(&g->rng, 100);
	if (r < 35)
		return dt_x87_load_store(g);
	if (r < 60)
		return dt_x87_arith(g);
	if (r < 75)
		return dt_x87_compare(g);
	if (r < 88)
		return dt_x87_unary(g);
	return dt_x87_control(g);
}

/* ---- MMX and SSE: one table ------------------------------------------------------------------ */

/* Operand kinds of the ModRM reg field and r/m. */
enum dt_vk { DT_VK_X, DT_VK_M, DT_VK_G };

enum {
	DT_V_IMM = 1u << 0,	/* an imm8 follows */
	DT_V_ALIGN = 1u << 1,	/* a 16-byte memory operand that must be aligned */
	DT_V_STORE = 1u << 2,	/* r/m is the destination */
	DT_V_REGONLY = 1u << 3, /* the memory form means something else or is invalid */
	DT_V_MEMONLY = 1u << 4,
	DT_V_EXT = 1u << 5,	 /* the reg field is the opcode extension ext */
	DT_V_EFLAGS = 1u << 6,	 /* comis/ucomis: writes all arithmetic flags */
	DT_V_NOWRITE = 1u << 7,	 /* writes no register (the reg field is a source too) */
	DT_V_EDI = 1u << 8,	 /* maskmov: stores to [edi] */
	DT_V_MXCSR = 1u << 9,	 /* ldmxcsr: the memory operand is set up first */
	DT_V_SSE_MMX = 1u << 10, /* an SSE/SSE2 instruction on MMX registers: x87 faults are #MF */
};

struct dt_vec_op {
	uint8_t prefix; /* 0, 0x66, 0xf2, 0xf3 */
	uint8_t opcode; /* after 0F */
	uint8_t reg;	/* enum dt_vk of the reg field */
	uint8_t rm;	/* enum dt_vk of r/m */
	uint8_t msize;	/* bytes of the memory form */
	uint8_t ext;
	uint16_t flags;
	const char *name; /* the mnemonic, for people reading the table */
};

#define X  DT_VK_X
#define M  DT_VK_M
#define G  DT_VK_G
#define AL DT_V_ALIGN

/* MMX (and the SSE/SSE2 instructions on MMX registers). */
static const struct dt_vec_op dt_mmx_ops[] = {
    {0, 0xfc, M, M, 8, 0, 0, "paddb"},
    {0, 0xfd, M, M, 8, 0, 0, "paddw"},
    {0, 0xfe, M, M, 8, 0, 0, "paddd"},
    {0, 0xd4, M, M, 8, 0, DT_V_SSE_MMX, "paddq"},
    {0, 0xfb, M, M, 8, 0, DT_V_SSE_MMX, "psubq"},
    {0, 0xec, M, M, 8, 0, 0, "paddsb"},
    {0, 0xed, M, M, 8, 0, 0, "paddsw"},
    {0, 0xdc, M, M, 8, 0, 0, "paddusb"},
    {0, 0xdd, M, M, 8, 0, 0, "paddusw"},
    {0, 0xf8, M, M, 8, 0, 0, "psubb"},
    {0, 0xf9, M, M, 8, 0, 0, "psubw"},
    {0, 0xfa, M, M, 8, 0, 0, "psubd"},
    {0, 0xe8, M, M, 8, 0, 0, "psubsb"},
    {0, 0xe9, M, M, 8, 0, 0, "psubsw"},
    {0, 0xd8, M, M, 8, 0, 0, "psubusb"},
    {0, 0xd9, M, M, 8, 0, 0, "psubusw"},
    {0, 0xd5, M, M, 8, 0, 0, "pmullw"},
    {0, 0xe5, M, M, 8, 0, 0, "pmulhw"},
    {0, 0xe4, M, M, 8, 0, DT_V_SSE_MMX, "pmulhuw"},
    {0, 0xf4, M, M, 8, 0, DT_V_SSE_MMX, "pmuludq"},
    {0, 0xf5, M, M, 8, 0, 0, "pmaddwd"},
    {0, 0xf6, M, M, 8, 0, DT_V_SSE_MMX, "psadbw"},
    {0, 0xdb, M, M, 8, 0, 0, "pand"},
    {0, 0xdf, M, M, 8, 0, 0, "pandn"},
    {0, 0xeb, M, M, 8, 0, 0, "por"},
    {0, 0xef, M, M, 8, 0, 0, "pxor"},
    {0, 0x74, M, M, 8, 0, 0, "pcmpeqb"},
    {0, 0x75, M, M, 8, 0, 0, "pcmpeqw"},
    {0, 0x76, M, M, 8, 0, 0, "pcmpeqd"},
    {0, 0x64, M, M, 8, 0, 0, "pcmpgtb"},
    {0, 0x65, M, M, 8, 0, 0, "pcmpgtw"},
    {0, 0x66, M, M, 8, 0, 0, "pcmpgtd"},
    {0, 0x63, M, M, 8, 0, 0, "packsswb"},
    {0, 0x6b, M, M, 8, 0, 0, "packssdw"},
    {0, 0x67, M, M, 8, 0, 0, "packuswb"},
    {0, 0x60, M, M, 4, 0, 0, "punpcklbw"},
    {0, 0x61, M, M, 4, 0, 0, "punpcklwd"},
    {0, 0x62, M, M, 4, 0, 0, "punpckldq"},
    {0, 0x68, M, M, 8, 0, 0, "punpckhbw"},
    {0, 0x69, M, M, 8, 0, 0, "punpckhwd"},
    {0, 0x6a, M, M, 8, 0, 0, "punpckhdq"},
    {0, 0xf1, M, M, 8, 0, 0, "psllw"},
    {0, 0xf2, M, M, 8, 0, 0, "pslld"},
    {0, 0xf3, M, M, 8, 0, 0, "psllq"},
    {0, 0xd1, M, M, 8, 0, 0, "psrlw"},
    {0, 0xd2, M, M, 8, 0, 0, "psrld"},
    {0, 0xd3, M, M, 8, 0, 0, "psrlq"},
    {0, 0xe1, M, M, 8, 0, 0, "psraw"},
    {0, 0xe2, M, M, 8, 0, 0, "psrad"},
    {0, 0x71, 0, M, 0, 6, DT_V_EXT | DT_V_IMM | DT_V_REGONLY, "psllw imm"},
    {0, 0x71, 0, M, 0, 2, DT_V_EXT | DT_V_IMM | DT_V_REGONLY, "psrlw imm"},
    {0, 0x71, 0, M, 0, 4, DT_V_EXT | DT_V_IMM | DT_V_REGONLY, "psraw imm"},
    {0, 0x72, 0, M, 0, 6, DT_V_EXT | DT_V_IMM | DT_V_REGONLY, "pslld imm"},
    {0, 0x72, 0, M, 0, 2, DT_V_EXT | DT_V_IMM | DT_V_REGONLY, "psrld imm"},
    {0, 0x72, 0, M, 0, 4, DT_V_EXT | DT_V_IMM | DT_V_REGONLY, "psrad imm"},
    {0, 0x73, 0, M, 0, 6, DT_V_EXT | DT_V_IMM | DT_V_REGONLY, "psllq imm"},
    {0, 0x73, 0, M, 0, 2, DT_V_EXT | DT_V_IMM | DT_V_REGONLY, "psrlq imm"},
    {0, 0x6e, M, G, 4, 0, 0, "movd mm, r/m32"},
    {0, 0x7e, M, G, 4, 0, DT_V_STORE, "movd r/m32, mm"},
    {0, 0x6f, M, M, 8, 0, 0, "movq mm, mm/m64"},
    {0, 0x7f, M, M, 8, 0, DT_V_STORE, "movq mm/m64, mm"},
    {0, 0xe0, M, M, 8, 0, DT_V_SSE_MMX, "pavgb"},
    {0, 0xe3, M, M, 8, 0, DT_V_SSE_MMX, "pavgw"},
    {0, 0xee, M, M, 8, 0, DT_V_SSE_MMX, "pmaxsw"},
    {0, 0xde, M, M, 8, 0, DT_V_SSE_MMX, "pmaxub"},
    {0, 0xea, M, M, 8, 0, DT_V_SSE_MMX, "pminsw"},
    {0, 0xda, M, M, 8, 0, DT_V_SSE_MMX, "pminub"},
    {0, 0x70, M, M, 8, 0, DT_V_IMM | DT_V_SSE_MMX, "pshufw"},
    {0, 0xc4, M, G, 2, 0, DT_V_IMM | DT_V_SSE_MMX, "pinsrw mm, r32/m16"},
    {0, 0xc5, G, M, 0, 0, DT_V_IMM | DT_V_REGONLY | DT_V_SSE_MMX, "pextrw r32, mm"},
    {0, 0xd7, G, M, 0, 0, DT_V_REGONLY | DT_V_SSE_MMX, "pmovmskb r32, mm"},
    {0, 0xe7, M, M, 8, 0, DT_V_STORE | DT_V_MEMONLY | DT_V_SSE_MMX, "movntq"},
    {0, 0xf7, M, M, 0, 0, DT_V_REGONLY | DT_V_EDI | DT_V_NOWRITE | DT_V_SSE_MMX, "maskmovq"},
    {0, 0x2a, X, M, 8, 0, DT_V_SSE_MMX, "cvtpi2ps xmm, mm/m64"},
    {0, 0x2d, M, X, 8, 0, DT_V_SSE_MMX, "cvtps2pi mm, xmm/m64"},
    {0, 0x2c, M, X, 8, 0, DT_V_SSE_MMX, "cvttps2pi"},
    {0x66, 0x2a, X, M, 8, 0, DT_V_SSE_MMX, "cvtpi2pd xmm, mm/m64"},
    {0x66, 0x2d, M, X, 16, 0, AL | DT_V_SSE_MMX, "cvtpd2pi mm, xmm/m128"},
    {0x66, 0x2c, M, X, 16, 0, AL | DT_V_SSE_MMX, "cvttpd2pi"},
    {0xf3, 0xd6, X, M, 0, 0, DT_V_REGONLY | DT_V_SSE_MMX, "movq2dq"},
    {0xf2, 0xd6, M, X, 0, 0, DT_V_REGONLY | DT_V_SSE_MMX, "movdq2q"},
};

/* SSE and SSE2 on XMM registers: packed and scalar arithmetic, logic, shuffles, compares into
 * EFLAGS, conversions, the SSE2 integer operations, moves, MXCSR and cache hints. */
static const struct dt_vec_op dt_sse_ops[] = {
    {0, 0x58, X, X, 16, 0, AL, "addps"},
    {0x66, 0x58, X, X, 16, 0, AL, "addpd"},
    {0xf3, 0x58, X, X, 4, 0, 0, "addss"},
    {0xf2, 0x58, X, X, 8, 0, 0, "addsd"},
    {0, 0x59, X, X, 16, 0, AL, "mulps"},
    {0x66, 0x59, X, X, 16, 0, AL, "mulpd"},
    {0xf3, 0x59, X, X, 4, 0, 0, "mulss"},
    {0xf2, 0x59, X, X, 8, 0, 0, "mulsd"},
    {0, 0x5c, X, X, 16, 0, AL, "subps"},
    {0x66, 0x5c, X, X, 16, 0, AL, "subpd"},
    {0xf3, 0x5c, X, X, 4, 0, 0, "subss"},
    {0xf2, 0x5c, X, X, 8, 0, 0, "subsd"},
    {0, 0x5d, X, X, 16, 0, AL, "minps"},
    {0x66, 0x5d, X, X, 16, 0, AL, "minpd"},
    {0xf3, 0x5d, X, X, 4, 0, 0, "minss"},
    {0xf2, 0x5d, X, X, 8, 0, 0, "minsd"},
    {0, 0x5e, X, X, 16, 0, AL, "divps"},
    {0x66, 0x5e, X, X, 16, 0, AL, "divpd"},
    {0xf3, 0x5e, X, X, 4, 0, 0, "divss"},
    {0xf2, 0x5e, X, X, 8, 0, 0, "divsd"},
    {0, 0x5f, X, X, 16, 0, AL, "maxps"},
    {0x66, 0x5f, X, X, 16, 0, AL, "maxpd"},
    {0xf3, 0x5f, X, X, 4, 0, 0, "maxss"},
    {0xf2, 0x5f, X, X, 8, 0, 0, "maxsd"},
    {0, 0x51, X, X, 16, 0, AL, "sqrtps"},
    {0x66, 0x51, X, X, 16, 0, AL, "sqrtpd"},
    {0xf3, 0x51, X, X, 4, 0, 0, "sqrtss"},
    {0xf2, 0x51, X, X, 8, 0, 0, "sqrtsd"},
    {0, 0x52, X, X, 16, 0, AL, "rsqrtps"},
    {0xf3, 0x52, X, X, 4, 0, 0, "rsqrtss"},
    {0, 0x53, X, X, 16, 0, AL, "rcpps"},
    {0xf3, 0x53, X, X, 4, 0, 0, "rcpss"},
    {0, 0xc2, X, X, 16, 0, AL | DT_V_IMM, "cmpps"},
    {0x66, 0xc2, X, X, 16, 0, AL | DT_V_IMM, "cmppd"},
    {0xf3, 0xc2, X, X, 4, 0, DT_V_IMM, "cmpss"},
    {0xf2, 0xc2, X, X, 8, 0, DT_V_IMM, "cmpsd"},
    {0, 0x54, X, X, 16, 0, AL, "andps"},
    {0x66, 0x54, X, X, 16, 0, AL, "andpd"},
    {0, 0x55, X, X, 16, 0, AL, "andnps"},
    {0x66, 0x55, X, X, 16, 0, AL, "andnpd"},
    {0, 0x56, X, X, 16, 0, AL, "orps"},
    {0x66, 0x56, X, X, 16, 0, AL, "orpd"},
    {0, 0x57, X, X, 16, 0, AL, "xorps"},
    {0x66, 0x57, X, X, 16, 0, AL, "xorpd"},
    {0, 0x14, X, X, 16, 0, AL, "unpcklps"},
    {0x66, 0x14, X, X, 16, 0, AL, "unpcklpd"},
    {0, 0x15, X, X, 16, 0, AL, "unpckhps"},
    {0x66, 0x15, X, X, 16, 0, AL, "unpckhpd"},
    {0, 0xc6, X, X, 16, 0, AL | DT_V_IMM, "shufps"},
    {0x66, 0xc6, X, X, 16, 0, AL | DT_V_IMM, "shufpd"},
    {0, 0x2f, X, X, 4, 0, DT_V_EFLAGS | DT_V_NOWRITE, "comiss"},
    {0x66, 0x2f, X, X, 8, 0, DT_V_EFLAGS | DT_V_NOWRITE, "comisd"},
    {0, 0x2e, X, X, 4, 0, DT_V_EFLAGS | DT_V_NOWRITE, "ucomiss"},
    {0x66, 0x2e, X, X, 8, 0, DT_V_EFLAGS | DT_V_NOWRITE, "ucomisd"},
    {0, 0x5a, X, X, 8, 0, 0, "cvtps2pd"},
    {0x66, 0x5a, X, X, 16, 0, AL, "cvtpd2ps"},
    {0xf3, 0x5a, X, X, 4, 0, 0, "cvtss2sd"},
    {0xf2, 0x5a, X, X, 8, 0, 0, "cvtsd2ss"},
    {0, 0x5b, X, X, 16, 0, AL, "cvtdq2ps"},
    {0x66, 0x5b, X, X, 16, 0, AL, "cvtps2dq"},
    {0xf3, 0x5b, X, X, 16, 0, AL, "cvttps2dq"},
    {0xf3, 0xe6, X, X, 8, 0, 0, "cvtdq2pd"},
    {0xf2, 0xe6, X, X, 16, 0, AL, "cvtpd2dq"},
    {0x66, 0xe6, X, X, 16, 0, AL, "cvttpd2dq"},
    {0xf3, 0x2a, X, G, 4, 0, 0, "cvtsi2ss"},
    {0xf2, 0x2a, X, G, 4, 0, 0, "cvtsi2sd"},
    {0xf3, 0x2c, G, X, 4, 0, 0, "cvttss2si"},
    {0xf3, 0x2d, G, X, 4, 0, 0, "cvtss2si"},
    {0xf2, 0x2c, G, X, 8, 0, 0, "cvttsd2si"},
    {0xf2, 0x2d, G, X, 8, 0, 0, "cvtsd2si"},
    {0x66, 0xfc, X, X, 16, 0, AL, "paddb"},
    {0x66, 0xfd, X, X, 16, 0, AL, "paddw"},
    {0x66, 0xfe, X, X, 16, 0, AL, "paddd"},
    {0x66, 0xd4, X, X, 16, 0, AL, "paddq"},
    {0x66, 0xfb, X, X, 16, 0, AL, "psubq"},
    {0x66, 0xec, X, X, 16, 0, AL, "paddsb"},
    {0x66, 0xed, X, X, 16, 0, AL, "paddsw"},
    {0x66, 0xdc, X, X, 16, 0, AL, "paddusb"},
    {0x66, 0xdd, X, X, 16, 0, AL, "paddusw"},
    {0x66, 0xf8, X, X, 16, 0, AL, "psubb"},
    {0x66, 0xf9, X, X, 16, 0, AL, "psubw"},
    {0x66, 0xfa, X, X, 16, 0, AL, "psubd"},
    {0x66, 0xe8, X, X, 16, 0, AL, "psubsb"},
    {0x66, 0xe9, X, X, 16, 0, AL, "psubsw"},
    {0x66, 0xd8, X, X, 16, 0, AL, "psubusb"},
    {0x66, 0xd9, X, X, 16, 0, AL, "psubusw"},
    {0x66, 0xd5, X, X, 16, 0, AL, "pmullw"},
    {0x66, 0xe5, X, X, 16, 0, AL, "pmulhw"},
    {0x66, 0xe4, X, X, 16, 0, AL, "pmulhuw"},
    {0x66, 0xf4, X, X, 16, 0, AL, "pmuludq"},
    {0x66, 0xf5, X, X, 16, 0, AL, "pmaddwd"},
    {0x66, 0xf6, X, X, 16, 0, AL, "psadbw"},
    {0x66, 0xdb, X, X, 16, 0, AL, "pand"},
    {0x66, 0xdf, X, X, 16, 0, AL, "pandn"},
    {0x66, 0xeb, X, X, 16, 0, AL, "por"},
    {0x66, 0xef, X, X, 16, 0, AL, "pxor"},
    {0x66, 0x74, X, X, 16, 0, AL, "pcmpeqb"},
    {0x66, 0x75, X, X, 16, 0, AL, "pcmpeqw"},
    {0x66, 0x76, X, X, 16, 0, AL, "pcmpeqd"},
    {0x66, 0x64, X, X, 16, 0, AL, "pcmpgtb"},
    {0x66, 0x65, X, X, 16, 0, AL, "pcmpgtw"},
    {0x66, 0x66, X, X, 16, 0, AL, "pcmpgtd"},
    {0x66, 0x63, X, X, 16, 0, AL, "packsswb"},
    {0x66, 0x6b, X, X, 16, 0, AL, "packssdw"},
    {0x66, 0x67, X, X, 16, 0, AL, "packuswb"},
    {0x66, 0x60, X, X, 16, 0, AL, "punpcklbw"},
    {0x66, 0x61, X, X, 16, 0, AL, "punpcklwd"},
    {0x66, 0x62, X, X, 16, 0, AL, "punpckldq"},
    {0x66, 0x68, X, X, 16, 0, AL, "punpckhbw"},
    {0x66, 0x69, X, X, 16, 0, AL, "punpckhwd"},
    {0x66, 0x6a, X, X, 16, 0, AL, "punpckhdq"},
    {0x66, 0xf1, X, X, 16, 0, AL, "psllw"},
    {0x66, 0xf2, X, X, 16, 0, AL, "pslld"},
    {0x66, 0xf3, X, X, 16, 0, AL, "psllq"},
    {0x66, 0xd1, X, X, 16, 0, AL, "psrlw"},
    {0x66, 0xd2, X, X, 16, 0, AL, "psrld"},
    {0x66, 0xd3, X, X, 16, 0, AL, "psrlq"},
    {0x66, 0xe1, X, X, 16, 0, AL, "psraw"},
    {0x66, 0xe2, X, X, 16, 0, AL, "psrad"},
    {0x66, 0xe0, X, X, 16, 0, AL, "pavgb"},
    {0x66, 0xe3, X, X, 16, 0, AL, "pavgw"},
    {0x66, 0xee, X, X, 16, 0, AL, "pmaxsw"},
    {0x66, 0xde, X, X, 16, 0, AL, "pmaxub"},
    {0x66, 0xea, X, X, 16, 0, AL, "pminsw"},
    {0x66, 0xda, X, X, 16, 0, AL, "pminub"},
    {0x66, 0x6c, X, X, 16, 0, AL, "punpcklqdq"},
    {0x66, 0x6d, X, X, 16, 0, AL, "punpckhqdq"},
    {0x66, 0x71, 0, X, 0, 6, DT_V_EXT | DT_V_IMM | DT_V_REGONLY, "psllw imm"},
    {0x66, 0x71, 0, X, 0, 2, DT_V_EXT | DT_V_IMM | DT_V_REGONLY, "psrlw imm"},
    {0x66, 0x71, 0, X, 0, 4, DT_V_EXT | DT_V_IMM | DT_V_REGONLY, "psraw imm"},
    {0x66, 0x72, 0, X, 0, 6, DT_V_EXT | DT_V_IMM | DT_V_REGONLY, "pslld imm"},
    {0x66, 0x72, 0, X, 0, 2, DT_V_EXT | DT_V_IMM | DT_V_REGONLY, "psrld imm"},
    {0x66, 0x72, 0, X, 0, 4, DT_V_EXT | DT_V_IMM | DT_V_REGONLY, "psrad imm"},
    {0x66, 0x73, 0, X, 0, 6, DT_V_EXT | DT_V_IMM | DT_V_REGONLY, "psllq imm"},
    {0x66, 0x73, 0, X, 0, 2, DT_V_EXT | DT_V_IMM | DT_V_REGONLY, "psrlq imm"},
    {0x66, 0x73, 0, X, 0, 7, DT_V_EXT | DT_V_IMM | DT_V_REGONLY, "pslldq"},
    {0x66, 0x73, 0, X, 0, 3, DT_V_EXT | DT_V_IMM | DT_V_REGONLY, "psrldq"},
    {0x66, 0x70, X, X, 16, 0, AL | DT_V_IMM, "pshufd"},
    {0xf3, 0x70, X, X, 16, 0, AL | DT_V_IMM, "pshufhw"},
    {0xf2, 0x70, X, X, 16, 0, AL | DT_V_IMM, "pshuflw"},
    {0x66, 0xc4, X, G, 2, 0, DT_V_IMM, "pinsrw xmm, r32/m16"},
    {0x66, 0xc5, G, X, 0, 0, DT_V_IMM | DT_V_REGONLY, "pextrw r32, xmm"},
    {0x66, 0xd7, G, X, 0, 0, DT_V_REGONLY, "pmovmskb r32, xmm"},
    {0, 0x50, G, X, 0, 0, DT_V_REGONLY, "movmskps"},
    {0x66, 0x50, G, X, 0, 0, DT_V_REGONLY, "movmskpd"},
    {0, 0x28, X, X, 16, 0, AL, "movaps load"},
    {0, 0x29, X, X, 16, 0, AL | DT_V_STORE, "movaps store"},
    {0x66, 0x28, X, X, 16, 0, AL, "movapd load"},
    {0x66, 0x29, X, X, 16, 0, AL | DT_V_STORE, "movapd store"},
    {0, 0x10, X, X, 16, 0, 0, "movups load"},
    {0, 0x11, X, X, 16, 0, DT_V_STORE, "movups store"},
    {0x66, 0x10, X, X, 16, 0, 0, "movupd load"},
    {0x66, 0x11, X, X, 16, 0, DT_V_STORE, "movupd store"},
    {0xf3, 0x10, X, X, 4, 0, 0, "movss load"},
    {0xf3, 0x11, X, X, 4, 0, DT_V_STORE, "movss store"},
    {0xf2, 0x10, X, X, 8, 0, 0, "movsd load"},
    {0xf2, 0x11, X, X, 8, 0, DT_V_STORE, "movsd store"},
    {0x66, 0x6f, X, X, 16, 0, AL, "movdqa load"},
    {0x66, 0x7f, X, X, 16, 0, AL | DT_V_STORE, "movdqa store"},
    {0xf3, 0x6f, X, X, 16, 0, 0, "movdqu load"},
    {0xf3, 0x7f, X, X, 16, 0, DT_V_STORE, "movdqu store"},
    {0x66, 0x6e, X, G, 4, 0, 0, "movd xmm, r/m32"},
    {0x66, 0x7e, X, G, 4, 0, DT_V_STORE, "movd r/m32, xmm"},
    {0xf3, 0x7e, X, X, 8, 0, 0, "movq xmm, xmm/m64"},
    {0x66, 0xd6, X, X, 8, 0, DT_V_STORE, "movq xmm/m64, xmm"},
    {0, 0x12, X, X, 8, 0, 0, "movlps load / movhlps"},
    {0, 0x13, X, X, 8, 0, DT_V_STORE | DT_V_MEMONLY, "movlps store"},
    {0, 0x16, X, X, 8, 0, 0, "movhps load / movlhps"},
    {0, 0x17, X, X, 8, 0, DT_V_STORE | DT_V_MEMONLY, "movhps store"},
    {0x66, 0x12, X, X, 8, 0, DT_V_MEMONLY, "movlpd load"},
    {0x66, 0x13, X, X, 8, 0, DT_V_STORE | DT_V_MEMONLY, "movlpd store"},
    {0x66, 0x16, X, X, 8, 0, DT_V_MEMONLY, "movhpd load"},
    {0x66, 0x17, X, X, 8, 0, DT_V_STORE | DT_V_MEMONLY, "movhpd store"},
    {0, 0x2b, X, X, 16, 0, AL | DT_V_STORE | DT_V_MEMONLY, "movntps"},
    {0x66, 0x2b, X, X, 16, 0, AL | DT_V_STORE | DT_V_MEMONLY, "movntpd"},
    {0x66, 0xe7, X, X, 16, 0, AL | DT_V_STORE | DT_V_MEMONLY, "movntdq"},
    {0, 0xc3, G, G, 4, 0, DT_V_STORE | DT_V_MEMONLY, "movnti"},
    {0x66, 0xf7, X, X, 0, 0, DT_V_REGONLY | DT_V_EDI | DT_V_NOWRITE, "maskmovdqu"},
    {0, 0xae, 0, X, 4, 2, DT_V_EXT | DT_V_MEMONLY | DT_V_MXCSR, "ldmxcsr"},
    {0, 0xae, 0, X, 4, 3, DT_V_EXT | DT_V_MEMONLY | DT_V_STORE, "stmxcsr"},
    {0, 0x18, 0, X, 1, 0, DT_V_EXT | DT_V_MEMONLY, "prefetchnta"},
    {0, 0x18, 0, X, 1, 1, DT_V_EXT | DT_V_MEMONLY, "prefetcht0"},
    {0, 0x18, 0, X, 1, 3, DT_V_EXT | DT_V_MEMONLY, "prefetcht2"},
};

#undef X
#undef M
#undef G
#undef AL

/* The fences: 0F AE F8 (sfence), E8 (lfence), F0 (mfence). */
static bool dt_vec_fence(struct dt_gen *g)
{
	static const uint8_t modrm[3] = {0xf8, 0xe8, 0xf0};
	struct dt_insn *in = dt_emit_begin(g);
	dt_b(in, 0x0f);
	dt_b(in, 0xae);
	dt_b(in, modrm[dt_rng_below(&g->rng, 3)]);
	dt_emit_end(g, in, 0, dt_no_flags, 0);
	return true;
}

static bool dt_vec_emit(struct dt_gen *g, const struct dt_vec_op *op)
{
	struct dt_rng *rng = &g->rng;
	bool mem = !(op->flags & DT_V_REGONLY) &&
		   ((op->flags & DT_V_MEMONLY) || g->force_mem || dt_rng_chance(rng, 35));
	struct dt_rm rm = {.is_mem = mem};
	uint8_t written = 0;
	unsigned reg;
	bool store = op->flags & DT_V_STORE;
	if ((op->flags & DT_V_SSE_MMX) && g->x87_unmasked && !dt_known_allowed(DT_KNOWN_MF_SSE_MMX))
		return false;

	if (op->flags & DT_V_EDI) {
		/* maskmovq/maskmovdqu store through [edi]: point it into the data area. */
		unsigned len = op->prefix == 0x66 ? 16 : 8;
		uint32_t v = g->t.val[DT_EDI];
		if (!g->t.known[DT_EDI] || v < DT_DATA_BASE ||
		    v > DT_DATA_BASE + DT_DATA_SIZE - len) {
			if (!dt_load_reg(g, DT_EDI, dt_pick_data_addr(g, len, 1)))
				return false;
		}
		dt_use_addr_reg(g, DT_EDI);
	}
	if (op->flags & DT_V_EXT) {
		reg = op->ext;
	} else if (op->reg == DT_VK_G && !store && !(op->flags & DT_V_NOWRITE)) {
		int r = dt_pick_dst(g, 32);
		if (r < 0)
			return false;
		reg = (unsigned)r;
		written |= DT_REG_BIT(r);
	} else {
		reg = dt_rng_below(rng, 8);
	}
	if (mem) {
		unsigned align = (op->flags & DT_V_ALIGN) ? 16 : 1;
		/* Now and then a misaligned operand where alignment is required: #GP. */
		bool misalign = align == 16 && dt_rng_chance(rng, 1);
		/* ldmxcsr's operand is written first by the set-up mov. */
		unsigned flags = (store || (op->flags & DT_V_MXCSR)) ? DT_MEM_WRITE : 0;
		if (!dt_gen_mem(g, op->msize, align, flags | (misalign ? DT_MEM_NO_STACK : 0),
				&rm.m))
			return false;
		/* A CS override on a store is #GP; see known.c for MMX stores. */
		bool mmx = op->reg == DT_VK_M || op->rm == DT_VK_M;
		if (mmx && store && rm.m.seg == 0x2e && !dt_known_allowed(DT_KNOWN_MMX_CS_WRITE))
			rm.m.seg = 0x3e;
		if (misalign) {
			uint32_t shift = 1 + dt_rng_below(rng, 15);
			if (rm.m.addr + shift + op->msize > DT_DATA_BASE + DT_DATA_SIZE)
				return false;
			rm.m.disp += (int32_t)shift;
			if (rm.m.disp_size == 0 || (rm.m.disp_size == 1 && rm.m.disp > 127))
				rm.m.disp_size = 4;
			rm.m.addr += shift;
		}
	} else if (op->rm == DT_VK_G && store) {
		int r = dt_pick_dst(g, 32);
		if (r < 0)
			return false;
		rm.reg = (uint8_t)r;
		written |= DT_REG_BIT(r);
	} else {
		rm.reg = (uint8_t)dt_rng_below(rng, 8);
	}
	if (op->flags & DT_V_MXCSR) {
		/* ldmxcsr loads a value the generator chose, with every exception masked. */
		struct dt_insn *set = dt_emit_begin(g);
		dt_prefix_rm(set, &rm);
		dt_b(set, 0xc7);
		dt_modrm(set, 0, &rm);
		dt_d(set, dt_maybe_unmask(rng, dt_random_mxcsr(rng), 7));
		set->pinned = true;
		dt_emit_end(g, set, 0, dt_no_flags, 0);
	}
	struct dt_insn *in = dt_emit_begin(g);
	/* Legacy prefixes may come in any order; the mandatory one usually comes last. */
	bool seg_last = op->prefix && dt_rng_chance(rng, 15);
	if (!seg_last)
		dt_prefix_rm(in, &rm);
	if (op->prefix)
		dt_b(in, op->prefix);
	if (seg_last)
		dt_prefix_rm(in, &rm);
	dt_b(in, 0x0f);
	dt_b(in, op->opcode);
	dt_modrm(in, reg, &rm);
	if (op->flags & DT_V_IMM)
		dt_b(in, (uint8_t)(op->opcode == 0xc2 ? dt_rng_below(rng, 8) : dt_rng_next(rng)));
	if (op->flags & DT_V_EFLAGS)
		dt_emit_end_fk(g, in, 0, DT_FK_ALL, 32, 0, written);
	else
		dt_emit_end(g, in, 0, dt_no_flags, written);
	return true;
}

bool dt_gen_mmx(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	if (dt_rng_chance(rng, 8)) {
		struct dt_insn *in = dt_emit_begin(g); /* emms */
		dt_b(in, 0x0f);
		dt_b(in, 0x77);
		dt_emit_end(g, in, 0, dt_no_flags, 0);
		return true;
	}
	size_t n = sizeof dt_mmx_ops / sizeof dt_mmx_ops[0];
	return dt_vec_emit(g, &dt_mmx_ops[dt_rng_below(rng, (uint32_t)n)]);
}

bool dt_gen_sse(struct dt_gen *g)
{
	struct dt_rng *rng = &g->rng;
	if (dt_rng_chance(rng, 3))
		return dt_vec_fence(g);
	size_t n = sizeof dt_sse_ops / sizeof dt_sse_ops[0];
	return dt_vec_emit(g, &dt_sse_ops[dt_rng_below(rng, (uint32_t)n)]);
}
