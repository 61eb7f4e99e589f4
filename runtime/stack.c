/* Stack instructions performed in C: the fallback when SS has a non-zero base, which the
 * translator's inline stack code (window-relative ESP) cannot express. Each keeps the CPU's
 * order: memory is written before ESP moves, so a fault leaves the registers as they were. */
#include "runtime/callouts.h"

static enum rt_co_result rt_stack_push(struct rt_vm *vm, struct rt_insn *in, unsigned size)
{
	uint32_t v;
	if (rt_operand_read(vm, &in->ops[0], &v) < 0)
		return RT_CO_FAULT;
	if (in->ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE && size == 4)
		v = (uint32_t)in->ops[0].imm.value.s;
	return rt_push(vm, v, size) < 0 ? RT_CO_FAULT : RT_CO_NEXT;
}

static enum rt_co_result rt_stack_pop(struct rt_vm *vm, struct rt_insn *in, unsigned size)
{
	uint32_t *gpr = vm->frame->gpr;
	uint32_t v = 0, esp = gpr[TR_ESP];
	if (rt_read_seg(vm, RT_SS, esp, &v, size) < 0)
		return RT_CO_FAULT;
	/* pop computes a memory destination's address after ESP moved. */
	gpr[TR_ESP] = esp + size;
	if (rt_operand_write(vm, &in->ops[0], v) < 0) {
		gpr[TR_ESP] = esp;
		return RT_CO_FAULT;
	}
	return RT_CO_NEXT;
}

RT_CO(stack)
{
	uint32_t *gpr = vm->frame->gpr;
	unsigned size = in->zi.operand_width / 8;
	switch (in->zi.mnemonic) {
	case ZYDIS_MNEMONIC_PUSH:
		return rt_stack_push(vm, in, size);
	case ZYDIS_MNEMONIC_POP:
		return rt_stack_pop(vm, in, size);
	case ZYDIS_MNEMONIC_PUSHAD: {
		uint32_t esp = gpr[TR_ESP];
		for (int r = TR_EAX; r <= TR_EDI; r++) {
			uint32_t v = r == TR_ESP ? esp : gpr[r];
			if (rt_write_seg(vm, RT_SS, esp - 4 * (uint32_t)(r + 1), &v, 4) < 0)
				return RT_CO_FAULT;
		}
		gpr[TR_ESP] = esp - 32;
		return RT_CO_NEXT;
	}
	case ZYDIS_MNEMONIC_POPAD: {
		uint32_t v[8];
		if (rt_read_seg(vm, RT_SS, gpr[TR_ESP], v, sizeof v) < 0)
			return RT_CO_FAULT;
		for (int r = TR_EAX; r <= TR_EDI; r++)
			if (r != TR_ESP)
				gpr[r] = v[7 - r];
		gpr[TR_ESP] += 32;
		return RT_CO_NEXT;
	}
	case ZYDIS_MNEMONIC_ENTER:
		return rt_co_enter(vm, exit, in);
	case ZYDIS_MNEMONIC_LEAVE: {
		uint32_t v = 0;
		if (rt_read_seg(vm, RT_SS, gpr[TR_EBP], &v, size) < 0)
			return RT_CO_FAULT;
		gpr[TR_ESP] = gpr[TR_EBP] + size;
		gpr[TR_EBP] = size == 2 ? (gpr[TR_EBP] & 0xffff0000u) | (v & 0xffff) : v;
		return RT_CO_NEXT;
	}
	case ZYDIS_MNEMONIC_CALL: {
		uint32_t target;
		if (in->ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
			target = exit->next_eip + (uint32_t)in->ops[0].imm.value.s;
		else if (rt_operand_read(vm, &in->ops[0], &target) < 0)
			return RT_CO_FAULT;
		if (rt_push(vm, exit->next_eip, size) < 0)
			return RT_CO_FAULT;
		vm->cpu.eip = size == 2 ? target & 0xffff : target;
		return RT_CO_JUMPED;
	}
	case ZYDIS_MNEMONIC_RET: {
		uint32_t target;
		uint32_t extra =
		    in->zi.operand_count_visible ? (uint32_t)in->ops[0].imm.value.u : 0;
		if (rt_pop(vm, &target, size) < 0)
			return RT_CO_FAULT;
		gpr[TR_ESP] += extra;
		vm->cpu.eip = target;
		return RT_CO_JUMPED;
	}
	default:
		return rt_co_unsupported(vm, exit, in);
	}
}
