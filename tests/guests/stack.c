/*
 * stack — push/pop of registers, memory and immediates (imm8 sign-extended and imm32), the
 * 16-bit forms with 0x66, pusha/popa, enter (levels 0..3) and leave, pushf/popf, push esp and
 * pop esp, pops to memory addressed through ESP, and segment register pushes.
 */
#include "guest.h"

void stk_basic(uint32_t *out);
void stk_word(uint32_t *out);
void stk_pusha(uint32_t *out);
void stk_esp(uint32_t *out);
void stk_enter_0(uint32_t *out);
void stk_enter_1(uint32_t *out);
void stk_enter_2(uint32_t *out);
void stk_enter_3(uint32_t *out);
void stk_enter_big(uint32_t *out);

static void print_out(const char *name, const uint32_t *out, unsigned n)
{
	kprintf("%s:", name);
	for (unsigned i = 0; i < n; i++)
		kprintf(" %x", out[i]);
	put_char('\n');
}

static void run(const char *name, void (*fn)(uint32_t *out), unsigned n)
{
	uint32_t out[24];

	memset(out, 0xee, sizeof(out));
	fn(out);
	print_out(name, out, n);
}

static void run_enter(const char *name, void (*fn)(uint32_t *out), unsigned level)
{
	uint32_t out[24];

	memset(out, 0xee, sizeof(out));
	fn(out);
	kprintf("%s: esp %x ebp %x | frame", name, out[0], out[1]);
	for (unsigned i = 0; i <= level; i++)
		kprintf(" %x", out[2 + i]);
	kprintf(" | leave esp %x ebp %x\n", out[6], out[7]);
}

/* pushf/popf: the flags a CPL-0 popf may change and that pushf shows; TF and IF stay 0. */
#define FL_POPF_MASK 0x00247CD7u

static uint32_t popf_pushf(uint32_t in)
{
	uint32_t out;

	__asm__ volatile("pushf\n\tpush %1\n\tpopf\n\tpushf\n\tpop %0\n\tpopf"
			 : "=r"(out)
			 : "r"(in)
			 : "cc");
	return out;
}

static void test_flags(void)
{
	static const uint32_t ins[] = {0x00000002, 0x000008d7, 0x00000400,
				       0x00003002, 0x00004002, 0x00040002,
				       0x00200002, 0x002478d7, 0xffffffff & ~0x300u};

	for (unsigned i = 0; i < sizeof(ins) / sizeof(ins[0]); i++)
		kprintf("popf %08x -> pushf %08x\n", ins[i], popf_pushf(ins[i]) & FL_POPF_MASK);

	/* pushfw/popfw: only the low 16 bits. */
	uint32_t f;
	__asm__ volatile("pushf\n\tpushw $0x08d7\n\tpopfw\n\tpushfw\n\tpopw %w0\n\tpopf"
			 : "=r"(f)
			 :
			 : "cc");
	kprintf("popfw 08d7 -> pushfw %04x\n", f & 0xffff & FL_POPF_MASK);
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	run("basic", stk_basic, 8);
	run("word", stk_word, 9);
	run("pusha", stk_pusha, 15);
	run("esp", stk_esp, 14);
	run_enter("enter $16,$0", stk_enter_0, 0);
	run_enter("enter $8,$1", stk_enter_1, 1);
	run_enter("enter $4,$2", stk_enter_2, 2);
	run_enter("enter $0,$3", stk_enter_3, 3);
	run_enter("enter $0x1234,$0", stk_enter_big, 0);
	test_flags();
	put_str("stack done\n");
}
