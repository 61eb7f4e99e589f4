/*
 * user_tls — segments with a non-zero base used the way i386 Linux uses them. Ring 3 reaches
 * its thread-local block through GS (a DPL 3 GDT descriptor whose base is the thread control
 * block, as glibc's %gs:0 self pointer; also one in an LDT): loads, stores, read-modify-write
 * and string instructions at negative offsets that wrap around 4 GiB, and the values go back to
 * ring 0 through int 0x80. Ring 0 keeps per-CPU data behind FS (mov, inc, add, cmpxchg, xadd
 * at offsets from the FS base), loads it in its int 0x80 handler, and the iret back to ring 3
 * must turn an FS that still holds that DPL 0 selector into a null one. Loading a DPL 0
 * selector into GS at CPL 3 faults.
 *
 * XXX: no access through a null GS or FS: QEMU 7.2 does not raise the #GP(0) the CPU does.
 */
#include "guest.h"

#define SEL_UCODE  0x1b
#define SEL_UDATA  0x23
#define SEL_TSS	   0x28
#define SEL_TLS	   0x33 /* GDT entry 6, DPL 3, as Linux's first TLS entry */
#define SEL_PERCPU 0x38 /* GDT entry 7, DPL 0 */
#define SEL_LDT	   0x40
#define SEL_LTLS   0x07 /* LDT entry 0, RPL 3 */

struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt, iomap;
};

/* A thread's block: the variables sit below the thread control block, whose first word
 * points to itself; the GS base is the address of that word. */
struct tls_block {
	uint32_t var[8];
	uint32_t self;
	uint32_t pad[3];
};

/* Per-CPU data at the FS base in ring 0. */
struct percpu {
	uint32_t self, lock, counter, total, syscalls;
};

static struct tss32 tss;
static uint64_t ldt[2] __attribute__((aligned(8)));
static struct tls_block tls_a, tls_b;
static struct percpu percpu;
static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t ustack[8192] __attribute__((aligned(16)));
static struct jmp_buf user_exit;

#define KSTACK_TOP ((uint32_t)(kstack + sizeof(kstack)))
#define USTACK_TOP ((uint32_t)(ustack + sizeof(ustack)))

/* Set by ring 3 before an instruction that must fault, for the #GP hook. */
uint32_t expect_eip;

static uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	uint64_t d = 0;

	d |= limit & 0xFFFFu;
	d |= (uint64_t)(base & 0xFFFFFFu) << 16;
	d |= (uint64_t)access << 40;
	d |= (uint64_t)((limit >> 16) & 0xF) << 48;
	d |= (uint64_t)(flags & 0xF) << 52;
	d |= (uint64_t)(base >> 24) << 56;
	return d;
}

static void hook_fault(struct trap_frame *f)
{
	kprintf("  fault vector %x error %x eip %s cs %04x\n", f->vector, f->error,
		f->eip == expect_eip ? "at" : "elsewhere", f->cs & 0xffff);
	f->eip += trap_skip;
}

enum { SYS_EXIT, SYS_PRINT, SYS_HEX, SYS_GS_PEEK, SYS_PERCPU, SYS_FS_KERNEL };

static void hook_syscall(struct trap_frame *f)
{
	uint32_t v;

	/* As Linux's entry code: per-CPU data through FS; the stub puts back the user's FS. */
	__asm__ volatile("mov %0, %%fs\n\tincl %%fs:16" : : "r"(SEL_PERCPU) : "memory");
	switch (f->eax) {
	case SYS_EXIT:
		guest_longjmp(&user_exit, 1);
	case SYS_PRINT:
		put_str((const char *)f->ebx);
		break;
	case SYS_HEX:
		kprintf("%s %08x\n", (const char *)f->ecx, f->ebx);
		break;
	case SYS_GS_PEEK:
		/* GS is still the user's: ring 0 may read through a DPL 3 data segment. */
		__asm__ volatile("mov %%gs:-4, %0" : "=r"(v));
		f->eax = v;
		return;
	case SYS_PERCPU:
		__asm__ volatile("mov %%fs:16, %0" : "=r"(v));
		f->eax = v;
		return;
	case SYS_FS_KERNEL:
		/* Return to ring 3 with the DPL 0 selector still in FS: iret must null it. */
		f->fs = SEL_PERCPU;
		break;
	}
	f->eax = 0;
}

/* ---- ring 3 ---- */

static uint32_t sys(uint32_t nr, uint32_t a, const char *b)
{
	__asm__ volatile("int $0x80" : "+a"(nr) : "b"(a), "c"(b) : "memory");
	return nr;
}

static void print(const char *s)
{
	sys(SYS_PRINT, (uint32_t)s, 0);
}

static void hex(const char *name, uint32_t v)
{
	sys(SYS_HEX, v, name);
}

static uint32_t get_flags(void)
{
	uint32_t f;

	__asm__ volatile("pushf\n\tpop %0" : "=r"(f));
	return f;
}

#define USER_FAULT(len, insn, ...)                                                                 \
	__asm__ volatile("movl $" #len ", trap_skip\n\tmovl $1f, expect_eip\n1:\t" insn            \
			 :                                                                         \
			 : __VA_ARGS__                                                             \
			 : "memory")

static void user_loads(void)
{
	uint32_t v, sel;

	__asm__ volatile("mov %0, %%gs" : : "r"(SEL_TLS));
	__asm__ volatile("mov %%gs, %0" : "=r"(sel));
	hex("gs selector", sel & 0xffff);
	__asm__ volatile("mov %%gs:0, %0" : "=a"(v));
	hex("gs:0 (moffs) - &tcb", v - (uint32_t)&tls_a.self);
	__asm__ volatile("mov %%gs:0, %0" : "=c"(v));
	hex("gs:0 (modrm) - &tcb", v - (uint32_t)&tls_a.self);
	__asm__ volatile("mov %%gs:-4, %0" : "=a"(v));
	hex("gs:-4 (moffs)", v);
	__asm__ volatile("mov %%gs:-4, %0" : "=d"(v));
	hex("gs:-4 (modrm)", v);
	__asm__ volatile("mov %%gs:-32, %0" : "=r"(v));
	hex("gs:-32", v);
	__asm__ volatile("mov %%gs:(%1), %0" : "=r"(v) : "r"(-12));
	hex("gs:(reg -12)", v);
	__asm__ volatile("mov %%gs:-40(%1,%2,4), %0" : "=r"(v) : "r"(4), "r"(2));
	hex("gs:-40(4,2,4)", v);
	__asm__ volatile("mov %%gs:0(,%1,4), %0" : "=r"(v) : "r"(-2));
	hex("gs:(,-2,4)", v);
	__asm__ volatile("movzbl %%gs:-31, %0" : "=r"(v));
	hex("movzb gs:-31", v);
	__asm__ volatile("movsbl %%gs:-29, %0" : "=r"(v));
	hex("movsb gs:-29", v);
	__asm__ volatile("movswl %%gs:-2, %0" : "=r"(v));
	hex("movsw gs:-2", v);
	v = 0;
	for (int32_t off = -32; off < 0; off += 4) {
		uint32_t x;
		__asm__ volatile("mov %%gs:(%1), %0" : "=r"(x) : "r"(off));
		v = v * 33 + x;
	}
	hex("gs loop sum", v);
}

static void user_stores(void)
{
	uint32_t v, f;

	__asm__ volatile("movl $0x5eed0001, %%gs:-16" : : : "memory");
	__asm__ volatile("movb $0xab, %%gs:-29" : : : "memory");
	__asm__ volatile("movw $0xcdef, %%gs:-26" : : : "memory");
	__asm__ volatile("incl %%gs:-20" : : : "memory", "cc");
	v = 0x7fffffff;
	__asm__ volatile("addl %1, %%gs:-24\n\tpushf\n\tpop %0" : "=r"(f) : "r"(v) : "memory");
	hex("add gs:-24 flags", f & FL_ARITH);
	v = 0x12121212;
	__asm__ volatile("xchg %0, %%gs:-28" : "+r"(v) : : "memory");
	hex("xchg gs:-28 old", v);
	v = 0xb5b4a3a2;
	__asm__ volatile("lock cmpxchg %2, %%gs:-12\n\tpushf\n\tpop %1"
			 : "+a"(v), "=r"(f)
			 : "r"(0x600d600d)
			 : "memory");
	hex("cmpxchg gs:-12 eax", v);
	hex("cmpxchg gs:-12 zf", (f >> 6) & 1);
	__asm__ volatile("lock cmpxchg %2, %%gs:-12\n\tpushf\n\tpop %1"
			 : "+a"(v), "=r"(f)
			 : "r"(0xbadbad)
			 : "memory");
	hex("cmpxchg again eax", v);
	hex("cmpxchg again zf", (f >> 6) & 1);
	__asm__ volatile("pushl %%gs:-4\n\tpopl %%gs:-8" : : : "memory");
	v = 3;
	__asm__ volatile("lock xaddl %0, %%gs:-4" : "+r"(v) : : "memory");
	hex("xadd gs:-4 old", v);
}

static void user_strings(void)
{
	uint32_t buf[8], v;
	uint32_t s = (uint32_t)-32, d = (uint32_t)buf, n = 32;

	__asm__ volatile("cld\n\trep movsb %%gs:(%%esi), %%es:(%%edi)"
			 : "+S"(s), "+D"(d), "+c"(n)
			 :
			 : "memory");
	hex("rep movsb from gs: esi", s);
	hex("rep movsb from gs: fnv", fnv32(buf, sizeof(buf)));
	s = (uint32_t)-8;
	__asm__ volatile("lodsl %%gs:(%%esi), %%eax" : "=a"(v), "+S"(s));
	hex("lodsl gs:-8", v);
	hex("lodsl esi", s);
	d = (uint32_t)buf;
	buf[0] = 0x0badcafe;
	s = (uint32_t)-12;
	__asm__ volatile("cmpsl %%es:(%%edi), %%gs:(%%esi)\n\tpushf\n\tpop %0"
			 : "=r"(v), "+S"(s), "+D"(d)
			 :
			 : "memory", "cc");
	hex("cmpsl gs:-12 vs 0badcafe flags", v & FL_ARITH);
}

static void user_ldt_and_kernel(void)
{
	uint32_t v;

	__asm__ volatile("mov %0, %%gs" : : "r"(SEL_LTLS));
	__asm__ volatile("mov %%gs:0, %0" : "=r"(v));
	hex("ldt gs:0 - &tcb_b", v - (uint32_t)&tls_b.self);
	__asm__ volatile("mov %%gs:-4, %0" : "=r"(v));
	hex("ldt gs:-4", v);
	hex("kernel reads gs:-4", sys(SYS_GS_PEEK, 0, 0));
	__asm__ volatile("mov %0, %%gs" : : "r"(SEL_TLS));
	hex("kernel reads gs:-4", sys(SYS_GS_PEEK, 0, 0));
	hex("per-cpu syscalls", sys(SYS_PERCPU, 0, 0));

	/* FS survived all those system calls: still the flat user segment. */
	__asm__ volatile("mov %%fs, %0" : "=r"(v));
	hex("fs after syscalls", v & 0xffff);
	__asm__ volatile("mov %%fs:%1, %0" : "=r"(v) : "m"(tls_a.var[0]));
	hex("fs:&var[0]", v);
}

static void user_faults(void)
{
	uint32_t v;

	/* A null selector loads without a fault (see the XXX at the top). */
	__asm__ volatile("mov %0, %%gs" : : "r"(0));
	__asm__ volatile("mov %%gs, %0" : "=r"(v));
	hex("gs after loading 0", v & 0xffff);
	print("mov $0x38 (DPL 0), %gs\n");
	USER_FAULT(2, "mov %%eax, %%gs", "a"(SEL_PERCPU));
	__asm__ volatile("mov %%gs, %0" : "=r"(v));
	hex("gs after that", v & 0xffff);

	sys(SYS_FS_KERNEL, 0, 0);
	__asm__ volatile("mov %%fs, %0" : "=r"(v));
	hex("fs after iret with DPL 0 fs, selector & ~3", v & 0xfffc);
}

static void user_main(void)
{
	user_loads();
	user_stores();
	user_strings();
	user_ldt_and_kernel();
	user_faults();
	hex("eflags iopl/if", get_flags() & 0x3200);
	sys(SYS_EXIT, 0, 0);
}

/* ---- ring 0 ---- */

static void test_percpu(void)
{
	uint32_t v, f, off = 8;

	__asm__ volatile("mov %0, %%fs" : : "r"(SEL_PERCPU));
	__asm__ volatile("mov %%fs:0, %0" : "=r"(v));
	kprintf("fs:0 - &percpu %x\n", v - (uint32_t)&percpu);
	__asm__ volatile("mov %%fs:(%1), %0" : "=r"(v) : "r"(off));
	kprintf("fs:(8) counter %08x\n", v);
	__asm__ volatile("incl %%fs:(%0)" : : "r"(off) : "memory", "cc");
	__asm__ volatile("addl $1, %%fs:8\n\tpushf\n\tpop %0" : "=r"(f) : : "memory");
	kprintf("addl $1, fs:8 flags");
	put_flags(f, FL_ARITH);
	__asm__ volatile("mov %%fs:8, %0" : "=r"(v));
	kprintf(", counter %08x\n", v);

	v = 0;
	__asm__ volatile("cmpxchg %2, %%fs:4\n\tpushf\n\tpop %1"
			 : "+a"(v), "=r"(f)
			 : "c"(1)
			 : "memory");
	kprintf("cmpxchg fs:4 (free): eax %x zf %u\n", v, (f >> 6) & 1);
	v = 0;
	__asm__ volatile("lock cmpxchg %2, %%fs:4\n\tpushf\n\tpop %1"
			 : "+a"(v), "=r"(f)
			 : "c"(1)
			 : "memory");
	kprintf("cmpxchg fs:4 (taken): eax %x zf %u\n", v, (f >> 6) & 1);
	v = 0x10;
	__asm__ volatile("xadd %0, %%fs:12" : "+r"(v) : : "memory");
	__asm__ volatile("lock xadd %0, %%fs:12" : "+r"(v) : : "memory");
	kprintf("xadd fs:12 twice: last old %x\n", v);
	__asm__ volatile("lock btrl $0, %%fs:4\n\tpushf\n\tpop %0" : "=r"(f) : : "memory");
	kprintf("btr fs:4 cf %u\n", f & 1);
	__asm__ volatile("mov %0, %%fs" : : "r"(SEL_DATA));
	kprintf("percpu: lock %x counter %x total %x\n", percpu.lock, percpu.counter, percpu.total);
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	write_cr0(0x00000033);
	for (unsigned i = 0; i < 8; i++) {
		tls_a.var[i] = 0xb0a09080u + i * 0x01010101u;
		tls_b.var[i] = 0x00300010u + i;
	}
	tls_a.self = (uint32_t)&tls_a.self;
	tls_b.self = (uint32_t)&tls_b.self;
	percpu.self = (uint32_t)&percpu;
	percpu.counter = 0x41;

	ldt[0] = seg_desc((uint32_t)&tls_b.self, 0xFFFFF, 0xF3, 0xC);
	gdt_set(3, 0, 0xFFFFF, 0xFB, 0xC);			/* 0x18: user code */
	gdt_set(4, 0, 0xFFFFF, 0xF3, 0xC);			/* 0x20: user data */
	gdt_set(5, (uint32_t)&tss, sizeof(tss) - 1, 0x89, 0x0); /* 0x28: TSS */
	gdt_set(6, (uint32_t)&tls_a.self, 0xFFFFF, 0xF3, 0xC);	/* 0x30: TLS */
	gdt_set(7, (uint32_t)&percpu, 0xFFFFF, 0x93, 0xC);	/* 0x38: per-CPU */
	gdt_set(8, (uint32_t)ldt, sizeof(ldt) - 1, 0x82, 0x0);	/* 0x40: LDT */
	gdt_load(9);
	tss.ss0 = SEL_DATA;
	tss.esp0 = KSTACK_TOP;
	tss.iomap = (uint32_t)sizeof(tss) << 16;
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
	__asm__ volatile("lldt %w0" : : "r"(SEL_LDT));
	idt_init();
	idt_set_gate(0x80, trap_stubs[0x80], SEL_CODE, 0xEF); /* trap gate, DPL 3 */
	trap_set_hook(0x80, hook_syscall);
	trap_set_hook(13, hook_fault);

	test_percpu();
	put_str("enter ring 3\n");
	if (guest_setjmp(&user_exit) == 0)
		enter_user((uint32_t)user_main, USTACK_TOP, 0x002);
	__asm__ volatile("mov %0, %%fs\n\tmov %0, %%gs" : : "r"(SEL_DATA));
	put_str("back in ring 0\n");
	for (unsigned i = 0; i < 8; i++)
		kprintf("tls_a.var[%u] %08x\n", i, tls_a.var[i]);
	kprintf("per-cpu syscalls %u\n", percpu.syscalls);
	put_str("user_tls done\n");
}
