/* The guest page-table walker: 32-bit paging without PAE, 4 KiB pages and, with CR4.PSE,
 * 4 MiB pages (SDM Vol. 3 §4.3). Access rights combine both levels; CR0.WP decides whether
 * supervisor writes honour read-only pages. Accessed bits are set on every successful walk and
 * the dirty bit on a write, in the guest's own entries, as the CPU does. */
#include <string.h>

#include "shadowmmu/smmu_internal.h"

static bool smmu_read_entry(const struct smmu *mmu, uint32_t addr, uint32_t *entry)
{
	if ((uint64_t)addr + 4 > mmu->ram_size) {
		*entry = 0; /* a table outside RAM reads as not present */
		return false;
	}
	memcpy(entry, mmu->ram + addr, 4);
	return true;
}

static void smmu_set_bits(struct smmu *mmu, uint32_t addr, uint32_t *entry, uint32_t bits)
{
	if ((*entry & bits) == bits || (uint64_t)addr + 4 > mmu->ram_size)
		return;
	*entry |= bits;
	memcpy(mmu->ram + addr, entry, 4);
}

int smmu_walk(struct smmu *mmu, uint32_t linear, unsigned access, struct smmu_walk *walk,
	      uint32_t *pf_error)
{
	bool user = access & SMMU_ACCESS_USER;
	bool write = access & SMMU_ACCESS_WRITE;
	uint32_t error = (write ? 2u : 0u) | (user ? 4u : 0u);
	uint32_t pde_addr = (mmu->cr3 & 0xfffff000u) + (linear >> 22) * 4;
	uint32_t pde, pte = 0, pte_addr = 0;

	smmu_read_entry(mmu, pde_addr, &pde);
	if (!(pde & SMMU_PTE_P))
		goto fault;
	bool large = (mmu->cr4 & (1u << 4)) && (pde & SMMU_PTE_PS);
	uint32_t rights = pde;
	if (!large) {
		pte_addr = (pde & 0xfffff000u) + ((linear >> 12) & 0x3ff) * 4;
		smmu_read_entry(mmu, pte_addr, &pte);
		if (!(pte & SMMU_PTE_P))
			goto fault;
		rights &= pte;
	}
	error |= 1; /* present: from here on a fault is a protection violation */
	bool rw = rights & SMMU_PTE_RW;
	if (user && !(rights & SMMU_PTE_US))
		goto fault;
	bool write_allowed = user ? rw : (rw || !(mmu->cr0 & (1u << 16)));
	if (write && !write_allowed)
		goto fault;

	smmu_set_bits(mmu, pde_addr, &pde, SMMU_PTE_A | (large && write ? SMMU_PTE_D : 0));
	if (!large)
		smmu_set_bits(mmu, pte_addr, &pte, SMMU_PTE_A | (write ? SMMU_PTE_D : 0));
	uint32_t leaf = large ? pde : pte;
	walk->large = large;
	walk->phys = large ? (pde & 0xffc00000u) | (linear & 0x3fffffu)
			   : (pte & 0xfffff000u) | (linear & 0xfffu);
	walk->write_allowed = write_allowed;
	walk->dirty = leaf & SMMU_PTE_D;
	walk->global = (mmu->cr4 & (1u << 7)) && (leaf & SMMU_PTE_G);
	return 0;
fault:
	*pf_error = error;
	return -1;
}

int smmu_translate_mapping(struct smmu *mmu, uint32_t linear, unsigned access, uint32_t *phys,
			   struct smmu_mapping *mapping, uint32_t *pf_error)
{
	if (!mmu->paging) {
		*phys = linear;
		*mapping = (struct smmu_mapping){.global = true};
		return 0;
	}
	struct smmu_walk w;
	if (smmu_walk(mmu, linear, access, &w, pf_error) < 0) {
		mmu->counters.guest_page_faults++;
		return -1;
	}
	*phys = w.phys;
	*mapping = (struct smmu_mapping){.global = w.global, .large = w.large};
	return 0;
}

int smmu_translate(struct smmu *mmu, uint32_t linear, unsigned access, uint32_t *phys,
		   uint32_t *pf_error)
{
	struct smmu_mapping mapping;
	return smmu_translate_mapping(mmu, linear, access, phys, &mapping, pf_error);
}
