/* Port I/O callouts: in, out, ins, outs. IOPL and (XXX: with the TSS I/O bitmap, in the MMU
 * issue) decide whether the guest may touch a port; the devices module performs the access. */
#include "runtime/callouts.h"

/* May the guest touch ports [port, port + size)? At CPL <= IOPL yes; otherwise only if the
 * TSS I/O permission bitmap clears every bit of them (SDM Vol. 1 §19.5). Raises #GP(0) if
 * not. */
static bool rt_io_allowed(struct rt_vm *vm, uint16_t port, unsigned size)
{
	const struct rt_vcpu *cpu = &vm->cpu;
	if (cpu->cpl <= (int)((cpu->eflags & RT_FL_IOPL) >> 12))
		return true;
	unsigned type = RT_ACC_TYPE(cpu->tr.access);
	uint16_t map_base = 0, bits = 0xffff;
	if ((type == 9 || type == 11) && cpu->tr.limit >= 103 &&
	    rt_read_sys(vm, cpu->tr.base + 102, &map_base, 2) == 0) {
		uint32_t at = (uint32_t)map_base + port / 8;
		if (at + 1 <= cpu->tr.limit) {
			if (rt_read_sys(vm, cpu->tr.base + at, &bits, 2) < 0)
				return false;
		}
	}
	unsigned mask = ((1u << size) - 1) << (port & 7);
	if (!(bits & mask))
		return true;
	rt_raise(vm, RT_EXC_GP, 0, true);
	return false;
}

/* The port operand: an immediate or DX. */
static uint16_t rt_io_port(struct rt_vm *vm, const ZydisDecodedOperand *op)
{
	if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
		return (uint16_t)op->imm.value.u;
	return (uint16_t)vm->frame->gpr[TR_EDX];
}

RT_CO(in)
{
	(void)exit;
	const ZydisDecodedOperand *dst = &in->ops[0];
	unsigned size = dst->size / 8;
	uint16_t port = rt_io_port(vm, &in->ops[1]);
	if (!rt_io_allowed(vm, port, size))
		return RT_CO_FAULT;
	uint32_t v = dev_io_read(vm->bus, port, size);
	rt_reg_write(vm, dst->reg.value, v);
	return RT_CO_NEXT;
}

RT_CO(out)
{
	(void)exit;
	const ZydisDecodedOperand *src = &in->ops[1];
	unsigned size = src->size / 8;
	uint16_t port = rt_io_port(vm, &in->ops[0]);
	if (!rt_io_allowed(vm, port, size))
		return RT_CO_FAULT;
	dev_io_write(vm->bus, port, size, rt_reg_read(vm, src->reg.value));
	return RT_CO_NEXT;
}

static unsigned rt_string_size(const struct rt_insn *in)
{
	switch (in->zi.mnemonic) {
	case ZYDIS_MNEMONIC_INSB:
	case ZYDIS_MNEMONIC_OUTSB:
		return 1;
	case ZYDIS_MNEMONIC_INSW:
	case ZYDIS_MNEMONIC_OUTSW:
		return 2;
	default:
		return 4;
	}
}

static enum rt_co_result rt_io_string(struct rt_vm *vm, struct rt_insn *in, bool input)
{
	if (!rt_io_allowed(vm, (uint16_t)vm->frame->gpr[TR_EDX], rt_string_size(in)))
		return RT_CO_FAULT;
	if (in->zi.address_width != 32) {
		rt_vm_stop(vm, RT_STATUS_INTERNAL,
			   "16-bit addressing in ins/outs is not supported");
		return RT_CO_FAULT;
	}
	uint32_t *gpr = vm->frame->gpr;
	unsigned size = rt_string_size(in);
	bool rep = in->zi.attributes &
		   (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE);
	int32_t step = (vm->frame->rflags & RT_FL_DF) ? -(int32_t)size : (int32_t)size;
	uint16_t port = (uint16_t)gpr[TR_EDX];
	enum rt_sreg src_seg = RT_DS;
	for (unsigned i = 0; i < in->zi.operand_count; i++)
		if (in->ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY)
			src_seg = rt_operand_segment(&in->ops[i]);
	/* Each iteration commits its registers, so a fault restarts precisely. */
	for (unsigned n = 0; !rep || gpr[TR_ECX] != 0; n++) {
		if (n == RT_REP_BATCH)
			return RT_CO_JUMPED; /* EIP stays on the instruction: it goes on later */
		if (input) {
			uint32_t v = dev_io_read(vm->bus, port, size);
			if (rt_write_seg(vm, RT_ES, gpr[TR_EDI], &v, size) < 0)
				return RT_CO_FAULT;
			gpr[TR_EDI] += (uint32_t)step;
		} else {
			uint32_t v = 0;
			if (rt_read_seg(vm, src_seg, gpr[TR_ESI], &v, size) < 0)
				return RT_CO_FAULT;
			dev_io_write(vm->bus, port, size, v);
			gpr[TR_ESI] += (uint32_t)step;
		}
		if (!rep)
			break;
		gpr[TR_ECX]--;
	}
	return RT_CO_NEXT;
}

RT_CO(ins)
{
	(void)exit;
	return rt_io_string(vm, in, true);
}

RT_CO(outs)
{
	(void)exit;
	return rt_io_string(vm, in, false);
}
