/*
 * paging — 32-bit paging without PAE: identity mapping with 4 KiB pages, 4 MiB pages (PSE),
 * aliases of one physical page, #PF error codes and CR2 (not present, write to read-only with
 * CR0.WP, read-only page directory entries, instruction fetch), the accessed and dirty bits
 * the CPU writes, invlpg and CR3 reloads after changing an entry, code run through one alias
 * and patched through another, and a rep movsb that faults halfway with its registers showing
 * the progress made. Every value printed after a mapping change follows an invalidation, so
 * nothing depends on what a TLB happens to keep.
 */
#include "guest.h"

#define PG_P	0x001u
#define PG_RW	0x002u
#define PG_US	0x004u
#define PG_A	0x020u
#define PG_D	0x040u
#define PG_PS	0x080u
#define CR0_PG	0x80000000u
#define CR0_WP	0x00010000u
#define CR4_PSE 0x00000010u

#define ALIAS_BASE 0x80000000u /* 4 KiB pages mapped by pt_alias */
#define ALIAS(n)   (ALIAS_BASE + (n)*4096u)
#define HOLE	   0x90000000u /* no page directory entry */
#define BIG_VIRT   0x40000000u /* a 4 MiB page onto physical 4 MiB */
#define BIG_PHYS   0x00400000u

static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[2][1024] __attribute__((aligned(4096)));
static uint32_t pt_alias[1024] __attribute__((aligned(4096)));
static uint8_t pages[6][4096] __attribute__((aligned(4096)));

static void invlpg(uint32_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static void reload_cr3(void)
{
	uint32_t v;

	__asm__ volatile("mov %%cr3, %0\n\tmov %0, %%cr3" : "=r"(v) : : "memory");
}

static uint32_t read_cr2(void)
{
	uint32_t v;

	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static void map(uint32_t n, const void *phys, uint32_t flags)
{
	pt_alias[n] = (uint32_t)phys | flags;
	invlpg(ALIAS(n));
}

static void setup(void)
{
	for (uint32_t i = 0; i < 2048; i++)
		pt_low[i / 1024][i % 1024] = (i * 4096) | PG_P | PG_RW;
	pt_low[0][0] = 0; /* leave page 0 unmapped */
	page_dir[0] = (uint32_t)pt_low[0] | PG_P | PG_RW;
	page_dir[1] = (uint32_t)pt_low[1] | PG_P | PG_RW;
	page_dir[ALIAS_BASE >> 22] = (uint32_t)pt_alias | PG_P | PG_RW;
	page_dir[BIG_VIRT >> 22] = BIG_PHYS | PG_P | PG_RW | PG_PS;
	for (unsigned p = 0; p < 6; p++)
		for (unsigned i = 0; i < 4096; i++)
			pages[p][i] = (uint8_t)(p * 0x40 + i);
	__asm__ volatile("mov %0, %%cr3" : : "r"(page_dir) : "memory");
	write_cr4(read_cr4() | CR4_PSE);
	write_cr0(0x00000033 | CR0_PG | CR0_WP);
	uint32_t cr3;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	kprintf("paging on: cr0 %08x cr3 is page_dir %s\n", read_cr0(),
		cr3 == (uint32_t)page_dir ? "yes" : "no");
}

/* Accesses through a mapping; the barriers make the compiler reread the page tables, which
 * the CPU may have changed (accessed and dirty bits). */
static uint32_t peek(uint32_t va)
{
	uint32_t v = *(volatile uint32_t *)va;

	__asm__ volatile("" : : : "memory");
	return v;
}

static void poke(uint32_t va, uint32_t v)
{
	*(volatile uint32_t *)va = v;
	__asm__ volatile("" : : : "memory");
}

/* Runs fn(va) expecting a page fault; prints the error code, CR2 and where EIP was. */
static void expect_pf(const char *name, void (*fn)(uint32_t va), uint32_t va)
{
	kprintf("%s %08x:", name, va);
	if (TRAP_TRY()) {
		fn(va);
		TRAP_END();
		put_str(" no fault\n");
		return;
	}
	kprintf(" vector %x error %x cr2 %08x\n", trap_last.vector, trap_last.error, read_cr2());
}

static void do_read(uint32_t va)
{
	(void)peek(va);
}

static void do_write(uint32_t va)
{
	poke(va, 0x12345678);
}

static void do_call(uint32_t va)
{
	((void (*)(void))va)();
}

static void test_aliases(void)
{
	map(0, pages[0], PG_P | PG_RW);
	poke(ALIAS(0) + 16, 0xcafef00d);
	kprintf("alias write -> identity read %08x\n", *(volatile uint32_t *)(pages[0] + 16));
	*(volatile uint32_t *)(pages[0] + 20) = 0x0badc0de;
	kprintf("identity write -> alias read %08x\n", peek(ALIAS(0) + 20));

	/* Remap and invalidate with invlpg; then remap back and reload CR3 instead. */
	pt_alias[0] = (uint32_t)pages[1] | PG_P | PG_RW;
	invlpg(ALIAS(0));
	kprintf("after remap and invlpg %08x\n", peek(ALIAS(0)));
	pt_alias[0] = (uint32_t)pages[0] | PG_P | PG_RW;
	reload_cr3();
	kprintf("after remap and cr3 reload %08x\n", peek(ALIAS(0) + 16));

	/* A 4 MiB page. */
	*(volatile uint32_t *)(BIG_PHYS + 0x123) = 0x44444444;
	kprintf("4 MiB page read %08x\n", peek(BIG_VIRT + 0x123));
	poke(BIG_VIRT + 0x3ffffc, 0x55667788);
	kprintf("4 MiB page write -> identity %08x\n", *(volatile uint32_t *)(BIG_PHYS + 0x3ffffc));
}

static void test_faults(void)
{
	expect_pf("read hole", do_read, HOLE + 0x10);
	expect_pf("write hole", do_write, HOLE + 0x2004);
	map(5, pages[5], 0); /* not present, in a present table */
	expect_pf("read not present pte", do_read, ALIAS(5) + 8);
	expect_pf("read page 0", do_read, 0x10);
	expect_pf("call hole", do_call, HOLE + 0x1000);

	/* A read-only page: readable, writes fault while CR0.WP is set. */
	map(1, pages[1], PG_P);
	kprintf("read-only page read %08x\n", peek(ALIAS(1)));
	expect_pf("write read-only wp=1", do_write, ALIAS(1) + 4);
	write_cr0(read_cr0() & ~CR0_WP);
	poke(ALIAS(1) + 4, 0x77777777);
	kprintf("write read-only wp=0 -> %08x\n", *(volatile uint32_t *)(pages[1] + 4));
	write_cr0(read_cr0() | CR0_WP);

	/* A read-only page directory entry overrides a writable page table entry. */
	page_dir[ALIAS_BASE >> 22] &= ~PG_RW;
	reload_cr3();
	expect_pf("write under read-only pde", do_write, ALIAS(0) + 8);
	page_dir[ALIAS_BASE >> 22] |= PG_RW;
	reload_cr3();
}

static void test_accessed_dirty(void)
{
	map(2, pages[2], PG_P | PG_RW);
	page_dir[ALIAS_BASE >> 22] &= ~PG_A;
	reload_cr3();
	(void)peek(ALIAS(2));
	kprintf("after read: pte a%u d%u pde a%u\n", !!(pt_alias[2] & PG_A), !!(pt_alias[2] & PG_D),
		!!(page_dir[ALIAS_BASE >> 22] & PG_A));
	poke(ALIAS(2) + 100, 1);
	kprintf("after write: pte a%u d%u\n", !!(pt_alias[2] & PG_A), !!(pt_alias[2] & PG_D));
	map(3, pages[3], PG_P | PG_RW);
	poke(ALIAS(3), 2);
	kprintf("write first: pte a%u d%u\n", !!(pt_alias[3] & PG_A), !!(pt_alias[3] & PG_D));
}

/* mov $imm32, %eax; ret */
static void emit(uint8_t *p, uint32_t imm)
{
	p[0] = 0xb8;
	memcpy(p + 1, &imm, 4);
	p[5] = 0xc3;
}

static void test_code_alias(void)
{
	typedef uint32_t (*fn)(void);
	uint8_t *phys = pages[4];

	map(6, phys, PG_P);	    /* run through this one (read-only) */
	map(7, phys, PG_P | PG_RW); /* write through this one */
	emit(phys + 0x40, 0x11111111);
	fn f = (fn)(ALIAS(6) + 0x40);
	uint32_t a = f();
	emit((uint8_t *)ALIAS(7) + 0x40, 0x22222222);
	uint32_t b = f();
	*(volatile uint32_t *)(phys + 0x41) = 0x33333333;
	uint32_t c = f();
	kprintf("code through alias %08x, patched through alias %08x, through identity %08x\n", a,
		b, c);
	/* Map another page under the running address: the code there is different. */
	emit(pages[5] + 0x40, 0x44444444);
	map(6, pages[5], PG_P);
	kprintf("code page remapped %08x\n", f());
}

static void test_rep_fault(void)
{
	/* Copy 32 bytes from 8 bytes before the end of a mapped page into a hole. */
	map(8, pages[0], PG_P | PG_RW);
	map(9, pages[1], 0);
	static uint8_t dst[64];
	uint32_t src = ALIAS(8) + 4096 - 8;
	kprintf("rep movsb across a missing page:");
	if (TRAP_TRY()) {
		void *d = dst;
		uint32_t n = 32;
		__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
		TRAP_END();
		put_str(" no fault\n");
		return;
	}
	const struct trap_frame *f = &trap_last_frame;
	kprintf(" vector %x error %x cr2 %08x ecx %u esi-src %x edi-dst %x\n", trap_last.vector,
		trap_last.error, read_cr2(), f->ecx, f->esi - (ALIAS(8) + 4096 - 8),
		f->edi - (uint32_t)dst);
	kprintf("bytes copied before the fault: ");
	put_bytes(dst, 8);
	put_char('\n');
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	idt_init();
	setup();
	test_aliases();
	test_faults();
	test_accessed_dirty();
	test_code_alias();
	test_rep_fault();
	write_cr0(read_cr0() & ~CR0_PG);
	kprintf("paging off: cr0 %08x\n", read_cr0());
	put_str("paging done\n");
}
