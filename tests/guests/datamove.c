/*
 * datamove — data movement and conversion instructions: movzx/movsx in every width, cbw cwde
 * cwd cdq, xlat, lahf/sahf, cmc clc stc, the high byte registers, 16-bit operand-size forms
 * (0x66) of mov, add, inc, neg, imul, shifts and xchg, and the sign-extended 8-bit immediates
 * of the 16-bit forms.
 */
#include "guest.h"

static const uint32_t vals[] = {0x00000000, 0x0000007f, 0x00000080, 0x000000ff, 0x00007fff,
				0x00008000, 0x0000ffff, 0x12345678, 0x89abcdef, 0xffffffff};
#define NVALS (sizeof(vals) / sizeof(vals[0]))

static void test_extend(void)
{
	for (unsigned i = 0; i < NVALS; i++) {
		uint32_t v = vals[i], zb, sb, zw, sw;
		uint32_t zbw = 0xaaaaaaaa, sbw = 0xaaaaaaaa;

		__asm__("movzbl %b4, %0\n\tmovsbl %b4, %1\n\tmovzwl %w4, %2\n\tmovswl %w4, %3"
			: "=&r"(zb), "=&r"(sb), "=&r"(zw), "=&r"(sw)
			: "q"(v));
		__asm__("movzbw %b2, %w0\n\tmovsbw %b2, %w1" : "+r"(zbw), "+r"(sbw) : "q"(v));
		kprintf(
		    "extend %08x: movzb %08x movsb %08x movzw %08x movsw %08x 16-bit %08x %08x\n",
		    v, zb, sb, zw, sw, zbw, sbw);

		uint32_t a = v, d = 0x5555aaaa;
		__asm__("cbtw" : "+a"(a));
		uint32_t cbw = a;
		a = v;
		__asm__("cwtl" : "+a"(a));
		uint32_t cwde = a;
		a = v;
		__asm__("cwtd" : "+a"(a), "+d"(d));
		uint32_t cwd_dx = d;
		a = v;
		__asm__("cltd" : "+a"(a), "=d"(d));
		kprintf("convert %08x: cbw %08x cwde %08x cwd dx %08x cdq edx %08x\n", v, cbw, cwde,
			cwd_dx, d);
	}
	/* movzx/movsx from memory. */
	static const uint8_t mb[2] = {0x80, 0x7f};
	static const uint16_t mw[2] = {0x8001, 0x7ffe};
	uint32_t r0, r1, r2, r3;
	__asm__("movzbl %4, %0\n\tmovsbl %4, %1\n\tmovzwl %5, %2\n\tmovswl %5, %3"
		: "=&r"(r0), "=&r"(r1), "=&r"(r2), "=&r"(r3)
		: "m"(mb[0]), "m"(mw[0]));
	kprintf("extend from memory %08x %08x %08x %08x\n", r0, r1, r2, r3);
}

static void test_xlat_lahf(void)
{
	static uint8_t table[256];

	for (unsigned i = 0; i < 256; i++)
		table[i] = (uint8_t)(i * 5 + 1);
	uint32_t sum = 0;
	for (uint32_t i = 0; i < 256; i += 15) {
		uint32_t a = 0x12345600 | i;
		__asm__("xlat" : "+a"(a) : "b"(table));
		sum = sum * 31 + a;
		if (i < 50)
			kprintf("xlat %02x -> eax %08x\n", i, a);
	}
	kprintf("xlat sum %08x\n", sum);

	/* lahf copies SF ZF AF PF CF (and bit 1) into AH; sahf loads them back. */
	static const uint32_t fl[] = {0x002, 0x8d7, 0x0c3, 0x014, 0x880};
	for (unsigned i = 0; i < 5; i++) {
		uint32_t a = 0xffffffff, f;
		__asm__("push %2\n\tpopf\n\tlahf" : "+a"(a) : "0"(a), "r"(fl[i]) : "cc");
		uint32_t ah = (a >> 8) & 0xff;
		uint32_t a2 = (0xd5u << 8) ^ (ah << 8);
		__asm__("push $0x802\n\tpopf\n\tsahf\n\tpushf\n\tpop %0"
			: "=r"(f)
			: "a"(a2)
			: "cc");
		kprintf("lahf %03x -> ah %02x; sahf %02x ->", fl[i], ah, (a2 >> 8) & 0xff);
		put_flags(f, FL_ARITH);
		put_char('\n');
	}

	uint32_t f1, f2, f3;
	__asm__("stc\n\tcmc\n\tpushf\n\tpop %0\n\tclc\n\tcmc\n\tpushf\n\tpop %1\n\tstc\n\t"
		"pushf\n\tpop %2"
		: "=r"(f1), "=r"(f2), "=r"(f3)
		:
		: "cc");
	kprintf("stc;cmc C%u clc;cmc C%u stc C%u\n", f1 & 1, f2 & 1, f3 & 1);
}

static void test_high_bytes(void)
{
	uint32_t a = 0x11223344, b = 0x55667788, c = 0x99aabbcc, d = 0xddeeff00;

	__asm__("xchg %%ah, %%bh\n\tadd %%ch, %%dh\n\tmov %%al, %%ch\n\tsub %%dl, %%ah\n\t"
		"rol $4, %%bh\n\tneg %%dh\n\tmovzbl %%ch, %%esi\n\tadd %%esi, %%eax"
		: "+a"(a), "+b"(b), "+c"(c), "+d"(d)
		:
		: "esi", "cc");
	kprintf("high bytes %08x %08x %08x %08x\n", a, b, c, d);
}

static void test_word_ops(void)
{
	for (unsigned i = 0; i < NVALS; i++) {
		uint32_t x = 0xdead0000 | (vals[i] & 0xffff), y = 0xbeef1234, f;
		uint32_t r[8];

		r[0] = x;
		__asm__("movw %w1, %w0" : "+r"(r[0]) : "r"(y));
		r[1] = x;
		__asm__("addw $-2, %w0" : "+r"(r[1]) : : "cc");
		r[2] = x;
		__asm__("incw %w0" : "+r"(r[2]) : : "cc");
		r[3] = x;
		__asm__("negw %w0" : "+r"(r[3]) : : "cc");
		r[4] = x;
		__asm__("imulw $0x7fff, %w0, %w0" : "+r"(r[4]) : : "cc");
		r[5] = x;
		__asm__("shlw $3, %w0\n\tsarw %w0" : "+r"(r[5]) : : "cc");
		r[6] = x;
		r[7] = y;
		__asm__("xchgw %w0, %w1" : "+r"(r[6]), "+r"(r[7]));
		uint32_t m = x;
		__asm__("push $2\n\tpopf\n\taddw %w2, %0\n\tpushf\n\tpop %1"
			: "+m"(m), "=r"(f)
			: "r"(y)
			: "cc");
		kprintf("word %08x: mov %08x add %08x inc %08x neg %08x imul %08x shift %08x "
			"xchg %08x %08x mem %08x",
			x, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], m);
		put_flags(f, FL_ARITH);
		put_char('\n');
	}
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	test_extend();
	test_xlat_lahf();
	test_high_bytes();
	test_word_ops();
	put_str("datamove done\n");
}
