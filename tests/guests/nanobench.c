/*
 * nanobench — the cost, in TSC cycles, of the operations that a virtual machine monitor makes
 * expensive: the ones Adams and Agesen timed for VMware's binary translator (ASPLOS 2006),
 * and a few neighbours. bench/run.sh runs it under each engine; it is not a test.
 *
 * Each operation is a loop in nanobench_asm.S run n times between two rdtsc; the kernel keeps
 * the smallest of REPEATS runs (the first one also pays for translation), subtracts the cost
 * of the empty loop, and prints one line per operation, "name cycles", with one decimal.
 * Lines that start with '#' are comments: the method, and the TSC rate measured against PIT
 * channel 2 ("none" without a PIT), which tells whether the TSC the guest sees runs at the
 * host's rate. It prints timings, so unlike the other kernels it is never compared.
 *
 * Setting: paging on with 4 KiB pages, the first 8 MiB identity-mapped and reachable from
 * ring 3, a TSS, and minimal handlers (asm) for #DE, #PF, int 0x80 and sysenter. Interrupts
 * stay off except inside the cli/sti loop, with the PIC masked.
 */
#include "guest.h"

#define SEL_TSS 0x28

#define PG_P	0x001u
#define PG_RW	0x002u
#define PG_US	0x004u
#define CR0_PG	0x80000000u
#define CR0_WP	0x00010000u
#define CR0_SET 0x00000033u /* PE MP ET NE */

#define DEMAND_VA 0x40000000u /* entry 0 of pt_demand; not present between accesses */
#define REPEATS	  5

#define PIT_HZ	     1193182u
#define PIT_LATCH    (PIT_HZ / 20) /* 50 ms */
#define PIT_TRIALS   5
#define PORT_PIT_CH2 0x42
#define PORT_PIT_CMD 0x43
#define PORT_SYSCTL  0x61 /* bit 0: channel 2 gate, bit 1: speaker, bit 5: channel 2 output */

/* The loops (nanobench_asm.S): each returns the TSC cycles that n iterations took. */
typedef uint64_t (*nb_loop_fn)(uint32_t n);
uint64_t nb_loop(uint32_t n);
uint64_t nb_rdtsc(uint32_t n);
uint64_t nb_call_ret(uint32_t n);
uint64_t nb_pushf_popf(uint32_t n);
uint64_t nb_div0(uint32_t n);
uint64_t nb_int80(uint32_t n);
uint64_t nb_sysenter(uint32_t n);
uint64_t nb_cli_sti(uint32_t n);
uint64_t nb_in_port80(uint32_t n);
uint64_t nb_in_uart_lsr(uint32_t n);
uint64_t nb_pgfault(uint32_t n);
uint64_t nb_pte_invlpg(uint32_t n);
uint64_t nb_pte_invlpg_touch(uint32_t n);
uint64_t nb_cr3_write(uint32_t n);
uint64_t nb_cr3_write_touch(uint32_t n);

void nb_de_entry(void);
void nb_pf_entry(void);
void nb_int80_entry(void);
void nb_sysenter_entry(void);

/* What the loops and handlers read. */
uint32_t nb_demand_va = DEMAND_VA;
uint32_t *nb_demand_pte; /* the PTE of DEMAND_VA */
uint32_t *nb_pf_table;	 /* the page table the #PF handler fills */
uint32_t nb_pf_pte;	 /* what it writes: demand_frames[0] | P | RW */
uint32_t nb_cr3_a, nb_cr3_b;
uint32_t nb_touch_word;

enum nb_ring { NB_RING0, NB_RING3 };

struct nb_op {
	const char *name;
	nb_loop_fn fn;
	uint32_t n; /* iterations per timed run */
	enum nb_ring ring;
};

/* The list printed, in order. Iteration counts keep each timed run within a few hundred
 * milliseconds under the slowest engine, and its two rdtsc negligible under the fastest. */
static const struct nb_op nb_ops[] = {
    {"rdtsc", nb_rdtsc, 100000, NB_RING0},
    {"call_ret", nb_call_ret, 200000, NB_RING0},
    {"pushf_popf", nb_pushf_popf, 200000, NB_RING0},
    {"cli_sti", nb_cli_sti, 200000, NB_RING0},
    {"in_port80", nb_in_port80, 20000, NB_RING0},
    {"in_uart_lsr", nb_in_uart_lsr, 20000, NB_RING0},
    {"int80_ring3", nb_int80, 5000, NB_RING3},
    {"sysenter_sysexit", nb_sysenter, 5000, NB_RING3},
    {"div0", nb_div0, 10000, NB_RING0},
    {"pgfault", nb_pgfault, 5000, NB_RING0},
    {"pte_invlpg", nb_pte_invlpg, 5000, NB_RING0},
    {"pte_invlpg_touch", nb_pte_invlpg_touch, 5000, NB_RING0},
    {"cr3_write", nb_cr3_write, 5000, NB_RING0},
    {"cr3_write_touch", nb_cr3_write_touch, 5000, NB_RING0},
};

#define NB_LOOP_N 200000u

struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt, iomap;
};

static uint32_t page_dir_a[1024] __attribute__((aligned(4096)));
static uint32_t page_dir_b[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[2][1024] __attribute__((aligned(4096)));
static uint32_t pt_demand[1024] __attribute__((aligned(4096)));
/* Two frames that differ only in bit 12, so that pte_invlpg can flip between them. */
static uint8_t demand_frames[2][4096] __attribute__((aligned(8192)));

static struct tss32 tss;
static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t sysenter_stack[4096] __attribute__((aligned(16)));
static uint8_t ustack[8192] __attribute__((aligned(16)));

/* The ring 3 round trip: which loop to time there, and what it measured. */
static struct jmp_buf user_exit;
static const struct nb_op *user_op;
static uint64_t user_best;

static uint64_t nb_rdtsc_now(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* The smallest of REPEATS timed runs of fn(n). */
static uint64_t nb_best(nb_loop_fn fn, uint32_t n)
{
	uint64_t best = ~0ull;

	for (int r = 0; r < REPEATS; r++) {
		uint64_t t = fn(n);
		if (t < best)
			best = t;
	}
	return best;
}

/* ---- setup ---- */

static void nb_wrmsr(uint32_t msr, uint32_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"(v), "d"(0));
}

static void nb_paging_setup(void)
{
	for (uint32_t i = 0; i < 2048; i++)
		pt_low[i / 1024][i % 1024] = (i * 4096) | PG_P | PG_RW | PG_US;
	for (uint32_t i = 0; i < 2; i++) {
		uint32_t pde = (uint32_t)pt_low[i] | PG_P | PG_RW | PG_US;
		page_dir_a[i] = page_dir_b[i] = pde;
	}
	uint32_t pde = (uint32_t)pt_demand | PG_P | PG_RW | PG_US;
	page_dir_a[DEMAND_VA >> 22] = page_dir_b[DEMAND_VA >> 22] = pde;

	nb_demand_pte = &pt_demand[(DEMAND_VA >> 12) & 1023];
	nb_pf_table = pt_demand;
	nb_pf_pte = (uint32_t)demand_frames[0] | PG_P | PG_RW;
	nb_cr3_a = (uint32_t)page_dir_a;
	nb_cr3_b = (uint32_t)page_dir_b;
	__asm__ volatile("mov %0, %%cr3" : : "r"(nb_cr3_a) : "memory");
	write_cr0(CR0_SET | CR0_PG | CR0_WP);
}

static void nb_cpu_setup(void)
{
	write_cr0(CR0_SET);
	gdt_set(3, 0, 0xFFFFF, 0xFB, 0xC);			/* 0x18: user code */
	gdt_set(4, 0, 0xFFFFF, 0xF3, 0xC);			/* 0x20: user data */
	gdt_set(5, (uint32_t)&tss, sizeof(tss) - 1, 0x89, 0x0); /* 0x28: TSS */
	gdt_load(6);
	tss.ss0 = SEL_DATA;
	tss.esp0 = (uint32_t)(kstack + sizeof(kstack));
	tss.iomap = (uint32_t)sizeof(tss) << 16; /* no I/O bitmap */
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS));

	idt_init();
	idt_set_gate(0, (uint32_t)nb_de_entry, SEL_CODE, 0x8E);
	idt_set_gate(14, (uint32_t)nb_pf_entry, SEL_CODE, 0x8E);
	idt_set_gate(0x80, (uint32_t)nb_int80_entry, SEL_CODE, 0xEF); /* trap gate, DPL 3 */
	idt_set_gate(0x81, trap_stubs[0x81], SEL_CODE, 0xEF);	      /* back to ring 0 */

	nb_wrmsr(0x174, SEL_CODE); /* SYSENTER_CS; sysexit goes to 0x1b and 0x23 */
	nb_wrmsr(0x175, (uint32_t)(sysenter_stack + sizeof(sysenter_stack)));
	nb_wrmsr(0x176, (uint32_t)nb_sysenter_entry);

	/* Mask both PICs: sti in the cli/sti loop must not let a timer interrupt in. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

/* ---- ring 3 ---- */

static void nb_user_main(void)
{
	user_best = nb_best(user_op->fn, user_op->n);
	__asm__ volatile("int $0x81");
}

static void nb_hook_user_exit(struct trap_frame *frame)
{
	(void)frame;
	guest_longjmp(&user_exit, 1);
}

static uint64_t nb_best_ring3(const struct nb_op *op)
{
	user_op = op;
	if (guest_setjmp(&user_exit) == 0)
		enter_user((uint32_t)nb_user_main, (uint32_t)(ustack + sizeof(ustack)), 0x002);
	__asm__ volatile("mov %0, %%fs\n\tmov %0, %%gs" : : "r"(SEL_DATA));
	return user_best;
}

/* ---- the TSC against the PIT ---- */

/* TSC cycles during PIT_LATCH ticks of channel 2 (mode 0, gate on, speaker off), or 0 if
 * there is no PIT behind port 0x61: its output bit must be low right after the count. */
static uint64_t nb_pit_window(void)
{
	outb(PORT_SYSCTL, (uint8_t)((inb(PORT_SYSCTL) & ~0x02u) | 0x01u));
	outb(PORT_PIT_CMD, 0xb0); /* channel 2, lobyte/hibyte, mode 0, binary */
	outb(PORT_PIT_CH2, PIT_LATCH & 0xff);
	outb(PORT_PIT_CH2, PIT_LATCH >> 8);
	if (inb(PORT_SYSCTL) & 0x20)
		return 0;
	uint64_t t0 = nb_rdtsc_now();
	for (uint32_t spins = 0; !(inb(PORT_SYSCTL) & 0x20); spins++)
		if (spins > 100000000u)
			return 0;
	return nb_rdtsc_now() - t0;
}

static void nb_print_tsc_rate(void)
{
	uint64_t w[PIT_TRIALS];

	for (int i = 0; i < PIT_TRIALS; i++) {
		w[i] = nb_pit_window();
		if (!w[i]) {
			put_str("# tsc_mhz none (no PIT channel 2)\n");
			return;
		}
		/* Insertion sort: the median is what gets printed. */
		for (int j = i; j > 0 && w[j] < w[j - 1]; j--) {
			uint64_t t = w[j];
			w[j] = w[j - 1];
			w[j - 1] = t;
		}
	}
	uint32_t khz = (uint32_t)(w[PIT_TRIALS / 2] * PIT_HZ / (PIT_LATCH * 1000ull));
	kprintf("# tsc_mhz %u.%03u (PIT channel 2, median of %u windows of %u ms)\n", khz / 1000,
		khz % 1000, PIT_TRIALS, 1000 * PIT_LATCH / PIT_HZ);
}

/* ---- the report ---- */

/* Cycles per iteration, in hundredths. */
static uint32_t nb_per_iter_x100(uint64_t cycles, uint32_t n)
{
	return (uint32_t)(cycles * 100 / n);
}

static void nb_print_cycles(const char *name, uint32_t x100)
{
	uint32_t x10 = (x100 + 5) / 10;

	kprintf("%s %u.%u\n", name, x10 / 10, x10 % 10);
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	uint64_t start = nb_rdtsc_now();

	nb_cpu_setup();
	trap_set_hook(0x81, nb_hook_user_exit);
	put_str("# nanobench: TSC cycles per operation, the least of 5 runs, the empty loop "
		"subtracted\n");
	nb_print_tsc_rate();
	nb_paging_setup();

	uint32_t loop_x100 = nb_per_iter_x100(nb_best(nb_loop, NB_LOOP_N), NB_LOOP_N);
	kprintf("# loop %u.%02u (dec; jnz, not subtracted from itself)\n", loop_x100 / 100,
		loop_x100 % 100);

	for (size_t i = 0; i < sizeof(nb_ops) / sizeof(nb_ops[0]); i++) {
		const struct nb_op *op = &nb_ops[i];
		uint64_t best = op->ring == NB_RING3 ? nb_best_ring3(op) : nb_best(op->fn, op->n);
		__asm__ volatile("cli");
		*nb_demand_pte = 0;
		__asm__ volatile("invlpg (%0)" : : "r"(DEMAND_VA) : "memory");
		__asm__ volatile("mov %0, %%cr3" : : "r"(nb_cr3_a) : "memory");
		uint32_t x100 = nb_per_iter_x100(best, op->n);
		x100 = x100 > loop_x100 ? x100 - loop_x100 : 0;
		nb_print_cycles(op->name, x100);
	}
	uint64_t total = nb_rdtsc_now() - start;
	kprintf("# tsc_total %u (millions of cycles in kmain)\n", (uint32_t)(total / 1000000));
	put_str("nanobench done\n");
}
