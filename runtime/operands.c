/* Operands of a guest instruction, for callouts that perform it in C. */
#include <string.h>

#include "runtime/rt_internal.h"

int rt_decode(struct rt_vm *vm, const struct tr_exit *exit, struct rt_insn *insn)
{
	ZyanStatus st =
	    ZydisDecoderDecodeFull(&vm->decoder, exit->insn, exit->insn_len, &insn->zi, insn->ops);
	return ZYAN_SUCCESS(st) ? 0 : -1;
}

uint32_t rt_reg_read(struct rt_vm *vm, ZydisRegister reg)
{
	uint32_t *gpr = vm->frame->gpr;
	int id = ZydisRegisterGetId(reg);
	switch (ZydisRegisterGetClass(reg)) {
	case ZYDIS_REGCLASS_GPR32:
		return gpr[id];
	case ZYDIS_REGCLASS_GPR16:
		return gpr[id] & 0xffff;
	case ZYDIS_REGCLASS_GPR8:
		return id < 4 ? gpr[id] & 0xff : (gpr[id - 4] >> 8) & 0xff;
	case ZYDIS_REGCLASS_SEGMENT:
		return vm->cpu.seg[id].selector;
	default:
		RT_ASSERT(!"unexpected register class");
	}
}

void rt_reg_write(struct rt_vm *vm, ZydisRegister reg, uint32_t value)
{
	uint32_t *gpr = vm->frame->gpr;
	int id = ZydisRegisterGetId(reg);
	switch (ZydisRegisterGetClass(reg)) {
	case ZYDIS_REGCLASS_GPR32:
		gpr[id] = value;
		return;
	case ZYDIS_REGCLASS_GPR16:
		gpr[id] = (gpr[id] & 0xffff0000u) | (value & 0xffff);
		return;
	case ZYDIS_REGCLASS_GPR8:
		if (id < 4)
			gpr[id] = (gpr[id] & ~0xffu) | (value & 0xff);
		else
			gpr[id - 4] = (gpr[id - 4] & ~0xff00u) | (value & 0xff) << 8;
		return;
	default:
		RT_ASSERT(!"unexpected register class");
	}
}

enum rt_sreg rt_operand_segment(const ZydisDecodedOperand *op)
{
	switch (op->mem.segment) {
	case ZYDIS_REGISTER_ES:
		return RT_ES;
	case ZYDIS_REGISTER_CS:
		return RT_CS;
	case ZYDIS_REGISTER_SS:
		return RT_SS;
	case ZYDIS_REGISTER_FS:
		return RT_FS;
	case ZYDIS_REGISTER_GS:
		return RT_GS;
	default:
		return RT_DS;
	}
}

uint32_t rt_operand_offset(struct rt_vm *vm, const ZydisDecodedOperand *op)
{
	uint32_t ea = (uint32_t)op->mem.disp.value;
	if (op->mem.base != ZYDIS_REGISTER_NONE)
		ea += rt_reg_read(vm, op->mem.base);
	if (op->mem.index != ZYDIS_REGISTER_NONE)
		ea += rt_reg_read(vm, op->mem.index) * op->mem.scale;
	if (ZydisRegisterGetClass(op->mem.base) == ZYDIS_REGCLASS_GPR16 ||
	    ZydisRegisterGetClass(op->mem.index) == ZYDIS_REGCLASS_GPR16)
		ea &= 0xffff;
	return ea;
}

int rt_operand_read(struct rt_vm *vm, const ZydisDecodedOperand *op, uint32_t *value)
{
	if (op->type == ZYDIS_OPERAND_TYPE_REGISTER) {
		*value = rt_reg_read(vm, op->reg.value);
		return 0;
	}
	if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
		*value = (uint32_t)op->imm.value.u;
		return 0;
	}
	uint32_t v = 0;
	if (rt_read_seg(vm, rt_operand_segment(op), rt_operand_offset(vm, op), &v, op->size / 8) <
	    0)
		return -1;
	*value = v;
	return 0;
}

int rt_operand_write(struct rt_vm *vm, const ZydisDecodedOperand *op, uint32_t value)
{
	if (op->type == ZYDIS_OPERAND_TYPE_REGISTER) {
		rt_reg_write(vm, op->reg.value, value);
		return 0;
	}
	return rt_write_seg(vm, rt_operand_segment(op), rt_operand_offset(vm, op), &value,
			    op->size / 8);
}
