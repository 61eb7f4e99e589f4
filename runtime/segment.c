/* Descriptor tables and segment-register loads with the protected-mode checks of the SDM
 * (Vol. 3 §5): the error code of every #GP/#NP/#SS is the selector with its RPL bits clear. */
#include "runtime/rt_internal.h"

int rt_read_descriptor(struct rt_vm *vm, uint16_t selector, uint64_t *desc)
{
	uint32_t base, limit;
	if (selector & 4) {
		if (!vm->cpu.ldtr.valid)
			return -1;
		base = vm->cpu.ldtr.base;
		limit = vm->cpu.ldtr.limit;
	} else {
		base = vm->cpu.gdtr.base;
		limit = vm->cpu.gdtr.limit;
	}
	uint32_t index = selector & ~7u;
	if (index + 7 > limit)
		return -1;
	return rt_read_sys(vm, base + index, desc, 8) < 0 ? -2 : 0;
}

static int rt_write_descriptor(struct rt_vm *vm, uint16_t selector, uint64_t desc)
{
	uint32_t base = (selector & 4) ? vm->cpu.ldtr.base : vm->cpu.gdtr.base;
	return rt_write_sys(vm, base + (selector & ~7u), &desc, 8);
}

void rt_segment_from_descriptor(struct rt_segment *seg, uint16_t selector, uint64_t desc)
{
	uint32_t limit = (uint32_t)(desc & 0xffff) | (uint32_t)((desc >> 32) & 0xf0000);
	seg->selector = selector;
	seg->base = (uint32_t)((desc >> 16) & 0xffffff) | (uint32_t)((desc >> 32) & 0xff000000);
	seg->access = (uint16_t)((desc >> 40) & 0xf0ff);
	seg->limit = RT_ACC_G(seg->access) ? limit << 12 | 0xfff : limit;
	seg->valid = true;
}

/* Set the accessed bit in the descriptor in memory, as the CPU does on a load. */
static void rt_mark_accessed(struct rt_vm *vm, uint16_t selector, uint64_t *desc)
{
	if (*desc & (1ull << 40))
		return;
	*desc |= 1ull << 40;
	rt_write_descriptor(vm, selector, *desc);
}

int rt_load_data_segment(struct rt_vm *vm, enum rt_sreg sreg, uint16_t selector)
{
	struct rt_vcpu *cpu = &vm->cpu;
	uint16_t err = selector & 0xfffc;
	uint64_t desc;

	if ((selector & 0xfffc) == 0) {
		if (sreg == RT_SS)
			return rt_raise(vm, RT_EXC_GP, 0, true);
		cpu->seg[sreg] = (struct rt_segment){.selector = selector, .valid = false};
		return 0;
	}
	int rc = rt_read_descriptor(vm, selector, &desc);
	if (rc == -2)
		return -1;
	if (rc < 0)
		return rt_raise(vm, RT_EXC_GP, err, true);
	uint16_t access = (uint16_t)((desc >> 40) & 0xf0ff);
	unsigned type = RT_ACC_TYPE(access), dpl = RT_ACC_DPL(access), rpl = selector & 3;
	bool code = type & 8;
	if (!RT_ACC_S(access))
		return rt_raise(vm, RT_EXC_GP, err, true);
	if (sreg == RT_SS) {
		if (rpl != (unsigned)cpu->cpl || dpl != (unsigned)cpu->cpl || code || !(type & 2))
			return rt_raise(vm, RT_EXC_GP, err, true);
		if (!RT_ACC_P(access))
			return rt_raise(vm, RT_EXC_SS, err, true);
	} else {
		if (code && !(type & 2))
			return rt_raise(vm, RT_EXC_GP, err, true);
		bool conforming = code && (type & 4);
		if (!conforming && (rpl > dpl || (unsigned)cpu->cpl > dpl))
			return rt_raise(vm, RT_EXC_GP, err, true);
		if (!RT_ACC_P(access))
			return rt_raise(vm, RT_EXC_NP, err, true);
	}
	rt_mark_accessed(vm, selector, &desc);
	rt_segment_from_descriptor(&cpu->seg[sreg], selector, desc);
	return 0;
}

int rt_check_far_target(struct rt_vm *vm, uint16_t selector, uint64_t *desc)
{
	struct rt_vcpu *cpu = &vm->cpu;
	uint16_t err = selector & 0xfffc;
	if ((selector & 0xfffc) == 0)
		return rt_raise(vm, RT_EXC_GP, 0, true);
	int rc = rt_read_descriptor(vm, selector, desc);
	if (rc == -2)
		return -1;
	if (rc < 0)
		return rt_raise(vm, RT_EXC_GP, err, true);
	uint16_t access = (uint16_t)((*desc >> 40) & 0xf0ff);
	unsigned type = RT_ACC_TYPE(access), dpl = RT_ACC_DPL(access), rpl = selector & 3;
	if (!RT_ACC_S(access)) {
		/* XXX: call gates, task gates and TSS targets are not modelled yet. */
		rt_vm_stop(vm, RT_STATUS_INTERNAL,
			   "far transfer through a gate or TSS (selector %#x) is not supported yet",
			   selector);
		return -1;
	}
	if (!(type & 8))
		return rt_raise(vm, RT_EXC_GP, err, true);
	if (type & 4) {
		if (dpl > (unsigned)cpu->cpl)
			return rt_raise(vm, RT_EXC_GP, err, true);
	} else if (rpl > (unsigned)cpu->cpl || dpl != (unsigned)cpu->cpl) {
		return rt_raise(vm, RT_EXC_GP, err, true);
	}
	if (!RT_ACC_P(access))
		return rt_raise(vm, RT_EXC_NP, err, true);
	return 0;
}

void rt_load_cs(struct rt_vm *vm, uint16_t selector, uint64_t desc, int cpl)
{
	uint16_t sel = (uint16_t)((selector & ~3u) | (unsigned)cpl);
	rt_mark_accessed(vm, selector, &desc);
	rt_segment_from_descriptor(&vm->cpu.seg[RT_CS], sel, desc);
	vm->cpu.cpl = cpl;
}
