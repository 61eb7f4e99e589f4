/*
 * muldiv — mul and imul (one-, two- and three-operand forms), div and idiv, 8/16/32-bit, over
 * edge values. mul/imul print the product and CF OF (SF ZF AF PF are undefined); div/idiv print
 * quotient and remainder only (every flag is undefined). Divisions that would raise #DE are
 * left out here; the exceptions kernel covers them.
 */
#include "guest.h"

#define FL_MUL (FL_CF | FL_OF)

/* One-operand multiply: EDX:EAX (or DX:AX, or AX) = accumulator * y. */
#define DEF_MUL1(fn, insn, type, cons, wide)                                                       \
	static uint64_t fn(uint32_t a, uint32_t b, uint32_t *flags)                                \
	{                                                                                          \
		uint32_t lo = a, hi = 0, f;                                                        \
		type y = (type)b;                                                                  \
		__asm__("push $2\n\tpopf\n\t" insn " %[y]\n\tpushf\n\tpop %[f]"                    \
			: "+a"(lo), "+d"(hi), [f] "=r"(f)                                          \
			: [y] cons(y)                                                              \
			: "cc");                                                                   \
		*flags = f;                                                                        \
		return wide;                                                                       \
	}

DEF_MUL1(mul8, "mulb", uint8_t, "q", lo & 0xffff)
DEF_MUL1(mul16, "mulw", uint16_t, "r", ((hi & 0xffff) << 16) | (lo & 0xffff))
DEF_MUL1(mul32, "mull", uint32_t, "r", ((uint64_t)hi << 32) | lo)
DEF_MUL1(imul8, "imulb", uint8_t, "q", lo & 0xffff)
DEF_MUL1(imul16, "imulw", uint16_t, "r", ((hi & 0xffff) << 16) | (lo & 0xffff))
DEF_MUL1(imul32, "imull", uint32_t, "r", ((uint64_t)hi << 32) | lo)

/* Two-operand imul: x = x * y, truncated. */
#define DEF_IMUL2(fn, insn, type)                                                                  \
	static uint64_t fn(uint32_t a, uint32_t b, uint32_t *flags)                                \
	{                                                                                          \
		type x = (type)a, y = (type)b;                                                     \
		uint32_t f;                                                                        \
		__asm__("push $2\n\tpopf\n\t" insn " %[y], %[x]\n\tpushf\n\tpop %[f]"              \
			: [x] "+r"(x), [f] "=r"(f)                                                 \
			: [y] "r"(y)                                                               \
			: "cc");                                                                   \
		*flags = f;                                                                        \
		return x;                                                                          \
	}

DEF_IMUL2(imul2_16, "imulw", uint16_t)
DEF_IMUL2(imul2_32, "imull", uint32_t)

/* Three-operand imul: x = y * imm (b is ignored). */
#define DEF_IMUL3(fn, insn, type, imm)                                                             \
	static uint64_t fn(uint32_t a, uint32_t b, uint32_t *flags)                                \
	{                                                                                          \
		type x, y = (type)a;                                                               \
		uint32_t f;                                                                        \
		(void)b;                                                                           \
		__asm__("push $2\n\tpopf\n\t" insn " $" #imm ", %[y], %[x]\n\tpushf\n\tpop %[f]"   \
			: [x] "=&r"(x), [f] "=r"(f)                                                \
			: [y] "r"(y)                                                               \
			: "cc");                                                                   \
		*flags = f;                                                                        \
		return x;                                                                          \
	}

DEF_IMUL3(imul3_16_m3, "imulw", uint16_t, -3)
DEF_IMUL3(imul3_16_big, "imulw", uint16_t, 0x4321)
DEF_IMUL3(imul3_32_7f, "imull", uint32_t, 0x7f)
DEF_IMUL3(imul3_32_m3, "imull", uint32_t, -3)
DEF_IMUL3(imul3_32_big, "imull", uint32_t, 0x12345678)
DEF_IMUL3(imul3_32_neg, "imull", uint32_t, -0x10000)

/* Memory-source multiply, through a global so that the address is absolute. */
static uint32_t mem_slot;

static uint64_t mul32m(uint32_t a, uint32_t b, uint32_t *flags)
{
	uint32_t lo = a, hi, f;

	mem_slot = b;
	__asm__("push $2\n\tpopf\n\tmull %[m]\n\tpushf\n\tpop %[f]"
		: "+a"(lo), "=d"(hi), [f] "=r"(f)
		: [m] "m"(mem_slot)
		: "cc");
	*flags = f;
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t imul2_32m(uint32_t a, uint32_t b, uint32_t *flags)
{
	uint32_t x = a, f;

	mem_slot = b;
	__asm__("push $2\n\tpopf\n\timull %[m], %[x]\n\tpushf\n\tpop %[f]"
		: [x] "+r"(x), [f] "=r"(f)
		: [m] "m"(mem_slot)
		: "cc");
	*flags = f;
	return x;
}

typedef uint64_t (*mul_fn)(uint32_t a, uint32_t b, uint32_t *flags);

struct mul_op {
	const char *name;
	mul_fn fn;
	int bits;	/* operand width */
	int out_digits; /* width of the printed product */
	int has_b;	/* 0 for the three-operand forms */
};

static const struct mul_op mul_ops[] = {
    {"mul8", mul8, 8, 4, 1},
    {"mul16", mul16, 16, 8, 1},
    {"mul32", mul32, 32, 16, 1},
    {"mul32m", mul32m, 32, 16, 1},
    {"imul8", imul8, 8, 4, 1},
    {"imul16", imul16, 16, 8, 1},
    {"imul32", imul32, 32, 16, 1},
    {"imul2_16", imul2_16, 16, 4, 1},
    {"imul2_32", imul2_32, 32, 8, 1},
    {"imul2_32m", imul2_32m, 32, 8, 1},
    {"imul3_16 $-3", imul3_16_m3, 16, 4, 0},
    {"imul3_16 $0x4321", imul3_16_big, 16, 4, 0},
    {"imul3_32 $0x7f", imul3_32_7f, 32, 8, 0},
    {"imul3_32 $-3", imul3_32_m3, 32, 8, 0},
    {"imul3_32 $0x12345678", imul3_32_big, 32, 8, 0},
    {"imul3_32 $-0x10000", imul3_32_neg, 32, 8, 0},
};

static const uint32_t vals8[] = {0, 1, 2, 0x10, 0x7f, 0x80, 0x81, 0xff};
static const uint32_t vals16[] = {0, 1, 2, 0x100, 0x7fff, 0x8000, 0x8001, 0xffff};
static const uint32_t vals32[] = {0,	      1,	  2,	      0x10000,	 0x7fffffff,
				  0x80000000, 0x80000001, 0xffffffff, 0x12345678};

static void vals_for(int bits, const uint32_t **v, unsigned *n)
{
	if (bits == 8) {
		*v = vals8;
		*n = sizeof(vals8) / sizeof(vals8[0]);
	} else if (bits == 16) {
		*v = vals16;
		*n = sizeof(vals16) / sizeof(vals16[0]);
	} else {
		*v = vals32;
		*n = sizeof(vals32) / sizeof(vals32[0]);
	}
}

static void run_mul(const struct mul_op *op)
{
	const uint32_t *v;
	unsigned n;
	int d = op->bits / 4;

	vals_for(op->bits, &v, &n);
	for (unsigned i = 0; i < n; i++) {
		for (unsigned j = 0; j < (op->has_b ? n : 1); j++) {
			uint32_t f;
			uint64_t r = op->fn(v[i], v[j], &f);

			if (op->has_b)
				kprintf("%s %0*x %0*x", op->name, d, v[i], d, v[j]);
			else
				kprintf("%s %0*x", op->name, d, v[i]);
			kprintf(" -> %0*llx", op->out_digits, r);
			put_flags(f, FL_MUL);
			put_char('\n');
		}
	}
}

/* Division: the dividend is twice the operand width (AX, DX:AX, EDX:EAX). */
static void div8(uint32_t n, uint32_t d, int sign, uint32_t *q, uint32_t *r)
{
	uint32_t ax = n;
	uint8_t y = (uint8_t)d;

	if (sign)
		__asm__("idivb %1" : "+a"(ax) : "q"(y) : "cc");
	else
		__asm__("divb %1" : "+a"(ax) : "q"(y) : "cc");
	*q = ax & 0xff;
	*r = (ax >> 8) & 0xff;
}

static void div16(uint32_t n, uint32_t d, int sign, uint32_t *q, uint32_t *r)
{
	uint32_t ax = n & 0xffff, dx = n >> 16;
	uint16_t y = (uint16_t)d;

	if (sign)
		__asm__("idivw %2" : "+a"(ax), "+d"(dx) : "r"(y) : "cc");
	else
		__asm__("divw %2" : "+a"(ax), "+d"(dx) : "r"(y) : "cc");
	*q = ax & 0xffff;
	*r = dx & 0xffff;
}

static void div32(uint64_t n, uint32_t d, int sign, uint32_t *q, uint32_t *r)
{
	uint32_t eax = (uint32_t)n, edx = (uint32_t)(n >> 32);

	if (sign)
		__asm__("idivl %2" : "+a"(eax), "+d"(edx) : "r"(d) : "cc");
	else
		__asm__("divl %2" : "+a"(eax), "+d"(edx) : "r"(d) : "cc");
	*q = eax;
	*r = edx;
}

static void div32m(uint64_t n, uint32_t d, uint32_t *q, uint32_t *r)
{
	uint32_t eax = (uint32_t)n, edx = (uint32_t)(n >> 32);

	mem_slot = d;
	__asm__("divl %2" : "+a"(eax), "+d"(edx) : "m"(mem_slot) : "cc");
	*q = eax;
	*r = edx;
}

/* Whether the quotient of n / d fits the operand width (so that no #DE is raised). */
static int div_fits(uint64_t n, uint32_t d, int bits, int sign)
{
	uint64_t mask = bits == 32 ? 0xffffffffull : (1ull << bits) - 1;

	if (d == 0)
		return 0;
	if (!sign)
		return n / d <= mask;
	int64_t sn = (int64_t)(n << (64 - 2 * bits)) >> (64 - 2 * bits);
	int64_t sd = (int64_t)((uint64_t)d << (64 - bits)) >> (64 - bits);
	if (bits == 32 && sn == INT64_MIN)
		return 0;
	int64_t q = sn / sd;
	int64_t lim = 1ll << (bits - 1);
	return q >= -lim && q < lim;
}

static const uint64_t dividends[] = {
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x1234,
    0x7fff,
    0x8000,
    0xffff,
    0x12345678,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    0x123456789abcdef0ull,
    0x7fffffffffffffffull,
    0x8000000000000000ull,
    0xfffffffffffffffeull,
    0xffffffffffffffffull,
};

static void run_div(int bits, int sign)
{
	const uint32_t *v;
	unsigned nv;
	int d = bits / 4;
	uint64_t nmask = bits == 32 ? ~0ull : (1ull << (2 * bits)) - 1;
	const char *name = sign ? "idiv" : "div";

	vals_for(bits, &v, &nv);
	for (unsigned i = 0; i < sizeof(dividends) / sizeof(dividends[0]); i++) {
		uint64_t n = dividends[i];
		if (n & ~nmask)
			continue;
		for (unsigned j = 0; j < nv; j++) {
			uint32_t q, r;
			if (!div_fits(n, v[j], bits, sign))
				continue;
			if (bits == 8)
				div8((uint32_t)n, v[j], sign, &q, &r);
			else if (bits == 16)
				div16((uint32_t)n, v[j], sign, &q, &r);
			else
				div32(n, v[j], sign, &q, &r);
			kprintf("%s%d %0*llx / %0*x -> q %0*x r %0*x\n", name, bits, 2 * d, n, d,
				v[j], d, q, d, r);
			if (bits == 32 && !sign) {
				div32m(n, v[j], &q, &r);
				kprintf("div32m %016llx / %08x -> q %08x r %08x\n", n, v[j], q, r);
			}
		}
	}
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	for (unsigned i = 0; i < sizeof(mul_ops) / sizeof(mul_ops[0]); i++)
		run_mul(&mul_ops[i]);
	for (int bits = 8; bits <= 32; bits *= 2) {
		run_div(bits, 0);
		run_div(bits, 1);
	}
	put_str("muldiv done\n");
}
