/* Private to runtime/: the VM and vCPU structures and the runtime's internal interfaces. */
#ifndef BT86_RT_INTERNAL_H
#define BT86_RT_INTERNAL_H

#include <Zydis/Zydis.h>
#include <signal.h>
#include <stdio.h>
#include <termios.h>
#include <time.h>
#include <x86intrin.h>

#include "devices/devices.h"
#include "runtime/runtime.h"
#include "shadowmmu/shadowmmu.h"
#include "trace/trace.h"
#include "translator/translator.h"

#define RT_ASSERT(x) ((x) ? (void)0 : rt_assert_fail(__FILE__, __LINE__, #x))
_Noreturn void rt_assert_fail(const char *file, int line, const char *expr);

/* Segment registers in x86 encoding order. */
enum rt_sreg { RT_ES, RT_CS, RT_SS, RT_DS, RT_FS, RT_GS, RT_SREG_COUNT };

/* A segment register's visible selector and hidden descriptor cache. */
struct rt_segment {
	uint16_t selector;
	uint32_t base;
	uint32_t limit;	 /* effective byte limit (granularity applied) */
	uint16_t access; /* descriptor bits 40..55: type, S, DPL, P, AVL, L, D/B, G */
	bool valid;	 /* false for a null selector in DS/ES/FS/GS */
};

#define RT_ACC_TYPE(a) ((a)&0xf)
#define RT_ACC_S(a)    (((a) >> 4) & 1)
#define RT_ACC_DPL(a)  (((a) >> 5) & 3)
#define RT_ACC_P(a)    (((a) >> 7) & 1)
#define RT_ACC_DB(a)   (((a) >> 14) & 1)
#define RT_ACC_G(a)    (((a) >> 15) & 1)

/* EFLAGS bits. */
enum {
	RT_FL_CF = 1u << 0,
	RT_FL_PF = 1u << 2,
	RT_FL_AF = 1u << 4,
	RT_FL_ZF = 1u << 6,
	RT_FL_SF = 1u << 7,
	RT_FL_TF = 1u << 8,
	RT_FL_IF = 1u << 9,
	RT_FL_DF = 1u << 10,
	RT_FL_OF = 1u << 11,
	RT_FL_IOPL = 3u << 12,
	RT_FL_NT = 1u << 14,
	RT_FL_RF = 1u << 16,
	RT_FL_VM = 1u << 17,
	RT_FL_AC = 1u << 18,
	RT_FL_VIF = 1u << 19,
	RT_FL_VIP = 1u << 20,
	RT_FL_ID = 1u << 21,
};
/* Flags that live in host RFLAGS while guest code runs; the rest are virtual. */
#define RT_FL_HOST  (RT_FL_CF | RT_FL_PF | RT_FL_AF | RT_FL_ZF | RT_FL_SF | RT_FL_OF | RT_FL_DF)
#define RT_FL_ARITH (RT_FL_CF | RT_FL_PF | RT_FL_AF | RT_FL_ZF | RT_FL_SF | RT_FL_OF)

enum {
	RT_CR0_PE = 1u << 0,
	RT_CR0_MP = 1u << 1,
	RT_CR0_EM = 1u << 2,
	RT_CR0_TS = 1u << 3,
	RT_CR0_ET = 1u << 4,
	RT_CR0_NE = 1u << 5,
	RT_CR0_WP = 1u << 16,
	RT_CR0_AM = 1u << 18,
	RT_CR0_NW = 1u << 29,
	RT_CR0_CD = 1u << 30,
	RT_CR0_PG = 1u << 31
};
enum {
	RT_CR4_PSE = 1u << 4,
	RT_CR4_PGE = 1u << 7,
	RT_CR4_OSFXSR = 1u << 9,
	RT_CR4_OSXMMEXCPT = 1u << 10
};

/* Exception vectors. */
enum {
	RT_EXC_DE = 0,
	RT_EXC_DB = 1,
	RT_EXC_BP = 3,
	RT_EXC_OF = 4,
	RT_EXC_BR = 5,
	RT_EXC_UD = 6,
	RT_EXC_NM = 7,
	RT_EXC_DF = 8,
	RT_EXC_TS = 10,
	RT_EXC_NP = 11,
	RT_EXC_SS = 12,
	RT_EXC_GP = 13,
	RT_EXC_PF = 14,
	RT_EXC_MF = 16,
	RT_EXC_AC = 17,
	RT_EXC_XM = 19
};

/* A guest event waiting for delivery through the IDT. */
struct rt_event {
	bool pending;
	uint8_t vector;
	bool has_error;
	uint32_t error;
	bool soft;	     /* int n / int3 / into: the gate's DPL is checked */
	bool trap;	     /* the frame gets return_eip; a fault in delivery reports EIP */
	uint32_t return_eip; /* for traps: the instruction after the one that trapped */
};

struct rt_vcpu {
	struct tr_frame *frame; /* registers, arithmetic flags, FPU state */
	uint32_t eip;
	uint32_t eflags; /* the virtual part (outside RT_FL_HOST, but IF: frame->vif), bit 1 set */
	struct rt_segment seg[RT_SREG_COUNT];
	struct rt_segment ldtr, tr;
	struct {
		uint32_t base;
		uint16_t limit;
	} gdtr, idtr;
	uint32_t cr0, cr2, cr3, cr4;
	uint32_t dr[8];
	uint32_t sysenter_cs, sysenter_esp, sysenter_eip;
	int cpl;
	bool halted;	  /* in HLT, waiting for an interrupt */
	bool intr_shadow; /* the instruction after STI runs before interrupts are taken */
	struct rt_event event;
	uint8_t delivering;    /* nesting depth of exception delivery, for #DF */
	bool single_step_next; /* translate the next instruction alone (self-modifying code) */
};

/* Counters kept by the runtime, in one X-macro list (STYLE.md). */
#define RT_COUNTER_LIST(X)                                                                         \
	X(exits, "exits from translated code")                                                     \
	X(exits_branch, "  branch exits")                                                          \
	X(exits_indirect, "  indirect-branch misses")                                              \
	X(exits_callout, "  callouts")                                                             \
	X(exits_fault, "  host faults")                                                            \
	X(exceptions, "guest exceptions and interrupts delivered")                                 \
	X(smc_faults, "writes to pages with translated code")                                      \
	X(single_steps, "single-instruction blocks (uncached)")                                    \
	X(shadow_blocks, "entries into STI-shadow blocks (cached)")                                \
	X(mmio_exits, "MMIO accesses from translated code")                                        \
	X(interrupts, "external interrupts delivered")                                             \
	X(halts, "HLT sleeps")                                                                     \
	X(kvmclock_updates, "kvm-clock structures published")                                      \
	X(pv_console_bytes, "bytes written by the console hypercall")                              \
	X(pv_pte_updates, "page-table entries written by the batched-update hypercall")

/* Where the run's time went, recorded only when tracing (two TSC reads per event): the
 * counters "time: ..." of the trace. Host faults are timed inside the signal handler and taken
 * out of the translated code's time; what is left of the whole run is the dispatcher's. */
#define RT_TIME_LIST(X)                                                                            \
	X(CODE, "time: translated code (ns)")                                                      \
	X(TRANSLATE, "time: translation (ns)")                                                     \
	X(CALLOUT, "time: callouts and exceptions (ns)")                                           \
	X(FAULT, "time: host faults (ns)")                                                         \
	X(IDLE, "time: idle in HLT (ns)")

enum rt_time_kind {
#define RT_TIME_ENUM(name, text) RT_TIME_##name,
	RT_TIME_LIST(RT_TIME_ENUM)
#undef RT_TIME_ENUM
	    RT_TIME_COUNT
};

struct rt_timing {
	bool on;
	uint64_t tsc[RT_TIME_COUNT];
	uint64_t start_tsc, start_ns; /* of rt_vm_run */
	uint64_t run_tsc, run_ns;     /* the whole of rt_vm_run */
};

struct rt_counters {
#define RT_COUNTER_FIELD(name, text) uint64_t name;
	RT_COUNTER_LIST(RT_COUNTER_FIELD)
#undef RT_COUNTER_FIELD
	uint64_t callouts[TR_CALLOUT_COUNT];
};

/* kvm-clock and the wall clock of the paravirtual interface (pv.c, docs/PV.md). */
struct rt_pv {
	uint64_t start_tsc_host, start_ns_host; /* the TSC-rate baseline: the VM's creation */
	uint64_t start_ns;			/* CLOCK_MONOTONIC at kvm-clock zero */
	uint64_t wall_clock_msr, system_time_msr;
	uint32_t wall_version;
	bool time_info_on;
	uint32_t time_info_gpa;
	uint32_t version;
	/* The published structure's fields, and the TSC offset they were computed with. */
	uint64_t tsc_timestamp, system_time, published_offset;
	uint32_t mul;
	int8_t shift;
	uint64_t next_update_ns; /* CLOCK_MONOTONIC of the next republication */
};

struct rt_vm {
	struct rt_vm_config config;
	struct smmu *mmu;
	struct tr_translator *tr;
	struct dev_bus *bus;
	struct dev_config dev_config;
	struct trc_writer *trace;
	FILE *perf_map;
	struct rt_vcpu cpu;
	struct tr_frame *frame;
	ZydisDecoder decoder;
	struct tr_exit fault_exit; /* the exit record the signal handler sends faults through */
	struct rt_counters counters;
	uint64_t tsc_at_start;
	struct rt_pv pv;
	struct rt_timing timing;
	int exit_status;	    /* >= 0 once the VM has stopped */
	struct rt_event stopped_at; /* the exception a stop_on_exception VM stopped at */
	/* Set from a signal handler: the vCPU must come back to the dispatcher (DESIGN.md §4). */
	volatile sig_atomic_t async_request;
	/* MMIO accesses in flight: the host instruction is re-run with scratch pages mapped where
	 * the device pages are (see signals.c) and the host trap flag brings us back to finish.
	 * One instruction can touch up to two device pages per operand, two operands. */
	struct rt_mmio_page {
		uint8_t *page;	 /* the scratch page, mapped in the window */
		uint32_t phys;	 /* device address of the first byte the access touches here */
		unsigned offset; /* of that byte within the page */
		unsigned size;	 /* bytes touched in this page */
		bool write;
	} mmio[4];
	unsigned n_mmio;
	uintptr_t mmio_pc; /* the host instruction the scratch pages are for */
	ZydisDecoder host_decoder;
	bool timer_created;
	timer_t timer;
	uint64_t time_limit_at; /* CLOCK_MONOTONIC ns, or UINT64_MAX */
	uint64_t armed_at;	/* the deadline the timer is armed for */
	int console_in;		/* fd of console input, or -1 */
	bool console_raw;	/* the terminal was put in raw mode */
	bool escape;		/* the last input byte was Ctrl-A */
	uint8_t input[4096];	/* console bytes waiting for room in COM1's FIFO */
	size_t input_len;
	struct termios saved_termios;
	char stop_reason[200];
};

/* A timestamp to time a piece of the run with, or 0 when the run is not timed. */
static inline uint64_t rt_time_begin(const struct rt_vm *vm)
{
	return vm->timing.on ? __rdtsc() : 0;
}

/* Add the time since begin to kind. */
static inline void rt_time_end(struct rt_vm *vm, enum rt_time_kind kind, uint64_t begin)
{
	if (vm->timing.on)
		vm->timing.tsc[kind] += __rdtsc() - begin;
}

/* Stop the VM with a process exit status and a one-line reason (printed by rt_vm_run). */
void rt_vm_stop(struct rt_vm *vm, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- flags ---- */
uint32_t rt_get_eflags(const struct rt_vcpu *cpu);
void rt_set_eflags(struct rt_vcpu *cpu, uint32_t value);

/* ---- guest memory (mem.c): linear addresses, paging off for now ---- */
/* Read/write guest linear memory with the current privilege's rights. On failure an exception
 * (#PF) is raised and -1 returned. */
int rt_read_linear(struct rt_vm *vm, uint32_t linear, void *buf, size_t len);
int rt_write_linear(struct rt_vm *vm, uint32_t linear, const void *buf, size_t len);
/* The same as an implicit supervisor access (descriptor tables, the IDT, the TSS, the stack
 * an interrupt switches to), whatever the CPL. */
int rt_read_sys(struct rt_vm *vm, uint32_t linear, void *buf, size_t len);
int rt_write_sys(struct rt_vm *vm, uint32_t linear, const void *buf, size_t len);
/* The paging registers changed: tell the shadow MMU, drop what the TLB rules drop. */
void rt_paging_changed(struct rt_vm *vm, uint32_t old_cr0, uint32_t old_cr4, bool cr3_written);
/* The same through a segment: offset + base, with the segment's checks. */
int rt_read_seg(struct rt_vm *vm, enum rt_sreg sreg, uint32_t offset, void *buf, size_t len);
int rt_write_seg(struct rt_vm *vm, enum rt_sreg sreg, uint32_t offset, const void *buf, size_t len);
/* Push/pop on the guest stack (SS:ESP) with the stack's width. */
int rt_push(struct rt_vm *vm, uint32_t value, unsigned size);
int rt_pop(struct rt_vm *vm, uint32_t *value, unsigned size);

/* ---- exceptions and interrupts (interrupt.c) ---- */
/* Raise a fault: EIP stays at the faulting instruction. Always returns -1. */
int rt_raise(struct rt_vm *vm, uint8_t vector, uint32_t error, bool has_error);
/* Deliver the pending event through the guest IDT. */
void rt_deliver_pending(struct rt_vm *vm);
/* IRET from the guest stack. Returns 0 or -1 with an exception raised. */
int rt_iret(struct rt_vm *vm, unsigned size);

/* ---- segments (segment.c) ---- */
/* Read the 8-byte descriptor of selector from the GDT or LDT. Returns 0, or -1 when the
 * selector is beyond the table limit (no exception raised: callers pick the vector). */
int rt_read_descriptor(struct rt_vm *vm, uint16_t selector, uint64_t *desc);
void rt_segment_from_descriptor(struct rt_segment *seg, uint16_t selector, uint64_t desc);
/* Load a data or stack segment register with all protected-mode checks (mov/pop sreg, lds). */
int rt_load_data_segment(struct rt_vm *vm, enum rt_sreg sreg, uint16_t selector);
/* Load CS for a far jmp/call/ret to selector:offset at privilege level cpl (checks done by
 * the caller). */
void rt_load_cs(struct rt_vm *vm, uint16_t selector, uint64_t desc, int cpl);
/* Check a code-segment target of a far jmp/call. Returns 0 or raises. */
int rt_check_far_target(struct rt_vm *vm, uint16_t selector, uint64_t *desc);

/* ---- callouts (callouts_*.c) ---- */
/* Perform the callout of exit. Returns normally; exceptions are left pending in cpu.event. */
void rt_callout(struct rt_vm *vm, const struct tr_exit *exit);

/* Decoded-instruction helpers for callouts (operands.c). */
struct rt_insn {
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
};
int rt_decode(struct rt_vm *vm, const struct tr_exit *exit, struct rt_insn *insn);
uint32_t rt_reg_read(struct rt_vm *vm, ZydisRegister reg);
void rt_reg_write(struct rt_vm *vm, ZydisRegister reg, uint32_t value);
/* Effective address (offset within the segment) of a memory operand, and its segment. */
uint32_t rt_operand_offset(struct rt_vm *vm, const ZydisDecodedOperand *op);
enum rt_sreg rt_operand_segment(const ZydisDecodedOperand *op);
/* Read/write an operand (register or memory) of up to 4 bytes. Return 0 or -1 (raised). */
int rt_operand_read(struct rt_vm *vm, const ZydisDecodedOperand *op, uint32_t *value);
int rt_operand_write(struct rt_vm *vm, const ZydisDecodedOperand *op, uint32_t value);

/* ---- CPUID (cpuid.c) ---- */
/* The virtual CPU's CPUID; pv adds the hypervisor bit and leaves (docs/PV.md). */
void rt_cpuid(bool pv, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

/* ---- the paravirtual interface (pv.c, docs/PV.md) ---- */
#define RT_BT86_HC_BASE 0x62740000u /* bt86's hypercall numbers start here */
void rt_pv_init(struct rt_vm *vm);
/* Republish kvm-clock when its period is up (from the platform poll). */
void rt_pv_poll(struct rt_vm *vm, uint64_t now);
/* The guest wrote its TSC: kvm-clock must follow the new offset. */
void rt_pv_tsc_written(struct rt_vm *vm);
/* The PV MSRs: false when msr is not one (or the interface is off). */
bool rt_pv_rdmsr(struct rt_vm *vm, uint32_t msr, uint64_t *value);
bool rt_pv_wrmsr(struct rt_vm *vm, uint32_t msr, uint64_t value);

/* ---- signals (signals.c) ---- */
/* Install the fault handlers for this thread's VM (sigaltstack, SIGSEGV, SIGFPE, ...). */
int rt_signals_install(struct rt_vm *vm);
/* Block, for the run, every signal whose handler would run on the current (guest) stack;
 * *saved receives the mask to restore. Returns 0 or -1. */
int rt_signals_block_foreign(sigset_t *saved);
/* Arm the VM's timer for an absolute CLOCK_MONOTONIC deadline (UINT64_MAX disarms): SIGRTMIN
 * then, and every millisecond after until re-armed. Returns 0 or -1. */
int rt_timer_arm_at(struct rt_vm *vm, uint64_t deadline_ns);

/* ---- the PC platform's side of the run (platform.c) ---- */
uint64_t rt_now_ns(void);
/* Bring devices up to date, take console input, and raise a pending external interrupt if the
 * guest accepts one. Called by the dispatcher between blocks. */
void rt_platform_poll(struct rt_vm *vm);
/* The guest executed HLT with IF set: sleep until a device deadline or console input. Returns
 * false (with the VM stopped) when nothing could ever wake it. */
bool rt_platform_wait(struct rt_vm *vm);
/* Put the terminal in raw mode for the run (if stdin is one) and back. */
void rt_console_begin(struct rt_vm *vm);
void rt_console_end(struct rt_vm *vm);

#endif
