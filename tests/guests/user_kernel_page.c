/*
 * user_kernel_page — the user/supervisor and read/write bits of 32-bit paging. Ring 3 reads
 * and writes user pages, supervisor pages (#PF, error 5 and 7), a user read-only page (#PF,
 * error 7), pages under a supervisor or read-only page directory entry, a not-present page
 * (error 4 and 6), calls into a supervisor code page (error 5, CR2 = EIP) and pushes onto a
 * supervisor page. The GDT, IDT, TSS and ring 0 stack live on supervisor pages: ring 3 cannot
 * read them, yet every system call and fault from ring 3 reaches them. Ring 0 reads user and
 * supervisor pages, and writes read-only ones, with CR0.WP set (#PF, error 3) and clear
 * (the write goes through).
 */
#include "guest.h"

#define PG_P   0x001u
#define PG_RW  0x002u
#define PG_US  0x004u
#define PG_D   0x040u
#define CR0_PG 0x80000000u
#define CR0_WP 0x00010000u

#define SEL_UCODE 0x1b
#define SEL_UDATA 0x23
#define SEL_TSS	  0x28

#define ALIAS(n) (0x80000000u + (n)*4096u) /* pt_alias, under a user read/write PDE */
#define SUP_PDE	 0x80400000u		   /* a user PTE under a supervisor PDE */
#define RO_PDE	 0x80800000u		   /* a writable user PTE under a read-only PDE */
#define HOLE	 0x90000000u

/* The page frames behind the aliases. */
enum { PAGE_SUP, PAGE_USER_RO, PAGE_USER_RW, PAGE_SUP_RO, PAGE_CODE, NPAGES };

struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt, iomap;
};

struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint32_t base;
};

/* Everything the CPU reads on its own when ring 3 enters ring 0, on supervisor pages. */
static struct {
	uint64_t gdt[GDT_ENTRIES];
	uint64_t idt[256];
	struct tss32 tss;
} sys_page __attribute__((aligned(4096)));
static uint8_t kstack[8192] __attribute__((aligned(4096)));

static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[2][1024] __attribute__((aligned(4096)));
static uint32_t pt_alias[1024] __attribute__((aligned(4096)));
static uint32_t pt_sup[1024] __attribute__((aligned(4096)));
static uint32_t pt_ro[1024] __attribute__((aligned(4096)));
static uint8_t pages[NPAGES][4096] __attribute__((aligned(4096)));
static uint8_t ustack[8192] __attribute__((aligned(16)));
static struct jmp_buf user_exit;

#define KSTACK_TOP ((uint32_t)(kstack + sizeof(kstack)))
#define USTACK_TOP ((uint32_t)(ustack + sizeof(ustack)))

/* Set by ring 3 before an instruction that must fault, for the #PF hook. */
uint32_t expect_eip;

static uint32_t read_cr2(void)
{
	uint32_t v;

	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static void invlpg(uint32_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static void set_supervisor(const void *p, uint32_t len)
{
	for (uint32_t a = (uint32_t)p & ~0xfffu; a < (uint32_t)p + len; a += 4096)
		pt_low[a >> 22][(a >> 12) & 1023] &= ~PG_US;
}

static void setup_paging(void)
{
	for (uint32_t i = 0; i < 2048; i++)
		pt_low[i / 1024][i % 1024] = (i * 4096) | PG_P | PG_RW | PG_US;
	set_supervisor(&sys_page, sizeof(sys_page));
	set_supervisor(kstack, sizeof(kstack));
	set_supervisor(page_dir, sizeof(page_dir));
	set_supervisor(pt_low, sizeof(pt_low));
	set_supervisor(pt_alias, sizeof(pt_alias));
	page_dir[0] = (uint32_t)pt_low[0] | PG_P | PG_RW | PG_US;
	page_dir[1] = (uint32_t)pt_low[1] | PG_P | PG_RW | PG_US;
	page_dir[ALIAS(0) >> 22] = (uint32_t)pt_alias | PG_P | PG_RW | PG_US;
	page_dir[SUP_PDE >> 22] = (uint32_t)pt_sup | PG_P | PG_RW;
	page_dir[RO_PDE >> 22] = (uint32_t)pt_ro | PG_P | PG_US;

	for (uint32_t p = 0; p < NPAGES; p++)
		for (uint32_t i = 0; i < 1024; i++)
			((uint32_t *)pages[p])[i] = 0x10000000u * (p + 1) + i;
	pt_alias[0] = (uint32_t)pages[PAGE_SUP] | PG_P | PG_RW;
	pt_alias[1] = (uint32_t)pages[PAGE_USER_RO] | PG_P | PG_US;
	pt_alias[2] = (uint32_t)pages[PAGE_USER_RW] | PG_P | PG_RW | PG_US;
	pt_alias[3] = (uint32_t)pages[PAGE_SUP_RO] | PG_P;
	pt_alias[4] = (uint32_t)pages[PAGE_SUP] | PG_RW | PG_US; /* not present */
	pt_alias[5] = (uint32_t)pages[PAGE_CODE] | PG_P;	 /* supervisor code */
	pt_alias[6] = (uint32_t)pages[PAGE_CODE] | PG_P | PG_US; /* the same, user */
	pt_sup[0] = (uint32_t)pages[PAGE_USER_RW] | PG_P | PG_RW | PG_US;
	pt_ro[0] = (uint32_t)pages[PAGE_USER_RW] | PG_P | PG_RW | PG_US;

	/* mov $0xc0dec0de, %eax; ret */
	uint8_t *code = pages[PAGE_CODE];
	code[0] = 0xb8;
	code[1] = 0xde;
	code[2] = 0xc0;
	code[3] = 0xde;
	code[4] = 0xc0;
	code[5] = 0xc3;

	__asm__ volatile("mov %0, %%cr3" : : "r"(page_dir) : "memory");
	write_cr0(0x00000033 | CR0_PG | CR0_WP);
}

/* The GDT and IDT as the library built them, moved onto the supervisor page. */
static void setup_tables(void)
{
	struct desc_ptr g = {sizeof(sys_page.gdt) - 1, (uint32_t)sys_page.gdt};
	struct desc_ptr i = {sizeof(sys_page.idt) - 1, (uint32_t)sys_page.idt};

	gdt_set(3, 0, 0xFFFFF, 0xFB, 0xC);					  /* 0x18 */
	gdt_set(4, 0, 0xFFFFF, 0xF3, 0xC);					  /* 0x20 */
	gdt_set(5, (uint32_t)&sys_page.tss, sizeof(sys_page.tss) - 1, 0x89, 0x0); /* 0x28 */
	idt_init();
	idt_set_gate(0x80, trap_stubs[0x80], SEL_CODE, 0xEF); /* trap gate, DPL 3 */
	memcpy(sys_page.gdt, gdt_table, sizeof(sys_page.gdt));
	memcpy(sys_page.idt, idt_table, sizeof(sys_page.idt));
	__asm__ volatile("lgdt %0\n\tlidt %1" : : "m"(g), "m"(i) : "memory");
	sys_page.tss.ss0 = SEL_DATA;
	sys_page.tss.esp0 = KSTACK_TOP;
	sys_page.tss.iomap = (uint32_t)sizeof(sys_page.tss) << 16;
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
}

/* A fault from ring 3: print it and go on after the faulting instruction, or, when the fault
 * is the instruction fetch of a call target, return to the caller as ret would. */
static void hook_user_pf(struct trap_frame *f)
{
	uint32_t *outer = (uint32_t *)(f + 1); /* ESP and SS of ring 3 */
	uint32_t cr2 = read_cr2();

	kprintf("  #PF error %x cr2 %08x", f->error, cr2);
	if (f->eip == cr2) {
		uint32_t *usp = (uint32_t *)outer[0];
		put_str(" eip = cr2, return to the caller\n");
		f->eax = 0xfa17ed;
		f->eip = usp[0];
		outer[0] += 4;
		return;
	}
	kprintf(" eip %s cs %04x\n", f->eip == expect_eip ? "at" : "elsewhere", f->cs & 0xffff);
	f->eip += trap_skip;
}

enum { SYS_EXIT, SYS_PRINT, SYS_HEX };

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
	}
	f->eax = 0;
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

/* mov (%eax), %ecx and mov %ecx, (%eax) are two bytes each. */
#define USER_READ(va)                                                                              \
	__asm__ volatile("movl $2, trap_skip\n\tmovl $1f, expect_eip\n1:\tmov (%0), %%ecx"         \
			 :                                                                         \
			 : "a"(va)                                                                 \
			 : "ecx", "memory")
#define USER_WRITE(va)                                                                             \
	__asm__ volatile("movl $2, trap_skip\n\tmovl $1f, expect_eip\n1:\tmov %%ecx, (%0)"         \
			 :                                                                         \
			 : "a"(va), "c"(0xbad0bad0)                                                \
			 : "memory")

static uint32_t user_peek(uint32_t va)
{
	return *(volatile uint32_t *)va;
}

static void user_main(void)
{
	typedef uint32_t (*fn)(void);

	print("user read/write page\n");
	hex("  read", user_peek(ALIAS(2) + 8));
	*(volatile uint32_t *)(ALIAS(2) + 12) = 0x0000beef;
	hex("  write, read back", user_peek(ALIAS(2) + 12));
	print("user read-only page\n");
	hex("  read", user_peek(ALIAS(1) + 16));
	print("  write\n");
	USER_WRITE(ALIAS(1) + 16);
	hex("  read after the write", user_peek(ALIAS(1) + 16));
	print("supervisor page: read, write\n");
	USER_READ(ALIAS(0) + 20);
	USER_WRITE(ALIAS(0) + 24);
	print("supervisor read-only page: read, write\n");
	USER_READ(ALIAS(3) + 28);
	USER_WRITE(ALIAS(3) + 32);
	print("not-present page: read, write\n");
	USER_READ(ALIAS(4) + 36);
	USER_WRITE(ALIAS(4) + 40);
	print("no page table: read, write\n");
	USER_READ(HOLE + 44);
	USER_WRITE(HOLE + 48);
	print("user page under a supervisor pde: read\n");
	USER_READ(SUP_PDE + 52);
	print("writable user page under a read-only pde: read, write\n");
	hex("  read", user_peek(RO_PDE + 56));
	USER_WRITE(RO_PDE + 60);
	print("the GDT, on a supervisor page: read\n");
	USER_READ((uint32_t)sys_page.gdt + 8);
	print("call into a supervisor code page\n");
	hex("  returned", ((fn)ALIAS(5))());
	print("call into the same code through a user page\n");
	hex("  returned", ((fn)ALIAS(6))());

	uint32_t esp_after;
	print("push onto a supervisor page\n");
	__asm__ volatile("movl $1, trap_skip\n\tmovl $1f, expect_eip\n\t"
			 "mov %%esp, %%ebx\n\tmov %1, %%esp\n"
			 "1:\tpush %%eax\n\t"
			 "mov %%esp, %0\n\tmov %%ebx, %%esp"
			 : "=r"(esp_after)
			 : "r"(ALIAS(0) + 64)
			 : "ebx", "memory");
	hex("  esp after the faulting push - page", esp_after - ALIAS(0));
	sys(SYS_EXIT, 0, 0);
}

/* ---- ring 0 ---- */

static void kernel_read(const char *name, uint32_t va)
{
	kprintf("kernel read %s:", name);
	if (TRAP_TRY()) {
		uint32_t v = *(volatile uint32_t *)va;
		TRAP_END();
		kprintf(" %08x\n", v);
		return;
	}
	kprintf(" #PF error %x cr2 %08x\n", trap_last.error, read_cr2());
}

static void kernel_write(const char *name, uint32_t va, uint32_t v)
{
	kprintf("kernel write %s:", name);
	if (TRAP_TRY()) {
		*(volatile uint32_t *)va = v;
		__asm__ volatile("" : : : "memory");
		TRAP_END();
		kprintf(" done, reads %08x\n", *(volatile uint32_t *)va);
		return;
	}
	kprintf(" #PF error %x cr2 %08x\n", trap_last.error, read_cr2());
}

static void kernel_tests(void)
{
	kernel_read("user rw", ALIAS(2) + 4);
	kernel_read("user ro", ALIAS(1) + 4);
	kernel_read("supervisor", ALIAS(0) + 4);
	kernel_read("user page under supervisor pde", SUP_PDE + 4);
	kernel_read("not present", ALIAS(4) + 4);
	put_str("cr0.wp=1\n");
	kernel_write("user rw", ALIAS(2) + 4, 0x11112222);
	kernel_write("user ro", ALIAS(1) + 4, 0x33334444);
	kernel_write("supervisor ro", ALIAS(3) + 4, 0x55556666);
	kernel_write("under read-only pde", RO_PDE + 8, 0x77778888);
	kernel_write("not present", ALIAS(4) + 4, 0x9999aaaa);
	kprintf("user ro pte dirty %u\n", !!(pt_alias[1] & PG_D));
	write_cr0(read_cr0() & ~CR0_WP);
	put_str("cr0.wp=0\n");
	kernel_write("user ro", ALIAS(1) + 4, 0x33334444);
	kernel_write("supervisor ro", ALIAS(3) + 4, 0x55556666);
	kernel_write("under read-only pde", RO_PDE + 8, 0x77778888);
	kernel_write("not present", ALIAS(4) + 4, 0x9999aaaa);
	kprintf("user ro pte dirty %u\n", !!(pt_alias[1] & PG_D));
	write_cr0(read_cr0() | CR0_WP);
	kprintf("frames: user ro [1] %08x, supervisor ro [1] %08x, user rw [2] %08x\n",
		((uint32_t *)pages[PAGE_USER_RO])[1], ((uint32_t *)pages[PAGE_SUP_RO])[1],
		((uint32_t *)pages[PAGE_USER_RW])[2]);
	/* Clean the read-only page again for ring 3. */
	pt_alias[1] &= ~PG_D;
	invlpg(ALIAS(1));
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	__asm__ volatile("lldt %w0" : : "r"(0));
	setup_tables();
	setup_paging();
	trap_set_hook(0x80, hook_syscall);

	kernel_tests();

	put_str("enter ring 3\n");
	trap_set_hook(14, hook_user_pf);
	if (guest_setjmp(&user_exit) == 0)
		enter_user((uint32_t)user_main, USTACK_TOP, 0x002);
	__asm__ volatile("mov %0, %%fs\n\tmov %0, %%gs" : : "r"(SEL_DATA));
	trap_set_hook(14, 0);
	put_str("back in ring 0\n");
	kprintf("user rw frame [3] %08x, user ro frame [4] %08x, supervisor frame [6] %08x\n",
		((uint32_t *)pages[PAGE_USER_RW])[3], ((uint32_t *)pages[PAGE_USER_RO])[4],
		((uint32_t *)pages[PAGE_SUP])[6]);
	write_cr0(read_cr0() & ~CR0_PG);
	put_str("user_kernel_page done\n");
}
