/*
 * smc — self-modifying code. Generated code in a buffer that is rewritten between calls, code
 * that patches itself just ahead of the instruction pointer and inside a hot loop, a function
 * whose first byte is replaced, data written next to running code, code copied with rep movsb
 * and code overwritten by code of another length. Every case prints what the CPU computes when
 * each store is seen by the very next instruction fetch, which P6 and later guarantee for
 * stores on the same processor.
 */
#include "guest.h"

uint32_t smc_ahead(uint32_t v);
uint32_t smc_next(uint32_t v);
uint32_t smc_loop(void);
uint32_t smc_victim(void);
uint32_t smc_text_counter(uint32_t n);
uint32_t smc_overlap(uint32_t skip);
extern const uint8_t smc_template[], smc_template_end[];

static uint8_t code_buf[256] __attribute__((aligned(16)));

typedef uint32_t (*gen_fn)(uint32_t arg);

static gen_fn emit_mov_ret(uint32_t imm)
{
	code_buf[0] = 0xb8; /* mov $imm, %eax */
	memcpy(code_buf + 1, &imm, 4);
	code_buf[5] = 0xc3; /* ret */
	return (gen_fn)(uintptr_t)code_buf;
}

static void test_generated(void)
{
	gen_fn f = emit_mov_ret(0x12345678);
	uint32_t a = f(0);
	uint32_t imm = 0x9abcdef0;

	memcpy(code_buf + 1, &imm, 4); /* change only the immediate */
	uint32_t b = f(0);
	kprintf("generated mov/ret %08x then %08x\n", a, b);

	/* Code of another shape in the same place: a loop summing 1..n. */
	static const uint8_t sum_loop[] = {
	    0x8b, 0x4c, 0x24, 0x04, /* mov 4(%esp), %ecx */
	    0x31, 0xc0,		    /* xor %eax, %eax */
	    0x01, 0xc8,		    /* 1: add %ecx, %eax */
	    0xe2, 0xfc,		    /* loop 1b */
	    0xc3,		    /* ret */
	};
	memcpy(code_buf, sum_loop, sizeof(sum_loop));
	kprintf("generated sum loop %u\n", f(100));
	/* And back to the short one. */
	f = emit_mov_ret(0x0badcafe);
	kprintf("generated again %08x\n", f(0));

	/* Copy with rep movsb, then run. */
	uint32_t n = (uint32_t)(smc_template_end - smc_template);
	void *dst = code_buf + 64;
	const void *src = smc_template;
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
	gen_fn t = (gen_fn)(uintptr_t)(code_buf + 64);
	kprintf("rep movsb copy %u\n", t(1000));
	/* Patch the copy's add imm8 (83 c0 07 at offset 7) in place. */
	code_buf[64 + 9] = 0x30;
	kprintf("patched copy %u\n", t(1000));
}

static void test_self_patch(void)
{
	kprintf("patch ahead %08x %08x\n", smc_ahead(0xaaaa5555), smc_ahead(0x13572468));
	kprintf("patch next %08x %08x\n", smc_next(0xcccc3333), smc_next(0x0f0f0f0f));
	uint32_t a = smc_loop();
	uint32_t b = smc_loop();
	kprintf("patch in loop %u %u\n", a, b);

	uint8_t *victim = (uint8_t *)(uintptr_t)smc_victim;
	uint32_t before = smc_victim();
	uint8_t saved = victim[0];
	victim[0] = 0xc3; /* ret: EAX is whatever it was, so set it first */
	uint32_t during;
	__asm__ volatile("mov $0x4242, %%eax\n\tcall *%1"
			 : "=a"(during)
			 : "r"(victim)
			 : "ecx", "edx", "memory");
	victim[0] = saved;
	kprintf("first byte patched %x %x %x\n", before, during, smc_victim());
}

static void test_mixed(void)
{
	kprintf("counter in .text %u\n", smc_text_counter(10000));
	kprintf("overlapping instructions %x %x\n", smc_overlap(0), smc_overlap(1));
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	test_generated();
	test_self_patch();
	test_mixed();
	put_str("smc done\n");
}
