/*
 * shifts — shl shr sar rol ror rcl rcr (8/16/32-bit) and shld shrd (16/32-bit) by CL over
 * counts 0..33, plus the by-one and imm8 encodings and memory destinations. Only the flags the
 * SDM defines are printed:
 *   - masked count 0: nothing changes, so every flag is defined (and must be the input's);
 *   - shl/shr/sar: SF ZF PF; CF = last bit out (undefined for shl/shr when count >= width);
 *     OF only for count 1; AF never;
 *   - rol/ror/rcl/rcr: CF; OF only for count 1; SF ZF AF PF are "unaffected", hence defined;
 *   - shld/shrd: as shl/shr, and result and flags undefined when count > width.
 */
#include "guest.h"

#define FL_ALL_ON  0x8D7u
#define FL_ALL_OFF 0x002u

enum shift_kind { K_SHIFT, K_SAR, K_ROT, K_DOUBLE };

typedef uint32_t (*shift_fn)(uint32_t a, uint32_t count, uint32_t *flags);

#define DEF_SH(fn, insn, type, cons)                                                               \
	static uint32_t fn(uint32_t a, uint32_t count, uint32_t *flags)                            \
	{                                                                                          \
		type x = (type)a;                                                                  \
		uint32_t f = *flags;                                                               \
		__asm__("push %[f]\n\tpopf\n\t" insn " %%cl, %[x]\n\tpushf\n\tpop %[f]"            \
			: [x] "+" cons(x), [f] "+r"(f)                                             \
			: "c"(count)                                                               \
			: "cc");                                                                   \
		*flags = f;                                                                        \
		return x;                                                                          \
	}

/* shld/shrd shift bits of a fixed source into the destination. */
#define DBL_SRC16 0xc3a5u
#define DBL_SRC32 0x9c3a5e71u

#define DEF_DBL(fn, insn, type, src)                                                               \
	static uint32_t fn(uint32_t a, uint32_t count, uint32_t *flags)                            \
	{                                                                                          \
		type x = (type)a, s = (type)(src);                                                 \
		uint32_t f = *flags;                                                               \
		__asm__("push %[f]\n\tpopf\n\t" insn " %%cl, %[s], %[x]\n\tpushf\n\tpop %[f]"      \
			: [x] "+r"(x), [f] "+r"(f)                                                 \
			: [s] "r"(s), "c"(count)                                                   \
			: "cc");                                                                   \
		*flags = f;                                                                        \
		return x;                                                                          \
	}

/* Immediate counts; count is ignored. The by-one form assembles to D0/D1. */
#define DEF_SHI(fn, insn, imm)                                                                     \
	static uint32_t fn(uint32_t a, uint32_t count, uint32_t *flags)                            \
	{                                                                                          \
		uint32_t x = a, f = *flags;                                                        \
		(void)count;                                                                       \
		__asm__("push %[f]\n\tpopf\n\t" insn " $" #imm ", %[x]\n\tpushf\n\tpop %[f]"       \
			: [x] "+r"(x), [f] "+r"(f)                                                 \
			:                                                                          \
			: "cc");                                                                   \
		*flags = f;                                                                        \
		return x;                                                                          \
	}

static uint32_t mem_slot;

#define DEF_SHM(fn, insn)                                                                          \
	static uint32_t fn(uint32_t a, uint32_t count, uint32_t *flags)                            \
	{                                                                                          \
		uint32_t f = *flags;                                                               \
		mem_slot = a;                                                                      \
		__asm__("push %[f]\n\tpopf\n\t" insn " %%cl, %[m]\n\tpushf\n\tpop %[f]"            \
			: [m] "+m"(mem_slot), [f] "+r"(f)                                          \
			: "c"(count)                                                               \
			: "cc");                                                                   \
		*flags = f;                                                                        \
		return mem_slot;                                                                   \
	}

#define DEF_SH3(op)                                                                                \
	DEF_SH(op##8, #op "b", uint8_t, "q")                                                       \
	DEF_SH(op##16, #op "w", uint16_t, "r")                                                     \
	DEF_SH(op##32, #op "l", uint32_t, "r")                                                     \
	DEF_SHI(op##_1, #op "l", 1)                                                                \
	DEF_SHI(op##_4, #op "l", 4)                                                                \
	DEF_SHI(op##_31, #op "l", 31)                                                              \
	DEF_SHM(op##m, #op "l")

DEF_SH3(shl)
DEF_SH3(shr)
DEF_SH3(sar)
DEF_SH3(rol)
DEF_SH3(ror)
DEF_SH3(rcl)
DEF_SH3(rcr)
DEF_DBL(shld16, "shldw", uint16_t, DBL_SRC16)
DEF_DBL(shld32, "shldl", uint32_t, DBL_SRC32)
DEF_DBL(shrd16, "shrdw", uint16_t, DBL_SRC16)
DEF_DBL(shrd32, "shrdl", uint32_t, DBL_SRC32)

struct shift_op {
	const char *name;
	shift_fn fn;
	enum shift_kind kind;
	int bits;
	int imm; /* the fixed count of an immediate form, or -1 */
};

#define SH_OPS(op, kind)                                                                           \
	{#op "8", op##8, kind, 8, -1}, {#op "16", op##16, kind, 16, -1},                           \
	    {#op "32", op##32, kind, 32, -1}, {#op "32m", op##m, kind, 32, -1},                    \
	    {#op "32 $1", op##_1, kind, 32, 1}, {#op "32 $4", op##_4, kind, 32, 4},                \
	{                                                                                          \
#op "32 $31", op##_31, kind, 32, 31                                                \
	}

static const struct shift_op ops[] = {
    SH_OPS(shl, K_SHIFT),
    SH_OPS(shr, K_SHIFT),
    SH_OPS(sar, K_SAR),
    SH_OPS(rol, K_ROT),
    SH_OPS(ror, K_ROT),
    SH_OPS(rcl, K_ROT),
    SH_OPS(rcr, K_ROT),
    {"shld16", shld16, K_DOUBLE, 16, -1},
    {"shld32", shld32, K_DOUBLE, 32, -1},
    {"shrd16", shrd16, K_DOUBLE, 16, -1},
    {"shrd32", shrd32, K_DOUBLE, 32, -1},
};

static const uint32_t vals8[] = {0x01, 0x80, 0x81, 0x7f, 0xa5};
static const uint32_t vals16[] = {0x0001, 0x8000, 0x8001, 0x7fff, 0xa55a};
static const uint32_t vals32[] = {0x00000001, 0x80000000, 0x80000001, 0x7fffffff, 0xa55a1234};
static const uint32_t counts[] = {0, 1, 2, 7, 8, 15, 16, 31, 32, 33};

/* Returns the flags the SDM defines after op with this count; -1 if the result is undefined. */
static int32_t defined_flags(const struct shift_op *op, uint32_t count)
{
	uint32_t mc = count & 31;
	uint32_t mask;

	if (mc == 0)
		return FL_ARITH;
	switch (op->kind) {
	case K_ROT:
		mask = FL_CF | FL_SF | FL_ZF | FL_AF | FL_PF;
		break;
	case K_DOUBLE:
		if (mc > (uint32_t)op->bits)
			return -1;
		/* fall through */
	case K_SHIFT:
		mask = FL_SF | FL_ZF | FL_PF;
		if (mc < (uint32_t)op->bits)
			mask |= FL_CF;
		break;
	default:
		mask = FL_SF | FL_ZF | FL_PF | FL_CF;
		break;
	}
	if (mc == 1)
		mask |= FL_OF;
	return (int32_t)mask;
}

static void run(const struct shift_op *op)
{
	const uint32_t *vals = op->bits == 8 ? vals8 : op->bits == 16 ? vals16 : vals32;
	int digits = op->bits / 4;
	unsigned ncounts = op->imm >= 0 ? 1 : sizeof(counts) / sizeof(counts[0]);

	for (unsigned i = 0; i < 5; i++) {
		for (unsigned c = 0; c < ncounts; c++) {
			uint32_t count = op->imm >= 0 ? (uint32_t)op->imm : counts[c];
			int32_t mask = defined_flags(op, count);

			for (int fin = 0; fin <= 1; fin++) {
				uint32_t f = fin ? FL_ALL_ON : FL_ALL_OFF;
				uint32_t r = op->fn(vals[i], count, &f);

				kprintf("%s %0*x cl=%u f%u -> ", op->name, digits, vals[i], count,
					fin);
				if (mask < 0) {
					put_str("undefined\n");
					continue;
				}
				kprintf("%0*x", digits, r);
				put_flags(f, (uint32_t)mask);
				put_char('\n');
			}
		}
	}
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		run(&ops[i]);
	put_str("shifts done\n");
}
