/*
 * multiboot — what the loader reports: the flags bits for memory, command line and memory
 * map, the command line after the kernel path, whether mem_lower is nonzero and whether an
 * available region of the memory map holds the whole kernel image. Sizes and addresses
 * differ between loaders and are not printed.
 */
#include "guest.h"

extern const char _start[], __kernel_end[];

static int mmap_holds(const struct mb_info *info, uint64_t lo, uint64_t hi, unsigned *entries)
{
	uint32_t p = info->mmap_addr, end = info->mmap_addr + info->mmap_length;
	int found = 0;

	*entries = 0;
	while (p < end) {
		const struct mb_mmap_entry *e = (const struct mb_mmap_entry *)p;
		if (e->type == 1 && e->addr <= lo && hi <= e->addr + e->len)
			found = 1;
		(*entries)++;
		p += e->size + 4;
	}
	return found;
}

void kmain(uint32_t magic, const struct mb_info *info)
{
	kprintf("magic %08x\n", magic);
	if (magic != MB_MAGIC_BOOT)
		return;
	uint32_t f = info->flags;
	kprintf("flags mem %u cmdline %u mmap %u\n", f & 1, (f >> 2) & 1, (f >> 6) & 1);
	if (f & 1)
		kprintf("mem_lower nonzero %s, mem_upper nonzero %s\n",
			info->mem_lower ? "yes" : "no", info->mem_upper ? "yes" : "no");
	if (f & (1u << 2)) {
		const char *cmd = (const char *)info->cmdline;
		while (*cmd && *cmd != ' ')
			cmd++;
		if (*cmd == ' ')
			cmd++;
		kprintf("cmdline [%s] length %u\n", cmd, (uint32_t)strlen(cmd));
	}
	if (f & (1u << 6)) {
		unsigned entries;
		int held = mmap_holds(info, (uint32_t)_start, (uint32_t)__kernel_end, &entries);
		kprintf("mmap has entries %s, kernel in available RAM %s\n", entries ? "yes" : "no",
			held ? "yes" : "no");
	}
	put_str("multiboot done\n");
}
