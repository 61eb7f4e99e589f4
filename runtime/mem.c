/* Guest memory as the runtime's C code sees it: through segments and linear addresses, the
 * guest page tables (the shadow MMU's walker, which sets accessed and dirty bits), onto guest-
 * physical memory. Writes drop translations of the pages they touch, exactly like a write from
 * translated code would. */
#include <errno.h>
#include <string.h>

#include "runtime/rt_internal.h"

/* A C-side access to device memory, in device-sized pieces (low address first). */
static void rt_mmio_copy(struct rt_vm *vm, uint32_t phys, uint8_t *buf, size_t len, bool write)
{
	for (size_t done = 0; done < len;) {
		unsigned chunk = len - done >= 4 ? 4 : len - done >= 2 ? 2 : 1;
		uint32_t v = 0;
		if (write) {
			memcpy(&v, buf + done, chunk);
			dev_mmio_write(vm->bus, phys + (uint32_t)done, chunk, v);
		} else {
			v = dev_mmio_read(vm->bus, phys + (uint32_t)done, chunk);
			memcpy(buf + done, &v, chunk);
		}
		done += chunk;
	}
}

/* One access, split at page boundaries; each piece is translated before any is copied so a
 * #PF on the second page leaves memory untouched. */
static int rt_access(struct rt_vm *vm, uint32_t linear, void *buf, size_t len, bool write,
		     bool supervisor)
{
	unsigned access = (write ? SMMU_ACCESS_WRITE : 0) |
			  (vm->cpu.cpl == 3 && !supervisor ? SMMU_ACCESS_USER : 0);
	uint32_t phys[2];
	size_t piece[2];
	int n = 0;
	for (size_t done = 0; done < len; n++) {
		uint32_t lin = linear + (uint32_t)done;
		size_t chunk = 4096 - (lin & 0xfff);
		if (chunk > len - done)
			chunk = len - done;
		uint32_t pf_error;
		RT_ASSERT(n < 2);
		if (smmu_translate(vm->mmu, lin, access, &phys[n], &pf_error) < 0) {
			vm->cpu.cr2 = lin;
			return rt_raise(vm, RT_EXC_PF, pf_error, true);
		}
		piece[n] = chunk;
		done += chunk;
	}
	uint8_t *p = buf;
	for (int i = 0; i < n; i++) {
		if ((uint64_t)phys[i] + piece[i] > smmu_ram_size(vm->mmu)) {
			rt_mmio_copy(vm, phys[i], p, piece[i], write);
			p += piece[i];
			continue;
		}
		if (write) {
			uint32_t page = phys[i] >> 12;
			if (smmu_page_has_code(vm->mmu, page)) {
				tr_invalidate_page(vm->tr, vm->frame, page,
						   TRC_CAUSE_CALLOUT_STORE);
				smmu_unprotect_code_page(vm->mmu, page);
				vm->counters.smc_faults++;
			}
			smmu_write_phys(vm->mmu, phys[i], p, piece[i]);
		} else {
			smmu_read_phys(vm->mmu, phys[i], p, piece[i]);
		}
		p += piece[i];
	}
	return 0;
}

int rt_read_linear(struct rt_vm *vm, uint32_t linear, void *buf, size_t len)
{
	return rt_access(vm, linear, buf, len, false, false);
}

int rt_write_linear(struct rt_vm *vm, uint32_t linear, const void *buf, size_t len)
{
	return rt_access(vm, linear, (void *)buf, len, true, false);
}

int rt_read_sys(struct rt_vm *vm, uint32_t linear, void *buf, size_t len)
{
	return rt_access(vm, linear, buf, len, false, true);
}

int rt_write_sys(struct rt_vm *vm, uint32_t linear, const void *buf, size_t len)
{
	return rt_access(vm, linear, (void *)buf, len, true, true);
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

void rt_paging_changed(struct rt_vm *vm, uint32_t old_cr0, uint32_t old_cr4, bool cr3_written)
{
	struct rt_vcpu *cpu = &vm->cpu;
	bool flush_all = ((cpu->cr0 ^ old_cr0) & (RT_CR0_PG | RT_CR0_WP)) ||
			 ((cpu->cr4 ^ old_cr4) & (RT_CR4_PSE | RT_CR4_PGE));
	smmu_set_paging(vm->mmu, cpu->cr0, cpu->cr3, cpu->cr4); /* flushes all if needed */
	if (!flush_all && cr3_written)
		smmu_flush_nonglobal(vm->mmu); /* even when the value is the same */
	/* Indirect branches are cached by linear EIP: the mapping under them may have moved,
	 * by the same TLB rules. */
	if (flush_all)
		tr_jc_flush(vm->tr, vm->frame);
	else if (cr3_written)
		tr_jc_flush_nonglobal(vm->tr, vm->frame);
}
