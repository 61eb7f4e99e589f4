/*
 * bitops — bt bts btr btc (register, immediate and memory forms, with bit offsets far outside
 * the addressed dword and negative ones), bsf bsr, bswap, setcc and cmovcc for all sixteen
 * conditions over every combination of CF PF ZF SF OF, xchg, xadd, cmpxchg, cmpxchg8b, and the
 * lock-prefixed memory forms.
 */
#include "guest.h"

#define FL_ALL_ON  0x8D7u
#define FL_ALL_OFF 0x002u
/* bt*: CF is the bit, ZF is unaffected; OF SF AF PF are undefined. */
#define FL_BT (FL_CF | FL_ZF)

static uint8_t bitmap[512];
#define BITMAP_MID (bitmap + 256)

static void bitmap_fill(void)
{
	for (unsigned i = 0; i < sizeof(bitmap); i++)
		bitmap[i] = (uint8_t)(i * 37 + 11);
}

/* Register and memory forms with a register bit offset. */
#define DEF_BT(fn, insn)                                                                           \
	static uint32_t fn(uint32_t x, uint32_t bit, uint32_t *flags)                              \
	{                                                                                          \
		uint32_t f = *flags;                                                               \
		__asm__("push %[f]\n\tpopf\n\t" insn " %[b], %[x]\n\tpushf\n\tpop %[f]"            \
			: [x] "+r"(x), [f] "+r"(f)                                                 \
			: [b] "r"(bit)                                                             \
			: "cc");                                                                   \
		*flags = f;                                                                        \
		return x;                                                                          \
	}                                                                                          \
	static void fn##m(int32_t bit, uint32_t *flags)                                            \
	{                                                                                          \
		uint32_t f = *flags;                                                               \
		__asm__ volatile("push %[f]\n\tpopf\n\t" insn " %[b], (%[p])\n\tpushf\n\tpop %[f]" \
				 : [f] "+r"(f)                                                     \
				 : [b] "r"(bit), [p] "r"(BITMAP_MID)                               \
				 : "cc", "memory");                                                \
		*flags = f;                                                                        \
	}

/* bt itself cannot take a lock prefix (#UD). */
#define DEF_BT_LOCK(fn, insn)                                                                      \
	static void fn##lock(int32_t bit, uint32_t *flags)                                         \
	{                                                                                          \
		uint32_t f = *flags;                                                               \
		__asm__ volatile("push %[f]\n\tpopf\n\tlock " insn                                 \
				 " %[b], (%[p])\n\tpushf\n\tpop %[f]"                              \
				 : [f] "+r"(f)                                                     \
				 : [b] "r"(bit), [p] "r"(BITMAP_MID)                               \
				 : "cc", "memory");                                                \
		*flags = f;                                                                        \
	}

DEF_BT(btl, "btl")
DEF_BT(btsl, "btsl")
DEF_BT(btrl, "btrl")
DEF_BT(btcl, "btcl")
DEF_BT_LOCK(btsl, "btsl")
DEF_BT_LOCK(btrl, "btrl")
DEF_BT_LOCK(btcl, "btcl")

static uint32_t btw_reg(uint32_t x, uint32_t bit, uint32_t *flags)
{
	uint16_t v = (uint16_t)x, b = (uint16_t)bit;
	uint32_t f = *flags;

	__asm__("push %[f]\n\tpopf\n\tbtcw %[b], %[x]\n\tpushf\n\tpop %[f]"
		: [x] "+r"(v), [f] "+r"(f)
		: [b] "r"(b)
		: "cc");
	*flags = f;
	return v;
}

static void btw_mem(int16_t bit, uint32_t *flags)
{
	uint32_t f = *flags;

	__asm__ volatile("push %[f]\n\tpopf\n\tbtsw %[b], (%[p])\n\tpushf\n\tpop %[f]"
			 : [f] "+r"(f)
			 : [b] "r"(bit), [p] "r"(BITMAP_MID)
			 : "cc", "memory");
	*flags = f;
}

typedef uint32_t (*bt_reg_fn)(uint32_t x, uint32_t bit, uint32_t *flags);
typedef void (*bt_mem_fn)(int32_t bit, uint32_t *flags);

static void test_bt(void)
{
	static const struct {
		const char *name;
		bt_reg_fn reg;
		bt_mem_fn mem, lock;
	} ops[] = {
	    {"bt", btl, btlm, NULL},
	    {"bts", btsl, btslm, btsllock},
	    {"btr", btrl, btrlm, btrllock},
	    {"btc", btcl, btclm, btcllock},
	};
	static const uint32_t regbits[] = {0, 1, 5, 31, 32, 33, 63, 0x80000007};
	static const int32_t membits[] = {0,  3,  31,  32,   100,   1000, 2000,
					  -1, -8, -33, -100, -1000, -2048};

	for (unsigned o = 0; o < 4; o++) {
		for (unsigned i = 0; i < sizeof(regbits) / sizeof(regbits[0]); i++) {
			for (int fin = 0; fin <= 1; fin++) {
				uint32_t f = fin ? FL_ALL_ON : FL_ALL_OFF;
				uint32_t r = ops[o].reg(0xa5a5c3c3, regbits[i], &f);
				kprintf("%s a5a5c3c3,%x f%u -> %08x", ops[o].name, regbits[i], fin,
					r);
				put_flags(f, FL_BT);
				put_char('\n');
			}
		}
		bitmap_fill();
		for (unsigned i = 0; i < sizeof(membits) / sizeof(membits[0]); i++) {
			uint32_t f = FL_ALL_OFF;
			ops[o].mem(membits[i], &f);
			kprintf("%s mem,%d ->", ops[o].name, membits[i]);
			put_flags(f, FL_BT);
			kprintf(" sum %08x\n", fnv32(bitmap, sizeof(bitmap)));
			if (!ops[o].lock)
				continue;
			f = FL_ALL_ON;
			ops[o].lock(membits[i] + 5, &f);
			kprintf("lock %s mem,%d ->", ops[o].name, membits[i] + 5);
			put_flags(f, FL_BT);
			kprintf(" sum %08x\n", fnv32(bitmap, sizeof(bitmap)));
		}
	}

	for (uint32_t bit = 0; bit < 40; bit += 3) {
		uint32_t f = FL_ALL_OFF;
		uint32_t r = btw_reg(0x1234f00f, bit, &f);
		kprintf("btcw f00f,%x -> %04x", bit, r);
		put_flags(f, FL_BT);
		put_char('\n');
	}
	bitmap_fill();
	static const int16_t wbits[] = {0, 17, 500, 2000, -1, -17, -2000};
	for (unsigned i = 0; i < sizeof(wbits) / sizeof(wbits[0]); i++) {
		uint32_t f = FL_ALL_ON;
		btw_mem(wbits[i], &f);
		kprintf("btsw mem,%d ->", wbits[i]);
		put_flags(f, FL_BT);
		kprintf(" sum %08x\n", fnv32(bitmap, sizeof(bitmap)));
	}

	/* Immediate forms: the offset is taken modulo the operand width, memory included. */
	uint32_t v = 0x0f0f0f0f, f;
	__asm__("push $0x2\n\tpopf\n\tbtsl $4, %[v]\n\tbtrl $35, %[v]\n\tbtcl $31, %[v]\n\t"
		"btl $0, %[v]\n\tpushf\n\tpop %[f]"
		: [v] "+r"(v), [f] "=r"(f)
		:
		: "cc");
	kprintf("bt imm -> %08x", v);
	put_flags(f, FL_BT);
	put_char('\n');
	bitmap_fill();
	__asm__ volatile("btsl $40, (%[p])\n\tbtcw $17, 4(%[p])\n\tbtrl $255, 8(%[p])"
			 :
			 : [p] "r"(BITMAP_MID)
			 : "cc", "memory");
	kprintf("bt imm mem -> sum %08x\n", fnv32(bitmap, sizeof(bitmap)));
}

static void test_bsf_bsr(void)
{
	static const uint32_t vals[] = {0,	    1,		2,	    0x80000000, 0xffffffff,
					0x00010000, 0x00008000, 0x12345678, 0x0000ff00};

	for (unsigned i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint32_t fwd = 0x5555, rev = 0x5555, ff, fr;
		uint16_t fwd16 = 0x55, rev16 = 0x55;
		uint32_t ff16, fr16;
		uint16_t x16 = (uint16_t)vals[i];

		__asm__("bsfl %[x], %[r]\n\tpushf\n\tpop %[f]"
			: [r] "+r"(fwd), [f] "=r"(ff)
			: [x] "rm"(vals[i])
			: "cc");
		__asm__("bsrl %[x], %[r]\n\tpushf\n\tpop %[f]"
			: [r] "+r"(rev), [f] "=r"(fr)
			: [x] "r"(vals[i])
			: "cc");
		__asm__("bsfw %[x], %[r]\n\tpushf\n\tpop %[f]"
			: [r] "+r"(fwd16), [f] "=r"(ff16)
			: [x] "r"(x16)
			: "cc");
		__asm__("bsrw %[x], %[r]\n\tpushf\n\tpop %[f]"
			: [r] "+r"(rev16), [f] "=r"(fr16)
			: [x] "r"(x16)
			: "cc");
		kprintf("bsf %08x:", vals[i]);
		put_flags(ff, FL_ZF);
		if (!(ff & FL_ZF))
			kprintf(" %u", fwd);
		kprintf(" bsr:");
		put_flags(fr, FL_ZF);
		if (!(fr & FL_ZF))
			kprintf(" %u", rev);
		kprintf(" bsfw:");
		put_flags(ff16, FL_ZF);
		if (!(ff16 & FL_ZF))
			kprintf(" %u", fwd16);
		kprintf(" bsrw:");
		put_flags(fr16, FL_ZF);
		if (!(fr16 & FL_ZF))
			kprintf(" %u", rev16);
		put_char('\n');
	}
}

static void test_bswap(void)
{
	uint32_t a = 0x12345678, b = 0x80ff0001;

	__asm__("bswap %0" : "+r"(a));
	__asm__("bswap %0\n\tbswap %0\n\tbswap %0" : "+r"(b));
	kprintf("bswap %08x %08x\n", a, b);
}

/* setcc: one byte per condition, in opcode order (o no b ae e ne be a s ns p np l ge le g). */
static uint8_t set_out[16];
static uint32_t cmov_out[16];

static void run_setcc(uint32_t flags)
{
	__asm__ volatile("push %[f]\n\tpopf\n\t"
			 "seto 0(%[p])\n\tsetno 1(%[p])\n\tsetb 2(%[p])\n\tsetae 3(%[p])\n\t"
			 "sete 4(%[p])\n\tsetne 5(%[p])\n\tsetbe 6(%[p])\n\tseta 7(%[p])\n\t"
			 "sets 8(%[p])\n\tsetns 9(%[p])\n\tsetp 10(%[p])\n\tsetnp 11(%[p])\n\t"
			 "setl 12(%[p])\n\tsetge 13(%[p])\n\tsetle 14(%[p])\n\tsetg 15(%[p])"
			 :
			 : [f] "r"(flags), [p] "r"(set_out)
			 : "cc", "memory");
}

#define CMOV(cc, n) "mov %[z], %%eax\n\tcmov" cc " %[one], %%eax\n\tmov %%eax, " #n "*4(%[p])\n\t"

static uint32_t one_mem = 0xc0ffee01;

static void run_cmovcc(uint32_t flags)
{
	__asm__ volatile("push %[f]\n\tpopf\n\t" CMOV("o", 0) CMOV("no", 1) CMOV("b", 2)
			     CMOV("ae", 3) CMOV("e", 4) CMOV("ne", 5) CMOV("be", 6) CMOV("a", 7)
				 CMOV("s", 8) CMOV("ns", 9) CMOV("p", 10) CMOV("np", 11)
				     CMOV("l", 12) CMOV("ge", 13) CMOV("le", 14)
					 CMOV("g", 15) "cmovew %[one], %%ax\n\t"
			 :
			 : [f] "r"(flags), [p] "r"(cmov_out), [one] "m"(one_mem), [z] "i"(0x77)
			 : "eax", "cc", "memory");
}

static void test_conditions(void)
{
	static const uint32_t bits[5] = {FL_CF, FL_PF, FL_ZF, FL_SF, FL_OF};

	for (unsigned combo = 0; combo < 32; combo++) {
		uint32_t f = 0x2;
		for (unsigned b = 0; b < 5; b++)
			if (combo & (1u << b))
				f |= bits[b];
		run_setcc(f);
		run_cmovcc(f);
		kprintf("cc");
		put_flags(f, FL_CF | FL_PF | FL_ZF | FL_SF | FL_OF);
		put_str(" set ");
		for (unsigned i = 0; i < 16; i++)
			put_char((char)('0' + set_out[i]));
		put_str(" cmov ");
		for (unsigned i = 0; i < 16; i++)
			put_char(cmov_out[i] == one_mem ? '1' : cmov_out[i] == 0x77 ? '0' : '?');
		put_char('\n');
	}
}

static uint32_t mem32 = 0x11111111;
static uint64_t mem64;

static void test_exchange(void)
{
	uint32_t a = 0x12345678, b = 0x9abcdef0, f;

	__asm__("xchg %0, %1" : "+r"(a), "+r"(b));
	kprintf("xchg r,r %08x %08x\n", a, b);
	__asm__("xchgb %b0, %h0\n\txchgw %w1, %w0" : "+q"(a), "+q"(b));
	kprintf("xchg8/16 %08x %08x\n", a, b);
	__asm__ volatile("xchg %0, %1" : "+r"(a), "+m"(mem32));
	kprintf("xchg r,m %08x %08x\n", a, mem32);

	static const uint32_t xs[][2] = {{1, 2}, {0x7fffffff, 1}, {0xffffffff, 1}, {0x80, 0x80}};
	for (unsigned i = 0; i < 4; i++) {
		a = xs[i][0];
		b = xs[i][1];
		__asm__("push $2\n\tpopf\n\txadd %0, %1\n\tpushf\n\tpop %2"
			: "+r"(a), "+r"(b), "=r"(f)
			:
			: "cc");
		kprintf("xadd %08x %08x -> %08x %08x", xs[i][0], xs[i][1], a, b);
		put_flags(f, FL_ARITH);
		put_char('\n');
		mem32 = xs[i][0];
		b = xs[i][1];
		__asm__ volatile("push $2\n\tpopf\n\tlock xaddb %b1, %0\n\tpushf\n\tpop %2"
				 : "+m"(mem32), "+q"(b), "=r"(f)
				 :
				 : "cc");
		kprintf("lock xaddb -> %08x %08x", mem32, b);
		put_flags(f, FL_ARITH);
		put_char('\n');
	}

	/* cmpxchg: equal (stores) and not equal (loads the accumulator). */
	static const uint32_t cx[][3] = {
	    {5, 5, 9}, {5, 6, 9}, {0x80000000, 1, 2}, {0, 0xffffffff, 3}};
	for (unsigned i = 0; i < 4; i++) {
		uint32_t dst = cx[i][0], acc = cx[i][1];
		__asm__("push $2\n\tpopf\n\tcmpxchg %3, %0\n\tpushf\n\tpop %2"
			: "+r"(dst), "+a"(acc), "=r"(f)
			: "r"(cx[i][2])
			: "cc");
		kprintf("cmpxchg %08x %08x %08x -> dst %08x eax %08x", cx[i][0], cx[i][1], cx[i][2],
			dst, acc);
		put_flags(f, FL_ARITH);
		put_char('\n');
		mem32 = cx[i][0];
		acc = cx[i][1];
		__asm__ volatile("push $2\n\tpopf\n\tlock cmpxchgw %w3, %0\n\tpushf\n\tpop %2"
				 : "+m"(mem32), "+a"(acc), "=r"(f)
				 : "r"(cx[i][2])
				 : "cc");
		kprintf("lock cmpxchgw -> mem %08x eax %08x", mem32, acc);
		put_flags(f, FL_ARITH);
		put_char('\n');
		uint8_t d8 = (uint8_t)cx[i][0];
		acc = cx[i][1];
		__asm__("push $2\n\tpopf\n\tcmpxchgb %b3, %0\n\tpushf\n\tpop %2"
			: "+q"(d8), "+a"(acc), "=r"(f)
			: "q"(cx[i][2])
			: "cc");
		kprintf("cmpxchgb -> dst %02x eax %08x", d8, acc);
		put_flags(f, FL_ARITH);
		put_char('\n');
	}

	/* cmpxchg8b: ZF is defined, the other flags are unaffected. */
	static const uint64_t c8[][3] = {
	    {0x1122334455667788ull, 0x1122334455667788ull, 0xaabbccddeeff0011ull},
	    {0x1122334455667788ull, 0x1122334455667789ull, 0xaabbccddeeff0011ull},
	    {0, 0, 0xffffffffffffffffull},
	};
	for (unsigned i = 0; i < 3; i++) {
		for (int fin = 0; fin <= 1; fin++) {
			uint32_t lo = (uint32_t)c8[i][1], hi = (uint32_t)(c8[i][1] >> 32);
			mem64 = c8[i][0];
			f = fin ? FL_ALL_ON : FL_ALL_OFF;
			__asm__ volatile(
			    "push %[f]\n\tpopf\n\tlock cmpxchg8b %[m]\n\tpushf\n\tpop %[f]"
			    : [m] "+m"(mem64), "+a"(lo), "+d"(hi), [f] "+r"(f)
			    : "b"((uint32_t)c8[i][2]), "c"((uint32_t)(c8[i][2] >> 32))
			    : "cc");
			kprintf("cmpxchg8b f%u -> mem %016llx edx:eax %08x%08x", fin, mem64, hi,
				lo);
			put_flags(f, FL_ARITH);
			put_char('\n');
		}
	}
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	test_bt();
	test_bsf_bsr();
	test_bswap();
	test_conditions();
	test_exchange();
	put_str("bitops done\n");
}
