/* The dispatcher (DESIGN.md §1, §4): deliver pending events, find or translate the block at
 * the guest EIP, run it, and act on the way it exited. */
#include <pthread.h>
#include <string.h>

#include "runtime/rt_internal.h"

static uint32_t rt_key_flags(const struct rt_vcpu *cpu)
{
	uint32_t flags = (uint32_t)cpu->cpl & TR_KEY_CPL_MASK;
	if (cpu->cr0 & RT_CR0_PG)
		flags |= TR_KEY_PAGING;
	/* Translated code reads segment bases from the frame; which segments have one at all
	 * decides what code is emitted, so it is part of the key. */
	for (int s = 0; s < RT_SREG_COUNT; s++) {
		cpu->frame->seg_base[s] = cpu->seg[s].valid ? cpu->seg[s].base : 0;
		if (cpu->frame->seg_base[s])
			flags |= 1u << (TR_KEY_SEG_BASED_SHIFT + s);
	}
	if (cpu->cr0 & RT_CR0_EM)
		flags |= TR_KEY_EM;
	if (cpu->cr0 & RT_CR0_TS)
		flags |= TR_KEY_TS;
	if (!(cpu->cr4 & RT_CR4_OSFXSR))
		flags |= TR_KEY_NO_SSE;
	return flags;
}

/* bt86 translates 32-bit protected-mode code only; this is where a guest that leaves it is
 * stopped with a clear reason. XXX: real mode and 16-bit code segments (BIOS-style boot). */
static bool rt_check_assumptions(struct rt_vm *vm)
{
	const struct rt_vcpu *cpu = &vm->cpu;
	if (!(cpu->cr0 & RT_CR0_PE)) {
		rt_vm_stop(vm, RT_STATUS_INTERNAL, "real mode is not supported (EIP %#x)",
			   cpu->eip);
		return false;
	}
	if (!RT_ACC_DB(cpu->seg[RT_CS].access)) {
		rt_vm_stop(vm, RT_STATUS_INTERNAL,
			   "16-bit code segments are not supported (EIP %#x)", cpu->eip);
		return false;
	}
	return true;
}

/* Translate the block at key: its bytes run to the end of the page, and on into the next
 * page (for an instruction that straddles) when that page is mapped. */
static void *rt_translate_at(struct rt_vm *vm, const struct tr_key *key, uint32_t linear)
{
	static uint8_t code[4096 + 16];
	uint64_t t0 = rt_time_begin(vm);
	uint32_t pages[2];
	int n_pages = 0;
	size_t first = 4096 - (linear & 0xfff);
	if (key->phys + first > smmu_ram_size(vm->mmu))
		first = (size_t)(smmu_ram_size(vm->mmu) - key->phys);
	memcpy(code, smmu_ram(vm->mmu) + key->phys, first);
	size_t avail = first;
	uint32_t next_phys = 0, pf_error;
	unsigned access = vm->cpu.cpl == 3 ? SMMU_ACCESS_USER : 0;
	if (smmu_translate(vm->mmu, linear + (uint32_t)first, access, &next_phys, &pf_error) == 0 &&
	    (uint64_t)next_phys + 16 <= smmu_ram_size(vm->mmu)) {
		memcpy(code + first, smmu_ram(vm->mmu) + next_phys, 16);
		avail += 16;
	}
	void *host = tr_translate(vm->tr, vm->frame, key, code, avail, next_phys, pages, &n_pages);
	rt_time_end(vm, RT_TIME_TRANSLATE, t0);
	if (key->flags & TR_KEY_SINGLE)
		return host;
	for (int i = 0; i < n_pages; i++) {
		int err = smmu_protect_code_page(vm->mmu, pages[i]);
		if (err < 0)
			rt_vm_stop(vm, RT_STATUS_INTERNAL, "cannot write-protect a code page: %s",
				   strerror(-err));
	}
	return host;
}

int rt_vm_run(struct rt_vm *vm)
{
	struct rt_vcpu *cpu = &vm->cpu;
	struct tr_frame *frame = vm->frame;
	struct tr_exit *chain_from = NULL;
	uint64_t flushes_at_exit = 0;
	void *resume = NULL;
	bool stepping = false;

	sigset_t saved_mask;
	pthread_sigmask(SIG_SETMASK, NULL, &saved_mask);
	if (rt_signals_install(vm) < 0 || rt_signals_block_foreign(&saved_mask) < 0)
		rt_vm_stop(vm, RT_STATUS_INTERNAL, "cannot install signal handlers");
	vm->async_request = 0;
	vm->time_limit_at = vm->config.time_limit_ms
				? rt_now_ns() + (uint64_t)vm->config.time_limit_ms * 1000000u
				: UINT64_MAX;
	vm->armed_at = 0;
	rt_console_begin(vm);
	vm->timing.on = vm->trace != NULL;
	vm->timing.start_tsc = __rdtsc();
	vm->timing.start_ns = rt_now_ns();
	rt_platform_poll(vm);
	bool shadow_block = false;

	while (vm->exit_status < 0) {
		int status;
		if (dev_bus_exit_requested(vm->bus, &status)) {
			vm->exit_status = status;
			break;
		}
		if (dev_bus_reset_requested(vm->bus)) {
			/* XXX: a guest-requested reset ends the run (QEMU -no-reboot does too). */
			rt_vm_stop(vm, 0, "the guest asked for a reset");
			break;
		}
		if (!resume) {
			if (vm->async_request) {
				/* A timer deadline, console input or the time limit. */
				vm->async_request = 0;
				rt_platform_poll(vm);
			} else if (frame->vif && !cpu->intr_shadow && !cpu->event.pending &&
				   dev_intr_pending(vm->bus)) {
				rt_platform_poll(vm); /* IF just opened on a waiting interrupt */
			}
			if (cpu->halted && !cpu->event.pending && !rt_platform_wait(vm))
				break;
			if (vm->exit_status >= 0)
				break;
		}
		if (cpu->event.pending) {
			uint64_t t0 = rt_time_begin(vm);
			rt_deliver_pending(vm);
			rt_time_end(vm, RT_TIME_CALLOUT, t0);
			resume = NULL;
			chain_from = NULL;
			continue;
		}
		void *host = resume;
		resume = NULL;
		/* EFLAGS.TF: one instruction at a time, then a single-step trap (#DB). A callout
		 * that resumes its block is still inside the instruction being stepped. */
		if (!host) {
			stepping = cpu->eflags & RT_FL_TF;
			shadow_block = cpu->intr_shadow;
		}
		if (!host) {
			if (!rt_check_assumptions(vm))
				break;
			/* The code's guest-physical address, through the page tables. */
			uint32_t linear = cpu->eip + cpu->seg[RT_CS].base, phys, pf_error;
			unsigned access = cpu->cpl == 3 ? SMMU_ACCESS_USER : 0;
			struct smmu_mapping mapping;
			if (smmu_translate_mapping(vm->mmu, linear, access, &phys, &mapping,
						   &pf_error) < 0) {
				cpu->cr2 = linear;
				rt_raise(vm, RT_EXC_PF, pf_error, true);
				chain_from = NULL;
				continue;
			}
			struct tr_key key = {
			    .phys = phys,
			    .eip = cpu->eip,
			    .flags = rt_key_flags(cpu),
			};
			frame->window =
			    smmu_window_base(vm->mmu, cpu->cpl == 3 ? SMMU_USER : SMMU_KERNEL);
			tr_jc_set_mode(frame, key.flags);
			if (key.phys >= smmu_ram_size(vm->mmu)) {
				rt_vm_stop(vm, RT_STATUS_INTERNAL,
					   "guest executes outside RAM at EIP %#x", cpu->eip);
				break;
			}
			if (shadow_block && !cpu->single_step_next && !stepping) {
				/* The instruction in an STI's shadow runs alone, so that interrupts
				 * open right after it; its one-instruction block is cached. */
				key.flags |= TR_KEY_SHADOW;
				vm->counters.shadow_blocks++;
				chain_from = NULL;
				host = tr_lookup(vm->tr, &key);
				if (!host)
					host = rt_translate_at(vm, &key, linear);
				if (vm->exit_status >= 0)
					break;
			} else if (cpu->single_step_next || stepping || shadow_block) {
				cpu->single_step_next = false;
				key.flags |= TR_KEY_SINGLE;
				vm->counters.single_steps++;
				chain_from = NULL;
				host = rt_translate_at(vm, &key, linear);
			} else {
				host = tr_lookup(vm->tr, &key);
				if (!host)
					host = rt_translate_at(vm, &key, linear);
				if (vm->exit_status >= 0)
					break;
				/* Tagged by eip, so only when the CS base is 0. */
				if (cpu->seg[RT_CS].base == 0)
					tr_jc_insert(frame, cpu->eip, host,
						     (mapping.global ? TR_JC_META_GLOBAL : 0) |
							 (mapping.large ? TR_JC_META_LARGE : 0));
				if (chain_from && chain_from->guest_eip == cpu->eip &&
				    tr_counters(vm->tr)->cache_flushes == flushes_at_exit)
					tr_chain(vm->tr, chain_from, host);
			}
			/* A one-instruction block must come back here after its instruction (a
			 * single-step trap, or interrupts opening after an STI) even when that
			 * instruction is an indirect branch the jump cache knows. */
			if (key.flags & (TR_KEY_SINGLE | TR_KEY_SHADOW))
				tr_jc_force_miss(frame);
		}
		chain_from = NULL;

		uint64_t t0 = rt_time_begin(vm), faults_before = vm->timing.tsc[RT_TIME_FAULT];
		frame->irq_pending = dev_intr_pending(vm->bus);
		tr_enter(frame, host);
		/* The signal handler timed the host faults in between itself. */
		rt_time_end(vm, RT_TIME_CODE, t0 + (vm->timing.tsc[RT_TIME_FAULT] - faults_before));

		const struct tr_exit *exit = frame->exit;
		vm->counters.exits++;
		switch (exit->kind) {
		case TR_EXIT_BRANCH:
			vm->counters.exits_branch++;
			cpu->eip = exit->guest_eip;
			chain_from = (struct tr_exit *)exit;
			flushes_at_exit = tr_counters(vm->tr)->cache_flushes;
			break;
		case TR_EXIT_INDIRECT:
			vm->counters.exits_indirect++;
			cpu->eip = frame->target;
			break;
		case TR_EXIT_CALLOUT:
			vm->counters.exits_callout++;
			vm->counters.callouts[exit->callout]++;
			cpu->eip = exit->guest_eip;
			trc_callout(vm->trace, exit->guest_eip, exit->callout,
				    tr_callout_name(exit->callout));
			t0 = rt_time_begin(vm);
			rt_callout(vm, exit);
			rt_time_end(vm, RT_TIME_CALLOUT, t0);
			if (!cpu->event.pending && vm->exit_status < 0 &&
			    cpu->eip == exit->next_eip && tr_exit_resumable(exit))
				resume = exit->resume;
			break;
		case TR_EXIT_FAULT:
			vm->counters.exits_fault++;
			break;
		default:
			RT_ASSERT(!"unknown exit kind");
		}
		if (shadow_block && !resume) {
			cpu->intr_shadow = false; /* the instruction after STI has run */
			shadow_block = false;
		}
		if (stepping && !resume && !cpu->event.pending && vm->exit_status < 0) {
			cpu->dr[6] |= 0x4000; /* BS */
			cpu->event = (struct rt_event){.pending = true,
						       .vector = RT_EXC_DB,
						       .trap = true,
						       .return_eip = cpu->eip};
		}
	}
	vm->timing.run_tsc += __rdtsc() - vm->timing.start_tsc;
	vm->timing.run_ns += rt_now_ns() - vm->timing.start_ns;
	rt_timer_arm_at(vm, UINT64_MAX);
	rt_console_end(vm);
	pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
	trc_event(vm->trace, TRC_EV_EXIT, (uint64_t)vm->exit_status, 0, 0);
	if (vm->stop_reason[0] && !vm->config.quiet)
		fprintf(stderr, "bt86: %s\n", vm->stop_reason);
	return vm->exit_status;
}
