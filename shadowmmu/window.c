/* Guest RAM (a memfd) and the window onto it; write protection of code pages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shadowmmu/shadowmmu.h"

#define SMMU_4G (1ull << 32)
/* Past the 4 GiB an access may run over the end (a string instruction, an unaligned load at
 * 0xffffffff): keep it inside our reservation so it faults as PROT_NONE. */
#define SMMU_GUARD (1ull << 20)

struct smmu {
	int memfd;
	uint8_t *ram;
	uint64_t ram_size;
	uint8_t *reservation;
	size_t reservation_size;
	uint8_t *window;
	uint8_t *code_bitmap; /* one bit per guest-physical page */
	struct smmu_counters counters;
};

struct smmu *smmu_create(uint64_t ram_bytes, char *err, size_t err_len)
{
	struct smmu *mmu = calloc(1, sizeof *mmu);
	if (!mmu) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	mmu->memfd = -1;
	mmu->ram_size = ram_bytes;
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
	/* Reserve 8 GiB + guard so that a 4 GiB-aligned window with its guard fits inside. */
	mmu->reservation_size = 2 * SMMU_4G + SMMU_GUARD;
	mmu->reservation = mmap(NULL, mmu->reservation_size, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mmu->reservation == MAP_FAILED) {
		mmu->reservation = NULL;
		snprintf(err, err_len, "cannot reserve the guest window: %s", strerror(errno));
		goto fail;
	}
	uintptr_t base = ((uintptr_t)mmu->reservation + SMMU_4G - 1) & ~(uintptr_t)(SMMU_4G - 1);
	mmu->window = (uint8_t *)base;
	/* Paging off: the window is guest-physical memory itself. */
	if (mmap(mmu->window, ram_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, mmu->memfd,
		 0) == MAP_FAILED) {
		snprintf(err, err_len, "cannot map guest RAM into the window: %s", strerror(errno));
		goto fail;
	}
	mmu->code_bitmap = calloc((SMMU_4G >> 12) / 8, 1);
	if (!mmu->code_bitmap) {
		snprintf(err, err_len, "out of memory");
		goto fail;
	}
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
	free(mmu->code_bitmap);
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

uintptr_t smmu_window_base(const struct smmu *mmu)
{
	return (uintptr_t)mmu->window;
}

bool smmu_page_has_code(const struct smmu *mmu, uint32_t page)
{
	return mmu->code_bitmap[page >> 3] & (1u << (page & 7));
}

int smmu_protect_code_page(struct smmu *mmu, uint32_t page)
{
	if (smmu_page_has_code(mmu, page))
		return 0;
	if ((uint64_t)page << 12 >= mmu->ram_size)
		return 0; /* not RAM: nothing can write it through the window */
	if (mprotect(mmu->window + ((uintptr_t)page << 12), 4096, PROT_READ) < 0)
		return -errno;
	mmu->code_bitmap[page >> 3] |= (uint8_t)(1u << (page & 7));
	mmu->counters.code_pages_protected++;
	return 0;
}

int smmu_unprotect_code_page(struct smmu *mmu, uint32_t page)
{
	if (!smmu_page_has_code(mmu, page))
		return 0;
	if (mprotect(mmu->window + ((uintptr_t)page << 12), 4096, PROT_READ | PROT_WRITE) < 0)
		return -errno;
	mmu->code_bitmap[page >> 3] &= (uint8_t) ~(1u << (page & 7));
	return 0;
}

enum smmu_fault smmu_classify_fault(const struct smmu *mmu, uintptr_t addr, bool write,
				    uint32_t *linear)
{
	if (addr < (uintptr_t)mmu->window || addr >= (uintptr_t)mmu->window + SMMU_4G)
		return SMMU_FAULT_OUTSIDE;
	uint32_t lin = (uint32_t)(addr - (uintptr_t)mmu->window);
	*linear = lin;
	if (lin >= mmu->ram_size)
		return SMMU_FAULT_UNASSIGNED;
	if (write && smmu_page_has_code(mmu, lin >> 12)) {
		((struct smmu *)mmu)->counters.code_write_faults++;
		return SMMU_FAULT_CODE_WRITE;
	}
	return SMMU_FAULT_SPURIOUS;
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
