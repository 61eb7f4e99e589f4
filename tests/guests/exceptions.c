/*
 * exceptions — an IDT with a handler on every vector; faults and traps raised on purpose:
 * #DE (div by zero, idiv overflow, aam 0), #UD (ud2, undefined encodings, SSE without
 * CR4.OSFXSR), #BP (int3, int 3), #OF, #BR, #GP/#NP/#SS from segment loads and accesses, #NP
 * from a not-present IDT gate, #DB single step, #MF, #NM, #DF, int 0x80 returning a value,
 * and a fault raised inside a handler. Each line gives the vector, the error code (where the
 * CPU pushes one), the saved EIP relative to the case's labels and the saved arithmetic
 * flags, DF and TF.
 *
 * XXX: not tested because QEMU 7.2 does not do what the CPU does: #XM (QEMU never raises it),
 * #GP on writes through read-only segments and on segment limit violations (QEMU checks
 * neither).
 */
#include "guest.h"

#define CR0_MP	       (1u << 1)
#define CR0_EM	       (1u << 2)
#define CR0_TS	       (1u << 3)
#define CR0_NE	       (1u << 5)
#define CR4_OSFXSR     (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)

/* clang-format off */
#define CASES(X)                                                                             \
	X(x_div0) X(x_idiv_overflow) X(x_aam0) X(x_ud2) X(x_bad_fe) X(x_bad_lock) X(x_mov_cs)  \
	X(x_int3) X(x_int_3) X(x_into) X(x_into_clear) X(x_bound_out) X(x_bound_in)          \
	X(x_ds_limit) X(x_ss_null) X(x_ds_not_present) X(x_ss_not_present) X(x_ss_readonly)  \
	X(x_ds_exec_only) X(x_ljmp_data) X(x_int_not_present) X(x_int80) X(x_nested)         \
	X(x_single_step) X(x_x87_mf) X(x_nm) X(x_nm_sse) X(x_sse_ud)

/* clang-format on */
#define DECL(n)                                                                                    \
	uint32_t n(void);                                                                          \
	extern const char n##_at[], n##_next[];
CASES(DECL)

struct fault_case {
	const char *name;
	uint32_t (*fn)(void);
	const char *at, *next;
};

/* The printed name drops the "x_" prefix. */
#define ENTRY(n) {#n + 2, n, n##_at, n##_next},
static const struct fault_case cases[] = {CASES(ENTRY)};

static const struct fault_case *find_case(const char *name)
{
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *a = cases[i].name, *b = name;
		while (*a && *a == *b) {
			a++;
			b++;
		}
		if (*a == *b)
			return &cases[i];
	}
	kprintf("no case %s\n", name);
	guest_exit(2);
}

/* Vectors for which the CPU pushes an error code. */
static int has_error_code(uint32_t v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17;
}

static void put_eip(const struct fault_case *c, uint32_t eip)
{
	if (eip == (uint32_t)c->at)
		put_str(" eip at");
	else if (eip == (uint32_t)c->next)
		put_str(" eip next");
	else
		kprintf(" eip elsewhere");
}

static void put_trap(const struct fault_case *c, const struct trap_record *t)
{
	kprintf(" vector %x", t->vector);
	if (has_error_code(t->vector))
		kprintf(" error %x", t->error);
	if (t->vector != 8) /* the EIP saved by #DF is undefined */
		put_eip(c, t->eip);
	put_flags(t->eflags, FL_ARITH | FL_DF | FL_TF);
}

enum run_flags {
	RUN_EAX = 1,	 /* the case's EAX result is meaningful */
	RUN_VECTORS = 2, /* of the traps taken, print only the vectors */
};

static void run(const char *name, enum run_flags flags)
{
	const struct fault_case *c = find_case(name);

	trap_log_clear();
	kprintf("%s:", name);
	if (TRAP_TRY()) {
		uint32_t eax = c->fn();
		TRAP_END();
		put_str(" returned");
		if (flags & RUN_EAX)
			kprintf(" eax %x", eax);
		kprintf(" traps %u", trap_count);
		for (unsigned i = 0; i < trap_count && i < TRAP_LOG; i++) {
			if (flags & RUN_VECTORS)
				kprintf(" vector %x", trap_log[i].vector);
			else
				put_trap(c, &trap_log[i]);
		}
	} else {
		put_str(" faulted");
		put_trap(c, &trap_last);
	}
	put_char('\n');
	/* Put back what a case may have changed. */
	__asm__ volatile("mov %0, %%fs\n\tmov %0, %%gs" : : "r"(SEL_DATA));
}

static void hook_int80(struct trap_frame *f)
{
	f->eax = f->eax * 2 + 1;
}

static uint32_t nested_depth_seen;

static void hook_int81(struct trap_frame *f)
{
	(void)f;
	trap_skip = 2;
	trap_set_hook(6, trap_hook_skip);
	__asm__ volatile("ud2");
	trap_set_hook(6, 0);
	nested_depth_seen = trap_count;
}

static uint32_t dr6_bs;

static void hook_single_step(struct trap_frame *f)
{
	uint32_t dr6;

	__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
	dr6_bs = (dr6 >> 14) & 1;
	f->eflags &= ~FL_TF;
}

/* Single-stepping through indirect branches: every instruction traps, also a call through a
 * register, the callee's ret and a jmp through a register. The sequence runs once without
 * TF first, so that a translator has seen (and may cache) where its branches go. */
static volatile uint32_t step_traps;

static void hook_count_steps(struct trap_frame *f)
{
	if (++step_traps >= 64)
		f->eflags &= ~FL_TF;
}

static void __attribute__((noinline)) stepped_callee(void)
{
	__asm__ volatile("" ::: "memory");
}

static void step_indirect(uint32_t tf)
{
	void (*fn)(void) = stepped_callee;
	__asm__ volatile("pushfl\n\t"
			 "orl %1, (%%esp)\n\t"
			 "popfl\n\t"
			 "call *%0\n\t"
			 "lea 1f, %%ecx\n\t"
			 "jmp *%%ecx\n"
			 "1:\tnop\n\t"
			 "pushfl\n\t"
			 "andl $~0x100, (%%esp)\n\t"
			 "popfl"
			 :
			 : "r"(fn), "r"(tf)
			 : "eax", "ecx", "edx", "memory", "cc");
}

static void test_step_indirect(void)
{
	step_indirect(0);
	step_indirect(0);
	step_traps = 0;
	trap_set_hook(1, hook_count_steps);
	step_indirect(FL_TF);
	trap_set_hook(1, 0);
	kprintf("single step through call/ret/jmp via registers: %u traps\n", step_traps);
}

static void hook_clear_ts(struct trap_frame *f)
{
	(void)f;
	__asm__ volatile("clts");
}

static void test_double_fault(void)
{
	/* #GP while the #GP gate is not present: #NP during delivery, hence #DF. */
	uint64_t saved = idt_table[13];
	const struct fault_case *c = find_case("ds_limit");

	idt_table[13] &= ~(1ull << 47);
	trap_log_clear();
	put_str("double fault:");
	if (TRAP_TRY()) {
		c->fn();
		TRAP_END();
		put_str(" no trap");
	} else {
		kprintf(" vector %x error %x", trap_last.vector, trap_last.error);
	}
	put_char('\n');
	idt_table[13] = saved;
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	(void)magic;
	(void)info;
	idt_init();
	idt_set_gate(0x80, trap_stubs[0x80], SEL_CODE, 0xEF); /* trap gate, DPL 3 */
	idt_set_gate(0x41, trap_stubs[0x41], SEL_CODE, 0x0E); /* not present */
	gdt_set(3, 0, 0xFFFFF, 0x12, 0xC);		      /* 0x18: data, not present */
	gdt_set(4, 0, 0xFFFFF, 0x90, 0xC);		      /* 0x20: read-only data */
	gdt_set(5, 0, 0x00FFF, 0x92, 0x4);		      /* 0x28: data, limit 4 KiB - 1 */
	gdt_set(6, 0, 0xFFFFF, 0x98, 0xC);		      /* 0x30: execute-only code */
	gdt_load(7);
	write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE);
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);

	run("div0", 0);
	run("idiv_overflow", 0);
	run("aam0", 0);
	run("ud2", 0);
	run("bad_fe", 0);
	run("bad_lock", 0);
	run("mov_cs", 0);
	run("int3", 0);
	run("int_3", 0);
	run("into", 0);
	run("into_clear", 0);
	run("bound_out", 0);
	run("bound_in", RUN_EAX);
	run("ds_limit", 0);
	run("ss_null", 0);
	run("ds_not_present", 0);
	run("ss_not_present", 0);
	run("ss_readonly", 0);
	run("ds_exec_only", 0);
	run("ljmp_data", 0);
	run("int_not_present", 0);

	trap_set_hook(0x80, hook_int80);
	run("int80", RUN_EAX);
	trap_set_hook(0x81, hook_int81);
	run("nested", RUN_VECTORS);
	kprintf("nested: traps seen inside the handler %u\n", nested_depth_seen);

	trap_set_hook(1, hook_single_step);
	run("single_step", RUN_EAX);
	kprintf("single step: dr6.bs %u\n", dr6_bs);
	test_step_indirect();

	run("x87_mf", 0);
	__asm__ volatile("fninit");

	trap_set_hook(7, hook_clear_ts);
	write_cr0(read_cr0() | CR0_TS);
	run("nm", 0);
	write_cr0(read_cr0() | CR0_TS);
	run("nm_sse", 0);
	trap_set_hook(7, 0);

	write_cr4(read_cr4() & ~CR4_OSFXSR);
	run("sse_ud", 0);
	write_cr4(read_cr4() | CR4_OSFXSR);

	test_double_fault();
	put_str("exceptions done\n");
}
