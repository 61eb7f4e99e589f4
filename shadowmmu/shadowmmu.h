/* shadowmmu — guest RAM, the guest page-table walker, and the host windows translated code
 * reaches guest memory through (DESIGN.md §5).
 *
 * Guest RAM is one memfd. The VMM keeps its own read-write mapping of it (smmu_ram) for the
 * loader, devices and callouts. Translated code sees guest memory only through a window: a
 * 4 GiB-aligned reservation whose base is the GS base while guest code runs. There are two,
 * a kernel view (CPL 0-2) and a user view (CPL 3). With paging off both are the identity map
 * of RAM. With paging on they start empty and fill on hidden faults from the guest's page
 * tables; they are the guest's TLB, emptied by the architectural rules (INVLPG, CR3 writes
 * keeping global pages, CR0/CR4 changes dropping everything). Pages with translated code are
 * mapped read-only in every window; a write to one faults, and the runtime drops their
 * translations before letting the write through.
 */
#ifndef BT86_SHADOWMMU_H
#define BT86_SHADOWMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct smmu;

enum smmu_view { SMMU_KERNEL, SMMU_USER, SMMU_VIEW_COUNT };

/* Create guest RAM of ram_bytes and the windows. Returns NULL with a reason in err. */
struct smmu *smmu_create(uint64_t ram_bytes, char *err, size_t err_len);
void smmu_destroy(struct smmu *mmu);

uint8_t *smmu_ram(const struct smmu *mmu);
uint64_t smmu_ram_size(const struct smmu *mmu);
/* Host address of guest linear address 0 in a view's window (4 GiB aligned). */
uintptr_t smmu_window_base(const struct smmu *mmu, enum smmu_view view);

/* The paging registers the walker follows. A change of CR0.PG/WP or CR4.PSE/PGE empties the
 * windows entirely, as those changes flush the TLB. */
void smmu_set_paging(struct smmu *mmu, uint32_t cr0, uint32_t cr3, uint32_t cr4);
/* A CR3 write: drop every mapping except global pages (CR4.PGE). */
void smmu_flush_nonglobal(struct smmu *mmu);
/* Drop every mapping. */
void smmu_flush_all(struct smmu *mmu);
/* INVLPG: drop the mapping of one linear page (a 4 MiB mapping containing it goes whole). */
void smmu_invlpg(struct smmu *mmu, uint32_t linear);

/* Access kinds for smmu_translate. */
enum smmu_access {
	SMMU_ACCESS_READ = 0,
	SMMU_ACCESS_WRITE = 1 << 1, /* bit positions match the #PF error code */
	SMMU_ACCESS_USER = 1 << 2,  /* made at CPL 3 (not an implicit supervisor access) */
};

/* Translate a linear address as the CPU would for this access, setting accessed and dirty
 * bits in the guest's entries. Returns 0 with *phys, or -1 with the #PF error code in
 * *pf_error when the access must fault. */
int smmu_translate(struct smmu *mmu, uint32_t linear, unsigned access, uint32_t *phys,
		   uint32_t *pf_error);

/* How a linear address is mapped, for caches keyed by linear address that follow the TLB
 * rules (the translator's jump cache). With paging off everything counts as global. */
struct smmu_mapping {
	bool global; /* survives CR3 writes (CR4.PGE and the G bit) */
	bool large;  /* a 4 MiB page */
};

/* smmu_translate, also telling how the address is mapped. */
int smmu_translate_mapping(struct smmu *mmu, uint32_t linear, unsigned access, uint32_t *phys,
			   struct smmu_mapping *mapping, uint32_t *pf_error);

enum smmu_fault {
	SMMU_FAULT_OUTSIDE,    /* not an address in a window */
	SMMU_FAULT_MAPPED,     /* a hidden fault: the page is mapped now, retry */
	SMMU_FAULT_GUEST_PF,   /* the guest's page tables refuse the access: deliver #PF */
	SMMU_FAULT_CODE_WRITE, /* write to a page with translated code: drop it and retry */
	SMMU_FAULT_UNASSIGNED, /* no RAM at this guest-physical address */
};

struct smmu_fault_info {
	enum smmu_view view;
	uint32_t linear;
	uint32_t phys;	   /* CODE_WRITE, UNASSIGNED */
	uint32_t pf_error; /* GUEST_PF */
};

/* Handle a host fault at host address addr (write: the access was a write). */
enum smmu_fault smmu_handle_fault(struct smmu *mmu, uintptr_t addr, bool write,
				  struct smmu_fault_info *info);

/* Write-protect a guest-physical page everywhere it is mapped because translated code came
 * from it. Returns 0 or -errno. */
int smmu_protect_code_page(struct smmu *mmu, uint32_t page);
/* True if the page is write-protected for translated code. */
bool smmu_page_has_code(const struct smmu *mmu, uint32_t page);
/* The page's translations were dropped: writes may go through again. Returns 0 or -errno. */
int smmu_unprotect_code_page(struct smmu *mmu, uint32_t page);

/* Copy between guest-physical memory and a host buffer. Return 0, or -EFAULT if any byte is
 * outside RAM (nothing is copied then). */
int smmu_read_phys(const struct smmu *mmu, uint32_t phys, void *buf, size_t len);
int smmu_write_phys(struct smmu *mmu, uint32_t phys, const void *buf, size_t len);

/* Counters for --stats and the trace. */
#define SMMU_COUNTER_LIST(X)                                                                       \
	X(hidden_faults, "hidden faults (window filled)")                                          \
	X(guest_page_faults, "guest page faults")                                                  \
	X(pages_mapped, "pages mapped into windows")                                               \
	X(large_pages_mapped, "4 MiB pages mapped into windows")                                   \
	X(window_flushes, "window flushes")                                                        \
	X(invlpgs, "single-page invalidations")                                                    \
	X(code_pages_protected, "code pages write-protected")                                      \
	X(code_write_faults, "writes to pages with translated code")

struct smmu_counters {
#define SMMU_COUNTER_FIELD(name, text) uint64_t name;
	SMMU_COUNTER_LIST(SMMU_COUNTER_FIELD)
#undef SMMU_COUNTER_FIELD
};
const struct smmu_counters *smmu_counters(const struct smmu *mmu);

#endif
