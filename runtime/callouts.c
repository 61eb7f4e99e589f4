/* The callout table (DESIGN.md §3: SENSITIVE and UNDEFINED) and the small handlers.
 *
 * The table is indexed by enum tr_callout, in the order of TR_CALLOUT_LIST, so the translator
 * decides what a guest instruction needs and the runtime only looks the handler up. */
#include <string.h>
#include <x86intrin.h>

#include "runtime/callouts.h"

typedef enum rt_co_result (*rt_co_handler)(struct rt_vm *vm, const struct tr_exit *exit,
					   struct rt_insn *in);

/* A handler, and whether it reads the decoded instruction (the others are spared Zydis). */
struct rt_callout_entry {
	rt_co_handler handler;
	bool decode;
};

static const struct rt_callout_entry rt_callout_table[TR_CALLOUT_COUNT] = {
    [TR_CALLOUT_UNDEFINED] = {rt_co_undefined, false},
    [TR_CALLOUT_UNSUPPORTED] = {rt_co_unsupported, true},
    [TR_CALLOUT_INT] = {rt_co_int_n, true},
    [TR_CALLOUT_INT3] = {rt_co_int3, false},
    [TR_CALLOUT_INTO] = {rt_co_into, false},
    [TR_CALLOUT_IRET] = {rt_co_iret, true},
    [TR_CALLOUT_HLT] = {rt_co_hlt, false},
    [TR_CALLOUT_CLI] = {rt_co_cli, false},
    [TR_CALLOUT_STI] = {rt_co_sti, false},
    [TR_CALLOUT_PUSHF] = {rt_co_pushf, true},
    [TR_CALLOUT_POPF] = {rt_co_popf, true},
    [TR_CALLOUT_IN] = {rt_co_in, true},
    [TR_CALLOUT_OUT] = {rt_co_out, true},
    [TR_CALLOUT_INS] = {rt_co_ins, true},
    [TR_CALLOUT_OUTS] = {rt_co_outs, true},
    [TR_CALLOUT_CPUID] = {rt_co_cpuid, false},
    [TR_CALLOUT_RDTSC] = {rt_co_rdtsc, false},
    [TR_CALLOUT_RDMSR] = {rt_co_rdmsr, false},
    [TR_CALLOUT_WRMSR] = {rt_co_wrmsr, false},
    [TR_CALLOUT_MOV_CR] = {rt_co_mov_cr, true},
    [TR_CALLOUT_MOV_DR] = {rt_co_mov_dr, true},
    [TR_CALLOUT_DESC_TABLE] = {rt_co_desc_table, true},
    [TR_CALLOUT_SYS_SEG] = {rt_co_sys_seg, true},
    [TR_CALLOUT_MSW] = {rt_co_msw, true},
    [TR_CALLOUT_SEG_CHECK] = {rt_co_seg_check, true},
    [TR_CALLOUT_MOV_SREG] = {rt_co_mov_sreg, true},
    [TR_CALLOUT_PUSH_SREG] = {rt_co_push_sreg, true},
    [TR_CALLOUT_POP_SREG] = {rt_co_pop_sreg, true},
    [TR_CALLOUT_LOAD_FAR_PTR] = {rt_co_load_far_ptr, true},
    [TR_CALLOUT_JMP_FAR] = {rt_co_jmp_far, true},
    [TR_CALLOUT_CALL_FAR] = {rt_co_call_far, true},
    [TR_CALLOUT_RET_FAR] = {rt_co_ret_far, true},
    [TR_CALLOUT_BCD] = {rt_co_bcd, true},
    [TR_CALLOUT_BOUND] = {rt_co_bound, true},
    [TR_CALLOUT_ARPL] = {rt_co_arpl, true},
    [TR_CALLOUT_SALC] = {rt_co_salc, false},
    [TR_CALLOUT_CACHE] = {rt_co_cache, true},
    [TR_CALLOUT_STRING] = {rt_co_string, true},
    [TR_CALLOUT_SYSENTER] = {rt_co_sysenter, false},
    [TR_CALLOUT_SYSEXIT] = {rt_co_sysexit, false},
    [TR_CALLOUT_ENTER] = {rt_co_enter, true},
    [TR_CALLOUT_PUSHA16] = {rt_co_pusha16, true},
    [TR_CALLOUT_FPU_TRAP] = {rt_co_fpu_trap, true},
    [TR_CALLOUT_SEG_FAULT] = {rt_co_seg_fault, true},
    [TR_CALLOUT_STACK] = {rt_co_stack, true},
    [TR_CALLOUT_HYPERCALL] = {rt_co_hypercall, false},
};

void rt_callout(struct rt_vm *vm, const struct tr_exit *exit)
{
	struct rt_insn in;
	const struct rt_callout_entry *entry = &rt_callout_table[exit->callout];
	RT_ASSERT(entry->handler);
	if (entry->decode && rt_decode(vm, exit, &in) < 0) {
		rt_raise(vm, RT_EXC_UD, 0, false);
		return;
	}
	if (entry->handler(vm, exit, &in) == RT_CO_NEXT)
		vm->cpu.eip = exit->next_eip;
}

bool rt_require_cpl0(struct rt_vm *vm)
{
	if (vm->cpu.cpl == 0)
		return true;
	rt_raise(vm, RT_EXC_GP, 0, true);
	return false;
}

void rt_set_flag(struct rt_vm *vm, uint32_t flag, bool on)
{
	if (on)
		vm->frame->rflags |= flag;
	else
		vm->frame->rflags &= ~(uint64_t)flag;
}

static int rt_iopl(const struct rt_vm *vm)
{
	return (int)((vm->cpu.eflags & RT_FL_IOPL) >> 12);
}

RT_CO(undefined)
{
	(void)exit;
	(void)in;
	rt_raise(vm, RT_EXC_UD, 0, false);
	return RT_CO_FAULT;
}

RT_CO(unsupported)
{
	char text[96];
	ZydisFormatter fmt;
	ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_INTEL);
	ZydisFormatterFormatInstruction(&fmt, &in->zi, in->ops, in->zi.operand_count_visible, text,
					sizeof text, exit->guest_eip, NULL);
	rt_vm_stop(vm, RT_STATUS_INTERNAL, "unsupported instruction form at EIP %#x: %s",
		   exit->guest_eip, text);
	return RT_CO_FAULT;
}

RT_CO(hlt)
{
	(void)in;
	if (!rt_require_cpl0(vm))
		return RT_CO_FAULT;
	if (vm->config.halt_ends_run) {
		rt_vm_stop(vm, RT_STATUS_HALTED, "guest halted at EIP %#x", exit->next_eip);
		return RT_CO_NEXT;
	}
	if (!vm->frame->vif) {
		/* XXX: NMI and SMI, which could still wake it, are not modelled. */
		rt_vm_stop(vm, RT_STATUS_HALTED, "guest halted at EIP %#x with interrupts disabled",
			   exit->next_eip);
		return RT_CO_NEXT;
	}
	vm->cpu.halted = true; /* the dispatcher sleeps until an interrupt */
	return RT_CO_NEXT;
}

RT_CO(cli)
{
	(void)exit;
	(void)in;
	if (vm->cpu.cpl > rt_iopl(vm))
		return rt_raise(vm, RT_EXC_GP, 0, true), RT_CO_FAULT;
	vm->frame->vif = 0;
	return RT_CO_NEXT;
}

RT_CO(sti)
{
	(void)exit;
	(void)in;
	if (vm->cpu.cpl > rt_iopl(vm))
		return rt_raise(vm, RT_EXC_GP, 0, true), RT_CO_FAULT;
	if (!vm->frame->vif)
		vm->cpu.intr_shadow = true; /* interrupts wait for the next instruction */
	vm->frame->vif = 1;
	return RT_CO_NEXT;
}

RT_CO(pushf)
{
	(void)exit;
	unsigned size = in->zi.operand_width / 8;
	uint32_t flags = rt_get_eflags(&vm->cpu) & ~(RT_FL_VM | RT_FL_RF);
	return rt_push(vm, flags, size) < 0 ? RT_CO_FAULT : RT_CO_NEXT;
}

RT_CO(popf)
{
	(void)exit;
	unsigned size = in->zi.operand_width / 8;
	uint32_t value, old = rt_get_eflags(&vm->cpu);
	if (rt_pop(vm, &value, size) < 0)
		return RT_CO_FAULT;
	uint32_t changeable = RT_FL_HOST | RT_FL_TF | RT_FL_NT | RT_FL_AC | RT_FL_ID;
	if (vm->cpu.cpl == 0)
		changeable |= RT_FL_IOPL;
	if (vm->cpu.cpl <= rt_iopl(vm))
		changeable |= RT_FL_IF;
	if (size == 2)
		changeable &= 0xffff;
	rt_set_eflags(&vm->cpu, (old & ~changeable & ~RT_FL_RF) | (value & changeable));
	return RT_CO_NEXT;
}

RT_CO(cpuid)
{
	(void)exit;
	(void)in;
	uint32_t r[4];
	uint32_t *gpr = vm->frame->gpr;
	rt_cpuid(vm->config.pv, gpr[TR_EAX], gpr[TR_ECX], r);
	gpr[TR_EAX] = r[0];
	gpr[TR_EBX] = r[1];
	gpr[TR_ECX] = r[2];
	gpr[TR_EDX] = r[3];
	return RT_CO_NEXT;
}

RT_CO(rdtsc)
{
	(void)exit;
	(void)in;
	if ((vm->cpu.cr4 & 4u) && vm->cpu.cpl != 0)
		return rt_raise(vm, RT_EXC_GP, 0, true), RT_CO_FAULT;
	uint64_t tsc = __rdtsc() - vm->tsc_at_start;
	vm->frame->gpr[TR_EAX] = (uint32_t)tsc;
	vm->frame->gpr[TR_EDX] = (uint32_t)(tsc >> 32);
	return RT_CO_NEXT;
}

RT_CO(salc)
{
	(void)exit;
	(void)in;
	uint32_t *eax = &vm->frame->gpr[TR_EAX];
	*eax = (*eax & ~0xffu) | ((vm->frame->rflags & RT_FL_CF) ? 0xff : 0);
	return RT_CO_NEXT;
}

RT_CO(cache)
{
	(void)exit;
	if (!rt_require_cpl0(vm))
		return RT_CO_FAULT;
	if (in->zi.mnemonic == ZYDIS_MNEMONIC_INVLPG) {
		const ZydisDecodedOperand *m = &in->ops[0];
		uint32_t linear =
		    vm->cpu.seg[rt_operand_segment(m)].base + rt_operand_offset(vm, m);
		smmu_invlpg(vm->mmu, linear);
		/* Indirect branches into that page must look it up again. */
		tr_jc_flush_page(vm->tr, vm->frame, linear);
	}
	return RT_CO_NEXT; /* wbinvd, invd: no caches to model */
}

RT_CO(bound)
{
	(void)exit;
	uint32_t index = rt_reg_read(vm, in->ops[0].reg.value);
	const ZydisDecodedOperand *m = &in->ops[1];
	unsigned size = in->zi.operand_width / 8;
	int32_t lo = 0, hi = 0;
	uint32_t off = rt_operand_offset(vm, m);
	if (rt_read_seg(vm, rt_operand_segment(m), off, &lo, size) < 0 ||
	    rt_read_seg(vm, rt_operand_segment(m), off + size, &hi, size) < 0)
		return RT_CO_FAULT;
	int32_t idx = (int32_t)index;
	if (size == 2) {
		lo = (int16_t)lo;
		hi = (int16_t)hi;
		idx = (int16_t)index;
	}
	if (idx < lo || idx > hi)
		return rt_raise(vm, RT_EXC_BR, 0, false), RT_CO_FAULT;
	return RT_CO_NEXT;
}

RT_CO(arpl)
{
	(void)exit;
	uint32_t dst, src = rt_reg_read(vm, in->ops[1].reg.value);
	if (rt_operand_read(vm, &in->ops[0], &dst) < 0)
		return RT_CO_FAULT;
	if ((dst & 3) < (src & 3)) {
		if (rt_operand_write(vm, &in->ops[0], (dst & ~3u) | (src & 3)) < 0)
			return RT_CO_FAULT;
		rt_set_flag(vm, RT_FL_ZF, true);
	} else {
		rt_set_flag(vm, RT_FL_ZF, false);
	}
	return RT_CO_NEXT;
}

RT_CO(fpu_trap)
{
	(void)exit;
	uint32_t cr0 = vm->cpu.cr0;
	bool sse =
	    in->zi.meta.isa_ext == ZYDIS_ISA_EXT_SSE || in->zi.meta.isa_ext == ZYDIS_ISA_EXT_SSE2;
	bool mmx = in->zi.meta.isa_ext == ZYDIS_ISA_EXT_MMX;
	if (sse && (!(vm->cpu.cr4 & RT_CR4_OSFXSR) || (cr0 & RT_CR0_EM)))
		rt_raise(vm, RT_EXC_UD, 0, false);
	else if (mmx && (cr0 & RT_CR0_EM))
		rt_raise(vm, RT_EXC_UD, 0, false);
	else
		rt_raise(vm, RT_EXC_NM, 0, false);
	return RT_CO_FAULT;
}

RT_CO(seg_fault)
{
	(void)exit;
	/* An MMX instruction resets the x87 TOP before its memory operand faults (seen on the
	 * real CPU by the differential tester); the tags stay. */
	for (unsigned i = 0; i < in->zi.operand_count; i++) {
		if (in->ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    ZydisRegisterGetClass(in->ops[i].reg.value) == ZYDIS_REGCLASS_MMX) {
			uint16_t fsw;
			uint8_t st[8][16];
			memcpy(&fsw, vm->frame->fpu + 2, 2);
			unsigned top = (fsw >> 11) & 7;
			/* FXSAVE keeps registers in ST order: with TOP 0, ST(i) is R(i). */
			memcpy(st, vm->frame->fpu + 32, sizeof st);
			for (unsigned r = 0; r < 8; r++)
				memcpy(vm->frame->fpu + 32 + 16 * r, st[(r - top) & 7], 16);
			fsw &= (uint16_t)~0x3800u;
			memcpy(vm->frame->fpu + 2, &fsw, 2);
			break;
		}
	}
	rt_raise(vm, RT_EXC_GP, 0, true);
	return RT_CO_FAULT;
}

RT_CO(enter)
{
	(void)exit;
	uint32_t *gpr = vm->frame->gpr;
	unsigned size = in->zi.operand_width / 8;
	uint32_t alloc = (uint32_t)in->ops[0].imm.value.u & 0xffff;
	unsigned level = (unsigned)in->ops[1].imm.value.u & 31;
	uint32_t esp = gpr[TR_ESP], ebp = gpr[TR_EBP];
	uint32_t v;
	esp -= size;
	if (rt_write_seg(vm, RT_SS, esp, &ebp, size) < 0)
		return RT_CO_FAULT;
	uint32_t frame_ptr = esp;
	for (unsigned i = 1; i < level; i++) {
		ebp -= size;
		v = 0;
		if (rt_read_seg(vm, RT_SS, ebp, &v, size) < 0)
			return RT_CO_FAULT;
		esp -= size;
		if (rt_write_seg(vm, RT_SS, esp, &v, size) < 0)
			return RT_CO_FAULT;
	}
	if (level > 0) {
		esp -= size;
		if (rt_write_seg(vm, RT_SS, esp, &frame_ptr, size) < 0)
			return RT_CO_FAULT;
	}
	if (size == 2)
		gpr[TR_EBP] = (gpr[TR_EBP] & 0xffff0000u) | (frame_ptr & 0xffff);
	else
		gpr[TR_EBP] = frame_ptr;
	gpr[TR_ESP] = esp - alloc;
	return RT_CO_NEXT;
}

RT_CO(pusha16)
{
	(void)exit;
	uint32_t *gpr = vm->frame->gpr;
	uint32_t esp = gpr[TR_ESP];
	if (in->zi.mnemonic == ZYDIS_MNEMONIC_PUSHA) {
		for (int r = TR_EAX; r <= TR_EDI; r++) {
			uint16_t v = (uint16_t)gpr[r];
			if (rt_write_seg(vm, RT_SS, esp - 2 * (uint32_t)(r + 1), &v, 2) < 0)
				return RT_CO_FAULT;
		}
		gpr[TR_ESP] = esp - 16;
		return RT_CO_NEXT;
	}
	uint16_t v[8];
	if (rt_read_seg(vm, RT_SS, esp, v, sizeof v) < 0)
		return RT_CO_FAULT;
	for (int r = TR_EAX; r <= TR_EDI; r++)
		if (r != TR_ESP)
			gpr[r] = (gpr[r] & 0xffff0000u) | v[7 - r];
	gpr[TR_ESP] = esp + 16;
	return RT_CO_NEXT;
}
