/* Private to shadowmmu/. */
#ifndef BT86_SMMU_INTERNAL_H
#define BT86_SMMU_INTERNAL_H

#include "shadowmmu/shadowmmu.h"

#define SMMU_4G		  (1ull << 32)
#define SMMU_LINEAR_PAGES (1u << 20)
#define SMMU_LARGE_PAGES  1024u /* 4 KiB pages in a 4 MiB page */

/* Guest page-table entry bits (32-bit, non-PAE). */
enum {
	SMMU_PTE_P = 1u << 0,
	SMMU_PTE_RW = 1u << 1,
	SMMU_PTE_US = 1u << 2,
	SMMU_PTE_A = 1u << 5,
	SMMU_PTE_D = 1u << 6,
	SMMU_PTE_PS = 1u << 7,
	SMMU_PTE_G = 1u << 8,
};

/* What a walk found. */
struct smmu_walk {
	uint32_t phys;	    /* the translated address */
	bool large;	    /* a 4 MiB page (phys & ~0x3fffff is its base) */
	bool write_allowed; /* writes allowed in the view that asked */
	bool dirty;	    /* D is set: a host-writable mapping is allowed */
	bool global;	    /* G with CR4.PGE */
};

/* Walk the guest page tables (walk.c). Returns 0, or -1 with the #PF error code. */
int smmu_walk(struct smmu *mmu, uint32_t linear, unsigned access, struct smmu_walk *walk,
	      uint32_t *pf_error);

/* Window entry flags (per linear page), above the guest-physical page number. */
enum {
	SMMU_E_MAPPED = 1u << 0,
	SMMU_E_WRITE = 1u << 1,	 /* mapped host-writable */
	SMMU_E_GLOBAL = 1u << 2, /* survives CR3 writes */
	SMMU_E_LARGE = 1u << 3,	 /* part of a 4 MiB mapping */
};

struct smmu_window {
	uint8_t *base;
	uint32_t *entry;  /* SMMU_LINEAR_PAGES entries: phys page << 12 | flags */
	uint32_t *mapped; /* linear pages with a mapping (for 4 MiB ones, the first page) */
	uint32_t n_mapped;
	uint32_t cap_mapped;
};

/* A reverse-map node: one linear page of one window mapping a guest-physical page. */
struct smmu_rmap_node {
	uint32_t linear_page;
	uint32_t view;
	uint32_t next; /* index + 1 of the next node for the same physical page; 0 ends */
};

struct smmu {
	int memfd;
	uint8_t *ram;
	uint64_t ram_size;
	uint32_t ram_pages;
	uint8_t *reservation;
	size_t reservation_size;
	struct smmu_window win[SMMU_VIEW_COUNT];
	bool paging;
	uint32_t cr0, cr3, cr4;
	uint8_t *code_bitmap; /* one bit per guest-physical page */

	uint32_t *rmap_head; /* per physical page: index + 1 of the first node */
	struct smmu_rmap_node *rmap;
	uint32_t rmap_cap;
	uint32_t rmap_free; /* index + 1 of the first free node */
	uint32_t mappings;  /* host mappings made since the last full flush (the VMA budget) */

	struct smmu_counters counters;
};

#endif
