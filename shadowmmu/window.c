/* Guest RAM (a memfd), the two windows onto it, and write protection of code pages.
 *
 * A window entry per linear page records what is mapped there; a reverse map from physical
 * page to (window, linear page) finds every alias of a page that gets translated code, so it
 * can be made read-only wherever it appears. Host mappings are counted against a budget well
 * under vm.max_map_count (DESIGN.md §5): past it the windows are emptied, which is always
 * allowed, as a TLB may drop entries at any time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shadowmmu/smmu_internal.h"

/* Past the 4 GiB an access may run over the end (a string instruction, an unaligned load at
 * 0xffffffff): keep it inside our reservation so it faults as PROT_NONE. */
#define SMMU_GUARD	    (1ull << 20)
#define SMMU_MAPPING_BUDGET 24000u
#define SMMU_RMAP_NODES	    (1u << 18)

static int smmu_prot(bool writable)
{
	return writable ? PROT_READ | PROT_WRITE : PROT_READ;
}

static int smmu_map(struct smmu *mmu, enum smmu_view view, uint32_t linear_page, uint32_t phys,
		    size_t len, bool writable)
{
	void *at = mmu->win[view].base + ((uintptr_t)linear_page << 12);
	if (mmap(at, len, smmu_prot(writable), MAP_SHARED | MAP_FIXED, mmu->memfd, (off_t)phys) ==
	    MAP_FAILED)
		return -errno;
	return 0;
}

static void smmu_unmap_range(struct smmu *mmu, enum smmu_view view, uint32_t linear_page,
			     size_t len)
{
	void *at = mmu->win[view].base + ((uintptr_t)linear_page << 12);
	mmap(at, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
}

/* ---- reverse map ---- */

static void smmu_rmap_add(struct smmu *mmu, uint32_t phys_page, enum smmu_view view,
			  uint32_t linear_page)
{
	if (phys_page >= mmu->ram_pages || !mmu->rmap_free)
		return; /* the caller checks the pool before mapping */
	uint32_t n = mmu->rmap_free;
	struct smmu_rmap_node *node = &mmu->rmap[n - 1];
	mmu->rmap_free = node->next;
	*node = (struct smmu_rmap_node){
	    .linear_page = linear_page, .view = view, .next = mmu->rmap_head[phys_page]};
	mmu->rmap_head[phys_page] = n;
}

static void smmu_rmap_remove(struct smmu *mmu, uint32_t phys_page, enum smmu_view view,
			     uint32_t linear_page)
{
	if (phys_page >= mmu->ram_pages)
		return;
	uint32_t *link = &mmu->rmap_head[phys_page];
	while (*link) {
		struct smmu_rmap_node *node = &mmu->rmap[*link - 1];
		if (node->view == view && node->linear_page == linear_page) {
			uint32_t n = *link;
			*link = node->next;
			node->next = mmu->rmap_free;
			mmu->rmap_free = n;
			return;
		}
		link = &node->next;
	}
}

static void smmu_rmap_reset(struct smmu *mmu)
{
	memset(mmu->rmap_head, 0, mmu->ram_pages * sizeof *mmu->rmap_head);
	for (uint32_t i = 0; i < mmu->rmap_cap; i++)
		mmu->rmap[i].next = i + 2 <= mmu->rmap_cap ? i + 2 : 0;
	mmu->rmap_free = mmu->rmap_cap ? 1 : 0;
}

/* ---- windows ---- */

static void smmu_identity_map(struct smmu *mmu)
{
	for (int v = 0; v < SMMU_VIEW_COUNT; v++) {
		smmu_map(mmu, v, 0, 0, mmu->ram_size, true);
		/* Code pages stay read-only in the identity map too. */
		for (uint32_t p = 0; p < mmu->ram_pages; p++)
			if (smmu_page_has_code(mmu, p))
				mprotect(mmu->win[v].base + ((uintptr_t)p << 12), 4096, PROT_READ);
	}
}

/* Remove one window mapping (the one starting at linear_page) and its reverse-map nodes. */
static void smmu_drop_mapping(struct smmu *mmu, enum smmu_view view, uint32_t linear_page)
{
	struct smmu_window *w = &mmu->win[view];
	uint32_t e = w->entry[linear_page];
	if (!(e & SMMU_E_MAPPED))
		return;
	unsigned n = (e & SMMU_E_LARGE) ? SMMU_LARGE_PAGES : 1;
	for (unsigned i = 0; i < n; i++) {
		uint32_t ei = w->entry[linear_page + i];
		smmu_rmap_remove(mmu, ei >> 12, view, linear_page + i);
		w->entry[linear_page + i] = 0;
	}
	smmu_unmap_range(mmu, view, linear_page, (size_t)n << 12);
}

static void smmu_flush(struct smmu *mmu, bool keep_global)
{
	mmu->counters.window_flushes++;
	if (!mmu->paging)
		return; /* the identity map is not a TLB */
	for (int v = 0; v < SMMU_VIEW_COUNT; v++) {
		struct smmu_window *w = &mmu->win[v];
		uint32_t kept = 0;
		for (uint32_t i = 0; i < w->n_mapped; i++) {
			uint32_t lp = w->mapped[i];
			uint32_t e = w->entry[lp];
			if (!(e & SMMU_E_MAPPED))
				continue;
			if (keep_global && (e & SMMU_E_GLOBAL))
				w->mapped[kept++] = lp;
			else
				smmu_drop_mapping(mmu, v, lp);
		}
		w->n_mapped = kept;
	}
	if (!keep_global)
		mmu->mappings = 0;
}

void smmu_flush_all(struct smmu *mmu)
{
	smmu_flush(mmu, false);
}

void smmu_flush_nonglobal(struct smmu *mmu)
{
	smmu_flush(mmu, true);
}

void smmu_invlpg(struct smmu *mmu, uint32_t linear)
{
	mmu->counters.invlpgs++;
	if (!mmu->paging)
		return;
	uint32_t lp = linear >> 12;
	for (int v = 0; v < SMMU_VIEW_COUNT; v++) {
		struct smmu_window *w = &mmu->win[v];
		uint32_t e = w->entry[lp];
		if (!(e & SMMU_E_MAPPED))
			continue;
		/* A 4 MiB mapping is dropped whole; find its first page. */
		uint32_t first = (e & SMMU_E_LARGE) ? lp & ~(SMMU_LARGE_PAGES - 1) : lp;
		smmu_drop_mapping(mmu, v, first);
	}
}

void smmu_set_paging(struct smmu *mmu, uint32_t cr0, uint32_t cr3, uint32_t cr4)
{
	bool paging = cr0 & (1u << 31);
	uint32_t tlb_bits0 = (1u << 31) | (1u << 16); /* PG, WP */
	uint32_t tlb_bits4 = (1u << 4) | (1u << 7);   /* PSE, PGE */
	bool flush = paging != mmu->paging || ((cr0 ^ mmu->cr0) & tlb_bits0) ||
		     ((cr4 ^ mmu->cr4) & tlb_bits4);
	if (flush && mmu->paging)
		smmu_flush_all(mmu);
	bool was_paging = mmu->paging;
	mmu->cr0 = cr0;
	mmu->cr3 = cr3;
	mmu->cr4 = cr4;
	mmu->paging = paging;
	if (paging && !was_paging) {
		/* Leaving the identity map: every window starts empty. */
		for (int v = 0; v < SMMU_VIEW_COUNT; v++) {
			smmu_unmap_range(mmu, v, 0, SMMU_4G);
			mmu->win[v].n_mapped = 0;
		}
		smmu_rmap_reset(mmu);
		mmu->mappings = 0;
	} else if (!paging && was_paging) {
		smmu_identity_map(mmu);
	}
}

static void smmu_note_mapped(struct smmu *mmu, enum smmu_view view, uint32_t linear_page)
{
	struct smmu_window *w = &mmu->win[view];
	if (w->n_mapped == w->cap_mapped) {
		uint32_t cap = w->cap_mapped ? 2 * w->cap_mapped : 4096;
		uint32_t *m = realloc(w->mapped, cap * sizeof *m);
		if (!m)
			return; /* XXX: out of host memory; the mapping stays until a full flush */
		w->mapped = m;
		w->cap_mapped = cap;
	}
	w->mapped[w->n_mapped++] = linear_page;
	mmu->mappings++;
}

/* Map what a walk found into a view's window. */
static int smmu_fill(struct smmu *mmu, enum smmu_view view, uint32_t linear,
		     const struct smmu_walk *walk)
{
	struct smmu_window *w = &mmu->win[view];
	if (mmu->mappings >= SMMU_MAPPING_BUDGET || mmu->rmap_free == 0 ||
	    (mmu->rmap_cap - mmu->mappings < SMMU_LARGE_PAGES))
		smmu_flush_all(mmu);
	uint32_t lp = linear >> 12;
	uint32_t e = w->entry[lp];
	if (e & SMMU_E_MAPPED)
		smmu_drop_mapping(mmu, view,
				  (e & SMMU_E_LARGE) ? lp & ~(SMMU_LARGE_PAGES - 1) : lp);

	bool writable = walk->write_allowed && walk->dirty;
	uint32_t flags = SMMU_E_MAPPED | (walk->global ? SMMU_E_GLOBAL : 0);
	uint32_t base_phys = walk->phys & ~0x3fffffu;
	if (walk->large && (uint64_t)base_phys + (4u << 20) <= mmu->ram_size) {
		/* One host mapping for a 4 MiB guest page (DESIGN.md §5). */
		uint32_t first = lp & ~(SMMU_LARGE_PAGES - 1);
		int rc = smmu_map(mmu, view, first, base_phys, 4u << 20, writable);
		if (rc < 0)
			return rc;
		for (uint32_t i = 0; i < SMMU_LARGE_PAGES; i++) {
			uint32_t pp = (base_phys >> 12) + i;
			bool code = smmu_page_has_code(mmu, pp);
			w->entry[first + i] = pp << 12 | flags | SMMU_E_LARGE |
					      (writable && !code ? SMMU_E_WRITE : 0);
			smmu_rmap_add(mmu, pp, view, first + i);
			if (writable && code)
				mprotect(w->base + ((uintptr_t)(first + i) << 12), 4096, PROT_READ);
		}
		smmu_note_mapped(mmu, view, first);
		mmu->counters.large_pages_mapped++;
		return 0;
	}
	uint32_t pp = walk->phys >> 12;
	bool code = smmu_page_has_code(mmu, pp);
	int rc = smmu_map(mmu, view, lp, pp << 12, 4096, writable && !code);
	if (rc < 0)
		return rc;
	w->entry[lp] = pp << 12 | flags | (writable && !code ? SMMU_E_WRITE : 0);
	smmu_rmap_add(mmu, pp, view, lp);
	smmu_note_mapped(mmu, view, lp);
	mmu->counters.pages_mapped++;
	return 0;
}

enum smmu_fault smmu_handle_fault(struct smmu *mmu, uintptr_t addr, bool write,
				  struct smmu_fault_info *info)
{
	int view = -1;
	for (int v = 0; v < SMMU_VIEW_COUNT; v++)
		if (addr >= (uintptr_t)mmu->win[v].base &&
		    addr < (uintptr_t)mmu->win[v].base + SMMU_4G)
			view = v;
	if (view < 0)
		return SMMU_FAULT_OUTSIDE;
	uint32_t linear = (uint32_t)(addr - (uintptr_t)mmu->win[view].base);
	*info = (struct smmu_fault_info){.view = view, .linear = linear};

	if (!mmu->paging) {
		info->phys = linear;
		if (linear >= mmu->ram_size)
			return SMMU_FAULT_UNASSIGNED;
		if (write && smmu_page_has_code(mmu, linear >> 12)) {
			mmu->counters.code_write_faults++;
			return SMMU_FAULT_CODE_WRITE;
		}
		return SMMU_FAULT_MAPPED;
	}

	struct smmu_walk walk;
	unsigned access =
	    (write ? SMMU_ACCESS_WRITE : 0) | (view == SMMU_USER ? SMMU_ACCESS_USER : 0);
	if (smmu_walk(mmu, linear, access, &walk, &info->pf_error) < 0) {
		mmu->counters.guest_page_faults++;
		return SMMU_FAULT_GUEST_PF;
	}
	info->phys = walk.phys;
	if (walk.phys >= mmu->ram_size)
		return SMMU_FAULT_UNASSIGNED;
	if (write && smmu_page_has_code(mmu, walk.phys >> 12)) {
		mmu->counters.code_write_faults++;
		return SMMU_FAULT_CODE_WRITE;
	}
	mmu->counters.hidden_faults++;
	if (smmu_fill(mmu, view, linear, &walk) < 0)
		return SMMU_FAULT_UNASSIGNED;
	return SMMU_FAULT_MAPPED;
}

/* ---- code pages ---- */

bool smmu_page_has_code(const struct smmu *mmu, uint32_t page)
{
	return page < mmu->ram_pages && (mmu->code_bitmap[page >> 3] & (1u << (page & 7)));
}

int smmu_protect_code_page(struct smmu *mmu, uint32_t page)
{
	if (page >= mmu->ram_pages || smmu_page_has_code(mmu, page))
		return 0;
	mmu->code_bitmap[page >> 3] |= (uint8_t)(1u << (page & 7));
	mmu->counters.code_pages_protected++;
	if (!mmu->paging) {
		for (int v = 0; v < SMMU_VIEW_COUNT; v++)
			if (mprotect(mmu->win[v].base + ((uintptr_t)page << 12), 4096, PROT_READ) <
			    0)
				return -errno;
		return 0;
	}
	for (uint32_t n = mmu->rmap_head[page]; n; n = mmu->rmap[n - 1].next) {
		const struct smmu_rmap_node *node = &mmu->rmap[n - 1];
		struct smmu_window *w = &mmu->win[node->view];
		uint32_t *e = &w->entry[node->linear_page];
		if (!(*e & SMMU_E_WRITE))
			continue;
		*e &= ~(uint32_t)SMMU_E_WRITE;
		if (mprotect(w->base + ((uintptr_t)node->linear_page << 12), 4096, PROT_READ) < 0)
			return -errno;
	}
	return 0;
}

int smmu_unprotect_code_page(struct smmu *mmu, uint32_t page)
{
	if (!smmu_page_has_code(mmu, page))
		return 0;
	mmu->code_bitmap[page >> 3] &= (uint8_t) ~(1u << (page & 7));
	if (!mmu->paging) {
		for (int v = 0; v < SMMU_VIEW_COUNT; v++)
			if (mprotect(mmu->win[v].base + ((uintptr_t)page << 12), 4096,
				     PROT_READ | PROT_WRITE) < 0)
				return -errno;
	}
	/* With paging on, the next write faults once more and maps the page writable. */
	return 0;
}

/* ---- creation ---- */

struct smmu *smmu_create(uint64_t ram_bytes, char *err, size_t err_len)
{
	struct smmu *mmu = calloc(1, sizeof *mmu);
	if (!mmu) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	mmu->memfd = -1;
	mmu->ram_size = ram_bytes;
	mmu->ram_pages = (uint32_t)(ram_bytes >> 12);
	mmu->memfd = memfd_create("bt86-guest-ram", MFD_CLOEXEC);
	if (mmu->memfd < 0 || ftruncate(mmu->memfd, (off_t)ram_bytes) < 0) {
		snprintf(err, err_len, "cannot create guest RAM: %s", strerror(errno));
		goto fail;
	}
	mmu->ram = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, mmu->memfd, 0);
	if (mmu->ram == MAP_FAILED) {
		mmu->ram = NULL;
		snprintf(err, err_len, "cannot map guest RAM: %s", strerror(errno));
		goto fail;
	}
	/* One reservation holds both 4 GiB-aligned windows, each followed by its guard. */
	/* Windows are 8 GiB apart (4 GiB each plus a guard), after up to 4 GiB of alignment. */
	mmu->reservation_size = (2 * SMMU_VIEW_COUNT) * SMMU_4G + SMMU_GUARD;
	mmu->reservation = mmap(NULL, mmu->reservation_size, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mmu->reservation == MAP_FAILED) {
		mmu->reservation = NULL;
		snprintf(err, err_len, "cannot reserve the guest windows: %s", strerror(errno));
		goto fail;
	}
	uintptr_t base = ((uintptr_t)mmu->reservation + SMMU_4G - 1) & ~(uintptr_t)(SMMU_4G - 1);
	for (int v = 0; v < SMMU_VIEW_COUNT; v++) {
		mmu->win[v].base = (uint8_t *)(base + (uintptr_t)v * SMMU_4G * 2);
		mmu->win[v].entry = calloc(SMMU_LINEAR_PAGES, sizeof *mmu->win[v].entry);
		if (!mmu->win[v].entry) {
			snprintf(err, err_len, "out of memory");
			goto fail;
		}
	}
	mmu->code_bitmap = calloc(mmu->ram_pages / 8 + 1, 1);
	mmu->rmap_head = calloc(mmu->ram_pages + 1, sizeof *mmu->rmap_head);
	mmu->rmap_cap = SMMU_RMAP_NODES;
	mmu->rmap = calloc(mmu->rmap_cap, sizeof *mmu->rmap);
	if (!mmu->code_bitmap || !mmu->rmap_head || !mmu->rmap) {
		snprintf(err, err_len, "out of memory");
		goto fail;
	}
	smmu_rmap_reset(mmu);
	mmu->cr0 = 1; /* protected mode, paging off */
	smmu_identity_map(mmu);
	return mmu;
fail:
	smmu_destroy(mmu);
	return NULL;
}

void smmu_destroy(struct smmu *mmu)
{
	if (!mmu)
		return;
	if (mmu->reservation)
		munmap(mmu->reservation, mmu->reservation_size);
	if (mmu->ram)
		munmap(mmu->ram, mmu->ram_size);
	if (mmu->memfd >= 0)
		close(mmu->memfd);
	for (int v = 0; v < SMMU_VIEW_COUNT; v++) {
		free(mmu->win[v].entry);
		free(mmu->win[v].mapped);
	}
	free(mmu->code_bitmap);
	free(mmu->rmap_head);
	free(mmu->rmap);
	free(mmu);
}

uint8_t *smmu_ram(const struct smmu *mmu)
{
	return mmu->ram;
}

uint64_t smmu_ram_size(const struct smmu *mmu)
{
	return mmu->ram_size;
}

uintptr_t smmu_window_base(const struct smmu *mmu, enum smmu_view view)
{
	return (uintptr_t)mmu->win[view].base;
}

int smmu_read_phys(const struct smmu *mmu, uint32_t phys, void *buf, size_t len)
{
	if ((uint64_t)phys + len > mmu->ram_size)
		return -EFAULT;
	memcpy(buf, mmu->ram + phys, len);
	return 0;
}

int smmu_write_phys(struct smmu *mmu, uint32_t phys, const void *buf, size_t len)
{
	if ((uint64_t)phys + len > mmu->ram_size)
		return -EFAULT;
	memcpy(mmu->ram + phys, buf, len);
	return 0;
}

const struct smmu_counters *smmu_counters(const struct smmu *mmu)
{
	return &mmu->counters;
}
