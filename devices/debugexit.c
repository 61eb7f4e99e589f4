/* debugexit.c — QEMU's isa-debug-exit, as "-device isa-debug-exit,iobase=0xf4,iosize=4".
 *
 * A write of value v of any width (1, 2 or 4 bytes, to any of the four ports, aligned to its
 * size as QEMU requires) asks the VMM to exit with status (v << 1) | 1. QEMU hands that to
 * exit(), so what a parent process sees is its low 8 bits; we report exactly those, so that a
 * large v gives the status QEMU's parent would see rather than an out-of-range int. The status
 * is always odd, so it never collides with bt86's own (even) statuses.
 *
 * The first write wins: QEMU exits on it, and so must we, however long the runtime takes to
 * notice. Reads return 0, as in QEMU.
 */
#include <stdlib.h>

#include "devices/devices_internal.h"

struct dev_debugexit {
	bool requested;
	uint32_t value;
};

struct dev_debugexit *dev_debugexit_create(void)
{
	return calloc(1, sizeof(struct dev_debugexit));
}

void dev_debugexit_destroy(struct dev_debugexit *dx)
{
	free(dx);
}

bool dev_debugexit_requested(const struct dev_debugexit *dx, int *status)
{
	if (!dx->requested)
		return false;
	if (status != NULL)
		*status = (int)((((uint64_t)dx->value << 1) | 1) & 0xFF);
	return true;
}

static uint32_t dev_debugexit_read(void *dev, unsigned offset, unsigned size)
{
	(void)dev;
	(void)offset;
	(void)size;
	return 0;
}

static void dev_debugexit_write(void *dev, unsigned offset, unsigned size, uint32_t value)
{
	struct dev_debugexit *dx = dev;
	(void)offset;
	(void)size;
	if (dx->requested)
		return;
	dx->requested = true;
	dx->value = value;
}

const struct dev_port_ops dev_debugexit_ops = {
    .name = "isa-debug-exit",
    .read = dev_debugexit_read,
    .write = dev_debugexit_write,
    .valid_max = 4,
    .impl_max = 4,
};
