/*
 * usermode — ring 3: entering it with iret, coming back through int 0x80 (a DPL 3 trap gate)
 * and through sysenter/sysexit, the stack switch to the TSS's ESP0, and what CPL 3 may not do:
 * cli sti hlt, I/O with IOPL 0, control and model-specific registers, descriptor table loads,
 * int n through a DPL 0 gate, loading a DPL 0 data segment, rdtsc with CR4.TSD. Also what it
 * may do without UMIP (sgdt sidt sldt str smsw, all of which a VMM must answer with the guest's
 * values), popf silently keeping IOPL and IF, and I/O and cli once IOPL is 3.
 */
#include "guest.h"

#define SEL_UCODE 0x1b
#define SEL_UDATA 0x23
#define SEL_TSS	  0x28
#define CR4_TSD	  0x4u

void sysenter_entry(void);
uint32_t sysenter_c(uint32_t eax, uint32_t kernel_esp);

struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt, iomap;
};

static struct tss32 tss;
static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t sysenter_stack[4096] __attribute__((aligned(16)));
static uint8_t ustack[8192] __attribute__((aligned(16)));
static struct jmp_buf user_exit;

#define KSTACK_TOP ((uint32_t)(kstack + sizeof(kstack)))
#define USTACK_TOP ((uint32_t)(ustack + sizeof(ustack)))

/* Written by ring 3 before each instruction that should fault (the flat user data segment
 * covers the kernel too): its address and length, so the #GP hook can check and skip it. */
uint32_t expect_eip;

static int in_kstack(uint32_t esp)
{
	return esp > (uint32_t)kstack && esp <= KSTACK_TOP;
}

/* Ring 3 trapped into ring 0: the CPU pushed SS and ESP after EFLAGS. */
static void put_user_frame(const struct trap_frame *f)
{
	const uint32_t *outer = (const uint32_t *)(f + 1);

	kprintf(" cs %04x ss %04x esp top-%x", f->cs & 0xffff, outer[1] & 0xffff,
		USTACK_TOP - outer[0]);
	put_flags(f->eflags, FL_ARITH);
	kprintf(" iopl %u if %u", (f->eflags >> 12) & 3, (f->eflags >> 9) & 1);
	kprintf(" on kstack %s\n", in_kstack((uint32_t)f) ? "yes" : "no");
}

static void hook_fault(struct trap_frame *f)
{
	kprintf("  fault vector %x", f->vector);
	if (f->vector == 13 || f->vector == 14)
		kprintf(" error %x", f->error);
	kprintf(" eip %s", f->eip == expect_eip ? "at" : "elsewhere");
	put_user_frame(f);
	f->eip += trap_skip;
}

enum { SYS_EXIT, SYS_PRINT, SYS_HEX, SYS_FRAME };

static void hook_syscall(struct trap_frame *f)
{
	switch (f->eax) {
	case SYS_EXIT:
		guest_longjmp(&user_exit, 1);
	case SYS_PRINT:
		put_str((const char *)f->ebx);
		break;
	case SYS_HEX:
		kprintf("%s %08x\n", (const char *)f->ecx, f->ebx);
		break;
	default:
		put_str("  int 0x80 frame:");
		put_user_frame(f);
		break;
	}
	f->eax = 0;
}

uint32_t sysenter_c(uint32_t eax, uint32_t kernel_esp)
{
	uint32_t cs, ss;

	__asm__ volatile("mov %%cs, %0\n\tmov %%ss, %1" : "=r"(cs), "=r"(ss));
	kprintf("  sysenter: cs %04x ss %04x esp in its stack %s\n", cs & 0xffff, ss & 0xffff,
		kernel_esp > (uint32_t)sysenter_stack &&
			kernel_esp <= (uint32_t)(sysenter_stack + sizeof(sysenter_stack))
		    ? "yes"
		    : "no");
	return eax * 3;
}

/* ---- ring 3 ---- */

static void sys(uint32_t nr, uint32_t a, const char *b)
{
	__asm__ volatile("int $0x80" : "+a"(nr) : "b"(a), "c"(b) : "memory");
}

static void print(const char *s)
{
	sys(SYS_PRINT, (uint32_t)s, 0);
}

static void hex(const char *name, uint32_t v)
{
	sys(SYS_HEX, v, name);
}

/* An instruction that must fault: tell the hook where it is and how long. */
#define USER_FAULT(len, insn, ...)                                                                 \
	__asm__ volatile("movl $" #len ", trap_skip\n\tmovl $1f, expect_eip\n1:\t" insn            \
			 :                                                                         \
			 : __VA_ARGS__                                                             \
			 : "memory")

static void user_privileged(void)
{
	static const struct __attribute__((packed)) {
		uint16_t limit;
		uint32_t base;
	} bogus = {0, 0};

	print("cli\n");
	USER_FAULT(1, "cli", "i"(0));
	print("sti\n");
	USER_FAULT(1, "sti", "i"(0));
	print("hlt\n");
	USER_FAULT(1, "hlt", "i"(0));
	print("mov cr0\n");
	USER_FAULT(3, "mov %%cr0, %%eax", "i"(0));
	print("mov to cr3\n");
	USER_FAULT(3, "mov %%eax, %%cr3", "a"(0));
	print("in $0x80\n");
	USER_FAULT(2, "inb $0x80, %%al", "i"(0));
	print("out to dx\n");
	USER_FAULT(1, "outb %%al, %%dx", "a"(0), "d"(0x3ff));
	print("lgdt\n");
	USER_FAULT(7, "lgdt %0", "m"(bogus));
	print("ltr\n");
	USER_FAULT(3, "ltr %%ax", "a"(SEL_TSS));
	print("rdmsr\n");
	USER_FAULT(2, "rdmsr", "c"(0x174));
	print("wbinvd\n");
	USER_FAULT(2, "wbinvd", "i"(0));
	print("invlpg\n");
	USER_FAULT(3, "invlpg (%%eax)", "a"(0x1000));
	print("clts\n");
	USER_FAULT(2, "clts", "i"(0));
	print("rdtsc with cr4.tsd\n");
	USER_FAULT(2, "rdtsc", "i"(0));
	print("mov $0x10, %ds\n");
	USER_FAULT(2, "mov %%eax, %%ds", "a"(SEL_DATA));
	print("int $0x81 (DPL 0 gate)\n");
	USER_FAULT(2, "int $0x81", "i"(0));
	print("int3 (DPL 0 gate)\n");
	USER_FAULT(1, "int3", "i"(0));
	print("ud2\n");
	USER_FAULT(2, "ud2", "i"(0));
	print("div by zero\n");
	USER_FAULT(2, "divl %%ecx", "a"(1), "d"(0), "c"(0));
}

static void user_allowed(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint32_t base;
	} g, i;
	uint32_t ldtr, tr, msw, cs, ss, ds, f, z;

	__asm__ volatile("sgdt %0\n\tsidt %1" : "=m"(g), "=m"(i));
	__asm__ volatile("sldt %0\n\tstr %1\n\tsmsw %2" : "=r"(ldtr), "=r"(tr), "=r"(msw));
	hex("sgdt base", g.base);
	hex("sgdt limit", g.limit);
	hex("sidt base", i.base);
	hex("sidt limit", i.limit);
	hex("sldt", ldtr & 0xffff);
	hex("str", tr & 0xffff);
	hex("smsw", msw & 0xffff);
	__asm__ volatile("mov %%cs, %0\n\tmov %%ss, %1\n\tmov %%ds, %2"
			 : "=r"(cs), "=r"(ss), "=r"(ds));
	hex("cs", cs & 0xffff);
	hex("ss", ss & 0xffff);
	hex("ds", ds & 0xffff);

	/* popf at CPL 3 with IOPL 0 leaves IOPL and IF alone, and raises no fault. */
	__asm__ volatile("push %1\n\tpopf\n\tpushf\n\tpop %0"
			 : "=r"(f)
			 : "r"(0x3202 | 0x8d5)
			 : "cc");
	hex("popf 0x3ad7 -> pushf", f & 0x3fd7);

	/* lar and verr see descriptors through CPL 3. */
	__asm__ volatile("lar %1, %0\n\tpushf\n\tpop %0" : "=r"(z) : "r"(SEL_CODE) : "cc");
	hex("lar 0x08 zf", (z >> 6) & 1);
	__asm__ volatile("lar %1, %0\n\tpushf\n\tpop %0" : "=r"(z) : "r"(SEL_UCODE) : "cc");
	hex("lar 0x1b zf", (z >> 6) & 1);
	__asm__ volatile("verr %w1\n\tpushf\n\tpop %0" : "=r"(z) : "r"(SEL_DATA) : "cc");
	hex("verr 0x10 zf", (z >> 6) & 1);
	__asm__ volatile("verw %w1\n\tpushf\n\tpop %0" : "=r"(z) : "r"(SEL_UDATA) : "cc");
	hex("verw 0x23 zf", (z >> 6) & 1);

	sys(SYS_FRAME, 0, 0);

	uint32_t r = 5;
	__asm__ volatile("mov %%esp, %%ecx\n\tmov $1f, %%edx\n\tsysenter\n1:"
			 : "+a"(r)
			 :
			 : "ecx", "edx", "memory");
	hex("sysenter 5 ->", r);
}

static void user_main(void)
{
	print("ring 3 says hello\n");
	user_allowed();
	user_privileged();
	print("back in ring 3 after the faults\n");
	sys(SYS_EXIT, 0, 0);
}

/* Second visit with IOPL 3: I/O and cli are allowed. */
static void user_iopl3(void)
{
	uint32_t f;
	uint8_t v;

	__asm__ volatile("cli\n\tmovb $0x3c, %%al\n\toutb %%al, %%dx\n\tinb %%dx, %%al"
			 : "=a"(v)
			 : "d"(0x3ff));
	__asm__ volatile("pushf\n\tpop %0" : "=r"(f));
	hex("iopl 3: uart scratch", v);
	hex("iopl 3: eflags iopl", (f >> 12) & 3);
	sys(SYS_EXIT, 0, 0);
}

/* ---- ring 0 ---- */

static void run_user(const char *name, void (*fn)(void), uint32_t eflags)
{
	kprintf("enter ring 3: %s\n", name);
	if (guest_setjmp(&user_exit) == 0)
		enter_user((uint32_t)fn, USTACK_TOP, eflags);
	__asm__ volatile("mov %0, %%fs\n\tmov %0, %%gs" : : "r"(SEL_DATA));
	uint32_t cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	kprintf("back in ring 0, cs %04x\n", cs & 0xffff);
}

static void wrmsr(uint32_t msr, uint32_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"(v), "d"(0));
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	/* Nothing the loader left may show: CR0 and LDTR get known values. */
	write_cr0(0x00000033);
	__asm__ volatile("lldt %w0" : : "r"(0));
	gdt_set(3, 0, 0xFFFFF, 0xFB, 0xC);			/* 0x18: user code */
	gdt_set(4, 0, 0xFFFFF, 0xF3, 0xC);			/* 0x20: user data */
	gdt_set(5, (uint32_t)&tss, sizeof(tss) - 1, 0x89, 0x0); /* 0x28: TSS */
	gdt_load(6);
	tss.ss0 = SEL_DATA;
	tss.esp0 = KSTACK_TOP;
	tss.iomap = (uint32_t)sizeof(tss) << 16; /* bitmap base past the limit: none */
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
	idt_init();
	idt_set_gate(0x80, trap_stubs[0x80], SEL_CODE, 0xEF); /* trap gate, DPL 3 */
	trap_set_hook(0x80, hook_syscall);
	trap_set_hook(0, hook_fault);
	trap_set_hook(6, hook_fault);
	trap_set_hook(13, hook_fault);
	wrmsr(0x174, SEL_CODE);
	wrmsr(0x175, (uint32_t)(sysenter_stack + sizeof(sysenter_stack)));
	wrmsr(0x176, (uint32_t)sysenter_entry);
	write_cr4(read_cr4() | CR4_TSD);

	run_user("iopl 0", user_main, 0x002);
	run_user("iopl 3", user_iopl3, 0x3002);
	write_cr4(read_cr4() & ~CR4_TSD);
	put_str("usermode done\n");
}
