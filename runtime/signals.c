/* Host faults inside translated code (DESIGN.md §4-6).
 *
 * Translated code runs with host RSP = guest ESP, so every handler runs on sigaltstack. A fault
 * at a host pc inside the code cache is mapped back to the guest instruction through the
 * block's instruction map; the guest registers are the ucontext's (their low 32 bits). To turn a
 * fault into a guest event the handler points the ucontext at tr_exit_common with r14 = the
 * VM's fault exit, so the thread leaves translated code through the ordinary exit path after
 * sigreturn. A fault anywhere else is a bt86 bug and is reported as one.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "runtime/rt_internal.h"

static _Thread_local struct rt_vm *rt_signal_vm;

static void rt_mmio_finish(struct rt_vm *vm, ucontext_t *uc, bool completed);

static void rt_leave_to_dispatcher(struct rt_vm *vm, ucontext_t *uc, uint32_t guest_eip)
{
	if (vm->n_mmio)
		rt_mmio_finish(vm, uc, false);
	vm->cpu.eip = guest_eip;
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)tr_exit_common;
	uc->uc_mcontext.gregs[REG_R14] = (greg_t)(uintptr_t)&vm->fault_exit;
}

/* The handlers that were installed before ours (a fuzzer's or a debugger's crash reporting). */
static struct sigaction rt_previous[NSIG];

static void rt_fatal_host_fault(int sig, siginfo_t *si, void *ctx)
{
	/* Not in translated code: a bug in bt86 itself. Say where, then let the previous handler
	 * (or the default action) have the signal, so a fuzzer records the input and a debugger
	 * or core dump shows the real state. */
	ucontext_t *uc = ctx;
	char msg[160];
	int n = snprintf(msg, sizeof msg,
			 "bt86: internal error: host signal %d at pc %#lx (address %#lx)\n", sig,
			 (unsigned long)uc->uc_mcontext.gregs[REG_RIP],
			 (unsigned long)(uintptr_t)si->si_addr);
	if (n > 0)
		(void)!write(2, msg, (size_t)n);
	const struct sigaction *prev = &rt_previous[sig];
	if ((prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction) {
		prev->sa_sigaction(sig, si, ctx);
		return;
	}
	if (!(prev->sa_flags & SA_SIGINFO) && prev->sa_handler != SIG_DFL &&
	    prev->sa_handler != SIG_IGN) {
		prev->sa_handler(sig);
		return;
	}
	signal(sig, SIG_DFL); /* returning re-executes the faulting instruction: it dies */
}

/* ---- MMIO from translated code ----
 *
 * The faulting host instruction is run once more on a scratch page mapped where the device's
 * page would be, with the host trap flag set: before, the device's value is put there if the
 * instruction reads memory; after (SIGTRAP), what it left there goes to the device if it
 * writes. So every instruction form works, read-modify-write and flags included, without
 * emulating any of them. XXX: two signals per access; hot MMIO paths should become callouts
 * (adaptive translation, DESIGN.md §9). */

static const int rt_greg_of[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
				   REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
				   REG_R12, REG_R13, REG_R14, REG_R15};

static uint64_t rt_host_reg(const ucontext_t *uc, ZydisRegister reg)
{
	if (reg == ZYDIS_REGISTER_NONE)
		return 0;
	ZydisRegister full = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, reg);
	int id = ZydisRegisterGetId(full);
	if (id < 0 || id >= 16)
		return 0;
	uint64_t v = (uint64_t)uc->uc_mcontext.gregs[rt_greg_of[id]];
	unsigned width = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, reg);
	if (reg >= ZYDIS_REGISTER_AH && reg <= ZYDIS_REGISTER_BH)
		return (v >> 8) & 0xff;
	return width >= 64 ? v : v & ((1ull << width) - 1);
}

/* Host address a memory operand of the faulting instruction accesses. For bt/bts/btr/btc with
 * a register bit offset the byte touched moves with the offset (SDM: bit base + offset). */
static uintptr_t rt_host_ea(const struct rt_vm *vm, const ZydisDecodedInstruction *insn,
			    const ZydisDecodedOperand *ops, const ZydisDecodedOperand *op,
			    const ucontext_t *uc)
{
	uint64_t ea = (uint64_t)op->mem.disp.value + rt_host_reg(uc, op->mem.base) +
		      rt_host_reg(uc, op->mem.index) * op->mem.scale;
	bool bit_insn =
	    insn->mnemonic == ZYDIS_MNEMONIC_BT || insn->mnemonic == ZYDIS_MNEMONIC_BTS ||
	    insn->mnemonic == ZYDIS_MNEMONIC_BTR || insn->mnemonic == ZYDIS_MNEMONIC_BTC;
	if (bit_insn && op == &ops[0] && ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER) {
		unsigned bits = op->size;
		int64_t offset = (int64_t)rt_host_reg(uc, ops[1].reg.value);
		offset = bits == 16 ? (int16_t)offset : (int32_t)offset;
		ea += (uint64_t)((offset >> (bits == 16 ? 4 : 5)) * (int64_t)(bits / 8));
	}
	if (insn->mnemonic == ZYDIS_MNEMONIC_XLAT && op->mem.index == ZYDIS_REGISTER_NONE)
		ea += rt_host_reg(uc, ZYDIS_REGISTER_AL); /* [ebx + al], AL implicit */
	if (insn->address_width == 32)
		ea = (uint32_t)ea;
	if (op->mem.segment == ZYDIS_REGISTER_GS)
		ea += vm->frame->window;
	return (uintptr_t)ea;
}

static void rt_mmio_transfer(struct rt_vm *vm, const struct rt_mmio_page *m, bool write)
{
	uint8_t *p = m->page + m->offset;
	for (unsigned done = 0; done < m->size;) {
		unsigned chunk = m->size - done >= 4 ? 4 : m->size - done >= 2 ? 2 : 1;
		uint32_t v = 0;
		if (write) {
			memcpy(&v, p + done, chunk);
			dev_mmio_write(vm->bus, m->phys + done, chunk, v);
		} else {
			v = dev_mmio_read(vm->bus, m->phys + done, chunk);
			memcpy(p + done, &v, chunk);
		}
		done += chunk;
	}
}

/* A device page the faulting instruction touches (at fault_addr, device address phys): map a
 * scratch page there holding what the access reads, and come back after the instruction to
 * hand what it wrote to the device. Returns false if no operand explains the fault. */
static bool rt_mmio_start(struct rt_vm *vm, ucontext_t *uc, uintptr_t fault_addr, uint32_t phys)
{
	ZydisDecodedInstruction insn;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	const uint8_t *pc = (const uint8_t *)uc->uc_mcontext.gregs[REG_RIP];
	if (ZYAN_FAILED(ZydisDecoderDecodeFull(&vm->host_decoder, pc, 15, &insn, ops)) ||
	    vm->n_mmio == sizeof vm->mmio / sizeof vm->mmio[0])
		return false;
	uintptr_t page = fault_addr & ~(uintptr_t)0xfff;
	uint32_t phys_page = phys & ~0xfffu;
	struct rt_mmio_page m = {0};
	bool reads = false;
	for (unsigned i = 0; i < insn.operand_count; i++) {
		const ZydisDecodedOperand *op = &ops[i];
		if (op->type != ZYDIS_OPERAND_TYPE_MEMORY || op->mem.type != ZYDIS_MEMOP_TYPE_MEM)
			continue;
		uintptr_t ea = rt_host_ea(vm, &insn, ops, op, uc);
		uintptr_t end = ea + op->size / 8;
		if (end <= page || ea >= page + 4096 || op->size == 0)
			continue;
		/* The part of the access that falls in this page. */
		uintptr_t lo = ea > page ? ea : page, hi = end < page + 4096 ? end : page + 4096;
		if (m.size) { /* a second operand in the same page (movs within a device) */
			uintptr_t mlo = page + m.offset;
			lo = lo < mlo ? lo : mlo;
			hi = hi > mlo + m.size ? hi : mlo + m.size;
		}
		m.offset = (unsigned)(lo - page);
		m.size = (unsigned)(hi - lo);
		m.phys = phys_page + m.offset;
		m.write |= (op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) != 0;
		reads |= (op->actions & ZYDIS_OPERAND_ACTION_MASK_READ) != 0;
	}
	if (!m.size)
		return false;
	m.page = mmap((void *)page, 4096, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (m.page == MAP_FAILED)
		return false;
	if (reads)
		rt_mmio_transfer(vm, &m, false);
	vm->mmio[vm->n_mmio++] = m;
	vm->mmio_pc = (uintptr_t)pc;
	uc->uc_mcontext.gregs[REG_EFL] |= 0x100; /* TF: come back after this instruction */
	vm->counters.mmio_exits++;
	trc_event(vm->trace, TRC_EV_MMIO, m.phys, m.size, m.write);
	return true;
}

static void rt_mmio_finish(struct rt_vm *vm, ucontext_t *uc, bool completed)
{
	for (unsigned i = 0; i < vm->n_mmio; i++) {
		struct rt_mmio_page *m = &vm->mmio[i];
		if (completed && m->write)
			rt_mmio_transfer(vm, m, true);
		mmap(m->page, 4096, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	}
	vm->n_mmio = 0;
	uc->uc_mcontext.gregs[REG_EFL] &= ~(greg_t)0x100;
}

static void rt_handle_fault(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	struct rt_vm *vm = rt_signal_vm;
	uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	uint32_t eip, block_pages[2];

	if (!vm || !tr_pc_in_cache(vm->tr, pc) ||
	    !tr_host_pc_to_guest(vm->tr, pc, &eip, block_pages)) {
		rt_fatal_host_fault(sig, si, ctx);
		return;
	}

	if (sig == SIGFPE) {
		if (si->si_code == FPE_INTDIV || si->si_code == FPE_INTOVF) {
			rt_raise(vm, RT_EXC_DE, 0, false);
		} else if (uc->uc_mcontext.gregs[REG_TRAPNO] == RT_EXC_XM) {
			/* The host CPU's own vector tells SIMD (#XM) from x87 (#MF) exceptions:
			 * an MMX-operand SSE2 instruction reports a pending x87 one as #MF. */
			rt_raise(vm, (vm->cpu.cr4 & RT_CR4_OSXMMEXCPT) ? RT_EXC_XM : RT_EXC_UD, 0,
				 false);
		} else {
			/* XXX: CR0.NE=0 (external FERR# through IRQ 13) is not modelled. */
			rt_raise(vm, RT_EXC_MF, 0, false);
		}
		rt_leave_to_dispatcher(vm, uc, eip);
		return;
	}
	if (sig == SIGTRAP && vm->n_mmio) {
		bool unfinished = pc == vm->mmio_pc; /* a rep string instruction, mid-way */
		rt_mmio_finish(vm, uc, true);
		/* Its registers are committed per iteration: if a timer or the time limit is
		 * waiting, stop between iterations as the CPU would, so that a rep with a huge
		 * count into device or unassigned memory cannot hold the monitor. */
		if (unfinished && vm->async_request)
			rt_leave_to_dispatcher(vm, uc, eip);
		return;
	}
	if (sig != SIGSEGV) {
		rt_vm_stop(vm, RT_STATUS_INTERNAL,
			   "internal error: host signal %d in translated code at guest EIP %#x",
			   sig, eip);
		rt_leave_to_dispatcher(vm, uc, eip);
		return;
	}

	if (si->si_code == SI_KERNEL) {
		/* The host CPU raised #GP for the guest instruction itself (a misaligned SSE
		 * operand, say): the guest gets the same. */
		rt_raise(vm, RT_EXC_GP, 0, true);
		rt_leave_to_dispatcher(vm, uc, eip);
		return;
	}
	bool write = uc->uc_mcontext.gregs[REG_ERR] & 2;
	struct smmu_fault_info info;
	switch (smmu_handle_fault(vm->mmu, (uintptr_t)si->si_addr, write, &info)) {
	case SMMU_FAULT_MAPPED:
		/* A hidden fault: the instruction runs again and finds its page. */
		trc_event(vm->trace, TRC_EV_HIDDEN_FAULT, info.linear, info.phys, write);
		return;
	case SMMU_FAULT_GUEST_PF:
		vm->cpu.cr2 = info.linear;
		rt_raise(vm, RT_EXC_PF, info.pf_error, true);
		rt_leave_to_dispatcher(vm, uc, eip);
		return;
	case SMMU_FAULT_CODE_WRITE: {
		uint32_t page = info.phys >> 12;
		vm->counters.smc_faults++;
		tr_invalidate_page(vm->tr, vm->frame, page, TRC_CAUSE_GUEST_STORE);
		smmu_unprotect_code_page(vm->mmu, page);
		/* Writing a page the running block came from: the rest of this block may be
		 * stale, so stop before the write and run it as a block of its own. */
		if (page == block_pages[0] || page == block_pages[1]) {
			vm->cpu.single_step_next = true;
			rt_leave_to_dispatcher(vm, uc, eip);
		}
		return;
	}
	case SMMU_FAULT_UNASSIGNED:
		/* Device memory, or unassigned memory (reads 0, writes go nowhere). */
		if (rt_mmio_start(vm, uc, (uintptr_t)si->si_addr, info.phys))
			return;
		rt_vm_stop(vm, RT_STATUS_INTERNAL,
			   "cannot perform the guest's access to physical address %#x at EIP %#x",
			   info.phys, eip);
		rt_leave_to_dispatcher(vm, uc, eip);
		return;
	case SMMU_FAULT_OUTSIDE:
	default:
		rt_vm_stop(vm, RT_STATUS_INTERNAL,
			   "guest memory access left the 4 GiB window at EIP %#x (host address "
			   "%#lx)",
			   eip, (unsigned long)(uintptr_t)si->si_addr);
		rt_leave_to_dispatcher(vm, uc, eip);
		return;
	}
}

static void rt_on_fault(int sig, siginfo_t *si, void *ctx)
{
	struct rt_vm *vm = rt_signal_vm;
	uint64_t t0 = vm ? rt_time_begin(vm) : 0;
	rt_handle_fault(sig, si, ctx);
	if (vm)
		rt_time_end(vm, RT_TIME_FAULT, t0);
}

/* An asynchronous request (a timer deadline, console input, the time limit): make the running
 * block leave at its end and every indirect-branch lookup miss, so the vCPU reaches the
 * dispatcher within one block without polling in translated code. */
static void rt_on_alarm(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ctx;
	struct rt_vm *vm = rt_signal_vm;
	if (!vm)
		return;
	vm->async_request = 1;
	uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	if (tr_pc_in_cache(vm->tr, pc)) {
		tr_unlink_block_at(vm->tr, pc);
		tr_jc_force_miss(vm->frame);
	}
}

int rt_timer_arm_at(struct rt_vm *vm, uint64_t deadline_ns)
{
	if (!vm->timer_created) {
		if (deadline_ns == UINT64_MAX)
			return 0;
		struct sigevent sev;
		memset(&sev, 0, sizeof sev);
		sev.sigev_notify = SIGEV_THREAD_ID;
		sev.sigev_signo = SIGRTMIN;
		sev._sigev_un._tid = gettid();
		if (timer_create(CLOCK_MONOTONIC, &sev, &vm->timer) < 0)
			return -1;
		vm->timer_created = true;
	}
	struct itimerspec its;
	memset(&its, 0, sizeof its);
	if (deadline_ns != UINT64_MAX) {
		/* An absolute deadline, then every millisecond until the dispatcher re-arms: a
		 * signal that lands while the dispatcher runs C code only sets the flag, and the
		 * next one catches the guest in translated code. */
		its.it_value.tv_sec = (time_t)(deadline_ns / 1000000000u);
		its.it_value.tv_nsec = (long)(deadline_ns % 1000000000u);
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
		its.it_interval.tv_nsec = 1000000L;
	}
	return timer_settime(vm->timer, TIMER_ABSTIME, &its, NULL);
}

int rt_signals_block_foreign(sigset_t *saved)
{
	/* Host RSP is the guest's ESP while guest code runs: a signal whose handler does not use
	 * the alternate stack would have its frame pushed into guest memory (or nowhere). Block
	 * every such signal for the run; default actions (terminate, ignore) need no frame. */
	sigset_t block;
	sigemptyset(&block);
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;
		if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) < 0)
			continue;
		bool has_handler = (sa.sa_flags & SA_SIGINFO)
				       ? sa.sa_sigaction != NULL
				       : (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN);
		if (has_handler && !(sa.sa_flags & SA_ONSTACK))
			sigaddset(&block, sig);
	}
	return pthread_sigmask(SIG_BLOCK, &block, saved) == 0 ? 0 : -1;
}

int rt_signals_install(struct rt_vm *vm)
{
	static _Thread_local uint8_t *altstack;
	const size_t altstack_size = 256 * 1024;
	if (!altstack) {
		altstack = malloc(altstack_size);
		if (!altstack)
			return -1;
		stack_t ss = {.ss_sp = altstack, .ss_size = altstack_size, .ss_flags = 0};
		if (sigaltstack(&ss, NULL) < 0)
			return -1;
	}
	rt_signal_vm = vm;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = rt_on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigfillset(&sa.sa_mask);
	static const int sigs[] = {SIGSEGV, SIGFPE, SIGILL, SIGBUS, SIGTRAP};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		struct sigaction old;
		if (sigaction(sigs[i], &sa, &old) < 0)
			return -1;
		if (old.sa_sigaction != rt_on_fault)
			rt_previous[sigs[i]] = old;
	}
	sa.sa_sigaction = rt_on_alarm;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	if (sigaction(SIGRTMIN, &sa, NULL) < 0)
		return -1;
	return 0;
}
