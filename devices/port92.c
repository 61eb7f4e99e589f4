/* port92.c — port 0x92, system control port A of PS/2-era chipsets.
 *
 * Bit 0 is the fast reset: writing it as 1 when it was 0 resets the CPU, as QEMU's port92
 * does (QEMU calls it on the rising edge only, so that rewriting the value read back does not
 * reset twice). Bit 1 gates A20; bt86 keeps A20 enabled whatever a guest asks (it boots kernels
 * that are past real mode), so the bit always reads 1 where QEMU would read back a 0 written
 * to it. The other bits (the security lock, the disk activity lights) read back as written;
 * the reset bit too, as in QEMU.
 */
#include <stdlib.h>

#include "devices/devices_internal.h"

enum {
	DEV_PORT92_RESET = 0x01,
	DEV_PORT92_A20 = 0x02,
};

struct dev_port92 {
	struct dev_bus *bus;
	uint8_t value;
};

struct dev_port92 *dev_port92_create(struct dev_bus *bus)
{
	struct dev_port92 *p92 = calloc(1, sizeof(*p92));
	if (p92 == NULL)
		return NULL;
	p92->bus = bus;
	p92->value = DEV_PORT92_A20; /* as SeaBIOS leaves it */
	return p92;
}

void dev_port92_destroy(struct dev_port92 *p92)
{
	free(p92);
}

static uint32_t dev_port92_read(void *dev, unsigned offset, unsigned size)
{
	struct dev_port92 *p92 = dev;
	(void)offset;
	(void)size;
	return p92->value | DEV_PORT92_A20;
}

static void dev_port92_write(void *dev, unsigned offset, unsigned size, uint32_t value)
{
	struct dev_port92 *p92 = dev;
	(void)offset;
	(void)size;
	uint8_t old = p92->value;
	p92->value = (uint8_t)value;
	if ((value & DEV_PORT92_RESET) && !(old & DEV_PORT92_RESET))
		dev_bus_request_reset(p92->bus);
}

const struct dev_port_ops dev_port92_ops = {
    .name = "port92",
    .read = dev_port92_read,
    .write = dev_port92_write,
    .valid_max = 4,
    .impl_max = 1,
};
