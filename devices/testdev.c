/* testdev.c — the memory region of QEMU's pc-testdev ("-device pc-testdev"): 64 KiB at
 * guest-physical 0xff000000 that reads back what was written, little-endian, at any width.
 * It exists so that guest test kernels can exercise bt86's MMIO path and compare with QEMU.
 */
#include <string.h>

#include "devices/devices_internal.h"

struct dev_testdev {
	uint8_t mem[DEV_TESTDEV_SIZE];
};

struct dev_testdev *dev_testdev_create(void)
{
	return calloc(1, sizeof(struct dev_testdev));
}

void dev_testdev_destroy(struct dev_testdev *td)
{
	free(td);
}

static uint32_t dev_testdev_read(void *dev, uint32_t offset, unsigned size)
{
	struct dev_testdev *td = dev;
	uint32_t v = 0;
	memcpy(&v, td->mem + offset, size);
	return v;
}

static void dev_testdev_write(void *dev, uint32_t offset, unsigned size, uint32_t value)
{
	struct dev_testdev *td = dev;
	memcpy(td->mem + offset, &value, size);
}

const struct dev_mmio_ops dev_testdev_ops = {
    .name = "pc-testdev iomem",
    .read = dev_testdev_read,
    .write = dev_testdev_write,
};
