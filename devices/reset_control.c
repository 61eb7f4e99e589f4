/* reset_control.c — the reset control register of the PIIX3 at port 0xCF9, which Linux's
 * "reboot=pci" path (and its default fallback chain) writes to restart the machine.
 *
 * As in QEMU: a write with bit 2 (reset CPU) set asks for a reset, whatever bit 1 (hard or soft
 * reset) and bit 3 (full reset) say, so 0x06 and 0x0E both reset; otherwise only bit 1 is kept
 * and reads back. The byte shares its 32-bit word with the PCI address register at 0xCF8: the
 * bus gives a byte access to 0xCF9 to this device and a dword access at 0xCF8 to pci.c.
 */
#include <stdlib.h>

#include "devices/devices_internal.h"

enum {
	DEV_RCR_SYS_RESET = 0x02, /* the kind of reset bit 2 will do: kept */
	DEV_RCR_RESET_CPU = 0x04,
};

struct dev_reset_control {
	struct dev_bus *bus;
	uint8_t value;
};

struct dev_reset_control *dev_reset_control_create(struct dev_bus *bus)
{
	struct dev_reset_control *rc = calloc(1, sizeof(*rc));
	if (rc == NULL)
		return NULL;
	rc->bus = bus;
	return rc;
}

void dev_reset_control_destroy(struct dev_reset_control *rc)
{
	free(rc);
}

static uint32_t dev_reset_control_read(void *dev, unsigned offset, unsigned size)
{
	struct dev_reset_control *rc = dev;
	(void)offset;
	(void)size;
	return rc->value;
}

static void dev_reset_control_write(void *dev, unsigned offset, unsigned size, uint32_t value)
{
	struct dev_reset_control *rc = dev;
	(void)offset;
	(void)size;
	if (value & DEV_RCR_RESET_CPU) {
		dev_bus_request_reset(rc->bus);
		return;
	}
	rc->value = value & DEV_RCR_SYS_RESET;
}

/* A byte register: wider accesses starting here are split, each byte reaching this register,
 * as in QEMU's one-byte region. */
const struct dev_port_ops dev_reset_control_ops = {
    .name = "piix3-reset-control",
    .read = dev_reset_control_read,
    .write = dev_reset_control_write,
    .valid_max = 4,
    .impl_max = 1,
};
