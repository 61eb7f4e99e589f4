/*
 * arith — the ALU instructions over edge values: add adc sub sbb cmp neg inc dec and or xor test
 * not, in 8/16/32-bit register forms, memory-destination forms and immediate forms (including
 * the sign-extended imm8 and the short accumulator encodings). Each line gives the operands,
 * the result and the flags the SDM defines for that instruction.
 */
#include "guest.h"

#define FL_LOGIC   (FL_CF | FL_PF | FL_ZF | FL_SF | FL_OF) /* AF is undefined */
#define FL_ALL_ON  0x8D7u				   /* every arithmetic flag, and bit 1 */
#define FL_ALL_OFF 0x002u

typedef uint32_t (*bin_fn)(uint32_t a, uint32_t b, uint32_t *flags);
typedef uint32_t (*un_fn)(uint32_t a, uint32_t *flags);

/* Runs "insn y, x" with EFLAGS loaded from *flags beforehand and stored back afterwards. */
#define DEF_BIN(fn, insn, type, cons)                                                              \
	static uint32_t fn(uint32_t a, uint32_t b, uint32_t *flags)                                \
	{                                                                                          \
		type x = (type)a, y = (type)b;                                                     \
		uint32_t f = *flags;                                                               \
		__asm__("push %[f]\n\tpopf\n\t" insn " %[y], %[x]\n\tpushf\n\tpop %[f]"            \
			: [x] "+" cons(x), [f] "+r"(f)                                             \
			: [y] cons(y)                                                              \
			: "cc");                                                                   \
		*flags = f;                                                                        \
		return x;                                                                          \
	}

#define DEF_UN(fn, insn, type, cons)                                                               \
	static uint32_t fn(uint32_t a, uint32_t *flags)                                            \
	{                                                                                          \
		type x = (type)a;                                                                  \
		uint32_t f = *flags;                                                               \
		__asm__("push %[f]\n\tpopf\n\t" insn " %[x]\n\tpushf\n\tpop %[f]"                  \
			: [x] "+" cons(x), [f] "+r"(f)                                             \
			:                                                                          \
			: "cc");                                                                   \
		*flags = f;                                                                        \
		return x;                                                                          \
	}

/* The destination is a global, so its address never depends on ESP (push/popf move it). */
static uint32_t mem_slot;

#define DEF_MEM(fn, insn)                                                                          \
	static uint32_t fn(uint32_t a, uint32_t b, uint32_t *flags)                                \
	{                                                                                          \
		uint32_t f = *flags;                                                               \
		mem_slot = a;                                                                      \
		__asm__("push %[f]\n\tpopf\n\t" insn " %[y], %[m]\n\tpushf\n\tpop %[f]"            \
			: [m] "+m"(mem_slot), [f] "+r"(f)                                          \
			: [y] "r"(b)                                                               \
			: "cc");                                                                   \
		*flags = f;                                                                        \
		return mem_slot;                                                                   \
	}

/* An immediate form: "insn $imm, x"; b is ignored (the immediate is printed instead). */
#define DEF_IMM(fn, insn, imm, type, cons)                                                         \
	static uint32_t fn(uint32_t a, uint32_t b, uint32_t *flags)                                \
	{                                                                                          \
		type x = (type)a;                                                                  \
		uint32_t f = *flags;                                                               \
		(void)b;                                                                           \
		__asm__("push %[f]\n\tpopf\n\t" insn " $" #imm ", %[x]\n\tpushf\n\tpop %[f]"       \
			: [x] "+" cons(x), [f] "+r"(f)                                             \
			:                                                                          \
			: "cc");                                                                   \
		*flags = f;                                                                        \
		return x;                                                                          \
	}

#define DEF_BIN3(op)                                                                               \
	DEF_BIN(op##8, #op "b", uint8_t, "q")                                                      \
	DEF_BIN(op##16, #op "w", uint16_t, "r")                                                    \
	DEF_BIN(op##32, #op "l", uint32_t, "r")                                                    \
	DEF_MEM(op##32m, #op "l")

#define DEF_UN3(op)                                                                                \
	DEF_UN(op##8, #op "b", uint8_t, "q")                                                       \
	DEF_UN(op##16, #op "w", uint16_t, "r")                                                     \
	DEF_UN(op##32, #op "l", uint32_t, "r")

DEF_BIN3(add)
DEF_BIN3(adc)
DEF_BIN3(sub)
DEF_BIN3(sbb)
DEF_BIN3(cmp)
DEF_BIN3(and)
DEF_BIN3(or)
DEF_BIN3(xor)
DEF_BIN3(test)
DEF_UN3(neg)
DEF_UN3(inc)
DEF_UN3(dec)
DEF_UN3(not )

DEF_IMM(addl_1, "addl", 1, uint32_t, "r")
DEF_IMM(addl_m128, "addl", -128, uint32_t, "r")
DEF_IMM(addl_7f, "addl", 0x7f, uint32_t, "r")
DEF_IMM(addl_80, "addl", 0x80, uint32_t, "r")
DEF_IMM(addl_eax, "addl", 0x12345678, uint32_t, "a")
DEF_IMM(adcl_0, "adcl", 0, uint32_t, "r")
DEF_IMM(sbbl_0, "sbbl", 0, uint32_t, "r")
DEF_IMM(subl_big, "subl", 0x80000001, uint32_t, "r")
DEF_IMM(cmpl_max, "cmpl", 0x7fffffff, uint32_t, "r")
DEF_IMM(cmpl_m1, "cmpl", -1, uint32_t, "r")
DEF_IMM(andl_hi, "andl", 0xffff0000, uint32_t, "r")
DEF_IMM(orl_sign, "orl", 0x80000000, uint32_t, "r")
DEF_IMM(xorl_m1, "xorl", -1, uint32_t, "r")
DEF_IMM(testl_sign, "testl", 0x80000000, uint32_t, "r")
DEF_IMM(addw_m1, "addw", -1, uint16_t, "r")
DEF_IMM(andw_ax, "andw", 0xff00, uint16_t, "a")
DEF_IMM(addb_7f, "addb", 0x7f, uint8_t, "q")
DEF_IMM(subb_al, "subb", 0x80, uint8_t, "a")
DEF_IMM(testb_al, "testb", 0x81, uint8_t, "a")

static const uint32_t vals8[] = {0, 1, 2, 0x0f, 0x10, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x55, 0xaa};
static const uint32_t vals16[] = {0,	  1,	  0x7f,	  0x80,	  0xff,	  0x100,
				  0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff, 0x1234};
static const uint32_t vals32[] = {
    0,		1,	    0x7f,	0x80,	    0xff,	0x7fff,	    0x8000,	0xffff,
    0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0x12345678, 0xdeadbeef,
};
static const uint32_t vals_mem[] = {0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x12345678};

struct val_set {
	const uint32_t *v;
	unsigned n;
	int digits;
};

#define VALS(a, d)                                                                                 \
	{                                                                                          \
		a, sizeof(a) / sizeof(a[0]), d                                                     \
	}
static const struct val_set set8 = VALS(vals8, 2);
static const struct val_set set16 = VALS(vals16, 4);
static const struct val_set set32 = VALS(vals32, 8);
static const struct val_set set_mem = VALS(vals_mem, 8);

struct bin_op {
	const char *name;
	bin_fn fn;
	const struct val_set *set;
	uint32_t mask; /* defined flags */
	int carry_in;  /* run with CF = 0 and CF = 1 */
	int unary_imm; /* immediate form: the second operand is fixed */
};

#define BIN_OPS(op, mask, carry)                                                                   \
	{#op "8", op##8, &set8, mask, carry, 0}, {#op "16", op##16, &set16, mask, carry, 0},       \
	    {#op "32", op##32, &set32, mask, carry, 0},                                            \
	{                                                                                          \
#op "32m", op##32m, &set_mem, mask, carry, 0                                       \
	}

static const struct bin_op bin_ops[] = {
    BIN_OPS(add, FL_ARITH, 0),
    BIN_OPS(adc, FL_ARITH, 1),
    BIN_OPS(sub, FL_ARITH, 0),
    BIN_OPS(sbb, FL_ARITH, 1),
    BIN_OPS(cmp, FL_ARITH, 0),
    BIN_OPS(and, FL_LOGIC, 0),
    BIN_OPS(or, FL_LOGIC, 0),
    BIN_OPS(xor, FL_LOGIC, 0),
    BIN_OPS(test, FL_LOGIC, 0),
    {"addl $1", addl_1, &set32, FL_ARITH, 0, 1},
    {"addl $-128", addl_m128, &set32, FL_ARITH, 0, 1},
    {"addl $0x7f", addl_7f, &set32, FL_ARITH, 0, 1},
    {"addl $0x80", addl_80, &set32, FL_ARITH, 0, 1},
    {"addl $0x12345678,%eax", addl_eax, &set32, FL_ARITH, 0, 1},
    {"adcl $0", adcl_0, &set32, FL_ARITH, 1, 1},
    {"sbbl $0", sbbl_0, &set32, FL_ARITH, 1, 1},
    {"subl $0x80000001", subl_big, &set32, FL_ARITH, 0, 1},
    {"cmpl $0x7fffffff", cmpl_max, &set32, FL_ARITH, 0, 1},
    {"cmpl $-1", cmpl_m1, &set32, FL_ARITH, 0, 1},
    {"andl $0xffff0000", andl_hi, &set32, FL_LOGIC, 0, 1},
    {"orl $0x80000000", orl_sign, &set32, FL_LOGIC, 0, 1},
    {"xorl $-1", xorl_m1, &set32, FL_LOGIC, 0, 1},
    {"testl $0x80000000", testl_sign, &set32, FL_LOGIC, 0, 1},
    {"addw $-1", addw_m1, &set16, FL_ARITH, 0, 1},
    {"andw $0xff00,%ax", andw_ax, &set16, FL_LOGIC, 0, 1},
    {"addb $0x7f", addb_7f, &set8, FL_ARITH, 0, 1},
    {"subb $0x80,%al", subb_al, &set8, FL_ARITH, 0, 1},
    {"testb $0x81,%al", testb_al, &set8, FL_LOGIC, 0, 1},
};

struct un_op {
	const char *name;
	un_fn fn;
	const struct val_set *set;
	uint32_t mask;
};

#define UN_OPS(op, mask)                                                                           \
	{#op "8", op##8, &set8, mask}, {#op "16", op##16, &set16, mask},                           \
	{                                                                                          \
#op "32", op##32, &set32, mask                                                     \
	}

/* inc/dec leave CF alone and not leaves every flag alone: those are defined too. */
static const struct un_op un_ops[] = {
    UN_OPS(neg, FL_ARITH),
    UN_OPS(inc, FL_ARITH),
    UN_OPS(dec, FL_ARITH),
    UN_OPS(not, FL_ARITH),
};

static void run_bin(const struct bin_op *op)
{
	const struct val_set *s = op->set;
	int d = s->digits;

	for (unsigned i = 0; i < s->n; i++) {
		for (unsigned j = 0; j < (op->unary_imm ? 1 : s->n); j++) {
			for (int cf = 0; cf <= op->carry_in; cf++) {
				uint32_t f = cf ? FL_ALL_ON : FL_ALL_OFF;
				uint32_t r = op->fn(s->v[i], s->v[j], &f);

				if (op->unary_imm)
					kprintf("%s %0*x", op->name, d, s->v[i]);
				else
					kprintf("%s %0*x %0*x", op->name, d, s->v[i], d, s->v[j]);
				if (op->carry_in)
					kprintf(" c%u", cf);
				kprintf(" -> %0*x", d, r);
				put_flags(f, op->mask);
				put_char('\n');
			}
		}
	}
}

static void run_un(const struct un_op *op)
{
	const struct val_set *s = op->set;
	int d = s->digits;

	for (unsigned i = 0; i < s->n; i++) {
		for (int cf = 0; cf <= 1; cf++) {
			uint32_t f = cf ? FL_ALL_ON : FL_ALL_OFF;
			uint32_t r = op->fn(s->v[i], &f);

			kprintf("%s %0*x f%u -> %0*x", op->name, d, s->v[i], cf, d, r);
			put_flags(f, op->mask);
			put_char('\n');
		}
	}
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	for (unsigned i = 0; i < sizeof(bin_ops) / sizeof(bin_ops[0]); i++)
		run_bin(&bin_ops[i]);
	for (unsigned i = 0; i < sizeof(un_ops) / sizeof(un_ops[0]); i++)
		run_un(&un_ops[i]);
	put_str("arith done\n");
}
