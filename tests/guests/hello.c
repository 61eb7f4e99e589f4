/*
 * hello — the demo kernel: greets, then shows what the multiboot loader handed over.
 */
#include "guest.h"

void kmain(uint32_t magic, const struct mb_info *info)
{
	put_str("Hello from a bt86 guest kernel!\n");
	kprintf("magic %08x\n", magic);
	if (magic != MB_MAGIC_BOOT)
		return;
	kprintf("flag mem %u\n", info->flags & 1);
	kprintf("flag cmdline %u\n", (info->flags >> 2) & 1);
	kprintf("flag mmap %u\n", (info->flags >> 6) & 1);
	if (info->flags & (1u << 2)) {
		/* The loader passes "<kernel path> <append>"; print only what follows the path. */
		const char *cmd = (const char *)info->cmdline;
		while (*cmd && *cmd != ' ')
			cmd++;
		if (*cmd == ' ')
			cmd++;
		kprintf("cmdline [%s]\n", cmd);
	}
	put_str("bye\n");
}
