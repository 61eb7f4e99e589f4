/* Guest memory as the runtime's C code sees it: through segments and linear addresses onto
 * guest-physical memory (identity while paging is off). Writes drop translations of the pages
 * they touch, exactly like a write from translated code would. */
#include <errno.h>
#include <string.h>

#include "runtime/rt_internal.h"

/* XXX: paging arrives with the shadow-MMU issue; until then linear == physical. */
static int rt_linear_to_phys(struct rt_vm *vm, uint32_t linear, size_t len, uint32_t *phys)
{
	if ((uint64_t)linear + len > smmu_ram_size(vm->mmu)) {
		rt_vm_stop(vm, RT_STATUS_INTERNAL,
			   "guest accessed unassigned physical address %#x at EIP %#x", linear,
			   vm->cpu.eip);
		return -1;
	}
	*phys = linear;
	return 0;
}

int rt_read_linear(struct rt_vm *vm, uint32_t linear, void *buf, size_t len)
{
	uint32_t phys;
	if (rt_linear_to_phys(vm, linear, len, &phys) < 0)
		return -1;
	return smmu_read_phys(vm->mmu, phys, buf, len) < 0 ? -1 : 0;
}

int rt_write_linear(struct rt_vm *vm, uint32_t linear, const void *buf, size_t len)
{
	uint32_t phys;
	if (len == 0)
		return 0;
	if (rt_linear_to_phys(vm, linear, len, &phys) < 0)
		return -1;
	for (uint32_t page = phys >> 12; page <= (uint32_t)((phys + len - 1) >> 12); page++) {
		if (smmu_page_has_code(vm->mmu, page)) {
			tr_invalidate_page(vm->tr, vm->frame, page);
			smmu_unprotect_code_page(vm->mmu, page);
			vm->counters.smc_faults++;
		}
	}
	return smmu_write_phys(vm->mmu, phys, buf, len) < 0 ? -1 : 0;
}

int rt_read_seg(struct rt_vm *vm, enum rt_sreg sreg, uint32_t offset, void *buf, size_t len)
{
	return rt_read_linear(vm, vm->cpu.seg[sreg].base + offset, buf, len);
}

int rt_write_seg(struct rt_vm *vm, enum rt_sreg sreg, uint32_t offset, const void *buf, size_t len)
{
	return rt_write_linear(vm, vm->cpu.seg[sreg].base + offset, buf, len);
}

int rt_push(struct rt_vm *vm, uint32_t value, unsigned size)
{
	uint32_t esp = vm->frame->gpr[TR_ESP] - size;
	if (rt_write_seg(vm, RT_SS, esp, &value, size) < 0)
		return -1;
	vm->frame->gpr[TR_ESP] = esp;
	return 0;
}

int rt_pop(struct rt_vm *vm, uint32_t *value, unsigned size)
{
	uint32_t v = 0;
	if (rt_read_seg(vm, RT_SS, vm->frame->gpr[TR_ESP], &v, size) < 0)
		return -1;
	vm->frame->gpr[TR_ESP] += size;
	*value = v;
	return 0;
}
