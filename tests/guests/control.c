/*
 * control — calls and jumps: direct and indirect calls, jump tables (a dense switch at -O2 and
 * explicit ones), recursion, loop/loope/loopne/jecxz/jcxz, all jcc conditions in both
 * encodings, ret imm16, function pointers, computed gotos, far transfers and odd returns.
 */
#include "guest.h"

uint32_t asm_loop_sum(uint32_t n);
uint32_t asm_loope(const uint8_t *p, uint32_t n, uint32_t v);
uint32_t asm_loopne(const uint8_t *p, uint32_t n, uint32_t v);
uint32_t asm_jcxz(uint32_t ecx);
uint32_t asm_jcc_short(uint32_t eflags);
uint32_t asm_jcc_near(uint32_t eflags);
uint32_t __attribute__((stdcall)) asm_stdcall3(uint32_t a, uint32_t b, uint32_t c);
uint32_t asm_far(void);
uint32_t asm_get_eip_delta(void);
uint32_t asm_ret_skip(void);
uint32_t asm_push_ret(uint32_t i);
uint32_t asm_jump_table(uint32_t i);
uint32_t asm_call_table(uint32_t i, uint32_t x);

static __attribute__((noinline)) uint32_t fib(uint32_t n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static __attribute__((noinline)) uint32_t ackermann(uint32_t m, uint32_t n)
{
	if (m == 0)
		return n + 1;
	if (n == 0)
		return ackermann(m - 1, 1);
	return ackermann(m - 1, ackermann(m, n - 1));
}

/* Mutual recursion through function pointers that the compiler cannot see through. */
typedef uint32_t (*parity_fn)(uint32_t n);
static volatile parity_fn even_fn, odd_fn;

static __attribute__((noinline)) uint32_t is_even(uint32_t n)
{
	return n == 0 ? 1 : odd_fn(n - 1);
}

static __attribute__((noinline)) uint32_t is_odd(uint32_t n)
{
	return n == 0 ? 0 : even_fn(n - 1);
}

/* A dense switch, which gcc -O2 turns into a jump table. */
static __attribute__((noinline)) uint32_t dense_switch(uint32_t i)
{
	switch (i) {
	case 0:
		return 0x1000;
	case 1:
		return i * 7;
	case 2:
		return 0x2222;
	case 3:
		return i << 9;
	case 4:
		return 0x4444;
	case 5:
		return i ^ 0x55;
	case 6:
		return 0x6666;
	case 7:
		return i + 0x7000;
	case 8:
		return 0x8888;
	case 9:
		return 0x9999 - i;
	case 10:
		return 0xaaaa;
	case 11:
		return 0xbbbb;
	default:
		return 0xffff;
	}
}

static __attribute__((noinline)) uint32_t computed_goto(uint32_t prog)
{
	static const void *ops[] = {&&op_inc, &&op_dbl, &&op_neg, &&op_end};
	uint32_t acc = 1;

	goto *ops[prog & 3];
op_inc:
	acc += 1;
	prog >>= 2;
	goto *ops[prog & 3];
op_dbl:
	acc *= 2;
	prog >>= 2;
	goto *ops[prog & 3];
op_neg:
	acc = -acc;
	prog >>= 2;
	goto *ops[prog & 3];
op_end:
	return acc;
}

static uint32_t add1(uint32_t x)
{
	return x + 1;
}

static uint32_t times3(uint32_t x)
{
	return x * 3;
}

static uint32_t rotl5(uint32_t x)
{
	return (x << 5) | (x >> 27);
}

static void test_calls(void)
{
	static parity_fn const fns[] = {add1, times3, rotl5};
	volatile uint32_t pick;
	uint32_t x = 1;

	for (unsigned i = 0; i < 30; i++) {
		pick = i % 3;
		x = fns[pick](x);
	}
	kprintf("function pointers %08x\n", x);
	kprintf("fib(20) %u\n", fib(20));
	kprintf("ackermann(2,3) %u ackermann(3,3) %u\n", ackermann(2, 3), ackermann(3, 3));
	even_fn = is_even;
	odd_fn = is_odd;
	kprintf("is_even(1001) %u is_odd(777) %u\n", is_even(1001), is_odd(777));
	kprintf("switch");
	for (uint32_t i = 0; i < 14; i++)
		kprintf(" %x", dense_switch(i));
	put_char('\n');
	kprintf("computed goto %08x %08x %08x\n", computed_goto(0x3), computed_goto(0x39),
		computed_goto(0xe4));
	kprintf("asm jump table");
	for (uint32_t i = 0; i < 8; i++)
		kprintf(" %x", asm_jump_table(i));
	put_char('\n');
	kprintf("asm call table");
	for (uint32_t i = 0; i < 4; i++)
		kprintf(" %x", asm_call_table(i, 0x10 + i));
	put_char('\n');
	kprintf("stdcall %08x\n", asm_stdcall3(100, 7, 3));
	kprintf("far %08x\n", asm_far());
	kprintf("eip delta %x\n", asm_get_eip_delta());
	kprintf("ret skip %x\n", asm_ret_skip());
	kprintf("push ret %x %x\n", asm_push_ret(1), asm_push_ret(0));
}

static void test_loops(void)
{
	static uint8_t buf[64];

	kprintf("loop sum 0:%u 1:%u 100:%u 1000:%u\n", asm_loop_sum(0), asm_loop_sum(1),
		asm_loop_sum(100), asm_loop_sum(1000));
	memset(buf, 7, sizeof(buf));
	buf[20] = 9;
	buf[40] = 9;
	kprintf("loope %08x %08x %08x\n", asm_loope(buf, 64, 7), asm_loope(buf, 10, 7),
		asm_loope(buf + 20, 5, 7));
	kprintf("loopne %08x %08x %08x\n", asm_loopne(buf, 64, 9), asm_loopne(buf + 21, 64, 9),
		asm_loopne(buf, 8, 9));
	kprintf("jcxz %u %u %u\n", asm_jcxz(0), asm_jcxz(0x10000), asm_jcxz(1));
}

static void test_jcc(void)
{
	static const uint32_t bits[5] = {FL_CF, FL_PF, FL_ZF, FL_SF, FL_OF};

	for (unsigned combo = 0; combo < 32; combo++) {
		uint32_t f = 0x2;
		for (unsigned b = 0; b < 5; b++)
			if (combo & (1u << b))
				f |= bits[b];
		kprintf("jcc");
		put_flags(f, FL_CF | FL_PF | FL_ZF | FL_SF | FL_OF);
		kprintf(" short %04x near %04x\n", asm_jcc_short(f), asm_jcc_near(f));
	}
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	test_calls();
	test_loops();
	test_jcc();
	put_str("control done\n");
}
