/*
 * as_switch — a benchmark of address-space work, as a process switch does it: two page
 * directories A and B map the same 10,000 user pages at 0x40000000 onto different frames
 * (80 MiB of RAM in all, from 16 MiB up). A ring 3 program writes one dword into each page
 * of A, switches to B through a system call (the kernel writes CR3), does the same there,
 * then switches back and forth 2,000 times (1,000 rounds, a CR3 write each way), reading and
 * updating 8 pseudo-random pages after each switch. Each page holds its space's tag and its
 * number, so a read that reaches the other space's frame, or a page of the wrong number,
 * counts as a mismatch. At the end the kernel reads every frame through its own mapping and
 * checks the tags and the touch counts each space received.
 */
#include "guest.h"

#define PG_P	0x001u
#define PG_RW	0x002u
#define PG_US	0x004u
#define PG_PS	0x080u
#define CR0_PG	0x80000000u
#define CR0_WP	0x00010000u
#define CR4_PSE 0x00000010u

#define SEL_TSS 0x28

#define USER_BASE 0x40000000u
#define NPAGES	  10000u
#define NTABLES	  ((NPAGES + 1023) / 1024)
#define POOL	  0x01000000u /* physical frames from 16 MiB */
#define POOL_END  (POOL + 2 * NPAGES * 4096u)
#define ROUNDS	  1000u
#define TOUCHES	  8u

#define TAG_A 0xa0000000u
#define TAG_B 0xb0000000u

struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt, iomap;
};

static uint32_t page_dir[2][1024] __attribute__((aligned(4096)));
static uint32_t page_tables[2][NTABLES][1024] __attribute__((aligned(4096)));
static struct tss32 tss;
static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t ustack[8192] __attribute__((aligned(16)));
static struct jmp_buf user_exit;
static uint32_t current_space, cr3_writes;

#define KSTACK_TOP ((uint32_t)(kstack + sizeof(kstack)))
#define USTACK_TOP ((uint32_t)(ustack + sizeof(ustack)))

/* Page i's frame in space s, and where in the page its tag word is (the touch counter is the
 * next word). */
static uint32_t frame_of(uint32_t s, uint32_t i)
{
	return POOL + (s * NPAGES + i) * 4096u;
}

static uint32_t slot_of(uint32_t i)
{
	return (i * 8) % 4096;
}

static void setup_paging(void)
{
	for (uint32_t s = 0; s < 2; s++) {
		/* Identity with 4 MiB pages: the first (kernel image, user code and stack) for
		 * ring 3 too, the rest, up to 128 MiB, for ring 0 only. */
		for (uint32_t i = 0; i < 32; i++)
			page_dir[s][i] = (i << 22) | PG_P | PG_RW | PG_PS | (i == 0 ? PG_US : 0);
		for (uint32_t t = 0; t < NTABLES; t++)
			page_dir[s][(USER_BASE >> 22) + t] =
			    (uint32_t)page_tables[s][t] | PG_P | PG_RW | PG_US;
		for (uint32_t i = 0; i < NPAGES; i++)
			page_tables[s][i / 1024][i % 1024] = frame_of(s, i) | PG_P | PG_RW | PG_US;
	}
	write_cr4(read_cr4() | CR4_PSE);
	__asm__ volatile("mov %0, %%cr3" : : "r"(page_dir[0]) : "memory");
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
}

enum { SYS_EXIT, SYS_HEX, SYS_SWITCH };

static void hook_syscall(struct trap_frame *f)
{
	switch (f->eax) {
	case SYS_EXIT:
		guest_longjmp(&user_exit, 1);
	case SYS_HEX:
		kprintf("%s %08x\n", (const char *)f->ecx, f->ebx);
		break;
	case SYS_SWITCH:
		current_space ^= 1;
		__asm__ volatile("mov %0, %%cr3" : : "r"(page_dir[current_space]) : "memory");
		cr3_writes++;
		break;
	}
	f->eax = 0;
}

/* ---- ring 3 ---- */

static void sys(uint32_t nr, uint32_t a, const char *b)
{
	__asm__ volatile("int $0x80" : "+a"(nr) : "b"(a), "c"(b) : "memory");
}

static void hex(const char *name, uint32_t v)
{
	sys(SYS_HEX, v, name);
}

static volatile uint32_t *user_slot(uint32_t i)
{
	return (volatile uint32_t *)(USER_BASE + i * 4096u + slot_of(i));
}

static void user_fill(uint32_t tag)
{
	for (uint32_t i = 0; i < NPAGES; i++) {
		volatile uint32_t *p = user_slot(i);
		p[0] = tag | i;
		p[1] = 0;
	}
}

/* Reads and updates TOUCHES pages; returns the number whose tag or number is wrong. */
static uint32_t user_touch(uint32_t tag, uint32_t *seed, uint32_t *sum)
{
	uint32_t bad = 0;

	for (uint32_t k = 0; k < TOUCHES; k++) {
		*seed = *seed * 1103515245u + 12345u;
		uint32_t i = (*seed >> 8) % NPAGES;
		volatile uint32_t *p = user_slot(i);
		uint32_t v = p[0];
		bad += v != (tag | i);
		*sum = *sum * 31 + v;
		p[1] = p[1] + 1;
	}
	return bad;
}

static void user_main(void)
{
	uint32_t seed = 1, sum_a = 0, sum_b = 0, bad = 0;

	user_fill(TAG_A);
	sys(SYS_SWITCH, 0, 0);
	user_fill(TAG_B);
	for (uint32_t r = 0; r < ROUNDS; r++) {
		sys(SYS_SWITCH, 0, 0);
		bad += user_touch(TAG_A, &seed, &sum_a);
		sys(SYS_SWITCH, 0, 0);
		bad += user_touch(TAG_B, &seed, &sum_b);
	}
	hex("ring 3: mismatches", bad);
	hex("ring 3: checksum of what space A read", sum_a);
	hex("ring 3: checksum of what space B read", sum_b);
	sys(SYS_EXIT, 0, 0);
}

/* ---- ring 0 ---- */

static void kernel_check(uint32_t s, uint32_t tag)
{
	uint32_t good = 0, touches = 0, h = 0;

	for (uint32_t i = 0; i < NPAGES; i++) {
		const volatile uint32_t *p =
		    (const volatile uint32_t *)(frame_of(s, i) + slot_of(i));
		good += p[0] == (tag | i);
		touches += p[1];
		h = h * 31 + p[1];
	}
	kprintf("space %c frames: tags right %u of %u, touches %u, touch pattern %08x\n",
		s ? 'B' : 'A', good, NPAGES, touches, h);
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	if (!(info->flags & 1) || (info->mem_upper + 1024) * 1024 < POOL_END) {
		put_str("not enough memory: run with at least 96 MiB\n");
		return;
	}
	write_cr0(0x00000033);
	__asm__ volatile("lldt %w0" : : "r"(0));
	gdt_set(3, 0, 0xFFFFF, 0xFB, 0xC);			/* 0x18: user code */
	gdt_set(4, 0, 0xFFFFF, 0xF3, 0xC);			/* 0x20: user data */
	gdt_set(5, (uint32_t)&tss, sizeof(tss) - 1, 0x89, 0x0); /* 0x28: TSS */
	gdt_load(6);
	tss.ss0 = SEL_DATA;
	tss.esp0 = KSTACK_TOP;
	tss.iomap = (uint32_t)sizeof(tss) << 16;
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
	idt_init();
	idt_set_gate(0x80, trap_stubs[0x80], SEL_CODE, 0xEF); /* trap gate, DPL 3 */
	trap_set_hook(0x80, hook_syscall);
	setup_paging();

	kprintf("%u pages in each of two spaces, %u rounds\n", NPAGES, ROUNDS);
	if (guest_setjmp(&user_exit) == 0)
		enter_user((uint32_t)user_main, USTACK_TOP, 0x002);
	__asm__ volatile("mov %0, %%fs\n\tmov %0, %%gs" : : "r"(SEL_DATA));
	kprintf("back in ring 0 after %u cr3 writes, in space %c\n", cr3_writes,
		current_space ? 'B' : 'A');
	kernel_check(0, TAG_A);
	kernel_check(1, TAG_B);
	write_cr0(read_cr0() & ~CR0_PG);
	put_str("as_switch done\n");
}
