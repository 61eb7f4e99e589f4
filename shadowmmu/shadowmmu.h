/* shadowmmu — guest RAM and the host window translated code reaches it through.
 *
 * Guest RAM is one memfd. The VMM keeps its own read-write mapping of it (smmu_ram) for the
 * loader, devices and callouts; translated code sees guest memory only through the window, a
 * 4 GiB-aligned reservation whose base is the GS base while guest code runs (DESIGN.md §5).
 * With paging off the window is the identity map of guest-physical memory. Pages holding
 * translated code are write-protected in the window; a write to one faults, and the runtime
 * drops the translations before letting the write through.
 */
#ifndef BT86_SHADOWMMU_H
#define BT86_SHADOWMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct smmu;

/* Create guest RAM of ram_bytes and the window. Returns NULL with a reason in err. */
struct smmu *smmu_create(uint64_t ram_bytes, char *err, size_t err_len);
void smmu_destroy(struct smmu *mmu);

uint8_t *smmu_ram(const struct smmu *mmu);
uint64_t smmu_ram_size(const struct smmu *mmu);
/* Host address of guest linear address 0 in the window (4 GiB aligned). */
uintptr_t smmu_window_base(const struct smmu *mmu);

/* Write-protect a guest-physical page in the window because translated code came from it.
 * Returns 0 or -errno. */
int smmu_protect_code_page(struct smmu *mmu, uint32_t page);
/* True if the page is write-protected for translated code. */
bool smmu_page_has_code(const struct smmu *mmu, uint32_t page);
/* Make the page writable again (its translations were dropped). Returns 0 or -errno. */
int smmu_unprotect_code_page(struct smmu *mmu, uint32_t page);

enum smmu_fault {
	SMMU_FAULT_OUTSIDE,    /* not an address in the window */
	SMMU_FAULT_CODE_WRITE, /* write to a page with translated code: drop it and retry */
	SMMU_FAULT_UNASSIGNED, /* no RAM (and no device) at this guest-physical address */
	SMMU_FAULT_SPURIOUS,   /* the page is accessible now: just retry */
};

/* Classify a host fault at host address addr. *linear receives the guest linear address. */
enum smmu_fault smmu_classify_fault(const struct smmu *mmu, uintptr_t addr, bool write,
				    uint32_t *linear);

/* Copy between guest-physical memory and a host buffer. Return 0, or -EFAULT if any byte is
 * outside RAM (nothing is copied then). */
int smmu_read_phys(const struct smmu *mmu, uint32_t phys, void *buf, size_t len);
int smmu_write_phys(struct smmu *mmu, uint32_t phys, const void *buf, size_t len);

/* Counters for --stats. */
struct smmu_counters {
	uint64_t code_pages_protected;
	uint64_t code_write_faults;
};
const struct smmu_counters *smmu_counters(const struct smmu *mmu);

#endif
