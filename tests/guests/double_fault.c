/*
 * double_fault — faults raised while the CPU delivers another exception, and which of them
 * become a double fault (#DF, vector 8, error code 0, through an ordinary interrupt gate):
 *  - a #PF whose IDT gate lies on a not-present page: #PF during #PF delivery, so #DF;
 *  - a #GP whose gate lies on a not-present page: that #PF is delivered instead (a
 *    contributory exception followed by a page fault is handled serially), with CR2 at the
 *    gate;
 *  - a #PF in ring 3 whose gate leads to ring 1, with ring 1's stack (TSS.ESP1) on a
 *    not-present page: the push faults, so #DF, delivered on ring 0's stack;
 *  - a #PF whose gate names a not-present code segment: #NP during #PF delivery, so #DF;
 *  - int3 whose gate names that segment: #NP(selector) is delivered instead (benign, then
 *    contributory).
 * The exceptions kernel covers #NP during #GP delivery. The EIP and CS that #DF saves are
 * undefined and not printed.
 */
#include "guest.h"

#define PG_P   0x001u
#define PG_RW  0x002u
#define PG_US  0x004u
#define CR0_PG 0x80000000u

#define SEL_UCODE  0x1b
#define SEL_TSS	   0x28
#define SEL_R1CODE 0x31 /* GDT 6, DPL 1 */
#define SEL_R1DATA 0x39 /* GDT 7, DPL 1 */
#define SEL_NPCODE 0x40 /* GDT 8, not present */

#define HOLE 0x90000000u /* no page table */

struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt, iomap;
};

struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint32_t base;
};

static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[2][1024] __attribute__((aligned(4096)));
/* Two pages for an IDT that straddles them. */
static uint64_t idt_pages[1024] __attribute__((aligned(4096)));
static struct tss32 tss;
static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t ustack[8192] __attribute__((aligned(16)));

#define KSTACK_TOP ((uint32_t)(kstack + sizeof(kstack)))
#define USTACK_TOP ((uint32_t)(ustack + sizeof(ustack)))

static uint32_t read_cr2(void)
{
	uint32_t v;

	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static uint32_t *pte_of(const void *p)
{
	uint32_t a = (uint32_t)p;

	return &pt_low[a >> 22][(a >> 12) & 1023];
}

static void set_present(const void *p, int present)
{
	if (present)
		*pte_of(p) |= PG_P;
	else
		*pte_of(p) &= ~PG_P;
	__asm__ volatile("invlpg (%0)" : : "r"(p) : "memory");
}

static void lidt(uint32_t base)
{
	struct desc_ptr d = {sizeof(idt_table) - 1, base};

	__asm__ volatile("lidt %0" : : "m"(d) : "memory");
}

/* An IDT copy whose entry first_on_second is the first one on the second page. */
static uint32_t split_idt(unsigned first_on_second)
{
	uint32_t base = (uint32_t)idt_pages + 4096 - first_on_second * 8;

	memcpy((void *)base, idt_table, sizeof(idt_table));
	lidt(base);
	return base;
}

static void touch_hole(void)
{
	(void)*(volatile uint32_t *)HOLE;
}

static void put_traps(void)
{
	kprintf(" traps %u:", trap_count);
	for (unsigned i = 0; i < trap_count && i < TRAP_LOG; i++) {
		kprintf(" vector %x", trap_log[i].vector);
		if (trap_log[i].vector == 8 || trap_log[i].vector >= 10)
			kprintf(" error %x", trap_log[i].error);
	}
	put_char('\n');
}

static void test_pf_gate_not_present(void)
{
	split_idt(12); /* entries 0..11 (8 among them) on the first page, 14 on the second */
	set_present(idt_pages + 512, 0);
	trap_log_clear();
	put_str("#PF, its gate on a not-present page:");
	if (TRAP_TRY()) {
		touch_hole();
		TRAP_END();
		put_str(" no trap");
	}
	set_present(idt_pages + 512, 1);
	lidt((uint32_t)idt_table);
	put_traps();
}

static void test_gp_gate_not_present(void)
{
	uint32_t base = split_idt(14); /* entries 0..13 on the first page, 14.. on the second */

	set_present(idt_pages, 0);
	trap_log_clear();
	put_str("#GP, its gate on a not-present page:");
	if (TRAP_TRY()) {
		__asm__ volatile("mov %0, %%ds" : : "r"(0x1000));
		TRAP_END();
		put_str(" no trap");
	}
	uint32_t cr2 = read_cr2();
	set_present(idt_pages, 1);
	lidt((uint32_t)idt_table);
	__asm__ volatile("mov %0, %%ds" : : "r"(SEL_DATA));
	kprintf(" cr2 - idt base %x", cr2 - base);
	put_traps();
}

/* Ring 3 touches the hole; gate 14 leads to ring 1, whose stack is the hole too. */
static void user_touch_hole(void)
{
	touch_hole();
	for (;;)
		;
}

static void test_ring1_stack_not_present(void)
{
	idt_set_gate(14, trap_stubs[14], SEL_R1CODE, 0x8E);
	tss.ss1 = SEL_R1DATA;
	tss.esp1 = HOLE + 0x1000;
	trap_log_clear();
	put_str("#PF in ring 3, ring 1 handler, ring 1 stack not present:");
	if (TRAP_TRY()) {
		enter_user((uint32_t)user_touch_hole, USTACK_TOP, 0x002);
		TRAP_END();
	}
	__asm__ volatile("mov %0, %%ds\n\tmov %0, %%es\n\tmov %0, %%fs\n\tmov %0, %%gs"
			 :
			 : "r"(SEL_DATA));
	idt_set_gate(14, trap_stubs[14], SEL_CODE, 0x8E);
	uint32_t esp = trap_last_frame.esp_pusha; /* where the stub's pusha began */
	put_traps();
	kprintf("  #DF frame on the ring 0 stack %s\n",
		esp > (uint32_t)kstack && esp < KSTACK_TOP ? "yes" : "no");
}

static void test_pf_segment_not_present(void)
{
	idt_set_gate(14, trap_stubs[14], SEL_NPCODE, 0x8E);
	trap_log_clear();
	put_str("#PF, its gate's code segment not present:");
	if (TRAP_TRY()) {
		touch_hole();
		TRAP_END();
		put_str(" no trap");
	}
	idt_set_gate(14, trap_stubs[14], SEL_CODE, 0x8E);
	put_traps();
}

static void test_bp_segment_not_present(void)
{
	idt_set_gate(3, trap_stubs[3], SEL_NPCODE, 0x8E);
	trap_log_clear();
	put_str("int3, its gate's code segment not present:");
	if (TRAP_TRY()) {
		__asm__ volatile("int3");
		TRAP_END();
		put_str(" no trap");
	}
	idt_set_gate(3, trap_stubs[3], SEL_CODE, 0x8E);
	put_traps();
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	write_cr0(0x00000033);
	__asm__ volatile("lldt %w0" : : "r"(0));
	gdt_set(3, 0, 0xFFFFF, 0xFB, 0xC);			/* 0x18: user code */
	gdt_set(4, 0, 0xFFFFF, 0xF3, 0xC);			/* 0x20: user data */
	gdt_set(5, (uint32_t)&tss, sizeof(tss) - 1, 0x89, 0x0); /* 0x28: TSS */
	gdt_set(6, 0, 0xFFFFF, 0xBB, 0xC);			/* 0x30: ring 1 code */
	gdt_set(7, 0, 0xFFFFF, 0xB3, 0xC);			/* 0x38: ring 1 data */
	gdt_set(8, 0, 0xFFFFF, 0x1B, 0xC);			/* 0x40: code, not present */
	gdt_load(9);
	tss.ss0 = SEL_DATA;
	tss.esp0 = KSTACK_TOP;
	tss.iomap = (uint32_t)sizeof(tss) << 16;
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
	idt_init();

	for (uint32_t i = 0; i < 2048; i++)
		pt_low[i / 1024][i % 1024] = (i * 4096) | PG_P | PG_RW | PG_US;
	page_dir[0] = (uint32_t)pt_low[0] | PG_P | PG_RW | PG_US;
	page_dir[1] = (uint32_t)pt_low[1] | PG_P | PG_RW | PG_US;
	__asm__ volatile("mov %0, %%cr3" : : "r"(page_dir) : "memory");
	write_cr0(read_cr0() | CR0_PG);

	test_pf_gate_not_present();
	test_gp_gate_not_present();
	test_ring1_stack_not_present();
	test_pf_segment_not_present();
	test_bp_segment_not_present();
	write_cr0(read_cr0() & ~CR0_PG);
	put_str("double_fault done\n");
}
