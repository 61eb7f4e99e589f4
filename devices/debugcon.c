/* debugcon.c — the Bochs/QEMU debug console on port 0xE9.
 *
 * A byte written to the port goes straight to the output fd; it is the cheapest way for a test
 * kernel to print. Reading the port returns 0xE9, QEMU's default "readback" value, which guests
 * use to detect the console. Only byte accesses reach the device: QEMU refuses wider ones
 * (reads give 0, writes are lost) and the bus does the same through valid_max.
 */
#include <stdlib.h>

#include "devices/devices_internal.h"

enum {
	DEV_DEBUGCON_READBACK = 0xE9,
};

struct dev_debugcon {
	int out_fd;
	uint64_t dropped; /* bytes the host fd refused (XXX: report once stats can) */
};

struct dev_debugcon *dev_debugcon_create(int out_fd)
{
	struct dev_debugcon *con = calloc(1, sizeof(*con));
	if (con == NULL)
		return NULL;
	con->out_fd = out_fd;
	return con;
}

void dev_debugcon_destroy(struct dev_debugcon *con)
{
	free(con);
}

static uint32_t dev_debugcon_read(void *dev, unsigned offset, unsigned size)
{
	(void)dev;
	(void)offset;
	(void)size;
	return DEV_DEBUGCON_READBACK;
}

static void dev_debugcon_write(void *dev, unsigned offset, unsigned size, uint32_t value)
{
	struct dev_debugcon *con = dev;
	(void)offset;
	(void)size;
	uint8_t byte = (uint8_t)value;
	if (con->out_fd >= 0 && dev_fd_write_all(con->out_fd, &byte, 1) < 0)
		con->dropped++;
}

const struct dev_port_ops dev_debugcon_ops = {
    .name = "debugcon",
    .read = dev_debugcon_read,
    .write = dev_debugcon_write,
    .valid_max = 1,
    .impl_max = 1,
};
