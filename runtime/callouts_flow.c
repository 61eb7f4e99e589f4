/* Callouts that change control flow or segment registers: int n, iret, far transfers,
 * sysenter/sysexit, segment loads and stores. */
#include "runtime/callouts.h"

static enum rt_co_result rt_soft_int(struct rt_vm *vm, const struct tr_exit *exit, uint8_t vector)
{
	/* A software interrupt is a trap: the frame holds the address after the instruction, but
	 * a fault while delivering it (a bad gate) reports the instruction itself. */
	vm->cpu.event = (struct rt_event){.pending = true,
					  .vector = vector,
					  .soft = true,
					  .trap = true,
					  .return_eip = exit->next_eip};
	return RT_CO_JUMPED;
}

RT_CO(int_n)
{
	if (in->zi.mnemonic == ZYDIS_MNEMONIC_INT1) {
		vm->cpu.event = (struct rt_event){.pending = true,
						  .vector = RT_EXC_DB,
						  .trap = true,
						  .return_eip = exit->next_eip};
		return RT_CO_JUMPED;
	}
	return rt_soft_int(vm, exit, (uint8_t)in->ops[0].imm.value.u);
}

RT_CO(int3)
{
	(void)in;
	return rt_soft_int(vm, exit, RT_EXC_BP);
}

RT_CO(into)
{
	(void)in;
	if (!(vm->frame->rflags & RT_FL_OF))
		return RT_CO_NEXT;
	return rt_soft_int(vm, exit, RT_EXC_OF);
}

RT_CO(iret)
{
	(void)exit;
	return rt_iret(vm, in->zi.operand_width / 8) < 0 ? RT_CO_FAULT : RT_CO_JUMPED;
}

static enum rt_sreg rt_sreg_of(ZydisRegister reg)
{
	return (enum rt_sreg)ZydisRegisterGetId(reg);
}

RT_CO(mov_sreg)
{
	(void)exit;
	const ZydisDecodedOperand *dst = &in->ops[0], *src = &in->ops[1];
	if (dst->type == ZYDIS_OPERAND_TYPE_REGISTER &&
	    ZydisRegisterGetClass(dst->reg.value) == ZYDIS_REGCLASS_SEGMENT) {
		enum rt_sreg s = rt_sreg_of(dst->reg.value);
		uint32_t sel;
		if (s == RT_CS)
			return rt_raise(vm, RT_EXC_UD, 0, false), RT_CO_FAULT;
		if (rt_operand_read(vm, src, &sel) < 0 ||
		    rt_load_data_segment(vm, s, (uint16_t)sel) < 0)
			return RT_CO_FAULT;
		return RT_CO_NEXT;
	}
	uint32_t sel = vm->cpu.seg[rt_sreg_of(src->reg.value)].selector;
	return rt_operand_write(vm, dst, sel) < 0 ? RT_CO_FAULT : RT_CO_NEXT;
}

RT_CO(push_sreg)
{
	(void)exit;
	uint32_t sel = vm->cpu.seg[rt_sreg_of(in->ops[0].reg.value)].selector;
	return rt_push(vm, sel, in->zi.operand_width / 8) < 0 ? RT_CO_FAULT : RT_CO_NEXT;
}

RT_CO(pop_sreg)
{
	(void)exit;
	unsigned size = in->zi.operand_width / 8;
	uint32_t sel = 0;
	if (rt_read_seg(vm, RT_SS, vm->frame->gpr[TR_ESP], &sel, size) < 0 ||
	    rt_load_data_segment(vm, rt_sreg_of(in->ops[0].reg.value), (uint16_t)sel) < 0)
		return RT_CO_FAULT;
	vm->frame->gpr[TR_ESP] += size;
	return RT_CO_NEXT;
}

/* Read a far pointer m16:16 or m16:32 (offset first, then the selector). */
static int rt_read_far_ptr(struct rt_vm *vm, const ZydisDecodedOperand *m, unsigned size,
			   uint32_t *offset, uint16_t *selector)
{
	uint32_t off = rt_operand_offset(vm, m), v = 0;
	enum rt_sreg seg = rt_operand_segment(m);
	if (rt_read_seg(vm, seg, off, &v, size) < 0 ||
	    rt_read_seg(vm, seg, off + size, selector, 2) < 0)
		return -1;
	*offset = v;
	return 0;
}

RT_CO(load_far_ptr)
{
	(void)exit;
	static const struct {
		ZydisMnemonic m;
		enum rt_sreg s;
	} map[] = {{ZYDIS_MNEMONIC_LDS, RT_DS},
		   {ZYDIS_MNEMONIC_LES, RT_ES},
		   {ZYDIS_MNEMONIC_LFS, RT_FS},
		   {ZYDIS_MNEMONIC_LGS, RT_GS},
		   {ZYDIS_MNEMONIC_LSS, RT_SS}};
	enum rt_sreg s = RT_DS;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (map[i].m == in->zi.mnemonic)
			s = map[i].s;
	uint32_t offset;
	uint16_t sel;
	if (rt_read_far_ptr(vm, &in->ops[1], in->zi.operand_width / 8, &offset, &sel) < 0 ||
	    rt_load_data_segment(vm, s, sel) < 0)
		return RT_CO_FAULT;
	rt_reg_write(vm, in->ops[0].reg.value, offset);
	return RT_CO_NEXT;
}

/* The target of a far jmp/call: ptr16:32 immediate or m16:32. */
static int rt_far_target(struct rt_vm *vm, struct rt_insn *in, uint32_t *offset, uint16_t *selector)
{
	if (in->ops[0].type == ZYDIS_OPERAND_TYPE_POINTER) {
		*offset = in->ops[0].ptr.offset;
		*selector = in->ops[0].ptr.segment;
		return 0;
	}
	return rt_read_far_ptr(vm, &in->ops[0], in->zi.operand_width / 8, offset, selector);
}

RT_CO(jmp_far)
{
	(void)exit;
	uint32_t offset;
	uint16_t sel;
	uint64_t desc;
	if (rt_far_target(vm, in, &offset, &sel) < 0 || rt_check_far_target(vm, sel, &desc) < 0)
		return RT_CO_FAULT;
	rt_load_cs(vm, sel, desc, vm->cpu.cpl);
	vm->cpu.eip = in->zi.operand_width == 16 ? offset & 0xffff : offset;
	return RT_CO_JUMPED;
}

RT_CO(call_far)
{
	uint32_t offset;
	uint16_t sel;
	uint64_t desc;
	unsigned size = in->zi.operand_width / 8;
	if (rt_far_target(vm, in, &offset, &sel) < 0 || rt_check_far_target(vm, sel, &desc) < 0)
		return RT_CO_FAULT;
	uint32_t esp = vm->frame->gpr[TR_ESP];
	uint32_t cs = vm->cpu.seg[RT_CS].selector, ret = exit->next_eip;
	if (rt_write_seg(vm, RT_SS, esp - size, &cs, size) < 0 ||
	    rt_write_seg(vm, RT_SS, esp - 2 * size, &ret, size) < 0)
		return RT_CO_FAULT;
	vm->frame->gpr[TR_ESP] = esp - 2 * size;
	rt_load_cs(vm, sel, desc, vm->cpu.cpl);
	vm->cpu.eip = size == 2 ? offset & 0xffff : offset;
	return RT_CO_JUMPED;
}

RT_CO(ret_far)
{
	(void)exit;
	unsigned size = in->zi.operand_width / 8;
	uint32_t esp = vm->frame->gpr[TR_ESP], offset = 0, cs = 0;
	uint32_t extra = in->zi.operand_count_visible ? (uint32_t)in->ops[0].imm.value.u : 0;
	if (rt_read_seg(vm, RT_SS, esp, &offset, size) < 0 ||
	    rt_read_seg(vm, RT_SS, esp + size, &cs, size) < 0)
		return RT_CO_FAULT;
	uint16_t sel = (uint16_t)cs;
	if ((sel & 3) != (unsigned)vm->cpu.cpl) {
		/* XXX: a far return to an outer ring is not modelled yet. */
		rt_vm_stop(vm, RT_STATUS_INTERNAL, "far return to another ring is not supported");
		return RT_CO_FAULT;
	}
	uint64_t desc;
	if (rt_check_far_target(vm, sel, &desc) < 0)
		return RT_CO_FAULT;
	rt_load_cs(vm, sel, desc, vm->cpu.cpl);
	vm->cpu.eip = size == 2 ? offset & 0xffff : offset;
	vm->frame->gpr[TR_ESP] = esp + 2 * size + extra;
	return RT_CO_JUMPED;
}

static void rt_flat_seg(struct rt_segment *s, uint16_t sel, uint16_t access)
{
	*s = (struct rt_segment){
	    .selector = sel, .base = 0, .limit = 0xffffffffu, .access = access, .valid = true};
}

RT_CO(sysenter)
{
	(void)exit;
	(void)in;
	struct rt_vcpu *cpu = &vm->cpu;
	if ((cpu->sysenter_cs & 0xfffc) == 0)
		return rt_raise(vm, RT_EXC_GP, 0, true), RT_CO_FAULT;
	rt_set_eflags(cpu, rt_get_eflags(cpu) & ~(RT_FL_VM | RT_FL_IF | RT_FL_RF));
	rt_flat_seg(&cpu->seg[RT_CS], (uint16_t)(cpu->sysenter_cs & 0xfffc), 0xc09b);
	rt_flat_seg(&cpu->seg[RT_SS], (uint16_t)((cpu->sysenter_cs + 8) & 0xfffc), 0xc093);
	cpu->cpl = 0;
	vm->frame->gpr[TR_ESP] = cpu->sysenter_esp;
	cpu->eip = cpu->sysenter_eip;
	return RT_CO_JUMPED;
}

RT_CO(sysexit)
{
	(void)exit;
	(void)in;
	struct rt_vcpu *cpu = &vm->cpu;
	if ((cpu->sysenter_cs & 0xfffc) == 0 || cpu->cpl != 0)
		return rt_raise(vm, RT_EXC_GP, 0, true), RT_CO_FAULT;
	rt_flat_seg(&cpu->seg[RT_CS], (uint16_t)((cpu->sysenter_cs + 16) | 3), 0xc0fb);
	rt_flat_seg(&cpu->seg[RT_SS], (uint16_t)((cpu->sysenter_cs + 24) | 3), 0xc0f3);
	cpu->cpl = 3;
	vm->frame->gpr[TR_ESP] = vm->frame->gpr[TR_ECX];
	cpu->eip = vm->frame->gpr[TR_EDX];
	return RT_CO_JUMPED;
}
